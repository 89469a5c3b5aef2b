#include "cmedit/build_config.h"
#include "core/expect_error.h"
#include "core/imageio/image_file.h"
#include "core/imageio/image_header.h"
#include "core/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iterator>

namespace {

using cm::ErrorCode;
using cm::imageio::Image;
using cm::imageio::load_image;
using cm::imageio::save_image;
namespace fs = std::filesystem;

// An image whose pixels are exact 8- or 16-bit levels, as a file would give.
Image random_image(int w, int h, int bits, bool with_alpha = false) {
  const double levels = bits == 16 ? 65535.0 : 255.0;
  Image image;
  image.bit_depth = bits;
  image.rgb = at::randint(0, int64_t(levels) + 1, {1, 3, h, w}).to(at::kFloat) * float(2.0 / levels) - 1.0f;
  if (with_alpha) image.alpha = at::randint(0, int64_t(levels) + 1, {1, 1, h, w}).to(at::kFloat) / float(levels);
  return image;
}

// Integer levels of an image in [-1, 1] (what a file stores).
at::Tensor levels_of(const at::Tensor& rgb, int bits) {
  const double levels = bits == 16 ? 65535.0 : 255.0;
  return ((rgb.to(at::kDouble) + 1.0) * (levels / 2.0)).round().to(at::kLong);
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ImageIo, Png8RoundTripIsBitExact) {
  cm::testing::TempDir dir;
  const Image original = random_image(37, 23, 8);
  save_image(dir / "a.png", original);
  const Image loaded = load_image(dir / "a.png");
  EXPECT_EQ(loaded.bit_depth, 8);
  EXPECT_FALSE(loaded.grayscale);
  EXPECT_FALSE(loaded.alpha.defined());
  ASSERT_EQ(loaded.width(), 37);
  ASSERT_EQ(loaded.height(), 23);
  EXPECT_TRUE(at::equal(levels_of(loaded.rgb, 8), levels_of(original.rgb, 8)));
}

TEST(ImageIo, Png16RoundTripKeepsAllSixteenBits) {
  cm::testing::TempDir dir;
  const Image original = random_image(16, 9, 16);
  save_image(dir / "a.png", original, {16, 95, ""});
  const Image loaded = load_image(dir / "a.png");
  EXPECT_EQ(loaded.bit_depth, 16);
  EXPECT_TRUE(at::equal(levels_of(loaded.rgb, 16), levels_of(original.rgb, 16)));
}

TEST(ImageIo, AlphaIsKept) {
  cm::testing::TempDir dir;
  const Image original = random_image(8, 8, 8, true);
  save_image(dir / "a.png", original);
  const Image loaded = load_image(dir / "a.png");
  ASSERT_TRUE(loaded.alpha.defined());
  EXPECT_TRUE(at::equal((loaded.alpha * 255).round(), (original.alpha * 255).round()));
  EXPECT_TRUE(at::equal(levels_of(loaded.rgb, 8), levels_of(original.rgb, 8)));
}

TEST(ImageIo, ChannelsAreRgbNotOpenCvsBgr) {
  cm::testing::TempDir dir;
  cv::Mat red(2, 2, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR
  ASSERT_TRUE(cv::imwrite((dir / "red.png").string(), red));
  const Image loaded = load_image(dir / "red.png");
  EXPECT_TRUE(at::equal(loaded.rgb[0][0], at::ones({2, 2})));
  EXPECT_TRUE(at::equal(loaded.rgb[0][2], -at::ones({2, 2})));
}

TEST(ImageIo, GrayFileGivesThreeEqualChannels) {
  cm::testing::TempDir dir;
  cv::Mat gray(3, 5, CV_16UC1);
  cv::randu(gray, 0, 65535);
  ASSERT_TRUE(cv::imwrite((dir / "g.png").string(), gray));
  const Image loaded = load_image(dir / "g.png");
  EXPECT_TRUE(loaded.grayscale);
  EXPECT_EQ(loaded.bit_depth, 16);
  EXPECT_TRUE(at::equal(loaded.rgb[0][0], loaded.rgb[0][1]));
  EXPECT_TRUE(at::equal(loaded.rgb[0][0], loaded.rgb[0][2]));
  EXPECT_EQ(levels_of(loaded.rgb, 16)[0][0][1][2].item<int64_t>(), gray.at<uint16_t>(1, 2));
}

TEST(ImageIo, JpegIsWrittenAtEightBitsWhateverIsAsked) {
  cm::testing::TempDir dir;
  const Image original = random_image(16, 16, 16);
  save_image(dir / "a.jpg", original, {16, 90, ""});
  const Image loaded = load_image(dir / "a.jpg");
  EXPECT_EQ(loaded.bit_depth, 8);
  EXPECT_EQ(loaded.width(), 16);
}

TEST(ImageIo, ReadsTheShippedSamplePhoto) {
  const Image sample = load_image(fs::path(CMEDIT_SOURCE_DIR) / "resources/samples/dandelion.jpg");
  EXPECT_EQ(sample.width(), 512);
  EXPECT_EQ(sample.height(), 512);
  EXPECT_GE(sample.rgb.min().item<float>(), -1.0f);
  EXPECT_LE(sample.rgb.max().item<float>(), 1.0f);
  EXPECT_GT(sample.rgb.std().item<float>(), 0.1f);  // a real photo, not a flat fill
}

TEST(ImageIo, MissingOrUnreadableFilesAreNamed) {
  cm::testing::TempDir dir;
  EXPECT_CM_ERROR(load_image(dir / "nope.png"), ErrorCode::FileNotFound, "nope.png': no such file");
  EXPECT_CM_ERROR(load_image(dir.path()), ErrorCode::FileNotFound, "it is a folder");
}

TEST(ImageIo, CorruptFilesAreReportedNotCrashedOn) {
  cm::testing::TempDir dir;
  save_image(dir / "good.png", random_image(64, 64, 8));
  const std::string good = read_all(dir / "good.png");
  std::ofstream(dir / "truncated.png", std::ios::binary) << good.substr(0, good.size() / 2);
  std::ofstream(dir / "text.png") << "this is not a picture";
  std::ofstream(dir / "empty.png");
  for (const char* name : {"truncated.png", "text.png", "empty.png"})
    EXPECT_CM_ERROR(load_image(dir / name), ErrorCode::CorruptFile, std::string(name) + "': ");
}

// A valid PNG signature and IHDR claiming w×h, then a few junk bytes: what a small file can
// claim. The pixel data never needs to be there: the refusal must come before decoding.
std::string png_claiming(std::uint32_t w, std::uint32_t h) {
  std::string b = "\x89PNG\r\n\x1a\n";
  b += std::string("\0\0\0\x0dIHDR", 8);
  for (std::uint32_t v : {w, h})
    for (int shift = 24; shift >= 0; shift -= 8) b += char((v >> shift) & 0xFF);
  b += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit gray
  return b + std::string(64, '\0');
}

TEST(ImageIo, HugeImagesAreRefusedBeforeAnyPixelIsDecoded) {
  cm::testing::TempDir dir;
  std::ofstream(dir / "huge.png", std::ios::binary) << png_claiming(20000, 20000);
  EXPECT_CM_ERROR(load_image(dir / "huge.png"), ErrorCode::Unsupported,
                  "huge.png': it is 20000×20000 pixels (400 megapixels); cmedit opens up to 100 megapixels");
  std::ofstream(dir / "tall.png", std::ios::binary) << png_claiming(1, 0xFFFFFFFFu);
  EXPECT_CM_ERROR(load_image(dir / "tall.png"), ErrorCode::Unsupported, "1×4294967295 pixels");
  // A JPEG's size is in its start-of-frame segment, after whatever segments come first.
  std::string jpeg = "\xFF\xD8\xFF\xE0" + std::string("\x00\x04..", 4) + "\xFF\xC0" +
                     std::string("\x00\x11\x08\x4E\x20\x4E\x20\x03", 8) + std::string(40, '\0');
  std::ofstream(dir / "huge.jpg", std::ios::binary) << jpeg;
  EXPECT_CM_ERROR(load_image(dir / "huge.jpg"), ErrorCode::Unsupported, "20000×20000 pixels");
  // Bytes between segments are skipped by libjpeg, so the frame after them counts (a fuzz finding).
  jpeg.insert(8, "junk");
  std::ofstream(dir / "junk.jpg", std::ios::binary) << jpeg;
  EXPECT_CM_ERROR(load_image(dir / "junk.jpg"), ErrorCode::Unsupported, "20000×20000 pixels");
}

TEST(ImageIo, HeaderSizesOfEveryFormatMatchTheDecodedImage) {
  cm::testing::TempDir dir;
  const Image image = random_image(37, 23, 8);
  for (const char* ext : {".png", ".jpg", ".webp", ".bmp", ".tif", ".pgm"}) {
    const fs::path path = dir / (std::string("x") + ext);
    if (std::string(ext) == ".pgm") {
      std::ofstream(path, std::ios::binary) << "P5\n# a comment\n37 23\n255\n" << std::string(37 * 23, '\x80');
    } else {
      save_image(path, image);
    }
    const std::string bytes = read_all(path);
    const auto size = cm::imageio::read_pixel_size(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(size->width, 37) << ext;
    EXPECT_EQ(size->height, 23) << ext;
    EXPECT_EQ(load_image(path).width(), 37) << ext;
    for (std::size_t cut = 0; cut < std::min<std::size_t>(bytes.size(), 64); ++cut)  // every truncation is safe
      (void)cm::imageio::read_pixel_size(reinterpret_cast<const std::uint8_t*>(bytes.data()), cut);
  }
}

TEST(ImageIo, OddButValidInputsOpen) {
  cm::testing::TempDir dir;
  // 1×1 pixel.
  save_image(dir / "dot.png", random_image(1, 1, 8));
  EXPECT_EQ(load_image(dir / "dot.png").width(), 1);
  // 16-bit grey: three equal channels, all sixteen bits.
  cv::Mat grey(5, 7, CV_16UC1);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) grey.at<std::uint16_t>(y, x) = std::uint16_t(1000 * x + 7 * y + 1);
  ASSERT_TRUE(cv::imwrite((dir / "grey16.png").string(), grey));
  const Image g = load_image(dir / "grey16.png");
  EXPECT_TRUE(g.grayscale);
  EXPECT_EQ(g.bit_depth, 16);
  EXPECT_EQ(levels_of(g.rgb, 16)[0][1][4][6].item<int64_t>(), 6000 + 28 + 1);
  // CMYK JPEG (made by PIL: C 0, M 255, Y 255, K 0 → red): opened as RGB.
  const Image cmyk = load_image(fs::path(CMEDIT_SOURCE_DIR) / "tests/fixtures/cmyk-red-4x3.jpg");
  EXPECT_EQ(cmyk.width(), 4);
  EXPECT_EQ(cmyk.height(), 3);
  const at::Tensor mean = cmyk.rgb.mean({2, 3})[0];
  EXPECT_GT(mean[0].item<float>(), 0.8f) << "red";
  EXPECT_LT(mean[1].item<float>(), -0.8f) << "green";
  EXPECT_LT(mean[2].item<float>(), -0.8f) << "blue";
}

TEST(ImageIo, FailedSavesLeaveTheExistingFileIntact) {
  cm::testing::TempDir dir;
  save_image(dir / "keep.png", random_image(8, 8, 8));
  const std::string before = read_all(dir / "keep.png");

  Image broken = random_image(8, 8, 8);
  broken.rgb[0][0][0][0] = NAN;
  EXPECT_CM_ERROR(save_image(dir / "keep.png", broken), ErrorCode::BadArgument, "NaN");
  EXPECT_CM_ERROR(save_image(dir / "keep.xyz", random_image(8, 8, 8)), ErrorCode::Unsupported, "unknown image format '.xyz'");
  EXPECT_CM_ERROR(save_image(dir / "no" / "such" / "dir.png", random_image(8, 8, 8)), ErrorCode::Io, "not writable");
  EXPECT_EQ(read_all(dir / "keep.png"), before);

  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1) << "temporary files were left behind";
}

TEST(ImageIo, SavingReplacesAnExistingFileWhole) {
  cm::testing::TempDir dir;
  save_image(dir / "a.png", random_image(64, 64, 8));
  const Image second = random_image(5, 4, 8);
  save_image(dir / "a.png", second);
  const Image loaded = load_image(dir / "a.png");
  EXPECT_EQ(loaded.width(), 5);
  EXPECT_TRUE(at::equal(levels_of(loaded.rgb, 8), levels_of(second.rgb, 8)));
}

TEST(ImageIo, DisplayBytesMapMinusOneToZeroAndOneTo255) {
  Image image;
  image.rgb = at::tensor({-1.0f, 0.0f, 1.0f}).view({1, 3, 1, 1});
  const cm::imageio::Rgba8 rgba = cm::imageio::to_rgba8(image);
  ASSERT_EQ(rgba.pixels.size(), 4u);
  EXPECT_EQ(rgba.pixels[0], 0);
  EXPECT_EQ(rgba.pixels[1], 128);  // 127.5 is a tie; both rounding rules give 128
  EXPECT_EQ(rgba.pixels[2], 255);
  EXPECT_EQ(rgba.pixels[3], 255);  // opaque without alpha
}

// A JPEG with an EXIF APP1 segment carrying `orientation`, inserted right after SOI.
std::string jpeg_with_orientation(const cv::Mat& bgr, int orientation, bool big_endian) {
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 100});
  const auto u16 = [&](int v) {
    return big_endian ? std::string{char(v >> 8), char(v & 0xFF)} : std::string{char(v & 0xFF), char(v >> 8)};
  };
  const auto u32 = [&](int v) { return big_endian ? u16(0) + u16(v) : u16(v) + u16(0); };
  std::string tiff = std::string(big_endian ? "MM" : "II") + u16(42) + u32(8);
  tiff += u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0) + u32(0);
  const std::string body = std::string("Exif\0\0", 6) + tiff;
  const std::string app1 = std::string("\xFF\xE1") + char((body.size() + 2) >> 8) + char((body.size() + 2) & 0xFF) + body;
  return std::string(jpeg.begin(), jpeg.begin() + 2) + app1 + std::string(jpeg.begin() + 2, jpeg.end());
}

