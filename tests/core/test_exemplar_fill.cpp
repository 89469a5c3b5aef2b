// The exemplar fill (core/edit/exemplar_fill.h): it copies texture from the photo where a smooth
// fill can only blur, keeps every known pixel, and is the same on every run.
#include "core/base/cancel.h"
#include "core/analytic_model.h"
#include "core/expect_error.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/edit/region.h"
#include "core/edit/resample.h"
#include "core/engine/edit_registry.h"
#include "core/engine/edit_request.h"
#include "core/engine/execute.h"
#include "core/model/model_card.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

namespace cm {
namespace {

namespace engine = cm::engine;
namespace sampling = cm::sampling;

using testing::stripes;
using testing::texture_energy;

// A square hole of `side` pixels at (y0, x0).
at::Tensor box_hole(int64_t size, int64_t y0, int64_t x0, int64_t side) { return testing::box_mask(size, y0, x0, side, side); }

double mean_abs_in(const at::Tensor& a, const at::Tensor& b, const at::Tensor& where) {
  return ((a - b).abs() * where).sum().item<double>() / (where.sum().item<double>() * a.size(1));
}

TEST(ExemplarFill, CopiesATextureASmoothFillBlurs) {
  const at::Tensor truth = stripes(96), hole = box_hole(96, 30, 34, 32);
  const at::Tensor holed = truth * (1 - hole);
  const at::Tensor exemplar = edit::exemplar_fill(holed, hole <= 0);
  const at::Tensor smooth = edit::fill_holes(holed, hole <= 0);
  const double exemplar_error = mean_abs_in(exemplar, truth, hole), smooth_error = mean_abs_in(smooth, truth, hole);
  EXPECT_LT(exemplar_error, 0.05) << "the stripes are continued, not invented";
  EXPECT_GT(smooth_error, 0.3) << "the membrane fill flattens them (the reason for this fill)";
  // Known pixels bit for bit, and nothing outside the photo's own range.
  EXPECT_TRUE(at::equal(exemplar * (1 - hole), holed));
  EXPECT_LE(exemplar.abs().max().item<double>(), truth.abs().max().item<double>() + 1e-6);
}

TEST(ExemplarFill, TheSameSeedGivesTheSameFillAndAnotherSeedAnother) {
  const at::Tensor photo = at::rand({1, 3, 80, 80}, at::make_generator<at::CPUGeneratorImpl>(3)) * 2 - 1;
  const at::Tensor hole = box_hole(80, 20, 20, 30);
  edit::ExemplarOptions o;
  const at::Tensor a = edit::exemplar_fill(photo, hole <= 0, o), b = edit::exemplar_fill(photo, hole <= 0, o);
  EXPECT_TRUE(at::equal(a, b));
  o.seed = 1;
  EXPECT_FALSE(at::equal(a, edit::exemplar_fill(photo, hole <= 0, o)));
}

TEST(ExemplarFill, WithNothingToCopyFromItIsTheSmoothFill) {
  // A hole that leaves no whole 7×7 patch outside it: the membrane fill, exactly.
  const at::Tensor photo = stripes(24), hole = box_hole(24, 3, 3, 18);
  EXPECT_TRUE(at::equal(edit::exemplar_fill(photo, hole <= 0), edit::fill_holes(photo, hole <= 0)));
  // No hole: the photo back.
  EXPECT_TRUE(at::equal(edit::exemplar_fill(photo, at::ones({1, 1, 24, 24})), photo));
}

TEST(ExemplarFill, FillsGreyPhotosAndHolesAtTheBorder) {
  const at::Tensor grey = stripes(64).narrow(1, 0, 1).contiguous(), hole = box_hole(64, 0, 40, 24);  // top-right corner
  const at::Tensor filled = edit::exemplar_fill(grey, hole <= 0);
  ASSERT_EQ(filled.sizes(), grey.sizes());
  EXPECT_LT(mean_abs_in(filled, grey, hole), 0.1);
}

// A hole in a light cloth that is only a little wider than the hole (a towel between hair and
// bread): at the coarsest level hardly a whole patch of cloth is left to copy, and an unguided
// fill copies the dark surroundings into the hole. Held against the membrane fill there (light,
// from the hole's edge), it stays cloth.
TEST(ExemplarFill, TheHoleKeepsTheColourAroundItWhereLittleOfItIsLeftToCopy) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t n = 128;
  at::Tensor photo = -0.6 + 0.3 * at::randn({1, 3, n, n}, gen);                        // the rest
  photo.narrow(2, 30, 68).narrow(3, 30, 68).copy_(0.6 + 0.08 * at::randn({1, 3, 68, 68}, gen));  // the cloth
  const at::Tensor hole = box_hole(n, 40, 40, 48);  // in the cloth, 10 px from its edges
  const at::Tensor holed = photo * (1 - hole);
  const auto dark_share = [&](const edit::ExemplarOptions& o) {
    const at::Tensor filled = edit::exemplar_fill(holed, hole <= 0, o);
    return ((filled.mean(1, true) < 0) & (hole > 0)).sum().item<double>() / hole.sum().item<double>();
  };
  EXPECT_LT(dark_share({}), 0.01);
  edit::ExemplarOptions unguided;
  unguided.guide = 0, unguided.seamless = false;  // seamless alone mends most of it: the guide's part, alone
  EXPECT_GT(dark_share(unguided), 0.5) << "without the guide the dark surroundings fill the hole (why it exists)";
}

// A sketch over a hole that spans two textures, red on the left and blue on the right, painted
// red in its upper half and blue in its lower half: with the painting as its layout each half
// is filled with the texture of its painted colour; without it, with what lies beside it.
TEST(ExemplarFill, ALayoutChoosesWhichTextureFillsEachPartOfTheHole) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const int64_t n = 128;
  const at::Tensor red = at::tensor({0.6f, -0.5f, -0.5f}).view({1, 3, 1, 1}), blue = at::tensor({-0.5f, -0.5f, 0.6f}).view({1, 3, 1, 1});
  at::Tensor photo = 0.15 * at::randn({1, 3, n, n}, gen);
  photo.narrow(3, 0, 64).add_(red), photo.narrow(3, 64, 64).add_(blue);
  const at::Tensor hole = box_hole(n, 40, 40, 48);  // across the border between them
  at::Tensor painting = photo * (1 - hole);
  painting.narrow(2, 40, 24).narrow(3, 40, 48).copy_(red.expand({1, 3, 24, 48}));
  painting.narrow(2, 64, 24).narrow(3, 40, 48).copy_(blue.expand({1, 3, 24, 48}));
  // The share of a part of the hole whose pixels are redder than blue.
  const auto red_share = [](const at::Tensor& filled, int64_t y0) {
    const at::Tensor part = filled.narrow(2, y0 + 4, 16).narrow(3, 44, 40);  // off the halves' border
    return (part[0][0] > part[0][2]).to(at::kFloat).mean().item<double>();
  };
  const at::Tensor guided = edit::exemplar_fill(painting, hole <= 0, {}, painting);
  EXPECT_GT(red_share(guided, 40), 0.9) << "the half painted red";
  EXPECT_LT(red_share(guided, 64), 0.1) << "the half painted blue";
  const double texture = guided.narrow(2, 44, 16).narrow(3, 44, 40).std(std::vector<int64_t>{2, 3}).mean().item<double>();
  EXPECT_GT(texture, 0.1) << "a copied texture (the photo's is 0.15), not the flat paint";
  const at::Tensor plain = edit::exemplar_fill(painting, hole <= 0);
  EXPECT_LT(red_share(plain, 40), 0.8) << "without the layout the upper right is blue (why the layout exists)";
  EXPECT_CM_ERROR(edit::exemplar_fill(painting, hole <= 0, {}, painting.narrow(2, 0, 64)), ErrorCode::BadArgument,
                  "the exemplar fill's layout must be the image's size");
}

