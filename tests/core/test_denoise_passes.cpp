// A denoise's two passes (RegionOptions::denoise_passes): first each tile of twice the model's
// side as its four 2-strided sub-images, then the photo's own tiles at the level that pass left;
// and the strided estimate that reads a camera's noise, which neighbouring pixels share.
#include "core/analytic_model.h"
#include "core/edit/edits.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/expect_error.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

using namespace cm::edit;
using cm::ErrorCode;
using cm::testing::max_abs_diff;
namespace region = cm::edit::region;

// f is each pixel's 3×3 mean (the tile's edge repeated), and remembers the σ of every call: a
// sub-image taken with the wrong stride or put back in the wrong place shows, as does a pass at the
// wrong level.
class LocalMeanModel final : public cm::testing::WrittenModel {
 public:
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor&) const override {
    sigmas.push_back(sigma.max().item<double>());
    return at::avg_pool2d(at::replication_pad2d(x, {1, 1, 1, 1}), 3, 1);
  }
  mutable std::vector<double> sigmas;
};

const EditSettings kDefaults;  // a denoise reads only its labels and progress

at::Tensor white(int64_t h, int64_t w, uint64_t seed) { return cm::sampling::NoiseField(seed).crop(0, {1, 3, 0, 0, h, w}); }

// White noise blurred by a Gaussian of 0.8 px and brought back to a unit std: noise as a camera's
// demosaicing leaves it.
at::Tensor camera_noise(int64_t h, int64_t w, uint64_t seed) {
  const at::Tensor t = at::arange(-3, 4, at::kFloat);
  const at::Tensor g = at::exp(-t * t / (2 * 0.8f * 0.8f));
  const at::Tensor k = g / g.sum();
  const at::Tensor z = at::conv2d(white(h, w, seed).view({3, 1, h, w}), (k.view({1, 1, 1, -1}) * k.view({1, 1, -1, 1})), {}, 1, 3);
  return (z / z.std()).view({1, 3, h, w});
}

TEST(DenoiseTwoPasses, FirstEachTilesStridedSubImagesThenThePhotosTilesAtWhatIsLeft) {
  // 128 px: one strided tile (its four sub-images are the model's 64 px), then 64-px tiles.
  const at::Tensor noisy = cm::testing::smooth_photo(128, 128) + 0.1 * white(128, 128, 3);
  LocalMeanModel f;
  region::RegionOptions o;
  o.denoise_passes = 2;
  EditSettings s;
  const at::Tensor out = region::denoise_recording_level(f, noisy, 0.1, s, o);
  const std::vector<double> seen = f.sigmas;

  at::Tensor first = noisy.clone();
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const at::Tensor sub = noisy.slice(2, dy, 128, 2).slice(3, dx, 128, 2).contiguous();
      first.slice(2, dy, 128, 2).slice(3, dx, 128, 2).copy_(denoise(f, sub, 0.1));
    }
  const double left = estimate_noise_sigma(first);  // where the strided tile was taken: all of this flat photo
  EXPECT_LT(left, 0.05) << "the strided pass left most of the noise";
  region::RegionOptions one = o;
  one.denoise_passes = 1;
  LocalMeanModel g;
  EXPECT_LE(max_abs_diff(out, region::denoise_photo(g, first, left, kDefaults, one)), 1e-6);
  ASSERT_EQ(s.schedule.sigmas.size(), 2u) << "the levels that ran are recorded, the noise's first";
  EXPECT_DOUBLE_EQ(s.schedule.sigmas[0], 0.1);
  EXPECT_NEAR(s.schedule.sigmas[1], left, 1e-6);
  ASSERT_EQ(seen.size(), 10u) << "one call of the four sub-images, then 3 × 3 tiles of 64 px (tile_starts)";
  EXPECT_NEAR(seen.front(), 0.1, 1e-6);
  EXPECT_NEAR(seen.back(), left, 1e-6);
  // Not the one pass at the noise's level.
  EXPECT_GT(max_abs_diff(out, region::denoise_photo(g, noisy, 0.1, kDefaults, one)), 0.01);
}

TEST(DenoiseTwoPasses, AreChosenByTheNoiseLevel) {
  const at::Tensor noisy = cm::testing::smooth_photo(96, 80) + 0.02 * white(96, 80, 4);
  LocalMeanModel f;
  region::RegionOptions o, one, two;
  one.denoise_passes = 1;
  two.denoise_passes = 2;
  const double little = 0.9 * region::kStridedPassLevel, much = 1.1 * region::kStridedPassLevel;
  EXPECT_TRUE(at::equal(region::denoise_photo(f, noisy, little, kDefaults, o), region::denoise_photo(f, noisy, little, kDefaults, one)));
  EXPECT_TRUE(at::equal(region::denoise_photo(f, noisy, much, kDefaults, o), region::denoise_photo(f, noisy, much, kDefaults, two)));
  EXPECT_FALSE(at::equal(region::denoise_photo(f, noisy, much, kDefaults, one), region::denoise_photo(f, noisy, much, kDefaults, two)));
  // Progress counts both passes' 64-px evaluations, rising to the end.
  std::vector<int> steps;
  int total = 0;
  EditSettings s;
  s.control.on_step = [&](const cm::sampling::StepInfo& i) { steps.push_back(i.step), total = i.total; };
  region::denoise_photo(f, noisy, much, s, o);
  EXPECT_EQ(steps, (std::vector<int>{4, 5, 6, 7, 8}));
  EXPECT_EQ(total, 4 + 4) << "two 64-px tiles down and across (an overlap of 8), and one strided tile of 128: four 64-px evaluations";
  two.denoise_passes = 3;
  EXPECT_CM_ERROR(region::denoise_photo(f, noisy, much, kDefaults, two), ErrorCode::BadArgument, "1 or 2 passes");
}

