// Edits on photos of any size (core/edit/region), with the analytic model at 64 px.
#include "core/base/cancel.h"
#include "core/analytic_model.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/region.h"
#include "core/edit/resample.h"
#include "core/expect_error.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::edit;
using cm::ErrorCode;
using cm::testing::max_abs_diff;
namespace region = cm::edit::region;

EditSettings steps(int n, double sigma_start = 80.0) {
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(n, sigma_start);
  s.seed = 17;
  return s;
}

at::Tensor dab(int64_t h, int64_t w, int64_t y, int64_t x, int64_t size) {
  at::Tensor m = at::zeros({1, 1, h, w});
  m.narrow(2, y, size).narrow(3, x, size).fill_(1);
  return m;
}

TEST(Resample, FeatherWeightsAreOneOnTheGrownMaskAndZeroBeyondTheFade) {
  const at::Tensor mask = dab(64, 64, 30, 30, 4);
  const at::Tensor w = feather_weights(mask, 2, 3);
  EXPECT_TRUE(at::equal(w.narrow(2, 28, 8).narrow(3, 28, 8), at::ones({1, 1, 8, 8})));  // mask ± grow: exactly 1
  // Nonzero exactly up to grow + 2·feather = 8 pixels from the mask, 0 from 9 on.
  EXPECT_GT(w[0][0][30 - 8][32].item<float>(), 0.f);
  EXPECT_EQ(w[0][0][30 - 9][32].item<float>(), 0.f);
  EXPECT_EQ(w[0][0][33 + 9][32].item<float>(), 0.f);
  const float mid = w[0][0][25][32].item<float>();
  EXPECT_GT(mid, 0.f);
  EXPECT_LT(mid, 1.f);
  // A mask at the photo's edge keeps weight 1 there (the blur does not count pixels outside).
  EXPECT_EQ(feather_weights(dab(16, 16, 0, 0, 3), 0, 2)[0][0][0][0].item<float>(), 1.f);
}

// A guided fit's part of a large image reads its coefficients as their bilinear enlargement to
// that image does (the CPU's own loop, which never makes that enlargement), held within the
// bounds when it has them, for images of a batch each with its own coefficients.
TEST(Resample, AGuidedFitsPartReadsItsCoefficientsAsTheirEnlargement) {
  const int64_t height = 64, width = 80, y0 = 10, x0 = 12, h = 40, w = 50;
  const at::Tensor planes = cm::sampling::NoiseField(31).crop(0, {2, 8, 0, 0, 16, 20});  // a, b, low, high; 2 channels
  const at::Tensor guide = cm::sampling::NoiseField(32).crop(0, {2, 1, 0, 0, h, w});
  const at::Tensor big = at::upsample_bilinear2d(planes, {height, width}, /*align_corners=*/false).narrow(2, y0, h).narrow(3, x0, w);
  const at::Tensor plain = big.narrow(1, 0, 2) * guide + big.narrow(1, 2, 2);
  for (const bool bounded : {false, true}) {
    const GuidedCoefficients c{bounded ? planes : planes.narrow(1, 0, 4).contiguous(), 2, bounded};
    const at::Tensor expected = bounded ? at::clamp(plain, big.narrow(1, 4, 2), big.narrow(1, 6, 2)) : plain;
    const at::Tensor part = guided_apply(c, guide, double(height), double(width), double(y0), double(x0));
    ASSERT_EQ(part.sizes(), expected.sizes());
    EXPECT_LT(max_abs_diff(part, expected), 1e-5) << (bounded ? "bounded" : "plain");
    // The GPU's path (grid_sample), run here on the CPU: the same reads.
    const at::Tensor by_grid = guided_apply_by_grid(c, guide, double(height), double(width), double(y0), double(x0));
    EXPECT_LT(max_abs_diff(by_grid, expected), 1e-5) << (bounded ? "bounded, by grid" : "plain, by grid");
  }
}