// A copy's colour meets the photo's without a step. The hole sits in a darker frame too thin to
// copy from, so the patches come from the brighter rest of the photo, and a person would see the
// hole's outline. Seamless (ExemplarOptions::seamless) spreads the difference of the two sides'
// local means at the edge into the hole; the texture stays the copy's.
TEST(ExemplarFill, TheCopyTakesTheColourOfTheHolesEdge) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(13);
  const int64_t n = 128;
  at::Tensor photo = 0.3 + 0.12 * at::randn({1, 3, n, n}, gen);
  photo.narrow(2, 34, 60).narrow(3, 34, 60).sub_(0.6);  // the frame: 6 px around the hole
  const at::Tensor hole = box_hole(n, 40, 40, 48);
  const at::Tensor inner = hole - (-at::max_pool2d(-hole, {7, 7}, {1, 1}, {3, 3}));  // the hole's pixels ≤ 3 px from its edge
  const at::Tensor outer = at::max_pool2d(hole, {7, 7}, {1, 1}, {3, 3}) - hole;      // the photo's pixels ≤ 3 px from it
  const auto mean_in = [](const at::Tensor& x, const at::Tensor& where) { return (x * where).sum().item<double>() / (where.sum().item<double>() * 3); };
  const auto step = [&](const at::Tensor& filled) { return std::abs(mean_in(filled, inner) - mean_in(photo, outer)); };
  const auto texture = [&](const at::Tensor& filled) {  // what a 5×5 blur takes away, off the edge (where the step would count)
    return mean_in((filled - at::avg_pool2d(filled, {5, 5}, {1, 1}, {2, 2}, false, false)).abs(), hole - inner);
  };
  edit::ExemplarOptions plain;
  plain.seamless = false;
  const at::Tensor copied = edit::exemplar_fill(photo, hole <= 0, plain), seamless = edit::exemplar_fill(photo, hole <= 0);
  EXPECT_GT(step(copied), 0.2) << "copied as it is, the brighter patches show the hole's outline (why seamless exists)";
  EXPECT_LT(step(seamless), 0.05) << "seamless; copied as it is: " << step(copied);
  // The copy's texture stays, but for the few pixels that the shift would take past the photo's
  // darkest, which are held there.
  EXPECT_GT(texture(seamless), 0.8 * texture(copied));
  EXPECT_TRUE(at::equal(seamless * (1 - hole), photo * (1 - hole)));
}