// White noise over texture: the strided tiles there are not taken (a forest lost up to 2.4 dB
// to them), and the second pass runs there at the noise's level, as one pass would; over the flat
// part they are. A camera's noise, which neighbours share, takes them everywhere.
TEST(DenoiseTwoPasses, TakeTheStridedTilesWhereThePhotoIsFlatOrTheNoiseIsACameras) {
  const int64_t h = 128, w = 256;
  const at::Tensor x = at::arange(w, at::kFloat).view({1, 1, 1, w}), y = at::arange(h, at::kFloat).view({1, 1, h, 1});
  const at::Tensor photo = cm::testing::smooth_photo(h, w) + 0.3 * at::sin(2.6 * x) * at::sin(2.2 * y) * (x < w / 2).to(at::kFloat);
  region::RegionOptions one, two;
  one.tile_size = two.tile_size = 32;  // strided tiles of 64 px
  one.denoise_passes = 1;
  two.denoise_passes = 2;
  const double level = 0.05;
  const auto part = [](const at::Tensor& t, int64_t x0, int64_t x1) { return t.narrow(3, x0, x1 - x0); };
  {
    const at::Tensor noisy = photo + level * white(h, w, 7);
    LocalMeanModel f;
    EditSettings s;
    const at::Tensor twice = region::denoise_recording_level(f, noisy, level, s, two);
    // Pixels whose photo tiles (32 px, a stride of 28) meet only strided tiles wholly over texture
    // (at x 0 and 56, 64 px): what one pass gives at the noise's level.
    LocalMeanModel g;
    const at::Tensor once = region::denoise_photo(g, noisy, level, kDefaults, one);
    EXPECT_LE(max_abs_diff(part(twice, 0, 48), part(once, 0, 48)), 1e-6);
    EXPECT_GT(max_abs_diff(part(twice, 176, w), part(once, 176, w)), 0.01) << "the flat part had one pass";
    ASSERT_EQ(s.schedule.sigmas.size(), 2u);
    // Evaluated: 5 × 9 photo tiles, and of the 3 × 5 strided ones (x at 0, 56, 112, 168, 192)
    // those over the flat part, not the 6 over texture alone (tile_starts).
    EXPECT_GE(f.sigmas.size(), 45u + 6u);
    EXPECT_LE(f.sigmas.size(), 45u + 9u);
  }
  const at::Tensor noisy = photo + level * camera_noise(h, w, 8);
  LocalMeanModel f;
  EXPECT_GT(max_abs_diff(part(region::denoise_photo(f, noisy, level, kDefaults, two), 0, 48),
                         part(region::denoise_photo(f, noisy, level, kDefaults, one), 0, 48)), 0.01)
      << "a camera's noise over texture had one pass";
}

TEST(DenoiseTwoPasses, TheFlattestBlocksNoiseReadsACamerasNoiseAndNotTexture) {
  const int64_t side = 256;
  const at::Tensor photo = cm::testing::smooth_photo(side, side);
  const double sigma = 0.08;
  // Noise that neighbours share: the finest scale reads a third of it, the strided sub-images 3/4.
  const at::Tensor shared = photo + sigma * camera_noise(side, side, 5);
  EXPECT_LT(estimate_noise_sigma(shared), 0.45 * sigma);
  const FlatNoise camera = estimate_flat_noise(shared).value();
  EXPECT_GT(camera.strided, 0.65 * sigma);
  EXPECT_LT(camera.strided, 1.0 * sigma);
  EXPECT_GT(camera.strided, region::kSharedNoiseRatio * camera.finest);
  // White noise reads alike both ways, on a photo whose left half is a fine texture that the
  // finest scale of the whole reads as noise.
  const at::Tensor x = at::arange(side, at::kFloat).view({1, 1, 1, side}), y = x.view({1, 1, side, 1});
  const at::Tensor texture = 0.3 * at::sin(2.6 * x) * at::sin(2.2 * y) * (x < side / 2).to(at::kFloat);
  const at::Tensor textured = photo + texture + sigma * white(side, side, 6);
  EXPECT_GT(estimate_noise_sigma(textured), 1.3 * sigma);
  const FlatNoise flat = estimate_flat_noise(textured).value();
  EXPECT_NEAR(flat.strided, sigma, 0.1 * sigma);
  EXPECT_NEAR(flat.finest, sigma, 0.1 * sigma);
  EXPECT_LT(flat.strided, region::kSharedNoiseRatio * flat.finest);
  // A blown highlight is flat because its noise is cut off: it does not count.
  const at::Tensor blown = (photo + sigma * white(side, side, 7)).index_put_({at::indexing::Slice(), at::indexing::Slice(),
                                                                               at::indexing::Slice(0, side / 2)}, 1.0);
  EXPECT_NEAR(estimate_flat_noise(blown)->strided, sigma, 0.1 * sigma);
  EXPECT_FALSE(estimate_flat_noise(at::ones({1, 3, 64, 64})).has_value()) << "a white photo says nothing of its noise";
  // Only where asked: the textured half alone reads its texture; no whole 32-px block, no reading.
  const at::Tensor left = (x < side / 2).expand({1, 1, side, side});
  EXPECT_GT(estimate_flat_noise(textured, left)->finest, 1.3 * sigma);
  EXPECT_FALSE(estimate_flat_noise(textured, (x < 31).expand({1, 1, side, side})).has_value());
  EXPECT_FALSE(estimate_flat_noise(photo.narrow(2, 0, 20)).has_value());
}

