// The sample grids a training run writes (core/train/sample_grid.h).
#include "core/expect_error.h"
#include "core/temp_dir.h"
#include "core/train/sample_grid.h"
#include "core/train_fixtures.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "core/imageio/image_file.h"
#endif

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace {

using namespace cm::train;
using cm::ErrorCode;
using cm::testing::gradient_photo;

TEST(SampleGrid, TilesImagesAndWritesAValidPng) {
  const at::Tensor images = at::stack({at::full({3, 4, 5}, -1.0), at::full({3, 4, 5}, 1.0), at::full({3, 4, 5}, 0.0)});
  const at::Tensor grid = image_grid(images, 2, 1);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{9, 11, 3}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);
  EXPECT_EQ(grid[0][6][0].item<int>(), 255);
  EXPECT_EQ(grid[5][0][0].item<int>(), 128);
  EXPECT_EQ(grid[4][0][0].item<int>(), 0);  // the gap
  cm::testing::TempDir dir;
  const at::Tensor big = gradient_photo(300, 250, 3);  // > 64 KiB: several stored deflate blocks
  write_png(dir / "g.png", big);
  std::ifstream in(dir / "g.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
#ifdef CMEDIT_HAS_IMAGEIO
  const cm::imageio::Image back = cm::imageio::load_image(dir / "g.png");
  const at::Tensor pixels = ((back.rgb[0].permute({1, 2, 0}) + 1) * 127.5).round().to(at::kByte);
  EXPECT_TRUE(at::equal(pixels, big));
#endif
  EXPECT_CM_ERROR(write_png(dir / "x.png", at::zeros({2, 2, 3})), ErrorCode::BadArgument, "uint8");
}

}  // namespace
