// The formats OpenCV does not read (core/imageio/heif_codec.cpp, jxl_codec.cpp, raw_codec.cpp):
// HEIC and AVIF as phones write them, JPEG XL, and camera RAW developed as shot; each opens with
// its metadata, exports where cmedit writes it, and a damaged file gets a message, not a crash.
#include "core/dng_writer.h"
#include "core/expect_error.h"
#include "core/imageio/image_file.h"
#include "core/photo_files.h"
#include "core/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace {

using cm::imageio::Image;
using cm::imageio::load_image;
using cm::imageio::save_image;
namespace fs = std::filesystem;

Image gradient(int w, int h) { return cm::testing::gradient_image(w, h); }

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(PhotoFormats, TheirNamesAreImages) {
  for (const char* name : {"a.heic", "a.HEIF", "a.avif", "a.jxl", "a.dng", "a.CR2", "a.nef", "a.arw"})
    EXPECT_TRUE(cm::imageio::is_image_file(name)) << name;
  EXPECT_FALSE(cm::imageio::is_image_file("a.txt"));
}

class HeifFile : public ::testing::TestWithParam<const char*> {};

TEST_P(HeifFile, OpensWithItsCameraDataAndProfile) {
  cm::testing::TempDir dir;
  Image image = gradient(48, 32);
  image.metadata = cm::testing::phone_metadata();
  const fs::path path = dir / (std::string("phone") + GetParam());
  save_image(path, image);  // through libheif, as a phone writes it
  const Image photo = load_image(path);
  EXPECT_EQ(photo.format, std::string(GetParam()) == ".avif" ? "AVIF" : "HEIC");
  ASSERT_EQ(photo.width(), 48);
  ASSERT_EQ(photo.height(), 32);
  EXPECT_LT((photo.rgb - image.rgb).abs().mean().item<float>(), 3.0f / 127.5f) << "lossy, but the same photo";
  EXPECT_EQ(cm::testing::exif_value(photo.metadata.exif, "Exif.Image.Model"), "Fixture Camera");
  EXPECT_EQ(cm::testing::exif_value(photo.metadata.exif, "Exif.Image.Orientation"), "1");
  EXPECT_NE(photo.metadata.xmp.find("Test Photographer"), std::string::npos);
  EXPECT_EQ(cm::testing::profile_description(photo.metadata.icc), "Display P3");
  // And on to a JPEG, as a user shares a phone photo.
  save_image(dir / "shared.jpg", photo);
  EXPECT_EQ(cm::testing::read_tags(dir / "shared.jpg").exif_value("Exif.Image.Model"), "Fixture Camera");
}

INSTANTIATE_TEST_SUITE_P(Formats, HeifFile, ::testing::Values(".heic", ".avif"),
                         [](const auto& info) { return std::string(info.param + 1); });

// An AVIF that gives its colours as code points (no ICC profile): Display P3 is converted like a P3
// profile would be; sRGB's code points give no profile at all.
TEST(PhotoFormats, AnAvifsCodedColoursBecomeItsProfile) {
  cm::testing::TempDir dir;
  ASSERT_TRUE(cm::testing::write_coded_avif(dir / "p3.avif", 12, 13, 255, 20, 20));  // a P3 red
  ASSERT_TRUE(cm::testing::write_coded_avif(dir / "srgb.avif", 1, 13, 255, 20, 20));
  const Image p3 = load_image(dir / "p3.avif"), srgb = load_image(dir / "srgb.avif");
  EXPECT_EQ(cm::imageio::colour_profile_name(p3.metadata), "Display P3");
  EXPECT_TRUE(srgb.metadata.icc.empty());
  // The same numbers mean a redder red in P3: outside sRGB, so its green and blue drop to 0.
  const float p3_green = p3.rgb[0][1].mean().item<float>(), srgb_green = srgb.rgb[0][1].mean().item<float>();
  EXPECT_LT(p3_green, srgb_green - 0.05f);
  // And it goes back out as P3.
  save_image(dir / "out.png", p3);
  EXPECT_EQ(cm::testing::profile_description(cm::testing::read_tags(dir / "out.png").icc), "Display P3");
}

TEST(PhotoFormats, JpegXlAtQuality100IsLosslessAtSixteenBits) {
  cm::testing::TempDir dir;
  Image image;
  image.rgb = at::randint(0, 65536, {1, 3, 20, 30}).to(at::kFloat) / 32767.5 - 1;
  image.alpha = at::rand({1, 1, 20, 30});
  image.metadata.exif = cm::testing::camera_exif();
  cm::imageio::SaveOptions lossless;
  lossless.bit_depth = 16;
  lossless.jpeg_quality = 100;
  save_image(dir / "a.jxl", image, lossless);
  const Image photo = load_image(dir / "a.jxl");
  EXPECT_EQ(photo.format, "JPEG XL");
  EXPECT_EQ(photo.bit_depth, 16);
  EXPECT_TRUE(at::allclose(photo.rgb, image.rgb, 0, 0.51 / 32767.5));
  ASSERT_TRUE(photo.alpha.defined());
  EXPECT_TRUE(at::allclose(photo.alpha, image.alpha, 0, 0.51 / 65535));
  EXPECT_EQ(cm::testing::exif_value(photo.metadata.exif, "Exif.Image.Make"), "cmedit test");
}

