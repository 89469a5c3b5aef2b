// A denoise where the user painted (region::denoise_photo with a mask): only the tiles that reach
// the mask run, the photo beyond its fade is untouched, and the level is the painted part's.
#include "core/analytic_model.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/edit/resample.h"
#include "core/expect_error.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace {

using namespace cm::edit;
using cm::ErrorCode;
using cm::testing::max_abs_diff;
namespace region = cm::edit::region;

// f pulls each tile halfway to its own mean: a blend's value at a pixel depends on every tile that
// covers it, so a tile left out shows (the analytic model is pixel by pixel and would not).
// With `coupled`, each tile also takes a little of the whole batch's mean, as a GPU's kernels
// may round a tile differently in another batch: what is evaluated together then shows.
class TileMeanModel final : public cm::testing::WrittenModel {
 public:
  at::Tensor operator()(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    ++calls;
    const at::Tensor out = 0.5 * x + 0.5 * x.mean({2, 3}, /*keepdim=*/true);
    return coupled ? out + 1e-3 * x.mean() : out;
  }
  bool coupled = false;
  mutable int calls = 0;
};

EditSettings one_step() {
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 80.0);
  return s;
}

at::Tensor noisy_photo(int64_t h, int64_t w) {
  return cm::testing::smooth_photo(h, w) + 0.1 * cm::sampling::NoiseField(3).crop(0, {1, 3, 0, 0, h, w});
}

at::Tensor dab(int64_t h, int64_t w, int64_t y, int64_t x, int64_t size) {
  at::Tensor m = at::zeros({1, 1, h, w});
  m.narrow(2, y, size).narrow(3, x, size).fill_(1);
  return m;
}

region::RegionOptions small_tiles() {
  region::RegionOptions o;
  o.tile_size = 32;  // overlap 4
  o.grow = 2;
  o.feather = 4;
  return o;
}

TEST(DenoiseWhereMasked, OnlyTheTilesThatReachTheMaskRunAndThePhotoBeyondItsFadeIsKept) {
  for (const int passes : {1, 2}) {
    SCOPED_TRACE(passes == 1 ? "one pass" : "two passes");  // the first, strided, reaches further
    const int64_t h = 200, w = 260;
    const at::Tensor noisy = noisy_photo(h, w), before = noisy.clone();
    const at::Tensor mask = dab(h, w, 80, 100, 30);
    region::RegionOptions o = small_tiles();
    o.denoise_passes = passes;
    TileMeanModel f;
    const at::Tensor whole = region::denoise_photo(f, noisy, 0.1, one_step(), o);
    const int whole_calls = f.calls;
    f.calls = 0;
    const at::Tensor masked = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
    EXPECT_GE(f.calls, 4);
    // Two passes: the strided tiles, twice as large, cover what the photo's tiles read.
    EXPECT_LT(f.calls * (passes == 1 ? 8 : 4), whole_calls) << "tiles far from the mask ran";
    EXPECT_TRUE(at::equal(noisy, before)) << "the caller's photo was changed";

    const at::Tensor weight = feather_weights(mask, o.grow, o.feather).expand_as(noisy);
    const auto at_ = [](const at::Tensor& x, const at::Tensor& where) { return x.masked_select(where); };
    const at::Tensor beyond = weight == 0, under = weight == 1;
    EXPECT_TRUE(at::equal(at_(masked, beyond), at_(noisy, beyond))) << "the photo beyond the fade changed";
    // Under the grown mask, exactly the whole photo's denoise: every tile over it ran.
    EXPECT_TRUE(at::equal(at_(masked, under), at_(whole, under))) << max_abs_diff(at_(masked, under), at_(whole, under));
    EXPECT_LE(max_abs_diff(masked, at::lerp(noisy, whole, weight)), 1e-6) << "the fade is not the feathered mask's";
    EXPECT_GT(at::logical_and(weight > 0, weight < 1).sum().item<int64_t>(), 0);
  }
}