TEST(Resample, BoxMeanMatchesADirectAverage) {
  const at::Tensor x = cm::sampling::NoiseField(2).crop(0, {1, 2, 0, 0, 20, 30});
  const at::Tensor direct = at::avg_pool2d(x, {7, 7}, {1, 1}, {3, 3}, false, /*count_include_pad=*/false);
  EXPECT_LE(max_abs_diff(box_mean(x, 3), direct), 1e-5);
}

TEST(Region, InpaintingAPhotoKeepsEveryPixelTheEditDoesNotReach) {
  const auto f = cm::testing::analytic_model(64);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{300, 200}, {40, 50}, {64, 640}}) {
    SCOPED_TRACE(::testing::Message() << w << "×" << h);
    const at::Tensor photo = cm::testing::smooth_photo(h, w);
    const at::Tensor mask = dab(h, w, h / 3, w / 2, std::min<int64_t>(12, h / 4));
    region::RegionOptions o;
    const at::Tensor out = region::inpaint_photo(f, photo, mask, steps(2), o);
    ASSERT_EQ(out.sizes(), photo.sizes());
    const at::Tensor reached = feather_weights(mask, o.grow, o.feather) > 0;
    const at::Tensor keep = reached.logical_not().expand_as(photo);
    EXPECT_TRUE(at::equal(out.masked_select(keep), photo.masked_select(keep)));
    const at::Tensor inside = (mask > 0).expand_as(photo);
    EXPECT_GT((out - photo).abs().masked_select(inside).mean().item<double>(), 0.05);
  }
}

TEST(Region, AnEmptyMaskChangesNothing) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(100, 120);
  EXPECT_TRUE(at::equal(region::inpaint_photo(f, photo, at::zeros({1, 1, 100, 120}), steps(1)), photo));
  EXPECT_CM_ERROR(region::inpaint_photo(f, photo, at::zeros({1, 1, 100, 100}), steps(1)), ErrorCode::ShapeMismatch,
                  "the mask is 100×100 pixels but the image is 120×100");
}

TEST(Region, SketchWithAMaskKeepsTheRestOfThePhoto) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(180, 240);
  const at::Tensor mask = dab(180, 240, 100, 20, 30);
  at::Tensor painting = photo.clone();
  painting.narrow(2, 105, 10).narrow(3, 25, 20).fill_(0.9);  // a stroke
  region::RegionOptions o;
  const at::Tensor out = region::sketch_photo(f, painting, steps(2, 3.0), mask, o);
  const at::Tensor keep = (feather_weights(mask, o.grow, o.feather) == 0).expand_as(photo);
  EXPECT_TRUE(at::equal(out.masked_select(keep), painting.masked_select(keep)));
  EXPECT_GT(max_abs_diff(out, painting), 0.05);
  // Without a mask the whole picture is redrawn, at the photo's size.
  EXPECT_EQ(region::sketch_photo(f, painting, steps(1, 3.0)).sizes(), painting.sizes());
}

// Without a mask, a picture larger than the work size keeps its own detail: the redraw at the work
// size comes back as a change on its pixels, not enlarged whole (a 13.4 MP painting came back as a
// 256-px picture blown up 16×).
TEST(Region, SketchWithoutAMaskKeepsALargePicturesDetail) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor painting = cm::testing::stripes(320).narrow(3, 0, 240).contiguous();  // period 6 px
  region::RegionOptions o;
  o.max_work_size = 64;  // the picture is 5× the work size
  EXPECT_LE(max_abs_diff(region::sketch_photo(f, painting, steps(1, 0.002), at::Tensor(), o), painting), 1e-3)
      << "at σ ≈ 0 the picture itself, not a blur of it";
  // A redraw changes it smoothly: the change's gradient energy is a small part of the stripes'.
  const at::Tensor change = region::sketch_photo(f, painting, steps(1, 3.0), at::Tensor(), o) - painting;
  EXPECT_GT(change.abs().mean().item<double>(), 0.05);
  const auto energy = [](const at::Tensor& x) {
    return (x.narrow(3, 1, x.size(3) - 1) - x.narrow(3, 0, x.size(3) - 1)).pow(2).mean().item<double>();
  };
  EXPECT_LT(energy(change), 0.05 * energy(painting));
}