// A large photo is read in bands of block rows (never one double copy of it): its flattest blocks
// are found wherever they lie, here only in rows across a band's edge, and its stored pixels read
// as their floats do.
TEST(DenoiseTwoPasses, TheFlattestBlocksAreFoundAcrossBandsAndInStoredPixels) {
  const int64_t h = 600, w = 96;  // blocks in rows of 256, 256 and 64 (the last 24 rows: no whole block)
  const double sigma = 0.05;
  const at::Tensor x = at::arange(w, at::kFloat).view({1, 1, 1, w}), y = at::arange(h, at::kFloat).view({1, 1, h, 1});
  const at::Tensor flat_rows = ((y >= 448) & (y < 576)).to(at::kFloat);  // blocks 14–17: across rows 512
  const at::Tensor texture = 0.3 * at::sin(2.6 * x) * at::sin(2.2 * y) * (1 - flat_rows);
  const at::Tensor photo = (0.2 * cm::testing::smooth_photo(h, w) + texture + sigma * white(h, w, 8)).clamp(-1, 1);
  const FlatNoise reading = estimate_flat_noise(photo).value();
  EXPECT_NEAR(reading.finest, sigma, 0.1 * sigma);
  EXPECT_NEAR(reading.strided, sigma, 0.1 * sigma);
  const at::Tensor textured_only = (flat_rows == 0).expand({1, 1, h, w});
  EXPECT_GT(estimate_flat_noise(photo, textured_only)->finest, 1.3 * sigma) << "a band's blocks left where they were not asked";
  const at::Tensor stored = to_form_of(photo, at::empty({0}, at::kByte));
  const FlatNoise as_stored = estimate_flat_noise(stored).value(), as_float = estimate_flat_noise(to_unit(stored)).value();
  EXPECT_EQ(as_stored.finest, as_float.finest);
  EXPECT_EQ(as_stored.strided, as_float.strided);
}

// A photo taller than a band (256 rows) is read band by band, one shorter at once: the finest
// diagonal coefficients of a transposed photo are its own transposed, so the two read exactly
// alike, off a grid of pixel values, on 8-bit ones, and only where asked.
TEST(DenoiseTwoPasses, TheNoiseOfAPhotoReadInBandsIsItsNoiseReadAtOnce) {
  const int64_t h = 700, w = 180;
  const at::Tensor x = at::arange(w, at::kFloat).view({1, 1, 1, w}), y = at::arange(h, at::kFloat).view({1, 1, h, 1});
  const at::Tensor photo = (0.3 * cm::testing::smooth_photo(h, w) + 0.2 * at::sin(0.9 * x) * at::sin(0.7 * y) * (y < 300).to(at::kFloat) +
                            0.04 * white(h, w, 9)).clamp(-1, 1);
  const auto t = [](const at::Tensor& image) { return image.transpose(2, 3).contiguous(); };
  const at::Tensor eight_bit = to_unit(to_form_of(photo, at::empty({0}, at::kByte)));
  const at::Tensor where = (y > 250).logical_and(x > 20).expand({1, 1, h, w});
  for (const at::Tensor& image : {photo, eight_bit}) {
    EXPECT_EQ(estimate_noise_sigma(image), estimate_noise_sigma(t(image)));
    EXPECT_EQ(estimate_noise_sigma(image, where).value(), estimate_noise_sigma(t(image), t(where)).value());
  }
  EXPECT_NE(estimate_noise_sigma(photo, where).value(), estimate_noise_sigma(photo)) << "where asked made no difference";
  EXPECT_FALSE(estimate_noise_sigma(photo, (y == 1).logical_and(x < 10).expand({1, 1, h, w})).has_value());
}

}  // namespace
