// A photo's EXIF, XMP and colour profile through load_image and save_image (core/imageio/
// metadata.cpp): what a camera or phone wrote comes back in every export that can carry it,
// updated for the edited pixels, and read by Exiv2 itself, not by cmedit.
#include "core/expect_error.h"
#include "core/imageio/image_file.h"
#include "core/photo_files.h"
#include "core/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <fstream>

namespace {

using cm::imageio::Image;
using cm::imageio::load_image;
using cm::imageio::save_image;
using cm::testing::read_tags;
namespace fs = std::filesystem;

Image gradient(int w, int h) { return cm::testing::gradient_image(w, h); }

// A phone's photo in `ext`: EXIF with a thumbnail, XMP and a Display P3 profile.
fs::path phone_photo(const cm::testing::TempDir& dir, const std::string& ext, int orientation = 1) {
  Image image = gradient(40, 30);
  const cm::imageio::FileMetadata phone = cm::testing::phone_metadata(orientation);
  image.metadata.icc = phone.icc;  // pixels written in Display P3 and tagged so
  const fs::path path = dir / ("phone" + ext);
  save_image(path, image);
  cm::testing::write_tags(path, phone);  // what the phone wrote besides: by Exiv2, as it stands
  return path;
}

class MetadataIn : public ::testing::TestWithParam<const char*> {};

TEST_P(MetadataIn, AnEditedPhotoKeepsItsCameraDataAndProfile) {
  cm::testing::TempDir dir;
  const fs::path in = phone_photo(dir, GetParam());
  const Image photo = load_image(in, cm::imageio::Pixels::Stored);
  EXPECT_FALSE(photo.metadata.exif.empty());
  EXPECT_EQ(cm::testing::profile_description(photo.metadata.icc), "Display P3");
  const fs::path out = dir / (std::string("out") + GetParam());
  save_image(out, photo);

  const cm::testing::FileTags tags = read_tags(out);
  EXPECT_EQ(tags.exif_value("Exif.Image.Make"), "cmedit test");
  EXPECT_EQ(tags.exif_value("Exif.Image.Model"), "Fixture Camera");
  EXPECT_EQ(tags.exif_value("Exif.Photo.DateTimeOriginal"), "2026:12:05 10:11:12");
  EXPECT_EQ(tags.exif_value("Exif.Photo.ExposureTime"), "1/250");
  EXPECT_EQ(tags.exif_value("Exif.Image.Software").rfind("cmedit ", 0), 0u) << tags.exif_value("Exif.Image.Software");
  EXPECT_EQ(tags.exif_value("Exif.Image.Orientation"), "1");
  EXPECT_FALSE(tags.has_thumbnail) << "the thumbnail shows the photo before the edit";
  EXPECT_NE(tags.xmp_value("Xmp.dc.creator").find("Test Photographer"), std::string::npos);
  EXPECT_EQ(tags.xmp_value("Xmp.tiff.Orientation"), "1");
  EXPECT_EQ(cm::testing::profile_description(tags.icc), "Display P3");
  if (std::string(GetParam()) != ".webp") {  // WebP has no place for IPTC
    EXPECT_EQ(tags.iptc_value("Iptc.Application2.Caption"), "A fixture photo");
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, MetadataIn, ::testing::Values(".jpg", ".png", ".tif", ".webp"),
                         [](const auto& info) { return std::string(info.param + 1); });

TEST(Metadata, StrippingRemovesCameraDataButKeepsTheColours) {
  cm::testing::TempDir dir;
  const Image photo = load_image(phone_photo(dir, ".jpg"), cm::imageio::Pixels::Stored);
  cm::imageio::SaveOptions strip;
  strip.strip_metadata = true;
  save_image(dir / "private.jpg", photo, strip);
  const cm::testing::FileTags tags = read_tags(dir / "private.jpg");
  EXPECT_TRUE(tags.exif.empty()) << tags.exif_value("Exif.Image.Make");
  EXPECT_TRUE(tags.xmp.empty());
  EXPECT_TRUE(tags.iptc.empty());
  EXPECT_EQ(cm::testing::profile_description(tags.icc), "Display P3");
}

TEST(Metadata, AnUntaggedPhotoGetsNoInventedMetadata) {
  cm::testing::TempDir dir;
  save_image(dir / "plain.png", gradient(8, 8));
  save_image(dir / "again.png", load_image(dir / "plain.png"));
  const cm::testing::FileTags tags = read_tags(dir / "again.png");
  EXPECT_TRUE(tags.exif.empty());
  EXPECT_TRUE(tags.icc.empty());
}

TEST(Metadata, TheOrientationTurnsThePixelsOnceAndIsThenOne) {
  cm::testing::TempDir dir;
  // Stored sideways (orientation 6: turn 90° clockwise to view): 40×30 on disk, 30×40 upright.
  const Image upright = load_image(phone_photo(dir, ".png", 6));
  ASSERT_EQ(upright.width(), 30);
  ASSERT_EQ(upright.height(), 40);
  save_image(dir / "out.png", upright);
  EXPECT_EQ(read_tags(dir / "out.png").exif_value("Exif.Image.Orientation"), "1");
  const Image again = load_image(dir / "out.png");
  EXPECT_EQ(again.width(), 30) << "turned a second time";
  EXPECT_TRUE(at::allclose(again.rgb, upright.rgb, 0, 2.5 / 255));
}

TEST(Metadata, DamagedExifIsLeftOutAndThePhotoStillOpens) {
  cm::testing::TempDir dir;
  Image image = gradient(16, 12);
  save_image(dir / "plain.jpg", image);
  std::ifstream in(dir / "plain.jpg", std::ios::binary);
  std::string jpeg((std::istreambuf_iterator<char>(in)), {});
  // An APP1 "Exif" segment whose TIFF header points its first IFD far beyond the segment.
  const std::string body = std::string("Exif\0\0II*\0\xF0\xFF\xFF\x7F", 14) + std::string(20, '\xAB');
  const std::string app1 = std::string("\xFF\xE1") + char((body.size() + 2) >> 8) + char((body.size() + 2) & 0xFF) + body;
  std::ofstream(dir / "broken.jpg", std::ios::binary) << jpeg.substr(0, 2) + app1 + jpeg.substr(2);
  const Image photo = load_image(dir / "broken.jpg");
  EXPECT_EQ(photo.width(), 16);
  save_image(dir / "out.jpg", photo);  // and it exports
  EXPECT_EQ(load_image(dir / "out.jpg").width(), 16);
}

}  // namespace