// At the photo's own pixels a flat stroke is not a photo: the model adds colour speckle to it
// (docs/QUALITY.md, "Sketch"). The start lays the photo's own texture into the paint, under the
// painted colour: at σ ≈ 0 the result is that start. A wide stroke takes patches of the photo
// (the exemplar fill with the painting as its layout), a thin one the mirror of its edge's detail.
TEST(Region, ASketchedStrokeTakesThePhotosTextureInItsPaintedColour) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::stripes(192);
  const at::Tensor colour = at::tensor({0.3f, -0.2f, 0.1f}).view({1, 3, 1, 1});
  for (const int64_t width : {int64_t(80), int64_t(10)}) {
    SCOPED_TRACE(::testing::Message() << width << "-px stroke");
    const at::Tensor mask = cm::testing::box_mask(192, 56, 40, width, 112);
    const at::Tensor inside = (mask > 0).expand_as(photo);
    const at::Tensor painting = at::where(inside, colour.expand_as(photo), photo);
    region::RegionOptions o;
    const at::Tensor out = region::sketch_photo(f, painting, steps(1, 0.002), mask, o);
    EXPECT_TRUE(at::equal(out.masked_select(~inside), painting.masked_select(~inside)));
    const at::Tensor change = (out - painting).masked_select(inside);
    // Texture: the stroke's pixels vary as the photo's do (its stripes: 0.45 to 0.7 a channel).
    const at::Tensor stroke = out.narrow(2, 56 + width / 4, width / 2).narrow(3, 60, 72);
    EXPECT_GT(stroke.std(std::vector<int64_t>{2, 3}).mean().item<double>(), 0.1);
    // Colour: the stroke's mean is the paint's.
    const at::Tensor mean = stroke.mean(std::vector<int64_t>{2, 3}, true);
    EXPECT_LT((mean - colour).abs().max().item<double>(), 0.1) << mean;
    EXPECT_GT(change.abs().mean().item<double>(), 0.05);
  }
}

TEST(Region, ColorizingAPhotoKeepsItsLumaAndTheHints) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(150, 210);
  const LumaChromaOperator op;
  const at::Tensor grey_luma = op.forward(photo).narrow(1, 0, 1);
  const at::Tensor grey = (grey_luma / op.basis()[0].sum().item<double>()).expand({1, 3, 150, 210}).contiguous();
  at::Tensor hint_mask = at::zeros({1, 1, 150, 210});
  hint_mask.narrow(2, 60, 3).narrow(3, 100, 3).fill_(1);
  const at::Tensor hints = at::tensor({-0.2f, 0.5f, 0.7f}).view({1, 3, 1, 1}).expand({1, 3, 150, 210}).contiguous();
  const at::Tensor out = region::colorize_photo(f, grey, steps(2), hints, hint_mask);
  ASSERT_EQ(out.sizes(), grey.sizes());
  EXPECT_LE(max_abs_diff(op.forward(out).narrow(1, 0, 1), op.forward(grey).narrow(1, 0, 1)), 1e-5);
  const at::Tensor at_hints = (hint_mask > 0).expand({1, 2, 150, 210});
  EXPECT_LE(max_abs_diff(op.forward(out).narrow(1, 1, 2).masked_select(at_hints),
                         op.forward(fit_range_keeping_luma(hint_at_luma(grey, hints))).narrow(1, 1, 2).masked_select(at_hints)), 1e-5);
  EXPECT_GT(op.forward(out).narrow(1, 1, 2).abs().mean().item<double>(), 0.01);  // colour everywhere else too
}