TEST(PhotoFormats, AvifAndHeicAreWrittenAtEightBits) {
  // libaom aborts the process on 10-bit AV1 here (heif_codec.cpp): a 16-bit photo must still export.
  cm::testing::TempDir dir;
  cm::imageio::SaveOptions sixteen;
  sixteen.bit_depth = 16;
  for (const char* name : {"deep.avif", "deep.heic"}) {
    save_image(dir / name, gradient(40, 24), sixteen);
    EXPECT_EQ(load_image(dir / name).bit_depth, 8) << name;
  }
}

TEST(PhotoFormats, ACameraRawDevelopsAsShotAndUpright) {
  cm::testing::TempDir dir;
  cm::testing::write_dng(dir / "shot.dng", 64, 48);
  const Image photo = load_image(dir / "shot.dng");
  EXPECT_EQ(photo.format, "RAW (cmedit Test DNG)");
  EXPECT_EQ(photo.bit_depth, 16);
  ASSERT_EQ(photo.width(), 64);
  const at::Tensor unit = (photo.rgb + 1) / 2;
  // The interiors of the two halves (demosaicing blurs their edge): 18% grey, and the red.
  const at::Tensor grey = unit.narrow(2, 4, 40).narrow(3, 4, 24).mean({2, 3})[0];
  const double expected_grey = cm::testing::srgb_encode(cm::testing::kDngGrey);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(grey[c].item<double>(), expected_grey, 0.01) << "channel " << c;
  const at::Tensor red = unit.narrow(2, 4, 40).narrow(3, 36, 24).mean({2, 3})[0];
  EXPECT_NEAR(red[0].item<double>(), cm::testing::srgb_encode(cm::testing::kDngRed[0]), 0.01);
  EXPECT_NEAR(red[1].item<double>(), cm::testing::srgb_encode(cm::testing::kDngRed[1]), 0.01);
  EXPECT_EQ(cm::testing::exif_value(photo.metadata.exif, "Exif.Image.Make"), "cmedit");

  // Stored sideways (orientation 6): LibRaw turns it once, and the export says it is upright.
  cm::testing::write_dng(dir / "sideways.dng", 64, 48, 6);
  const Image upright = load_image(dir / "sideways.dng");
  EXPECT_EQ(upright.width(), 48);
  EXPECT_EQ(upright.height(), 64);
  save_image(dir / "upright.jpg", upright);
  EXPECT_EQ(cm::testing::read_tags(dir / "upright.jpg").exif_value("Exif.Image.Orientation"), "1");
  EXPECT_EQ(load_image(dir / "upright.jpg").width(), 48);
}

TEST(PhotoFormats, DamagedFilesGetAMessageNotACrash) {
  cm::testing::TempDir dir;
  save_image(dir / "good.heic", gradient(32, 32));
  save_image(dir / "good.jxl", gradient(32, 32));
  const std::vector<std::uint8_t> dng = cm::testing::make_dng(64, 48);
  const std::string heic = read_all(dir / "good.heic"), jxl = read_all(dir / "good.jxl");
  std::ofstream(dir / "cut.heic", std::ios::binary) << heic.substr(0, heic.size() / 2);
  std::ofstream(dir / "cut.jxl", std::ios::binary) << jxl.substr(0, jxl.size() / 2);
  std::ofstream(dir / "cut.dng", std::ios::binary) << std::string(dng.begin(), dng.begin() + 300);
  std::ofstream(dir / "text.cr2", std::ios::binary) << "not a raw file at all";
  for (const char* name : {"cut.heic", "cut.jxl", "cut.dng"})
    EXPECT_CM_ERROR(load_image(dir / name), cm::ErrorCode::CorruptFile, name);
  EXPECT_CM_ERROR(load_image(dir / "text.cr2"), cm::ErrorCode::CorruptFile, "text.cr2");
}

// A damaged DNG on which LibRaw 0.20 itself crashes (a segmentation fault in parse_tiff_ifd, found
// by mutating the fuzz seed): the crash ends the decoder's own process, and cmedit says so.
TEST(PhotoFormats, ARawThatCrashesLibRawIsAMessage) {
  const fs::path file = fs::path(CMEDIT_SOURCE_DIR) / "fuzz/corpus/raw/finding-libraw-parse-tiff-ifd-segv.dng";
  EXPECT_CM_ERROR(load_image(file), cm::ErrorCode::CorruptFile, "LibRaw crashed on it");
  // And the next RAW opens as ever.
  cm::testing::TempDir dir;
  cm::testing::write_dng(dir / "good.dng", 64, 48);
  EXPECT_EQ(load_image(dir / "good.dng").width(), 64);
}

}  // namespace