// On the CPU the search runs as one fused loop over the targets; on a GPU as tensor ops. Both must
// make the same fill: the same matches, so the same pixels (up to the order in which a patch's
// squared differences are summed). Both the plain fill and one with a layout (every level guided).
TEST(ExemplarFill, TheFusedCpuSearchFillsAsTheTensorOpsDo) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor photo = (stripes(112) * 0.8 + 0.1 * at::randn({1, 3, 112, 112}, gen)).contiguous();
  const at::Tensor known = box_hole(112, 30, 40, 44) <= 0;
  at::Tensor painting = photo.clone();
  painting.narrow(2, 30, 44).narrow(3, 40, 22).fill_(0.4);
  for (const at::Tensor& layout : {at::Tensor(), painting}) {
    edit::ExemplarOptions fused, tensor_ops;
    tensor_ops.tensor_ops = true;
    const at::Tensor image = layout.defined() ? painting : photo;
    const at::Tensor a = edit::exemplar_fill(image, known, fused, layout), b = edit::exemplar_fill(image, known, tensor_ops, layout);
    const double same = ((a - b).abs() < 1e-5).to(at::kFloat).mean().item<double>();
    EXPECT_GT(same, 0.995) << (layout.defined() ? "with a layout" : "plain");
    EXPECT_LT((a - b).abs().mean().item<double>(), 1e-3);
  }
}

// A hole in a grey texture beside a flat patch of the texture's mean. By colour alone the flat
// patch matches the texture better than the texture does (two textures out of step differ twice
// as much as either differs from its mean), and the hole went flat: on a 12 MP photo, a removed
// sundial came back as a smooth dark blob in the grass. The texture features keep it textured.
TEST(ExemplarFill, ATexturedHoleIsFilledWithTextureNotWithAFlatPatchOfItsMean) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor photo = at::zeros({1, 3, 96, 144});
  photo.narrow(3, 0, 96).copy_(((at::rand({1, 1, 96, 96}, gen) * 2 - 1) * 0.5).expand({1, 3, 96, 96}));
  at::Tensor hole = at::zeros({1, 1, 96, 144}), texture = at::zeros({1, 1, 96, 144});
  hole.narrow(2, 32, 32).narrow(3, 32, 32).fill_(1);
  texture.narrow(3, 0, 96).fill_(1);
  const double photos = texture_energy(photo, texture * (1 - hole));
  edit::ExemplarOptions o;
  const double textured = texture_energy(edit::exemplar_fill(photo, hole <= 0, o), hole) / photos;
  o.texture_weight = 0;
  const double by_colour = texture_energy(edit::exemplar_fill(photo, hole <= 0, o), hole) / photos;
  EXPECT_GT(textured, 0.7) << "the hole is as textured as the photo around it";
  EXPECT_LT(by_colour, 0.3) << "by colour alone it is (mostly) the flat patch: the case the features are for";
}