TEST(Region, SuperResolvingAnyImageSizeKeepsEveryPatchMean) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor low = cm::testing::smooth_photo(37, 53);
  const at::Tensor out = region::super_resolve_photo(f, low, 4, steps(2));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 148, 212}));
  EXPECT_LE(max_abs_diff(at::avg_pool2d(out, {4, 4}), low), 1e-5);
  region::RegionOptions odd;
  odd.tile_size = 60;
  EXPECT_CM_ERROR(region::super_resolve_photo(f, low, 8, steps(1), odd),
                  ErrorCode::BadArgument, "a tile of 60 pixels does not split into 8×8 patches");
}

TEST(Region, TiledSuperResolutionHasNoSeams) {
  // An image that fits in one tile, run as one tile and as 3×3 overlapping tiles: the tiles share
  // one noise plane and the analytic model is local, so the two runs must agree everywhere.
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor low = cm::testing::smooth_photo(16, 16);
  const at::Tensor single = region::super_resolve_photo(f, low, 4, steps(3));
  region::RegionOptions tiled;
  tiled.tile_size = 32;
  tiled.tile_overlap = 8;
  int last_step = 0, total = 0;
  EditSettings s = steps(3);
  s.control.on_step = [&](const cm::sampling::StepInfo& i) {
    EXPECT_EQ(i.step, last_step + 1);
    last_step = i.step;
    total = i.total;
  };
  const at::Tensor many = region::super_resolve_photo(f, low, 4, s, tiled);
  EXPECT_EQ(region::tile_starts(16, 8, 2), (std::vector<int64_t>{0, 6, 8}));
  EXPECT_EQ(total, 9 * 3);
  EXPECT_EQ(last_step, 9 * 3);
  EXPECT_LE(max_abs_diff(many, single), 1e-5);
}

TEST(Region, CancellingATiledJobStopsIt) {
  const auto f = cm::testing::analytic_model(64);
  EditSettings s = steps(2);
  int seen = 0;
  s.control.on_step = [&](const cm::sampling::StepInfo&) { ++seen; };
  const cm::CancelScope stop([&] { return seen == 5; });
  region::RegionOptions tiled;
  tiled.tile_size = 32;
  EXPECT_CM_ERROR(region::super_resolve_photo(f, cm::testing::smooth_photo(20, 20), 4, s, tiled), ErrorCode::Cancelled,
                  "cancelled");
  EXPECT_EQ(seen, 5);
}

TEST(Region, TiledDenoisingMatchesOneEvaluationOfTheWholePhoto) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(150, 170);
  const at::Tensor noisy = photo + 0.1 * cm::sampling::NoiseField(3).crop(0, {1, 3, 0, 0, 150, 170});
  region::RegionOptions one_pass;  // the strided pass is tested in test_denoise_passes.cpp
  one_pass.denoise_passes = 1;
  const at::Tensor out = region::denoise_photo(f, noisy, 0.1, steps(1), one_pass);
  EXPECT_LE(max_abs_diff(out, denoise(f, noisy, 0.1)), 1e-5);  // the analytic model is local
  EXPECT_LT((out - photo).pow(2).mean().item<double>(), (noisy - photo).pow(2).mean().item<double>());
}

