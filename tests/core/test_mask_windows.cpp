// Windows along a mask (core/edit/mask_windows.h) and the edits that run in them on photos held as
// stored pixels (core/edit/pixels.h, region.h), with the analytic model.
#include "core/analytic_model.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/edit/healing.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask_spots.h"
#include "core/edit/mask_windows.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

using namespace cm::edit;
using cm::testing::max_abs_diff;
namespace region = cm::edit::region;

// A cable: a sagging line `thickness` px wide from the left edge to the right one.
at::Tensor cable(int64_t height, int64_t width, int64_t thickness) {
  at::Tensor m = at::zeros({1, 1, height, width});
  for (int64_t x = 0; x < width; ++x) {
    const double t = double(x) / double(width - 1);
    const int64_t y = int64_t(double(height) * (0.3 + 0.3 * t * (1 - t)));
    m[0][0].narrow(0, y - thickness / 2, thickness).select(1, x).fill_(1);
  }
  return m;
}

// Every pixel within `reach` of the mask (Chebyshev) lies in a core (the first window whose core
// holds it composites it, region.h).
void expect_cores_tile_the_reach(const region::WindowPlan& plan, const at::Tensor& mask, int64_t reach) {
  at::Tensor count = at::zeros({plan.height, plan.width}, at::kInt);
  for (const region::MaskWindow& w : plan.windows) {
    ASSERT_FALSE(w.core.empty());
    EXPECT_GE(w.core.y0, w.window.y0);
    EXPECT_LE(w.core.y1, w.window.y1);
    EXPECT_GE(w.core.x0, w.window.x0);
    EXPECT_LE(w.core.x1, w.window.x1);
    count.narrow(0, w.core.y0, w.core.height()).narrow(1, w.core.x0, w.core.width()).add_(1);
  }
  const at::Tensor reached = at::max_pool2d(mask[0].to(at::kFloat), {2 * reach + 1, 2 * reach + 1}, {1, 1}, {reach, reach})[0] > 0;
  EXPECT_EQ((reached & (count == 0)).sum().item<int64_t>(), 0) << "pixels the edit reaches that no core owns";
}

TEST(MaskWindows, AThinCableIsCoveredByWindowsOfTwoModelSizesEditedAtMostTwiceSmaller) {
  const at::Tensor mask = cable(1500, 4000, 14);
  region::WindowRules rules;
  rules.model_size = 64, rules.max_work = 256;
  const region::WindowPlan plan = region::plan_windows(mask, rules);
  expect_cores_tile_the_reach(plan, mask, 0);
  // One window per ~100 px of cable, none larger than 2 model sizes, none shrunk more than 2×.
  EXPECT_GT(plan.windows.size(), 4000u / 128);
  EXPECT_LT(plan.windows.size(), 4000u / 48);
  for (const region::MaskWindow& w : plan.windows) {
    EXPECT_EQ(w.window.height(), 128);
    EXPECT_EQ(w.window.width(), 128);
    EXPECT_EQ(w.work, 64);
    EXPECT_LE(w.depth, 8);
  }
  // The walk follows the cable: each window starts next to the last one.
  for (std::size_t i = 1; i < plan.windows.size(); ++i) {
    const region::Box& a = plan.windows[i - 1].core;
    const region::Box& b = plan.windows[i].core;
    const int64_t gap = std::max({b.x0 - a.x1, a.x0 - b.x1, b.y0 - a.y1, a.y0 - b.y1});
    EXPECT_LE(gap, 0) << "window " << i << " does not touch window " << i - 1;
  }
  // Shrink 1 edits the same windows at the photo's own pixels.
  rules.shrink = 1;
  for (const region::MaskWindow& w : region::plan_windows(mask, rules).windows) EXPECT_EQ(w.work, 128);
}