TEST(ImageIo, ExifOrientationIsHonoured) {
  cm::testing::TempDir dir;
  // 32 wide, 16 high: left half dark, right half bright, and a bright top-left corner marker.
  cv::Mat bgr(16, 32, CV_8UC3, cv::Scalar(20, 20, 20));
  bgr(cv::Rect(16, 0, 16, 16)).setTo(cv::Scalar(235, 235, 235));
  bgr(cv::Rect(0, 0, 4, 4)).setTo(cv::Scalar(235, 235, 235));
  const auto bright = [](const at::Tensor& rgb, int y, int x) { return rgb[0][0][y][x].item<float>() > 0; };
  for (bool big_endian : {false, true}) {
    SCOPED_TRACE(big_endian ? "Motorola byte order" : "Intel byte order");
    const fs::path rotated = dir.path() / "rotated.jpg";
    std::ofstream(rotated, std::ios::binary) << jpeg_with_orientation(bgr, 6, big_endian);
    const Image upright = load_image(rotated);  // 6: turn 90° clockwise to view
    ASSERT_EQ(upright.width(), 16);
    ASSERT_EQ(upright.height(), 32);
    EXPECT_FALSE(bright(upright.rgb, 10, 8));  // the dark half is now on top
    EXPECT_TRUE(bright(upright.rgb, 25, 8));
    EXPECT_TRUE(bright(upright.rgb, 1, 14));   // the marker went to the top-right corner
    const fs::path mirrored = dir.path() / "mirrored.jpg";
    std::ofstream(mirrored, std::ios::binary) << jpeg_with_orientation(bgr, 2, big_endian);
    const Image flipped = load_image(mirrored);
    ASSERT_EQ(flipped.width(), 32);
    EXPECT_TRUE(bright(flipped.rgb, 8, 4));    // the bright half is now on the left
    EXPECT_TRUE(bright(flipped.rgb, 1, 30));   // and the marker top-right
  }
  // A garbled EXIF block is ignored, not trusted.
  std::string broken = jpeg_with_orientation(bgr, 6, false);
  broken[2 + 4 + 6 + 4] = '\x7F';  // IFD offset far out of range
  std::ofstream(dir.path() / "broken.jpg", std::ios::binary) << broken;
  EXPECT_EQ(load_image(dir.path() / "broken.jpg").width(), 32);
}