// A sundial in grass under a band of dark trees (pool photo 00005, docs/QUALITY.md "The coarsest
// level"): the hole's top is a thin strip of grass below a flat band of the grass's own mean
// colour. The coarsest level's peel lays the hole out; by colour alone its guide finds the flat
// band as good as the grass, and the hole came back as a flat patch of it. Its guide also holds
// the texture of the hole's edge, so the grass continues.
TEST(ExemplarFill, AHoleUnderAThinStripOfTextureBelowAFlatBandIsFilledWithTheTexture) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const int64_t height = 128, width = 192;
  const at::Tensor grass = ((at::rand({1, 1, height, width}, gen) * 2 - 1) * 0.5 - 0.3).expand({1, 3, height, width});
  at::Tensor photo = grass.clone();
  const int64_t band = 44, strip = 4;  // the flat band's rows, and the strip of grass under it
  photo.narrow(2, 0, band).fill_(-0.3);
  at::Tensor hole = at::zeros({1, 1, height, width});
  hole.narrow(2, band + strip, height - 4 - band - strip).narrow(3, 40, 112).fill_(1);
  // The share of the hole that is flat: its 5×5 neighbourhood's spread under a fifth of the grass's (0.29).
  const auto flat_share = [&](const at::Tensor& filled) {
    const auto mean = [](const at::Tensor& x) { return at::avg_pool2d(x, {5, 5}, {1, 1}, {2, 2}, false, false); };
    const at::Tensor spread = (mean(filled.pow(2)) - mean(filled).pow(2)).clamp_min(0).sqrt();
    return ((spread < 0.058).to(at::kFloat) * hole).sum().item<double>() / hole.sum().item<double>();
  };
  edit::ExemplarOptions o;
  const double guided = flat_share(edit::exemplar_fill(photo, hole <= 0, o).narrow(1, 0, 1));
  o.texture_guide = 0;
  const double by_colour = flat_share(edit::exemplar_fill(photo, hole <= 0, o).narrow(1, 0, 1));
  EXPECT_LT(guided, 0.02) << "the grass continues into the hole, without a flat patch";
  // 19 % by colour alone with the membrane as the guide's fill, 10 % with coherence transport.
  EXPECT_GT(by_colour, 0.05) << "by colour alone, flat patches of the band: the case the guide's texture is for";
}

// A fill made on the photo shrunk 2× and enlarged by its matches (enlarge_fill) copies the photo's
// own pixels: the stripes continue at full resolution, and a texture keeps its sharpness, where
// the small fill enlarged is a blur of it.
TEST(ExemplarFill, AFillMadeSmallerIsEnlargedWithThePhotosOwnPixels) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const at::Tensor noise = ((at::rand({1, 1, 128, 128}, gen) * 2 - 1) * 0.5).expand({1, 3, 128, 128}).contiguous();
  const at::Tensor hole = box_hole(128, 44, 44, 40), known = hole <= 0;
  const at::Tensor small_known = edit::resize_mask(hole, 64, 64) <= 0;  // a small pixel is hole if any under it is
  for (const at::Tensor& truth : {stripes(128), noise}) {
    const at::Tensor photo = truth * (1 - hole);
    const edit::ExemplarCopy small = edit::exemplar_copy(edit::resize_image(photo, 64, 64), small_known);
    const at::Tensor enlarged = edit::enlarge_fill(photo, known, small);
    EXPECT_TRUE(at::equal(enlarged * (1 - hole), photo)) << "known pixels bit for bit";
    const at::Tensor blurred = at::where(hole > 0, edit::resize_image(small.filled, 128, 128), photo);
    if (truth.equal(noise)) {
      const double photos = texture_energy(truth, 1 - hole);
      EXPECT_GT(texture_energy(enlarged, hole) / photos, 0.8) << "as sharp as the photo";
      EXPECT_LT(texture_energy(blurred, hole) / photos, 0.5) << "the small fill enlarged: a blur";
    } else {
      EXPECT_LT(mean_abs_in(enlarged, truth, hole), 0.05) << "the stripes continue at the photo's own pixels";
      EXPECT_GT(mean_abs_in(blurred, truth, hole), 2 * mean_abs_in(enlarged, truth, hole));
    }
  }
}

// A 128 × 192 photo's hole, x 64–127 and y 32–95, and the sources of a fill of it made 4× smaller:
// the hole's left half (small columns 16–23) copied from 10 small columns to its left, its right
// half (24–31) from 10 to its right.
struct TwoCopies {
  static constexpr int64_t height = 128, width = 192, scale = 4, h = height / scale, w = width / scale;
  at::Tensor hole = at::zeros({1, 1, height, width});
  at::Tensor source = at::full({h, w}, -1, at::kLong);
  TwoCopies() {
    hole.narrow(2, 32, 64).narrow(3, 64, 64).fill_(1);
    for (int64_t y = 8; y < 24; ++y)
      for (int64_t x = 16; x < 32; ++x) source[y][x] = y * w + (x < 24 ? x - 10 : x + 10);
    source = source.reshape({-1});
  }
};