TEST(MaskWindows, AWideHoleGetsOneWindowAboutTwiceItsSizeAtTheWorkSizeItsUseAffords) {
  const at::Tensor mask = cm::testing::box_mask(1000, 400, 300, 200, 200);
  region::WindowRules rules;
  rules.model_size = 64, rules.max_work = 256;
  const region::WindowPlan plan = region::plan_windows(mask, rules);
  expect_cores_tile_the_reach(plan, mask, 0);
  ASSERT_EQ(plan.windows.size(), 1u);
  EXPECT_EQ(plan.windows[0].window.height(), 432);  // 2·200 + 32
  EXPECT_EQ(plan.windows[0].work, 216);             // shrunk 2×
  rules.max_work = 64;  // a draft: the hole is wide, the window shrinks more
  EXPECT_EQ(region::plan_windows(mask, rules).windows[0].work, 64);
  rules.max_work = 512, rules.shrink = 1;  // at the photo's own pixels where the work size allows
  EXPECT_EQ(region::plan_windows(mask, rules).windows[0].work, 432);
}

TEST(MaskWindows, GrowAndFeatherReachIsCoveredAndTheFocusIsEditedFirst) {
  at::Tensor mask = cable(400, 900, 6);
  mask.narrow(2, 300, 20).narrow(3, 700, 20).fill_(1);  // a dab away from the cable
  region::WindowRules rules;
  rules.reach = 21;
  rules.focus_y = 310, rules.focus_x = 710;
  const region::WindowPlan plan = region::plan_windows(mask, rules);
  expect_cores_tile_the_reach(plan, mask, rules.reach);
  const region::Box& first = plan.windows.front().core;
  EXPECT_TRUE(first.y0 <= 310 && 310 < first.y1 && first.x0 <= 710 && 710 < first.x1);
  EXPECT_TRUE(region::plan_windows(at::zeros({1, 1, 50, 50}), rules).windows.empty());
}

TEST(MaskWindows, HoleDepthsAreTheErosionsEachPixelSurvives) {
  at::Tensor mask = cm::testing::box_mask(40, 5, 8, 20, 12);
  mask.narrow(2, 0, 6).narrow(3, 30, 6).fill_(1);  // touches the photo's edge
  for (bool outside_is_hole : {true, false}) {
    const at::Tensor d = region::hole_depths(mask, region::Box{0, 0, 40, 40}, 100, outside_is_hole);
    EXPECT_EQ(d[5 + 10][8 + 6].item<int>(), 6);  // the box's centre: 6 px from its nearest edge
    EXPECT_EQ(d[0][0].item<int>(), 0);
    EXPECT_EQ(d[0][33].item<int>(), outside_is_hole ? 3 : 1);
  }
  EXPECT_EQ(region::max_hole_depth(mask, 100, true), hole_depth(mask <= 0, 100));
  EXPECT_EQ(region::max_hole_depth(mask, 4, true), 4);  // capped
}