TEST(ImageIo, MasksAreWhiteForEditAndThresholded) {
  cm::testing::TempDir dir;
  cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(3));  // JPEG-ish near-black noise
  gray(cv::Rect(2, 2, 3, 3)).setTo(250);
  gray.at<uchar>(7, 7) = 120;                   // below half grey: keep
  cv::imwrite((dir.path() / "mask.png").string(), gray);
  const at::Tensor mask = cm::imageio::load_mask(dir.path() / "mask.png");
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{1, 1, 8, 8}));
  EXPECT_EQ(mask.sum().item<float>(), 9.f);
  EXPECT_EQ(mask[0][0][3][3].item<float>(), 1.f);
  EXPECT_CM_ERROR(cm::imageio::load_mask(dir.path() / "none.png"), ErrorCode::FileNotFound, "none.png");
}

TEST(ImageIo, TheDescriptionGoesIntoPngAndJpegFiles) {
  cm::testing::TempDir dir;
  const Image image = random_image(9, 7, 16);
  cm::imageio::SaveOptions options;
  options.bit_depth = 16;
  options.description = "cmedit inpaint: seed 4, steps 3, σ 80 → 0.5";
  for (const char* name : {"a.png", "a.jpg"}) {
    save_image(dir.path() / name, image, options);
    EXPECT_EQ(cm::imageio::read_description(dir.path() / name), options.description) << name;
    EXPECT_EQ(load_image(dir.path() / name).width(), 9) << name;  // still a valid file
  }
  // The pixels of the PNG are untouched by the extra chunk.
  EXPECT_TRUE(at::equal(levels_of(load_image(dir.path() / "a.png").rgb, 16), levels_of(image.rgb, 16)));
  save_image(dir.path() / "plain.png", image);
  EXPECT_EQ(cm::imageio::read_description(dir.path() / "plain.png"), "");
}

}  // namespace