// Two neighbouring parts of a small fill copied from different places: enlarged 4×, they meet in
// a cross-fade a few pixels wide, not in a step (at 100 % on a 12 MP photo, a cut-out collage with
// the small pixels' staircase along every cut), and away from the seam each is its copy exactly.
TEST(ExemplarFill, AnEnlargedFillCrossFadesWhereItsCopiesMeet) {
  const TwoCopies two;
  const int64_t height = two.height, scale = two.scale;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  // A light texture left of the hole, a dark one right of it.
  at::Tensor photo = at::zeros({1, 3, height, two.width});
  photo.narrow(3, 0, 64).copy_(0.5 + 0.2 * at::rand({1, 3, height, 64}, gen));
  photo.narrow(3, 128, 64).copy_(-0.5 - 0.2 * at::rand({1, 3, height, 64}, gen));
  const at::Tensor hole = two.hole;
  const at::Tensor small_photo = edit::resize_image(photo, two.h, two.w);
  const edit::ExemplarCopy small{small_photo, small_photo, two.source};
  const at::Tensor enlarged = edit::enlarge_fill(photo, hole <= 0, small);

  EXPECT_TRUE(at::equal(enlarged * (1 - hole), photo * (1 - hole))) << "known pixels bit for bit";
  const at::Tensor rows = enlarged.narrow(2, 40, 48);  // away from the hole's top and bottom
  const auto off_copy = [&](int64_t x0, int64_t shift) {
    return (rows.narrow(3, x0, 20) - photo.narrow(2, 40, 48).narrow(3, x0 + shift * scale, 20)).abs().max().item<double>();
  };
  EXPECT_LT(off_copy(68, -10), 1e-6) << "x 68–87: the left copy";
  EXPECT_LT(off_copy(104, 10), 1e-6) << "x 104–123: the right copy";
  // Across the seam at x = 96, the columns' mean brightness steps by 1.2 in one pixel without the
  // cross-fade; with it no column differs from the next by more than a third of that.
  const at::Tensor column_means = rows.narrow(3, 84, 24).mean({0, 1, 2});
  const double largest_step = (column_means.narrow(0, 1, 23) - column_means.narrow(0, 0, 23)).abs().max().item<double>();
  EXPECT_LT(largest_step, 0.4) << "a cross-fade, not a step";
  EXPECT_GT(column_means[0].item<double>() - column_means[23].item<double>(), 1.0) << "it still goes from light to dark";
}

// The small fill's correction steps where its copies do (stitching the seam between a light and a
// dark copy lifts one and lowers the other): enlarged with the copies' own cross-fade, the two
// meet without a step; enlarged bilinearly, the correction's ramp and the copies' cross-fade fell
// in different places and left a ridge along the seam.
TEST(ExemplarFill, AnEnlargedCorrectionStepsWhereTheCopiesDo) {
  const TwoCopies two;
  at::Tensor photo = at::zeros({1, 3, two.height, two.width});
  photo.narrow(3, 0, 64).fill_(0.6);
  photo.narrow(3, 128, 64).fill_(-0.6);
  const at::Tensor small_photo = edit::resize_image(photo, two.h, two.w);
  at::Tensor copied = small_photo.clone(), correction = at::zeros_like(small_photo);
  copied.narrow(2, 8, 16).narrow(3, 16, 8).fill_(0.6);
  copied.narrow(2, 8, 16).narrow(3, 24, 8).fill_(-0.6);
  correction.narrow(2, 8, 16).narrow(3, 16, 8).fill_(-0.6);  // both copies brought to 0
  correction.narrow(2, 8, 16).narrow(3, 24, 8).fill_(0.6);
  const edit::ExemplarCopy small{copied + correction, copied, two.source};
  const at::Tensor enlarged = edit::enlarge_fill(photo, two.hole <= 0, small);
  const at::Tensor middle = enlarged.narrow(2, 40, 48).narrow(3, 72, 48);  // the seam at x = 96, within the hole
  EXPECT_LT(middle.abs().max().item<double>(), 1e-5) << "a ridge along the seam";
}