// The mask's scans read its bytes eight at a time (MaskRows::span): a row's first and last hole
// pixels, wherever they fall among the words, in bytes, bools and floats alike.
TEST(MaskWindows, TheBoundingBoxAndSpotsAreTheSameInEveryDtypeAndRowWidth) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  for (int64_t width : {1, 7, 8, 9, 15, 16, 17, 31, 33, 40}) {
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t height = 9;
      // Sparse pixels, and on two trials a blob, so that spots are found too.
      at::Tensor mask = (at::rand({1, 1, height, width}, gen) < 0.04).to(at::kFloat);
      if (trial % 3 == 0 && width >= 8) mask.narrow(2, 2, 5).narrow(3, width - 7, 6).fill_(1);
      const at::Tensor at_ = mask[0][0].nonzero();
      const region::Box expected = at_.size(0) == 0 ? region::Box{}
                                                     : region::Box{at_.select(1, 0).min().item<int64_t>(), at_.select(1, 1).min().item<int64_t>(),
                                                                   at_.select(1, 0).max().item<int64_t>() + 1, at_.select(1, 1).max().item<int64_t>() + 1};
      const std::vector<region::Box> spots = region::spots_of(mask, 1, 2);
      if (trial % 3 == 0 && width >= 8) {  // the blob, grown by 1, with whatever pixels touch it
        const region::Box blob = region::grown({2, width - 7, 7, width - 1}, 1, height, width);
        EXPECT_TRUE(std::any_of(spots.begin(), spots.end(), [&](const region::Box& s) { return region::contains(s, blob); }))
            << "width " << width << ": the blob is a spot";
      }
      for (const at::Tensor& m : {mask, mask.to(at::kByte), mask > 0}) {
        const region::Box box = region::bounding_box(m);
        EXPECT_TRUE(box.y0 == expected.y0 && box.x0 == expected.x0 && box.y1 == expected.y1 && box.x1 == expected.x1)
            << "width " << width << ", trial " << trial << ", " << m.scalar_type() << ": (" << box.y0 << ", " << box.x0 << ", "
            << box.y1 << ", " << box.x1 << ") against (" << expected.y0 << ", " << expected.x0 << ", " << expected.y1 << ", "
            << expected.x1 << ")";
        const std::vector<region::Box> found = region::spots_of(m, 1, 2);
        ASSERT_EQ(found.size(), spots.size()) << "width " << width << ", " << m.scalar_type();
        for (std::size_t i = 0; i < found.size(); ++i)
          EXPECT_TRUE(region::contains(found[i], spots[i]) && region::contains(spots[i], found[i]));
      }
    }
  }
}

// An object wider than one window: its windows take their starts from one exemplar fill of the
// whole mask (one texture; each window's own fill met the earlier ones in seams), so a repeat
// finds one fill in the cache. A long stroke, even one drawn straight (a box of hole), keeps the
// fills of its stretches, made closer to the photo's pixels: one whole fill would be made at a
// scale where the stroke is thin (kWholeFillDepth).
TEST(MaskWindows, AnObjectsWindowsTakeTheirStartsFromOneFillOfTheWholeMask) {
  const auto f = cm::testing::analytic_model(32);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);  // next to nothing: the start shows
  s.warm_start = true;
  ExemplarCache cache(32);  // the engine's: every window's fill of a long stroke is kept
  s.exemplar_cache = &cache;
  region::RegionOptions o;
  int windows = 0;
  o.on_window = [&](int64_t, int64_t, const at::Tensor&) { ++windows; };
  const auto fills_on_a_repeat = [&](const at::Tensor& photo, const at::Tensor& mask) {
    windows = 0;
    const at::Tensor out = region::inpaint_photo(f, photo * (1 - mask), mask, s, o);
    const std::size_t before = cache.hits();
    region::inpaint_photo(f, photo * (1 - mask), mask, s, o);
    return std::pair{out, cache.hits() - before};
  };
  const at::Tensor truth = cm::testing::stripes(320), object = cm::testing::box_mask(320, 110, 30, 90, 260);
  const auto [out, object_fills] = fills_on_a_repeat(truth, object);
  EXPECT_GT(windows / 2, 1) << "the object needs more than one window";
  EXPECT_EQ(object_fills, 1u);
  EXPECT_LT(((out - truth).abs() * object).sum().item<double>() / (object.sum().item<double>() * 3), 0.05)
      << "the stripes continue through every window";

  at::Tensor stroke = at::zeros({1, 1, 160, 1300});
  stroke.narrow(2, 45, 70).narrow(3, 50, 1200).fill_(1);
  o.fill = region::HoleFill::Exemplar;  // every window's start, deep or not
  const auto [unused, stroke_fills] = fills_on_a_repeat(cm::testing::stripes(1300).narrow(2, 0, 160), stroke);
  EXPECT_GT(stroke_fills, 1u) << "fills of the stroke's stretches, not one of the whole";
}