// A denoise of a 16 MP photo is 7,000 tiles, minutes on a CPU: its live preview starts where the
// user looks (the focus), and the result does not depend on where that was.
TEST(Region, TilesStartNearTheFocusAndTheResultIsTheSameWhereverItIs) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(150, 170);
  const at::Tensor noisy = photo + 0.1 * cm::sampling::NoiseField(3).crop(0, {1, 3, 0, 0, 150, 170});
  region::RegionOptions o;
  o.tile_size = 32;
  o.denoise_passes = 1;  // two: test_denoise_passes.cpp
  const at::Tensor in_rows = region::denoise_photo(f, noisy, 0.1, steps(1), o);
  std::vector<std::pair<int64_t, int64_t>> seen;  // the tiles' origins, in the order they came
  o.on_window = [&](int64_t y0, int64_t x0, const at::Tensor&) { seen.emplace_back(y0, x0); };
  o.focus_y = 120, o.focus_x = 20;
  const at::Tensor from_focus = region::denoise_photo(f, noisy, 0.1, steps(1), o);
  // A denoise's tiles overlap by an eighth of a tile (region_tiles.cpp).
  const std::vector<int64_t> ys = region::tile_starts(150, 32, 4), xs = region::tile_starts(170, 32, 4);
  ASSERT_EQ(seen.size(), ys.size() * xs.size());
  const auto distance = [&](const std::pair<int64_t, int64_t>& t) {
    return std::hypot(double(t.first + 16 - o.focus_y), double(t.second + 16 - o.focus_x));
  };
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(distance(seen[i - 1]), distance(seen[i])) << "tile " << i;
  EXPECT_LE(distance(seen.front()), 16 * std::sqrt(2.0)) << "the first tile does not hold the focus";
  EXPECT_NE(seen.front(), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_TRUE(at::equal(from_focus, in_rows)) << "the result depends on the tiles' order: " << max_abs_diff(from_focus, in_rows);
  // The same for an enlargement, in its input's pixels.
  const at::Tensor low = cm::testing::smooth_photo(40, 44);
  region::RegionOptions sr;
  sr.tile_size = 32;
  const at::Tensor sr_rows = region::super_resolve_photo(f, low, 4, steps(2), sr);
  sr.focus_y = 39, sr.focus_x = 43;
  EXPECT_TRUE(at::equal(region::super_resolve_photo(f, low, 4, steps(2), sr), sr_rows));
}

TEST(Region, TileStartsCoverTheAxisWithTheOverlap) {
  EXPECT_EQ(region::tile_starts(10, 16, 4), (std::vector<int64_t>{0}));
  EXPECT_EQ(region::tile_starts(16, 16, 4), (std::vector<int64_t>{0}));
  EXPECT_EQ(region::tile_starts(40, 16, 4), (std::vector<int64_t>{0, 12, 24}));
  EXPECT_EQ(region::tile_starts(41, 16, 4), (std::vector<int64_t>{0, 12, 24, 25}));
  EXPECT_CM_ERROR(region::tile_starts(41, 16, 16), ErrorCode::BadArgument, "overlap by less than a tile");
}

}  // namespace

namespace {

// How an inpainting window starts is decided in one place (region.h's hole_start): cold without a
// warm start, the user's Fill choice when made, and under Auto the hole's depth, then the texture.
TEST(Region, AnInpaintingWindowsStartIsDecidedInOnePlace) {
  using cm::edit::region::HoleFill;
  using cm::edit::region::HoleStart;
  using cm::edit::region::hole_start;
  cm::edit::region::RegionOptions o;
  int asked = 0;
  const auto deep = [&] { return ++asked, true; };
  const auto shallow = [&] { return ++asked, false; };
  EXPECT_EQ(hole_start(false, o, deep), HoleStart::Noise);
  o.fill = HoleFill::Smooth;
  EXPECT_EQ(hole_start(true, o, deep), HoleStart::Smooth);
  o.fill = HoleFill::Exemplar;
  EXPECT_EQ(hole_start(true, o, shallow), HoleStart::Exemplar);
  EXPECT_EQ(asked, 0) << "the hole is measured only when the choice is Auto";
  o.fill = HoleFill::Auto;
  EXPECT_EQ(hole_start(true, o, deep), HoleStart::Exemplar);
  EXPECT_EQ(hole_start(true, o, shallow), HoleStart::Healed);
  o.texture = 0;
  EXPECT_EQ(hole_start(true, o, shallow), HoleStart::Smooth);
  EXPECT_EQ(asked, 3);
}

}  // namespace

