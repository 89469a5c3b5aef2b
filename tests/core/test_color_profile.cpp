// Colour management (core/imageio/color_profile.cpp): a photo opens in sRGB, the model's and the
// canvas's space, and goes back into its own profile on export, so a wide-gamut phone photo that
// was not edited comes back as it was, and is still tagged as what it is.
#include "core/imageio/color_profile.h"
#include "core/imageio/image_file.h"
#include "core/photo_files.h"
#include "core/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {

using cm::imageio::Image;
using cm::imageio::load_image;
using cm::imageio::save_image;
namespace fs = std::filesystem;

// The whole sRGB cube's range: saturated primaries at the corners, greys on the diagonal.
Image colours(int w, int h) {
  Image image;
  const at::Tensor x = at::linspace(-1, 1, w).view({1, 1, 1, w}).expand({1, 1, h, w});
  const at::Tensor y = at::linspace(-1, 1, h).view({1, 1, h, 1}).expand({1, 1, h, w});
  image.rgb = at::cat({x, y, -x * y}, 1).contiguous();
  return image;
}

// A file's own values, without colour management.
cv::Mat file_values(const fs::path& path) { return cv::imread(path.string(), cv::IMREAD_UNCHANGED); }

double max_level_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.type(), b.type());
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  double worst = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
  return worst;
}

fs::path p3_photo(const cm::testing::TempDir& dir) {
  Image image = colours(64, 48);
  image.metadata.icc = cm::testing::display_p3_profile();
  save_image(dir / "p3.png", image);  // the sRGB colours, written as Display P3 values
  return dir / "p3.png";
}

TEST(ColorProfile, AP3PhotoExportedUneditedComesBackAsItWasAndTaggedP3) {
  cm::testing::TempDir dir;
  const fs::path in = p3_photo(dir);
  const Image photo = load_image(in, cm::imageio::Pixels::Stored);
  EXPECT_EQ(photo.bit_depth, 8);  // the file's; held at 16 bits after the conversion
  save_image(dir / "out.png", photo);
  EXPECT_LE(max_level_difference(file_values(in), file_values(dir / "out.png")), 1.0);
  EXPECT_EQ(cm::testing::profile_description(cm::testing::read_tags(dir / "out.png").icc), "Display P3");
}

// A phone's saturated red (P3's own primary, outside sRGB) is clipped in the sRGB working copy, but
// where the photo is not edited the export writes the file's own values back: nothing is lost.
TEST(ColorProfile, ColoursOutsideSrgbSurviveWhereThePhotoIsNotEdited) {
  cm::testing::TempDir dir;
  cv::Mat values(24, 32, CV_8UC3);
  for (int y = 0; y < values.rows; ++y)
    for (int x = 0; x < values.cols; ++x)  // B, G, R: P3 red, green and blue bands over a ramp
      values.at<cv::Vec3b>(y, x) = x < 11 ? cv::Vec3b(0, 0, 255) : x < 22 ? cv::Vec3b(20, 250, 8 * y % 256) : cv::Vec3b(255, 7 * y % 256, 0);
  cv::imwrite((dir / "vivid.png").string(), values);
  cm::imageio::FileMetadata p3;
  p3.icc = cm::testing::display_p3_profile();
  cm::testing::write_tags(dir / "vivid.png", p3);

  Image photo = load_image(dir / "vivid.png", cm::imageio::Pixels::Stored);
  save_image(dir / "same.png", photo);
  EXPECT_EQ(max_level_difference(file_values(dir / "vivid.png"), file_values(dir / "same.png")), 0.0);

  // An edit of the top-left corner: only there do the file's values change.
  photo.rgb.narrow(2, 0, 6).narrow(3, 0, 6).fill_(0);  // mid grey in the stored form
  save_image(dir / "edited.png", photo);
  const cv::Mat before = file_values(dir / "vivid.png"), after = file_values(dir / "edited.png");
  cv::Mat outside = before.clone(), outside_after = after.clone();
  outside(cv::Rect(0, 0, 6, 6)).setTo(0), outside_after(cv::Rect(0, 0, 6, 6)).setTo(0);
  EXPECT_EQ(max_level_difference(outside, outside_after), 0.0);
  EXPECT_GT(max_level_difference(before, after), 50.0) << "the edit itself is in the file";
}