// The exemplar fills read only the photo around the mask's windows (region_windows.cpp, Starts),
// not a copy of the whole photo: a stroke along a corner, whose windows reach past the photo's
// edges, and one in the middle come back the same whatever the photo holds far from them, and as
// stored pixels.
TEST(MaskWindows, AStrokeIsFilledFromTheCopyAroundItAlone) {
  const auto f = cm::testing::analytic_model(32);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);
  s.warm_start = true;
  region::RegionOptions o;
  o.fill = region::HoleFill::Exemplar;
  at::Tensor corner = at::zeros({1, 1, 700, 900}), middle = corner.clone();
  corner.narrow(2, 0, 40).narrow(3, 0, 300).fill_(1);    // along the top edge from the corner
  corner.narrow(2, 0, 200).narrow(3, 0, 30).fill_(1);    // and down the left one
  middle.narrow(2, 250, 40).narrow(3, 150, 300).fill_(1);
  const at::Tensor photo = cm::testing::stripes(900).narrow(2, 0, 700).contiguous();
  at::Tensor far = photo.clone();
  far.narrow(2, 600, 100).narrow(3, 700, 200).fill_(0.9);  // the opposite corner, far from every window
  for (const at::Tensor& mask : {corner, middle}) {
    const at::Tensor out = region::inpaint_photo(f, photo, mask, s, o);
    EXPECT_EQ(max_abs_diff(out * mask, region::inpaint_photo(f, far, mask, s, o) * mask), 0.0) << "the fill saw the far corner";
    EXPECT_EQ(max_abs_diff(out * (1 - mask), photo * (1 - mask)), 0.0);
    EXPECT_LT(((out - photo).abs() * mask).sum().item<double>() / (mask.sum().item<double>() * 3), 0.1) << "the stripes go on";
    const at::Tensor stored = to_form_of(photo, at::zeros({1, 3, 1, 1}, at::kByte));
    EXPECT_TRUE(at::equal(region::inpaint_photo(f, stored, mask, s, o),
                          to_form_of(region::inpaint_photo(f, to_unit(stored), mask, s, o), stored)));
  }
}

TEST(StoredPixels, UnitAndStoredFormsRoundTripExactly) {
  const at::Tensor bytes = at::arange(256, at::kInt).to(at::kByte).view({1, 1, 16, 16});
  EXPECT_TRUE(is_stored(bytes));
  const at::Tensor unit = to_unit(bytes);
  EXPECT_FLOAT_EQ(unit.min().item<float>(), -1.f);
  EXPECT_FLOAT_EQ(unit.max().item<float>(), 1.f);
  EXPECT_TRUE(at::equal(to_form_of(unit, bytes), bytes));
  const at::Tensor shorts = (at::arange(0, 65536, 257, at::kInt) - 32768).to(at::kShort);
  EXPECT_TRUE(at::equal(to_form_of(to_unit(shorts), shorts), shorts));
  const at::Tensor floats = cm::testing::smooth_photo(4, 4);
  EXPECT_TRUE(to_unit(floats).is_same(floats));
}

TEST(StoredPixels, InpaintingA16And8BitPhotoKeepsItsFormAndEveryPixelOutsideTheMask) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::smooth_photo(300, 700);
  const at::Tensor mask = cable(300, 700, 10).to(at::kByte);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.3);
  s.warm_start = true;
  region::RegionOptions smooth;  // no copied texture: a patch search can pick other patches on rounded pixels
  smooth.texture = 0;
  const at::Tensor from_float = region::inpaint_photo(f, photo, mask.to(at::kFloat), s, smooth);
  for (const at::Tensor& stored : {to_form_of(photo, at::zeros({1}, at::kByte)), to_form_of(photo, at::zeros({1}, at::kShort))}) {
    const at::Tensor out = region::inpaint_photo(f, stored, mask, s, smooth);
    ASSERT_EQ(out.scalar_type(), stored.scalar_type());
    const at::Tensor keep = (mask == 0).expand_as(stored);
    EXPECT_TRUE(at::equal(out.masked_select(keep), stored.masked_select(keep)));
    EXPECT_GT((to_unit(out) - to_unit(stored)).abs().masked_select(keep.logical_not()).max().item<double>(), 0.01);
    // The same edit as on floats, up to the stored form's rounding.
    EXPECT_LT(max_abs_diff(to_unit(out), from_float), stored.scalar_type() == at::kByte ? 0.02 : 0.002);
  }
}

