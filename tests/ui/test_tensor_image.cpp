// The UI's conversions between images and tensors (ui/tensor_image.h): every stored pixel and float
// becomes its exact 16-bit level, the photo's stored pixels come back bit for bit, and a result
// keeps the alpha of the image it stands for.
#include "ui/tensor_image.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <QImage>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace {

quint16 level_at(const QImage& image, int x, int y, int c) {
  return reinterpret_cast<const quint16*>(image.constScanLine(y))[4 * x + c];
}

TEST(TensorImage, StoredPixelsAndFloatsBecomeTheirSixteenBitLevels) {
  at::manual_seed(3);
  const at::Tensor bytes = at::randint(0, 256, {1, 3, 5, 7}, at::kByte);
  const at::Tensor shorts = at::randint(-32768, 32768, {1, 3, 5, 7}, at::kShort);
  at::Tensor floats = at::rand({1, 3, 5, 7}) * 2.4 - 1.2;  // some beyond [−1, 1]
  floats[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  const QImage from_bytes = cm::ui::rgba64_image(bytes), from_shorts = cm::ui::rgba64_image(shorts);
  const QImage from_floats = cm::ui::rgba64_image(floats.transpose(2, 3).contiguous().transpose(2, 3));  // strided, too
  ASSERT_EQ(from_bytes.size(), QSize(7, 5));
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(level_at(from_bytes, x, y, c), bytes[0][c][y][x].item<uint8_t>() * 257);
        EXPECT_EQ(level_at(from_shorts, x, y, c), shorts[0][c][y][x].item<int16_t>() + 32768);
        const float v = floats[0][c][y][x].item<float>();
        const int expected = std::isnan(v) ? 0 : int(std::nearbyint((std::clamp(v, -1.0f, 1.0f) + 1.0f) * 32767.5f));
        EXPECT_EQ(level_at(from_floats, x, y, c), expected) << v;
        EXPECT_EQ(level_at(from_bytes, x, y, 3), 65535) << "opaque without an alpha";
      }
  // The photo's stored pixels come back bit for bit; 8 bits round to the nearest of 256 levels.
  EXPECT_TRUE(at::equal(cm::ui::photo_tensor(from_shorts), shorts));
  const QImage eight = cm::ui::rgba8888_image(bytes);
  ASSERT_EQ(eight.format(), QImage::Format_RGBA8888);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(eight.constScanLine(y)[4 * x + c], bytes[0][c][y][x].item<uint8_t>());
      EXPECT_EQ(eight.constScanLine(y)[4 * x + 3], 255);
    }
}

TEST(TensorImage, AResultKeepsTheAlphaOfTheImageItStandsFor) {
  at::manual_seed(4);
  const at::Tensor alpha = at::rand({1, 1, 4, 6});
  const QImage with_alpha = cm::ui::rgba64_image(at::zeros({1, 3, 4, 6}), alpha);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) EXPECT_EQ(level_at(with_alpha, x, y, 3), int(std::nearbyint(alpha[0][0][y][x].item<float>() * 65535.0f)));
  EXPECT_TRUE(at::allclose(cm::ui::alpha_tensor(with_alpha), alpha, 0, 1.0 / 65535));
  const QImage result = cm::ui::rgba64_like(at::full({1, 3, 4, 6}, int16_t(1000), at::kShort), with_alpha);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) {
      EXPECT_EQ(level_at(result, x, y, 3), level_at(with_alpha, x, y, 3)) << "its alpha, bit for bit";
      EXPECT_EQ(level_at(result, x, y, 0), 1000 + 32768);
    }
}

// An edit along a mask says where it changed; its result is written there, over the image it
// stands for, which keeps every other pixel and its alpha, and is not changed itself.
TEST(TensorImage, AResultOverItsSourceIsWrittenOnlyWhereItChanged) {
  at::manual_seed(5);
  const QImage source = cm::ui::rgba64_image(at::rand({1, 3, 6, 9}) * 2 - 1, at::rand({1, 1, 6, 9}));
  const QImage before = source.copy();
  const at::Tensor result = at::full({1, 3, 6, 9}, int16_t(-2000), at::kShort);
  const QRect changed(2, 1, 4, 3);
  const QImage over = cm::ui::rgba64_over(result, source, changed);
  ASSERT_EQ(over.size(), source.size());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 9; ++x) {
      EXPECT_EQ(level_at(over, x, y, 3), level_at(source, x, y, 3));
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(level_at(over, x, y, c), changed.contains(x, y) ? -2000 + 32768 : level_at(source, x, y, c)) << x << "," << y;
    }
  EXPECT_EQ(source, before) << "the source is not written";
  EXPECT_EQ(cm::ui::rgba64_over(result, source, QRect()), source) << "nothing changed: the source";
}

// A mask is read where it is painted: every pixel outside that area is zero, inside it 1 where at
// least half white.
TEST(TensorImage, AMaskIsReadInsideItsPaintedArea) {
  QImage grey(8, 6, QImage::Format_Grayscale8);
  grey.fill(255);
  grey.setPixel(3, 2, qRgb(127, 127, 127));
  const at::Tensor mask = cm::ui::mask_tensor(grey, QRect(2, 1, 4, 3));
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{1, 1, 6, 8}));
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x)
      EXPECT_EQ(mask[0][0][y][x].item<int>(), QRect(2, 1, 4, 3).contains(x, y) && !(x == 3 && y == 2) ? 1 : 0) << x << "," << y;
  EXPECT_EQ(cm::ui::mask_tensor(grey, QRect()).sum().item<int>(), 0);
}

}  // namespace