// The conversion's fast tables (matrix_shaper.h) against LittleCMS's floating-point transform, on
// every 8-bit level of each channel mixed with the others and on random 16-bit pixels.
TEST(ColorProfile, TheFastTablesAgreeWithLittleCmsFloat) {
  for (const auto& [name, icc] : {std::pair{"Display P3", cm::testing::display_p3_profile()},
                                  std::pair{"Adobe RGB", cm::testing::adobe_rgb_profile()}}) {
    SCOPED_TRACE(name);
    cv::Mat eight(256, 256, CV_8UC3), sixteen(128, 128, CV_16UC3);
    for (int y = 0; y < 256; ++y)
      for (int x = 0; x < 256; ++x) eight.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x), uchar(y), uchar((x * 7 + y * 13) % 256));
    cv::randu(sixteen, 0, 65536);
    for (const cv::Mat& pixels : {eight, sixteen}) {
      const double worst = max_level_difference(cm::imageio::to_srgb(pixels, icc), cm::imageio::to_srgb_by_lcms(pixels, icc));
      EXPECT_LE(worst, 1.0) << "of 65535";  // measured: 1, a rounding of the same value
    }
  }
}

TEST(ColorProfile, TheModelSeesSrgbNotTheFilesValues) {
  cm::testing::TempDir dir;
  const fs::path in = p3_photo(dir);
  const Image original = colours(64, 48), photo = load_image(in);
  // What was written as sRGB colours comes back as those colours, not as the P3 numbers: within
  // the 8-bit P3 file's rounding, which near the edge of sRGB's gamut (a channel near 0, where the
  // sRGB curve is steep) grows to a few levels.
  const at::Tensor error = (photo.rgb - original.rgb).abs() * 127.5;
  EXPECT_LT(error.mean().item<float>(), 0.5f);
  EXPECT_LT(error.max().item<float>(), 10.0f);
  cv::Mat rgb;
  cv::cvtColor(file_values(in), rgb, cv::COLOR_BGR2RGB);
  const at::Tensor values = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
  EXPECT_GT((values / 127.5 - 1 - photo.rgb).abs().max().item<float>(), 0.05f) << "no conversion happened";
}

TEST(ColorProfile, AnSrgbTaggedPhotoOpensBitForBit) {
  cm::testing::TempDir dir;
  Image image;
  image.rgb = at::randint(0, 256, {1, 3, 20, 30}).to(at::kFloat) / 127.5 - 1;
  save_image(dir / "srgb.png", image);
  cm::imageio::FileMetadata tagged;
  tagged.icc = cm::testing::srgb_profile_bytes();  // as a camera tags its sRGB photos
  cm::testing::write_tags(dir / "srgb.png", tagged);
  const Image photo = load_image(dir / "srgb.png", cm::imageio::Pixels::Stored);
  ASSERT_EQ(photo.rgb.scalar_type(), at::kByte) << "converted, not taken as it is";
  EXPECT_TRUE(at::equal(photo.rgb.to(at::kLong), ((image.rgb + 1) * 127.5).round().to(at::kLong)));
  EXPECT_FALSE(photo.metadata.icc.empty()) << "the tag is kept for the export";
}

TEST(ColorProfile, ExportingAsSrgbTagsSrgbAndKeepsTheWorkingPixels) {
  cm::testing::TempDir dir;
  const Image photo = load_image(p3_photo(dir));
  cm::imageio::SaveOptions as_srgb;
  as_srgb.colour = cm::imageio::SaveOptions::Colour::Srgb;
  save_image(dir / "srgb.png", photo, as_srgb);
  EXPECT_NE(cm::testing::profile_description(cm::testing::read_tags(dir / "srgb.png").icc).find("sRGB"), std::string::npos);
  EXPECT_TRUE(at::allclose(load_image(dir / "srgb.png").rgb, photo.rgb, 0, 1.01 * 2 / 255));
}

TEST(ColorProfile, AFormatWithoutProfilesGetsSrgbPixels) {
  cm::testing::TempDir dir;
  const Image photo = load_image(p3_photo(dir));
  save_image(dir / "out.bmp", photo);
  EXPECT_TRUE(at::allclose(load_image(dir / "out.bmp").rgb, photo.rgb, 0, 1.01 * 2 / 255));
}

TEST(ColorProfile, ADamagedProfileIsDroppedAndThePhotoOpensAsSrgb) {
  cm::testing::TempDir dir;
  const Image original = colours(16, 12);
  save_image(dir / "broken.png", original);
  cm::imageio::FileMetadata broken;
  broken.icc.assign(200, 0xAB);
  for (int i = 0; i < 4; ++i) broken.icc[std::size_t(i)] = std::uint8_t(200 >> (8 * (3 - i)));  // its size field is right
  cm::testing::write_tags(dir / "broken.png", broken);
  const Image photo = load_image(dir / "broken.png");
  EXPECT_TRUE(photo.metadata.icc.empty());
  EXPECT_TRUE(at::allclose(photo.rgb, original.rgb, 0, 1.01 / 127.5));
}

}  // namespace