// A 16-bit photo comes back in its own pixels: bit for bit beyond the fade, and the float
// photo's denoise rounded to them where it reaches; an empty mask, or one of another size, is
// said so.
TEST(DenoiseWhereMasked, StoredPixelsEmptyMasksAndWrongSizes) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor noisy = noisy_photo(90, 120).clamp(-1, 1);
  const at::Tensor stored = to_form_of(noisy, at::empty({0}, at::kShort));
  const at::Tensor mask = dab(90, 120, 40, 50, 10);
  const at::Tensor out = region::denoise_photo(f, stored, 0.1, one_step(), small_tiles(), mask);
  ASSERT_EQ(out.scalar_type(), at::kShort);
  const at::Tensor beyond = (feather_weights(mask, 2, 4) == 0).expand_as(noisy);
  EXPECT_TRUE(at::equal(out.masked_select(beyond), stored.masked_select(beyond)));
  const at::Tensor as_float = region::denoise_photo(f, to_unit(stored), 0.1, one_step(), small_tiles(), mask);
  EXPECT_TRUE(at::equal(out, to_form_of(as_float, stored)));
  EXPECT_GT(max_abs_diff(to_unit(out), to_unit(stored)), 0.01) << "nothing was denoised";
  EXPECT_TRUE(at::equal(region::denoise_photo(f, stored, 0.1, one_step(), small_tiles(), at::zeros({1, 1, 90, 120})), stored));
  EXPECT_TRUE(at::equal(region::denoise_photo(f, noisy, 0.1, one_step(), small_tiles(), at::zeros({1, 1, 90, 120})), noisy));
  EXPECT_CM_ERROR(region::denoise_photo(f, noisy, 0.1, one_step(), small_tiles(), at::zeros({1, 1, 90, 121})),
                  ErrorCode::ShapeMismatch, "121");
}

// The preview's parts come faded into the photo as the result has them: pasted in the order they
// come over the photo, they are the result.
TEST(DenoiseWhereMasked, ThePreviewsPartsAreWhatTheResultShows) {
  const int64_t h = 150, w = 170;
  const at::Tensor noisy = noisy_photo(h, w);
  const at::Tensor mask = dab(h, w, 60, 20, 24);
  region::RegionOptions o = small_tiles();
  at::Tensor canvas = noisy.clone();
  int parts = 0;
  o.on_window = [&](int64_t y0, int64_t x0, const at::Tensor& pixels) {
    canvas.narrow(2, y0, pixels.size(2)).narrow(3, x0, pixels.size(3)).copy_(pixels);
    ++parts;
  };
  o.focus_y = 70, o.focus_x = 30;
  TileMeanModel f;
  const at::Tensor out = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
  EXPECT_EQ(parts, f.calls);
  EXPECT_TRUE(at::equal(canvas, out)) << max_abs_diff(canvas, out);
}

// A photo whose right half is ten times noisier than its left: a mask on the right half is
// denoised at the right half's level, not the photo's.
TEST(DenoiseWhereMasked, TheLevelIsThePaintedParts) {
  const int64_t h = 128, w = 256;
  const at::Tensor z = cm::sampling::NoiseField(5).crop(0, {1, 3, 0, 0, h, w});
  const at::Tensor level = at::cat({at::full({1, 1, h, w / 2}, 0.02), at::full({1, 1, h, w / 2}, 0.2)}, 3);
  const at::Tensor noisy = 0.2 * cm::testing::smooth_photo(h, w) + level * z;
  const auto f = cm::testing::analytic_model(64);
  EditSettings s = one_step();
  region::denoise_recording_level(f, noisy, kEstimateNoiseSigma, s, small_tiles(), dab(h, w, 20, 150, 90));
  EXPECT_NEAR(s.schedule.sigmas.at(0), 0.2, 0.02);
  s = one_step();
  region::denoise_recording_level(f, noisy, kEstimateNoiseSigma, s, small_tiles());
  const double whole = s.schedule.sigmas.at(0);
  EXPECT_LT(whole, 0.15);
  // A dab too small to say takes the whole photo's level.
  s = one_step();
  region::denoise_recording_level(f, noisy, kEstimateNoiseSigma, s, small_tiles(), dab(h, w, 20, 150, 3));
  EXPECT_DOUBLE_EQ(s.schedule.sigmas.at(0), whole);
}