namespace {

// The model's change comes at its own pixels, enlarged with the window: its colour is blurred at
// that scale. The analytic model keeps part of the start's noise, independent per channel and per
// work pixel: a window shrunk 6× shows it as blocks of 6 photo pixels. Their colour must go (a draft
// of an object on 20 MP came back as pastel confetti); their grey, the model's texture, stays.
TEST(Region, TheModelsColourChangeIsBlurredAtItsOwnScale) {
  const int64_t size = 384;
  const at::Tensor photo = cm::testing::smooth_photo(size, size) * 0.5;
  at::Tensor hole = at::zeros({1, 1, size, size});
  hole.narrow(2, 96, 192).narrow(3, 96, 192).fill_(1);
  const auto f = cm::testing::analytic_model(64);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.5);
  s.warm_start = true;
  s.seed = 3;
  region::RegionOptions o;
  o.fill = region::HoleFill::Smooth;
  o.max_work_size = 64;  // the hole's window is about 6× the work size
  const at::Tensor start = fill_holes(photo * (1 - hole), 1 - hole);
  const at::Tensor change = (region::inpaint_photo(f, photo * (1 - hole), hole, s, o) - start).narrow(2, 112, 160).narrow(3, 112, 160);
  const at::Tensor grey = change.mean(1, true), colour = change - grey;
  // Differences at the blocks' scale, 6 px apart.
  const auto rough = [](const at::Tensor& x) { return (x.narrow(3, 6, x.size(3) - 6) - x.narrow(3, 0, x.size(3) - 6)).abs().mean().item<double>(); };
  ASSERT_GT(rough(grey), 0.01) << "the model changed the start";
  EXPECT_LT(rough(colour), 0.3 * rough(grey)) << "the colour varies as much as the grey: speckle";
}

// How far an inpainting's smooth start (a draft's, or HoleFill::Smooth; at next to no noise, so
// the start shows) is from the membrane fill of the whole photo, inside the hole.
double from_the_whole_membrane(const at::Tensor& photo, const at::Tensor& hole, region::RegionOptions o) {
  const auto f = cm::testing::analytic_model(32);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);
  s.warm_start = true;
  o.fill = region::HoleFill::Smooth;
  const at::Tensor out = region::inpaint_photo(f, photo * (1 - hole), hole, s, o);
  const at::Tensor whole = fill_holes(photo * (1 - hole), 1 - hole);
  return ((out - whole).abs() * hole).max().item<double>();
}

// An object's smooth start is one membrane for the whole mask. Window by window, a membrane met
// the window's edge where the hole went on beyond it and took whatever the rest of its edge said
// there: a sky came back with a darker bar along a window.
TEST(Region, AnObjectsSmoothStartIsOneMembraneAcrossItsWindows) {
  // Waves of opposite phase above and below the hole: inside, the membrane is a saddle that a
  // window's edge through the hole does not know.
  const int64_t height = 160, width = 1200;
  const at::Tensor x = at::arange(width, at::kFloat).view({1, 1, 1, -1}), y = at::arange(height, at::kFloat).view({1, 1, -1, 1});
  const at::Tensor wave = at::sin(x * (2 * M_PI / 240)) * at::tanh((y - 80) / 8) * 0.6;
  const at::Tensor photo = at::cat({wave, -wave, wave * 0.5}, 1);
  at::Tensor hole = at::zeros({1, 1, height, width});
  hole.narrow(2, 20, 120).narrow(3, 40, 1120).fill_(1);  // 60 px deep, 1120 long: several windows
  region::RegionOptions o;
  int windows = 0;
  o.window_schedule = [&](const region::RegionOptions::WindowStart&) {
    ++windows;
    return cm::sampling::karras_schedule(1, 0.002);
  };
  const double distance = from_the_whole_membrane(photo, hole, o);
  ASSERT_GE(windows, 2) << "the hole spans several windows";
  EXPECT_LT(distance, 0.01) << windows << " windows";  // window by window it was 0.024 away
}