TEST(StoredPixels, ALongCableOnALargePhotoChangesOnlyTheWindowsAndReportsEachCore) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = to_form_of(cm::testing::smooth_photo(1200, 2400), at::zeros({1}, at::kByte));
  const at::Tensor mask = cable(1200, 2400, 8).to(at::kByte);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.1);
  s.warm_start = true;
  region::RegionOptions o;
  int reported = 0;
  int64_t reported_pixels = 0;
  o.on_window = [&](int64_t, int64_t, const at::Tensor& pixels) {
    ++reported;
    reported_pixels += pixels.size(2) * pixels.size(3);
    EXPECT_EQ(pixels.scalar_type(), at::kByte);
  };
  int steps = 0;
  s.control.on_step = [&](const cm::sampling::StepInfo& info) {
    ++steps;
    EXPECT_EQ(info.step, steps);  // one step per window, counted across the job
  };
  const at::Tensor out = region::inpaint_photo(f, photo, mask, s, o);
  EXPECT_GT(reported, 15);
  EXPECT_EQ(steps, reported);
  EXPECT_LT(reported_pixels, int64_t(1200) * 2400 / 5);  // the windows' cores, not the photo
  EXPECT_TRUE(at::equal(out.masked_select((mask == 0).expand_as(out)), photo.masked_select((mask == 0).expand_as(out))));
}

TEST(Healing, AddsTheCopysLumaDetailOnlyInTheHoleAndKeepsTheSmoothColour) {
  const at::Tensor smooth = cm::testing::smooth_photo(48, 48);
  const at::Tensor copied = cm::testing::stripes(48);
  const at::Tensor hole = cm::testing::box_mask(48, 10, 10, 20, 20);
  const at::Tensor healed = heal(smooth, luma_detail(copied), hole);
  const at::Tensor outside = (hole == 0).expand_as(smooth);
  EXPECT_TRUE(at::equal(healed.masked_select(outside), smooth.masked_select(outside)));
  const at::Tensor change = healed - smooth;
  EXPECT_GT(grey_of(change).abs().max().item<double>(), 0.1);            // texture in the luma
  EXPECT_LT((change - grey_of(change)).abs().max().item<double>(), 1e-5);  // the colour is the smooth fill's
  EXPECT_TRUE(at::equal(heal(smooth, luma_detail(copied), at::zeros_like(hole)), smooth));
  // The mirror takes each hole pixel from as far beyond the edge as it lies inside, and says how far.
  at::Tensor distance;
  const at::Tensor mirrored = mirror_fill(copied, hole, &distance);
  EXPECT_TRUE(at::equal(mirrored.masked_select(outside), copied.masked_select(outside)));
  EXPECT_FLOAT_EQ(distance[0][0][10][15].item<float>(), 1.f);  // on the hole's first row
  EXPECT_FLOAT_EQ(distance[0][0][19][19].item<float>(), 10.f);
  EXPECT_TRUE(at::equal(mirrored[0].select(1, 12).select(1, 15), copied[0].select(1, 6).select(1, 15)));  // row 12 ← row 6 (edge at 9)
}