// A photo with no edge anywhere (bokeh: two colours blurred into each other) keeps none in its
// hole: the pieces of the copy are stitched where they meet (gradient_domain.h). Unstitched, a
// person removed from pool photo 00000's bokeh came back as a pale slab with hard edges.
TEST(ExemplarFill, ABlurredPhotosHoleGetsNoEdgeBetweenItsCopies) {
  const int64_t size = 128;
  const at::Tensor x = at::arange(size, at::kFloat).view({1, 1, 1, -1}).expand({1, 1, size, size});
  const at::Tensor y = at::arange(size, at::kFloat).view({1, 1, -1, 1}).expand({1, 1, size, size});
  // Smooth colours: a green to cream slope left to right, a blue glow above, each over tens of pixels.
  const at::Tensor t = at::sigmoid((x - 64) / 10), glow = at::exp(-((x - 50).pow(2) + (y - 20).pow(2)) / 800);
  const at::Tensor photo = at::cat({0.2 + 0.6 * t - 0.5 * glow, 0.5 + 0.3 * t - 0.2 * glow, -0.3 + 0.8 * t + 0.6 * glow}, 1).contiguous();
  const at::Tensor hole = box_hole(size, 40, 40, 48);
  const auto largest_step = [](const at::Tensor& image, const at::Tensor& where) {
    const at::Tensor dx = (image.narrow(3, 1, image.size(3) - 1) - image.narrow(3, 0, image.size(3) - 1)).abs().amax(1, true);
    const at::Tensor dy = (image.narrow(2, 1, image.size(2) - 1) - image.narrow(2, 0, image.size(2) - 1)).abs().amax(1, true);
    return std::max(dx.masked_select(where.narrow(3, 1, image.size(3) - 1) > 0).max().item<double>(),
                    dy.masked_select(where.narrow(2, 1, image.size(2) - 1) > 0).max().item<double>());
  };
  const double photo_step = largest_step(photo, at::ones_like(hole));
  edit::ExemplarOptions unstitched;
  unstitched.stitch = false;
  const at::Tensor filled = edit::exemplar_fill(photo, hole <= 0), unstitched_fill = edit::exemplar_fill(photo, hole <= 0, unstitched);
  // Inside the hole (2 px from its edge) no step larger than twice the photo's largest; across
  // its edge, where the copy's colour is matched by local means (seamless), a little more.
  const at::Tensor inside = box_hole(size, 42, 42, 44);
  EXPECT_LT(largest_step(filled, inside), 2 * photo_step)
      << "the photo's largest step " << photo_step << "; unstitched " << largest_step(unstitched_fill, inside);
  EXPECT_LT(largest_step(filled, hole), 4 * photo_step) << "unstitched " << largest_step(unstitched_fill, hole);
}

TEST(HoleDepth, IsTheRadiusOfTheLargestSquareInside) {
  EXPECT_EQ(edit::hole_depth(at::ones({1, 1, 32, 32})), 0);
  at::Tensor line = at::ones({1, 1, 32, 32});
  line.narrow(2, 10, 1).fill_(0);
  EXPECT_EQ(edit::hole_depth(line), 1);
  EXPECT_EQ(edit::hole_depth(box_hole(64, 10, 10, 20) <= 0), 10);
  EXPECT_EQ(edit::hole_depth(box_hole(64, 10, 10, 21) <= 0), 11);
  EXPECT_EQ(edit::hole_depth(box_hole(64, 0, 0, 20) <= 0), 20) << "the photo's edge is not known";
  EXPECT_EQ(edit::hole_depth(box_hole(64, 10, 10, 40) <= 0, 8), 8) << "capped";
}

TEST(ExemplarCache, FillsOncePerImageAndHoleAndForgetsTheOldest) {
  edit::ExemplarCache cache(2);
  int fills = 0;
  const at::Tensor image = stripes(16), a = box_hole(16, 2, 2, 4) <= 0, b = box_hole(16, 8, 8, 4) <= 0;
  const auto fill = [&] { return at::full({1}, ++fills); };
  EXPECT_EQ(cache.get_or_fill(image, a, 0, fill).item<int>(), 1);
  EXPECT_EQ(cache.get_or_fill(image.clone(), a.clone(), 0, fill).item<int>(), 1) << "same pixels, same hole: a hit";
  EXPECT_EQ(cache.get_or_fill(image, b, 0, fill).item<int>(), 2) << "another hole";
  EXPECT_EQ(cache.get_or_fill(image * 0.5, a, 0, fill).item<int>(), 3) << "another photo";
  EXPECT_EQ(cache.get_or_fill(image, a, 0, fill).item<int>(), 4) << "evicted: capacity 2";
  EXPECT_EQ(cache.hits(), 1u);
}

// On a 50 MP photo one object's fill is 690 MB: the cache keeps to its byte budget, the oldest
// going first, and does not keep a fill larger than all of it.
TEST(ExemplarCache, KeepsWithinItsByteBudgetTheOldestGoingFirst) {
  const at::Tensor image = stripes(16);
  const auto hole = [](int64_t y) { return box_hole(16, y, 2, 4) <= 0; };
  int fills = 0;
  const auto fill = [&] { return at::full_like(image, ++fills); };
  const std::size_t entry = image.nbytes() + hole(0).nbytes() + image.nbytes();
  edit::ExemplarCache cache(32, 2 * entry + entry / 2);
  for (int64_t y : {0, 2, 4}) cache.get_or_fill(image, hole(y), 0, fill);
  EXPECT_EQ(cache.bytes(), 2 * entry) << "two entries fit in two and a half";
  EXPECT_EQ(cache.get_or_fill(image, hole(4), 0, fill)[0][0][0][0].item<int>(), 3) << "the newest is kept";
  EXPECT_EQ(cache.get_or_fill(image, hole(0), 0, fill)[0][0][0][0].item<int>(), 4) << "the oldest went first";
  edit::ExemplarCache small(32, entry - 1);
  small.get_or_fill(image, hole(0), 0, fill);
  EXPECT_EQ(small.bytes(), 0u) << "a fill larger than the whole budget is not kept";
  EXPECT_EQ(small.get_or_fill(image, hole(0), 0, fill)[0][0][0][0].item<int>(), 6);
}