// A long thin stroke's membrane is made on the stroke's neighbourhood (a few times its depth), not
// on a quarter of its length around it: the fill inside is the same as on the whole photo.
TEST(Region, AThinStrokesMembraneIsTheWholePhotosFill) {
  const int64_t height = 480, width = 1600;
  const at::Tensor x = at::arange(width, at::kFloat).view({1, 1, 1, -1}), y = at::arange(height, at::kFloat).view({1, 1, -1, 1});
  // Detail at every scale: a stroke's fill reads only its edges, but a coarse level the whole box.
  const at::Tensor texture = at::sin(x * 0.37) * at::cos(y * 0.23) * 0.2 + at::sin((x + 2 * y) * (2 * M_PI / 700)) * 0.5;
  const at::Tensor photo = at::cat({texture, -texture * 0.7, texture.flip(3) * 0.5}, 1);
  at::Tensor hole = at::zeros({1, 1, height, width});
  hole.narrow(2, 232, 16).narrow(3, 100, 1400).fill_(1);  // 8 px deep, 1400 long
  region::RegionOptions o;
  o.feather = 0;
  EXPECT_LT(from_the_whole_membrane(photo, hole, o), 0.005);  // measured 0.0014
}

// The editor converts an edit's result along a mask only inside the windows it reported
// (on_window): nothing else may differ from the input, bit for bit, for inpaint and sketch.
TEST(Region, AnEditAlongAMaskChangesOnlyTheWindowsItReports) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor photo = cm::testing::smooth_photo(300, 420);
  at::Tensor mask = dab(300, 420, 40, 30, 20);
  mask.narrow(2, 200, 12).narrow(3, 150, 240).fill_(1);  // a stroke apart from the dab
  for (const bool sketch : {false, true}) {
    region::RegionOptions o;
    o.grow = 2, o.feather = 8;
    at::Tensor reported = at::zeros({1, 1, 300, 420}, at::kBool);
    o.on_window = [&](int64_t y0, int64_t x0, const at::Tensor& pixels) {
      reported.narrow(2, y0, pixels.size(2)).narrow(3, x0, pixels.size(3)).fill_(true);
    };
    EditSettings s = steps(1, 2.0);
    s.warm_start = true;
    const at::Tensor painting = sketch ? at::where(mask > 0, at::full_like(photo, 0.3), photo) : photo;
    const at::Tensor out = sketch ? region::sketch_photo(f, painting, s, mask, o) : region::inpaint_photo(f, photo, mask, s, o);
    const at::Tensor differs = (out != painting).any(1, true);
    ASSERT_TRUE(differs.any().item<bool>()) << (sketch ? "sketch" : "inpaint");
    EXPECT_FALSE((differs & reported.logical_not()).any().item<bool>()) << (sketch ? "sketch" : "inpaint");

    // Only that box comes back when asked (the editor's previews): the whole result's pixels there.
    const at::Tensor at_ = reported[0][0].nonzero();
    const int64_t y0 = at_.select(1, 0).min().item<int64_t>(), x0 = at_.select(1, 1).min().item<int64_t>();
    const int64_t y1 = at_.select(1, 0).max().item<int64_t>() + 1, x1 = at_.select(1, 1).max().item<int64_t>() + 1;
    o.reported_box_only = true;
    const at::Tensor box = sketch ? region::sketch_photo(f, painting, s, mask, o) : region::inpaint_photo(f, photo, mask, s, o);
    EXPECT_TRUE(at::equal(box, out.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0))) << (sketch ? "sketch" : "inpaint");
  }
  region::RegionOptions o;
  o.reported_box_only = true;
  EXPECT_EQ(region::inpaint_photo(f, photo, at::zeros({1, 1, 300, 420}), steps(1, 2.0), o).numel(), 0) << "no windows";
}

}  // namespace