// Across a strip, the far side's mirror reflects each pixel across the strip's other edge.
TEST(Healing, TheFarMirrorReflectsAcrossTheHolesOtherEdge) {
  const at::Tensor copied = cm::testing::stripes(48);
  const at::Tensor hole = cm::testing::box_mask(48, 10, 4, 8, 40);  // rows 10–17
  at::Tensor found;
  const at::Tensor far = mirror_fill_far(copied, hole, &found);
  EXPECT_TRUE(at::equal(far[0].select(1, 12).select(1, 20), copied[0].select(1, 24).select(1, 20)));  // edge at 18
  EXPECT_TRUE(at::equal(far[0].select(1, 16).select(1, 20), copied[0].select(1, 2).select(1, 20)));   // edge at 9
  EXPECT_TRUE(found[0][0][12][20].item<bool>());
  EXPECT_EQ(found.masked_select(hole == 0).sum().item<int64_t>(), 0);
  const at::Tensor outside = (hole == 0).expand_as(copied);
  EXPECT_TRUE(at::equal(far.masked_select(outside), copied.masked_select(outside)));
}

// A stroke along the edge of a textured region (a roofline against the sky): the mirror of the
// roofs' side reached into the stroke as pale X-shaped ghosts of their spires. That side's detail
// is now held to the energy the sky's side has there; a stroke inside one texture keeps it.
TEST(Healing, AStrokeAlongAnEdgeTakesNoMoreDetailThanItsOtherSideHas) {
  const at::Tensor texture = cm::testing::stripes(64);
  at::Tensor photo = texture.clone();
  photo.narrow(2, 0, 32).fill_(0.3);  // a flat sky over the textured half
  const at::Tensor stroke = cm::testing::box_mask(64, 30, 0, 12, 64);  // rows 30–41
  const auto energy = [](const at::Tensor& x) { return x.narrow(1, 0, 1).pow(2).mean().item<double>(); };
  const at::Tensor smooth = fill_holes(photo, 1 - stroke);  // as smooth_start gives it
  const at::Tensor plain = mirror_fill(luma_detail(smooth), stroke), capped = mirrored_detail(smooth, stroke);
  const at::Tensor roofs_side = capped.narrow(2, 37, 5), plain_roofs_side = plain.narrow(2, 37, 5);
  ASSERT_GT(energy(plain_roofs_side), 0.05);
  EXPECT_LT(energy(roofs_side), 0.02 * energy(plain_roofs_side));
  const at::Tensor inside = cm::testing::box_mask(64, 40, 0, 12, 64);  // a stroke within the texture
  const at::Tensor smooth_inside = fill_holes(texture, 1 - inside);
  const double kept = energy(mirrored_detail(smooth_inside, inside).narrow(2, 40, 12));
  EXPECT_GT(kept, 0.95 * energy(mirror_fill(luma_detail(smooth_inside), inside).narrow(2, 40, 12)));
}

// A wire across a slope (a sky darkening toward the horizon): its start is the slope, not a line.
// A mirror of the photo folds the slope back at the wire's middle, and the detail of that fold was
// a line a user saw along every wire removed from a sky (docs/QUALITY.md, "Wires"); the detail is
// now taken before the mirror, where a slope has none.
TEST(Healing, AWireAcrossASlopeComesBackAsTheSlopeWithoutALine) {
  const auto f = cm::testing::analytic_model(64);
  const int64_t h = 96, w = 160;
  const at::Tensor rows = at::arange(h, at::kFloat).mul(0.02).sub(0.95).view({1, 1, h, 1});
  const at::Tensor photo = at::cat({rows, rows * 0.8, rows * 0.6}, 1).expand({1, 3, h, w}).contiguous();
  at::Tensor mask = at::zeros({1, 1, h, w});
  mask.narrow(2, 46, 4).fill_(1);  // a wire 4 px wide
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);  // at σ ≈ ε the start itself
  s.warm_start = true;
  region::RegionOptions o;
  ASSERT_GT(o.texture, 0);
  const at::Tensor out = region::inpaint_photo(f, photo, mask, s, o);
  const at::Tensor hole = (mask > 0).expand_as(photo);
  // A 4-px fold of this slope leaves 0.04 of detail; the slope's own pixels change by 0.02 a row.
  EXPECT_LT((out - photo).abs().masked_select(hole).max().item<double>(), 0.01);
}