// On a GPU a denoise evaluates its tiles in groups (RegionOptions::tile_batch; one 64-px tile is
// launch-bound there). The groups are the same whatever the focus, so the result is too, and it is
// the one-at-a-time result; the last group is filled up to the same shape.
TEST(DenoiseInGroups, IsTheDenoiseOneTileAtATimeWhereverTheUserLooks) {
  const int64_t h = 150, w = 170;
  const at::Tensor noisy = noisy_photo(h, w);
  for (const int passes : {1, 2})
  for (const bool masked : {false, true}) {
    SCOPED_TRACE(fmt::format("{}, {} pass(es)", masked ? "a mask" : "the whole photo", passes));
    const at::Tensor mask = masked ? dab(h, w, 60, 40, 50) : at::Tensor();
    region::RegionOptions o = small_tiles();
    o.denoise_passes = passes;
    TileMeanModel f;
    const at::Tensor alone = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
    const int tiles = f.calls;
    o.tile_batch = 2;  // 64² pixels' worth of tiles, twice: 8 tiles of 32² a group
    std::vector<std::pair<int64_t, int64_t>> seen;
    o.on_window = [&](int64_t y0, int64_t x0, const at::Tensor&) { seen.emplace_back(y0, x0); };
    o.focus_y = 90, o.focus_x = 100;
    f.calls = 0;
    const at::Tensor grouped = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
    if (passes == 1) {
      EXPECT_EQ(f.calls, (tiles + 7) / 8);
      EXPECT_EQ(int(seen.size()), tiles);
    }
    EXPECT_LE(max_abs_diff(grouped, alone), 1e-6);
    f.coupled = true;
    const at::Tensor here = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
    o.focus_y = 0, o.focus_x = 0;
    const at::Tensor elsewhere = region::denoise_photo(f, noisy, 0.1, one_step(), o, mask);
    EXPECT_TRUE(at::equal(elsewhere, here)) << "the result depends on where the user looks";
    f.coupled = false;
    if (passes == 2) continue;  // the strided pass's groups are 2 tiles of 64² (8 sub-images of 32²)
    // The first group holds the tile under the focus (90, 100): tiles of 32 at a stride of 28.
    const std::vector<std::pair<int64_t, int64_t>> first(seen.begin(), seen.begin() + std::min<std::size_t>(8, seen.size()));
    EXPECT_NE(std::find(first.begin(), first.end(), std::pair<int64_t, int64_t>{84, 84}), first.end());
  }
}

// f leans each pixel toward its left neighbour: a mirrored tile comes back otherwise.
class LeftLeaningModel final : public cm::testing::WrittenModel {
 public:
  at::Tensor operator()(const at::Tensor& x, const at::Tensor&, const at::Tensor&) const override {
    return 0.7 * x + 0.3 * at::roll(x, 1, 3) + 0.05 * at::roll(x, 2, 2);
  }
};

// A tile's mirrors (the geometric self-ensemble): the mean of f on the tile and on its mirrors,
// each mirrored back; 3 is not a set of mirrors.
TEST(DenoiseMirrors, AreTheMeanOfTheTilesMirrorsEachMirroredBack) {
  const at::Tensor noisy = noisy_photo(64, 64);  // one tile
  const LeftLeaningModel f;
  const auto denoised = [&](const at::Tensor& x) { return denoise(f, x, 0.1); };
  region::RegionOptions o;
  o.mirrors = 2;
  o.denoise_passes = 1;
  const at::Tensor two = (denoised(noisy) + denoised(noisy.flip({3})).flip({3})) / 2;
  EXPECT_LE(max_abs_diff(region::denoise_photo(f, noisy, 0.1, one_step(), o), two), 1e-6);
  o.mirrors = 4;
  const at::Tensor four = (denoised(noisy) + denoised(noisy.flip({3})).flip({3}) + denoised(noisy.flip({2})).flip({2}) +
                           denoised(noisy.flip({2, 3})).flip({2, 3})) / 4;
  EXPECT_LE(max_abs_diff(region::denoise_photo(f, noisy, 0.1, one_step(), o), four), 1e-6);
  EXPECT_GT(max_abs_diff(four, denoised(noisy)), 1e-3) << "the model is symmetric: the test shows nothing";
  o.tile_batch = 2;  // in groups too (eight tiles of 32² a group), a 150 × 170 photo
  o.tile_size = 32;
  const at::Tensor wide = noisy_photo(150, 170);
  region::RegionOptions alone = o;
  alone.tile_batch = 1;
  EXPECT_LE(max_abs_diff(region::denoise_photo(f, wide, 0.1, one_step(), o), region::denoise_photo(f, wide, 0.1, one_step(), alone)), 1e-6);
  o.denoise_passes = 2;  // the strided pass's tiles too, each sub-image with its mirrors
  alone.denoise_passes = 2;
  EXPECT_LE(max_abs_diff(region::denoise_photo(f, wide, 0.1, one_step(), o), region::denoise_photo(f, wide, 0.1, one_step(), alone)), 1e-6);
  o.mirrors = 3;
  EXPECT_CM_ERROR(region::denoise_photo(f, noisy, 0.1, one_step(), o), ErrorCode::BadArgument, "1, 2 or 4 mirrors");
}

}  // namespace
