// DeviceCropSampler: batched crops from a mip pyramid must show what CropSampler shows (the same
// crops, resampled alike), be a function of the key, and handle flips, small photos and sizes.
#include "core/expect_error.h"
#include "core/train/data_source.h"
#include "core/train/device_crops.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;

const c10::Device kCpu(c10::kCPU);

// A smooth colour photo: gradients and waves slow enough that any good resampler agrees.
at::Tensor smooth(int64_t h, int64_t w, double phase) {
  const at::Tensor y = at::arange(h, at::kFloat).view({h, 1, 1}), x = at::arange(w, at::kFloat).view({1, w, 1});
  const at::Tensor c = at::arange(3, at::kFloat).view({1, 1, 3});
  const at::Tensor v = 128 + 60 * at::sin(x / 37.0 + c + phase) + 50 * at::cos(y / 29.0 - c) + 0.1 * (x - y);
  return v.clamp(0, 255).round().to(at::kByte);
}

// Three smooth photos of different shapes, and both samplers over them with the same seed.
struct BothSamplers {
  static CropOptions options() {
    CropOptions o;
    o.size = 32;
    return o;
  }
  const std::vector<at::Tensor> photos = {smooth(300, 420, 0), smooth(180, 150, 1), smooth(320, 320, 2)};
  const CropSampler cpu{photos, options(), 4};
  const DeviceCropSampler device{photos, options(), 4, kCpu};
};

TEST(DeviceCropSampler, ShowsTheSameCropsAsCropSampler) {
  const BothSamplers samplers;
  const CropSampler& cpu = samplers.cpu;
  const DeviceCropSampler& device = samplers.device;
  EXPECT_EQ(device.photo_count(), 3u);
  EXPECT_GT(device.device_bytes(), int64_t(3 * (300 * 420 + 180 * 150 + 320 * 320)));  // with its pyramid
  for (int size : {32, 64}) {
    const at::Tensor a = cpu.batch_at(11, 24, size), b = device.batch_at(11, 24, size);
    ASSERT_EQ(b.sizes(), a.sizes());
    const double mean_error = (a - b).abs().mean().item<double>();
    EXPECT_LT(mean_error, 0.02) << "size " << size;  // 1 % of the range: the same crops, flips included
  }
  EXPECT_TRUE(at::equal(device.batch(11, 24), device.batch(11, 24)));
  EXPECT_FALSE(at::equal(device.batch(11, 24), device.batch(12, 24)));
  EXPECT_LE(device.batch(3, 64).abs().max().item<double>(), 1.0);
}

TEST(DeviceCropSampler, ShrinkingAFineStripePatternAveragesItInsteadOfAliasing) {
  // One-pixel black and white columns: any crop shrunk ≥ 2× must come out mid grey.
  const at::Tensor stripes = (at::arange(256, at::kLong).remainder(2) * 255).to(at::kByte).view({1, 256, 1}).expand({256, 256, 3}).contiguous();
  CropOptions o;
  o.size = 16;
  o.min_crop = 64;  // every crop ≥ 64 px: shrunk ≥ 4×
  o.flip = false;
  const at::Tensor batch = DeviceCropSampler({stripes}, o, 1, kCpu).batch(0, 32);
  EXPECT_LT((batch - (127.5 / 127.5 - 1)).abs().max().item<double>(), 0.08);
}

TEST(DeviceCropSampler, ConstantAndSmallPhotosAndBadInput) {
  const DeviceCropSampler sampler({at::full({50, 70, 3}, 51, at::kByte)}, {}, 1, kCpu);
  const at::Tensor batch = sampler.batch(0, 3);
  EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{3, 3, 64, 64}));  // enlarged: smaller than the model
  EXPECT_TRUE(at::allclose(batch, at::full_like(batch, 51 / 127.5 - 1), 1e-5, 1e-5));
  EXPECT_CM_ERROR(DeviceCropSampler({}, {}, 1, kCpu), ErrorCode::BadArgument, "training split is empty");
  EXPECT_CM_ERROR(DeviceCropSampler({at::zeros({4, 4, 3})}, {}, 1, kCpu), ErrorCode::BadArgument, "[H, W, 3] uint8");
  EXPECT_CM_ERROR(sampler.batch_at(0, 1, 4), ErrorCode::BadArgument, "at least 8 pixels");
}

TEST(DeviceCropSampler, FlipsMirrorTheCrop) {
  // A photo brighter to the right: unflipped crops rise left to right, flipped ones fall.
  const at::Tensor ramp = at::arange(200, at::kFloat).view({1, 200, 1}).expand({120, 200, 3}).round().to(at::kByte).contiguous();
  CropOptions o;
  o.size = 16;
  const DeviceCropSampler sampler({ramp}, o, 2, kCpu);
  const at::Tensor b = sampler.batch(7, 40);
  int rising = 0, falling = 0;
  for (int64_t i = 0; i < 40; ++i) {
    const double slope = (b[i][0].select(1, 15) - b[i][0].select(1, 0)).mean().item<double>();
    const bool flipped = choose_crop({{120, 200}}, [&] { CropOptions c = o; c.min_crop = 16; return c; }(), 2, 7, i, 16).flip;
    EXPECT_EQ(slope < 0, flipped) << "sample " << i;
    (slope > 0 ? rising : falling)++;
  }
  EXPECT_GT(rising, 5);
  EXPECT_GT(falling, 5);
}

}  // namespace

// One rank's share of a batch (DataSource::part_at) is exactly that part of the whole batch, on
// both crop samplers and through the default for other sources, and a share outside it is refused.
namespace {

class CountingSource final : public cm::train::DataSource {
 public:
  at::Tensor batch(std::uint64_t key, int64_t n) const override {
    return at::arange(n * 3 * 4 * 4, at::kFloat).view({n, 3, 4, 4}) + double(key);
  }
  int image_size() const override { return 4; }
};

TEST(DataSourcePart, IsThatPartOfTheWholeBatchOnEverySource) {
  const BothSamplers samplers;
  const CountingSource counting;
  for (const DataSource* source : std::vector<const DataSource*>{&samplers.cpu, &samplers.device, &counting}) {
    const int size = source == &counting ? 4 : 48;
    const at::Tensor whole = source->batch_at(9, 12, size);
    for (const auto& [first, count] : std::vector<std::pair<int64_t, int64_t>>{{0, 12}, {0, 3}, {3, 3}, {9, 3}, {11, 1}}) {
      const at::Tensor part = source->part_at(9, 12, size, first, count);
      EXPECT_TRUE(at::equal(part, whole.narrow(0, first, count))) << "images " << first << "+" << count << " at " << size;
    }
    EXPECT_CM_ERROR(source->part_at(9, 12, size, 10, 3), ErrorCode::BadArgument, "images 10…12 are not part of a batch of 12");
    EXPECT_CM_ERROR(source->part_at(9, 12, size, -1, 2), ErrorCode::BadArgument, "not part of a batch");
    EXPECT_CM_ERROR(source->part_at(9, 12, size, 0, 0), ErrorCode::BadArgument, "not part of a batch");
  }
}

}  // namespace