// The feathered band beside an inpainted stroke is the photo's own pixels fading into the edit,
// not more hole: at σ ≈ ε the band comes back as the photo, its texture kept. Filled as hole, the
// editor's default feather smeared a 22-px stroke across a castle to 58 px (docs/QUALITY.md,
// "Feather").
TEST(Feather, TheBandBesideAnInpaintedStrokeKeepsThePhotosPixels) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor photo = cm::testing::stripes(96);
  const at::Tensor mask = cm::testing::box_mask(96, 44, 0, 6, 96);  // a stroke 6 px wide across
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);
  s.warm_start = true;
  region::RegionOptions o;
  o.grow = 2, o.feather = 4;
  const at::Tensor weights = feather_weights(mask, o.grow, o.feather);
  const at::Tensor band = ((weights > 0) & (weights < 1)).expand_as(photo);
  ASSERT_GT(band.sum().item<int64_t>(), 0);
  const at::Tensor out = region::inpaint_photo(f, photo, mask, s, o);
  EXPECT_LT((out - photo).abs().masked_select(band).max().item<double>(), 0.02);
  EXPECT_GT((out - photo).abs().masked_select((weights >= 1).expand_as(photo)).max().item<double>(), 0.1) << "the hole is filled";
}

// A sketch's start (heal_missing): a flat stroke takes the copy's texture in full; the photo
// beside it, which has texture of its own, takes next to none, so its texture is not doubled.
TEST(Healing, ThePaintingTakesTheCopysDetailOnlyWhereItHasNoneOfItsOwn) {
  const at::Tensor copied = cm::testing::stripes(64);
  at::Tensor painting = copied.clone();
  painting.narrow(3, 0, 32).fill_(0.1);  // the left half painted flat
  const at::Tensor healed = heal_missing(painting, luma_detail(copied), at::ones({1, 1, 64, 64}));
  const at::Tensor change = healed - painting;
  const auto energy = [](const at::Tensor& x) { return x.pow(2).mean().item<double>(); };
  // Away from the seam, which the energy's blurs reach 8 px across.
  const at::Tensor flat = change.narrow(3, 4, 20), textured = change.narrow(3, 44, 20);
  const at::Tensor copy_detail = luma_detail(copied);
  EXPECT_GT(energy(flat), 0.9 * energy(copy_detail.narrow(3, 4, 20))) << "the flat paint got the copy's texture";
  EXPECT_LT(energy(textured), 0.01 * energy(flat)) << "the textured half got it a second time";
  EXPECT_LT((flat - grey_of(flat)).abs().max().item<double>(), 1e-5) << "and no colour";
  EXPECT_TRUE(at::equal(heal_missing(painting, luma_detail(copied), at::zeros({1, 1, 64, 64})), painting));
}

TEST(Healing, TheModelsColourDetailIsBlurredAndItsLumaKept) {
  const at::Tensor start = cm::testing::smooth_photo(40, 40) * 0.5;
  const at::Tensor noisy = start + at::randn({1, 3, 40, 40}, at::TensorOptions().dtype(at::kFloat)) * 0.05;
  const at::Tensor smoothed = smooth_colour_change(start, noisy, 2);
  const at::Tensor before = noisy - start, after = smoothed - start;
  EXPECT_LT(max_abs_diff(grey_of(after), grey_of(before)), 1e-5);
  const auto colour_energy = [](const at::Tensor& x) { return (x - grey_of(x)).pow(2).mean().item<double>(); };
  EXPECT_LT(colour_energy(after), 0.2 * colour_energy(before));
  EXPECT_TRUE(at::equal(smooth_colour_change(start, noisy, 0), noisy));
}

}  // namespace