// Through the engine: which start an inpainting gets, and at which default strength.
engine::EditRequest inpaint_request(const at::Tensor& photo, const at::Tensor& mask) {
  engine::EditRequest r;
  r.kind = edit::EditKind::Inpaint;
  r.image = photo;
  r.mask = mask;
  return r;
}

TEST(ExemplarInpaint, LargeHolesStartFromCopiedPatchesThinStrokesFromTheMembrane) {
  const engine::EditSpec& spec = engine::spec_of(edit::EditKind::Inpaint);
  const at::Tensor photo = stripes(160), box = box_hole(160, 48, 50, 64);  // 32 px deep: a large hole
  at::Tensor stroke = at::zeros({1, 1, 160, 160});
  stroke.narrow(2, 40, 5).narrow(3, 10, 70).fill_(1);  // a 5-px brush stroke
  edit::region::RegionOptions o;
  EXPECT_TRUE(edit::region::uses_exemplar(box, o));
  EXPECT_FALSE(edit::region::uses_exemplar(stroke, o));
  o.grow = edit::region::kLargeHoleDepth;  // grown by the compositing, the stroke is a large hole
  EXPECT_TRUE(edit::region::uses_exemplar(stroke, o));
  o.grow = 0, o.fill = edit::region::HoleFill::Smooth;
  EXPECT_FALSE(edit::region::uses_exemplar(box, o));
  o.fill = edit::region::HoleFill::Exemplar;
  EXPECT_TRUE(edit::region::uses_exemplar(stroke, o));

  // The default strength follows the start; a draft (the live preview) keeps the quick start.
  engine::EditRequest r = inpaint_request(photo, box);
  EXPECT_EQ(engine::strength_of(r), spec.exemplar_strength);
  EXPECT_EQ(engine::strength_of(inpaint_request(photo, stroke)), spec.strength);
  r.use = engine::EditRequest::Use::Draft;
  EXPECT_EQ(engine::resolved(r, true).region.fill, edit::region::HoleFill::Smooth);
  EXPECT_EQ(engine::strength_of(engine::resolved(r, true)), spec.strength);
  r.strength = 0.7;
  EXPECT_EQ(engine::strength_of(engine::resolved(r, true)), 0.7) << "a strength asked for is kept";
}

TEST(ExemplarInpaint, AtStrengthZeroTheHoleIsTheCopiedTextureAndTheFillIsCached) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor truth = stripes(160), box = box_hole(160, 48, 50, 64);
  engine::EditRequest r = inpaint_request(truth * (1 - box), box);
  r.strength = 0;
  edit::ExemplarCache cache;
  const engine::RunContext cached{{}, &cache};
  engine::Timings t;
  const at::Tensor exemplar = engine::execute(f, testing::analytic_card(), r, cached, t);
  EXPECT_LT(mean_abs_in(exemplar, truth, box), 0.05);
  EXPECT_TRUE(at::equal(exemplar * (1 - box), r.image)) << "every pixel outside the mask as it was";
  r.seed = 7, r.strength = 0.3;  // another seed and strength: the same fill, from the cache
  engine::execute(f, testing::analytic_card(), r, cached, t);
  EXPECT_EQ(cache.hits(), 1u);
  r.region.fill = edit::region::HoleFill::Smooth, r.strength = 0;
  EXPECT_GT(mean_abs_in(engine::execute(f, testing::analytic_card(), r, {}, t), truth, box), 0.3) << "the membrane start blurs the stripes";
}

