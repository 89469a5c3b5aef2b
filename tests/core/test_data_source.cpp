// The crop sampler that feeds training batches (core/train/data_source.h).
#include "core/expect_error.h"
#include "core/train/data_source.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

namespace {

using namespace cm::train;
using cm::ErrorCode;
using cm::testing::gradient_photo;

TEST(CropSampler, BatchesAreAFunctionOfTheKeyAndCoverEveryScale) {
  std::vector<at::Tensor> photos = {gradient_photo(100, 150, 1), gradient_photo(40, 30, 2)};
  CropOptions o;
  o.size = 16;
  const CropSampler sampler(photos, o, 9);
  const at::Tensor a = sampler.batch(5, 6), b = sampler.batch(5, 6), c = sampler.batch(6, 6);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{6, 3, 16, 16}));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, c));
  EXPECT_LE(a.abs().max().item<double>(), 1.0);
  std::set<std::size_t> images;
  int64_t smallest = 1 << 30, largest = 0, flips = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const CropSampler::Crop crop = sampler.choose(1, i);
    const at::Tensor& p = photos[crop.image];
    images.insert(crop.image);
    ASSERT_GE(crop.side, 16);
    ASSERT_LE(crop.side, std::min(p.size(0), p.size(1)));
    ASSERT_LE(crop.y + crop.side, p.size(0));
    ASSERT_LE(crop.x + crop.side, p.size(1));
    if (crop.image == 0) smallest = std::min(smallest, crop.side), largest = std::max(largest, crop.side);
    flips += crop.flip;
  }
  EXPECT_EQ(images.size(), 2u);
  EXPECT_LT(smallest, 20);   // native-resolution crops …
  EXPECT_GT(largest, 85);    // … and nearly the whole photo
  EXPECT_NEAR(flips, 200, 45);
}

TEST(CropSampler, ConstantPhotosGiveConstantCropsAndBadInputIsRefused) {
  const CropSampler sampler({at::full({50, 70, 3}, 51, at::kByte)}, {}, 1);
  const at::Tensor batch = sampler.batch(0, 3);
  EXPECT_EQ(batch.size(2), 64);  // enlarged: the photo is smaller than the model
  EXPECT_TRUE(at::allclose(batch, at::full_like(batch, 51 / 127.5 - 1), 1e-5, 1e-5));
  EXPECT_CM_ERROR(CropSampler({}, {}, 1), ErrorCode::BadArgument, "training split is empty");
  EXPECT_CM_ERROR(CropSampler({at::zeros({4, 4, 3})}, {}, 1), ErrorCode::BadArgument, "[H, W, 3] uint8");
}

}  // namespace