// At the default strength more steps add nothing one can measure (engine::window_steps), so every
// window along a mask, an object's or a thin stroke's, inpainted or sketched, takes one evaluation
// whatever the steps; a strength asked for takes them all. Progress counts what runs.
TEST(DefaultStrength, EveryWindowTakesOneEvaluationWhateverTheSteps) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor photo = stripes(160), box = box_hole(160, 48, 50, 64);
  at::Tensor stroke = at::zeros({1, 1, 160, 160});
  stroke.narrow(2, 40, 5).narrow(3, 10, 140).fill_(1);
  const auto evaluations = [&](const at::Tensor& mask, double strength, edit::EditKind kind) {
    engine::EditRequest r = inpaint_request(photo * (1 - mask), mask);
    r.kind = kind;
    r.steps = 3, r.strength = strength;
    engine::Timings t;
    int last_step = 0, total = 0;
    engine::RunContext context;
    context.control.on_step = [&](const cm::sampling::StepInfo& s) { last_step = s.step, total = s.total; };
    engine::execute(f, testing::analytic_card(), r, context, t);
    EXPECT_EQ(last_step, t.evaluations) << "progress counts the evaluations";
    EXPECT_EQ(total, t.evaluations) << "and ends at its total";
    return t.evaluations;
  };
  const int object = evaluations(box, -1, edit::EditKind::Inpaint), asked = evaluations(box, 0.3, edit::EditKind::Inpaint);
  EXPECT_GE(object, 1);
  EXPECT_EQ(asked, 3 * object) << "a strength asked for runs every step";
  const int thin = evaluations(stroke, -1, edit::EditKind::Inpaint), thin_asked = evaluations(stroke, 0.3, edit::EditKind::Inpaint);
  EXPECT_GE(thin, 2) << "a long stroke takes several windows";
  EXPECT_EQ(thin_asked, 3 * thin);
  EXPECT_EQ(evaluations(stroke, -1, edit::EditKind::Sketch), thin) << "a sketched stroke's windows take one each too";
  // A super-resolution's tiles too (EditSpec::one_step_at_default): a 1100 × 720 selection ×2 took
  // 9 minutes on 2 cores at 3 steps.
  const auto tile_evaluations = [&](double strength) {
    engine::EditRequest r;
    r.kind = edit::EditKind::SuperResolve;
    r.image = photo.narrow(2, 0, 80);
    r.scale = 2;
    r.steps = 3, r.strength = strength;
    engine::Timings t;
    engine::execute(f, testing::analytic_card(), r, engine::RunContext{}, t);
    return t.evaluations;
  };
  const int tiles = tile_evaluations(-1);
  EXPECT_GE(tiles, 4) << "a 160 × 320 result takes several 32-px tiles";
  EXPECT_EQ(tile_evaluations(0.3), 3 * tiles) << "a strength asked for runs every step";
  EXPECT_TRUE(engine::one_step_a_part(engine::spec_of(edit::EditKind::SuperResolve), -1));
  EXPECT_FALSE(engine::one_step_a_part(engine::spec_of(edit::EditKind::SuperResolve), 0.3));
  EXPECT_FALSE(engine::one_step_a_part(engine::spec_of(edit::EditKind::Colorize), -1)) << "one window at the model's size";
}

// A wide sketched stroke starts from the photo's patches laid out as painted, and its fill is
// cached like inpainting's; the live preview's draft never pays for it (seconds on a CPU).
TEST(ExemplarSketch, AWideStrokeStartsFromCopiedPatchesExceptInADraft) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor photo = stripes(160), stroke = box_hole(160, 48, 50, 64);
  engine::EditRequest r = inpaint_request(at::where(stroke > 0, at::zeros_like(photo), photo), stroke);
  r.kind = edit::EditKind::Sketch;
  r.strength = 0;
  edit::ExemplarCache cache;
  const engine::RunContext cached{{}, &cache};
  engine::Timings t;
  r.use = engine::EditRequest::Use::Draft;
  const at::Tensor draft = engine::execute(f, testing::analytic_card(), r, cached, t);
  r.use = engine::EditRequest::Use::Final;
  const at::Tensor final = engine::execute(f, testing::analytic_card(), r, cached, t);
  engine::execute(f, testing::analytic_card(), r, cached, t);
  EXPECT_EQ(cache.hits(), 1u) << "the draft filled nothing; the second final run took the first's fill";
  // The copied stripes continue the photo's (the paint is their mean colour, 0); the draft's
  // mirrored detail fades into the stroke.
  EXPECT_LT(mean_abs_in(final, photo, stroke), 0.1);
  EXPECT_GT(mean_abs_in(draft, photo, stroke), 0.2);
}

TEST(ExemplarInpaint, ASupersededPreviewStopsDuringTheFillAndCachesNothing) {
  // The fill takes seconds on a CPU: a cancelled job must not wait for it, nor leave half of it.
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor truth = stripes(160), box = box_hole(160, 48, 50, 64);
  engine::EditRequest r = inpaint_request(truth * (1 - box), box);
  edit::ExemplarCache cache;
  const engine::RunContext cached{{}, &cache};
  int polls = 0;
  engine::Timings t;
  {
    const CancelScope stop([&polls] { return ++polls > 2; });  // during the fill, before any evaluation
    EXPECT_CM_ERROR(engine::execute(f, testing::analytic_card(), r, cached, t), ErrorCode::Cancelled, "cancelled");
  }
  EXPECT_EQ(polls, 3) << "stopped at the fill's third poll";
  engine::execute(f, testing::analytic_card(), r, cached, t);
  engine::execute(f, testing::analytic_card(), r, cached, t);
  EXPECT_EQ(cache.hits(), 1u) << "the cancelled fill was not cached";
}

}  // namespace
}  // namespace cm
