// Image packs (core/train/image_pack.h): pixels, splits, attribution, JPEG entries and
// corrupt files.
#include "core/expect_error.h"
#include "core/temp_dir.h"
#include "core/train/image_pack.h"
#include "core/train/jpeg_decode.h"
#include "core/train_fixtures.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "core/imageio/image_file.h"
#endif

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

namespace {

namespace fs = std::filesystem;
using namespace cm::train;
using cm::ErrorCode;
using cm::testing::gradient_photo;

TEST(ImagePack, RoundTripsPixelsSplitsAndAttribution) {
  cm::testing::TempDir dir;
  ImagePack pack;
  pack.metadata["weights_license"] = "CC-BY-SA-4.0";
  pack.images.push_back({"a/beach.jpg", Split::Train, "CC0-1.0", "endless-sky", gradient_photo(30, 40, 1), {}});
  pack.images.push_back({"b.png", Split::Test, "GPL-2+", "scratch", gradient_photo(17, 9, 2), {}});
  write_image_pack(dir / "p.cmpack", pack);
  const ImagePack back = read_image_pack(dir / "p.cmpack");
  ASSERT_EQ(back.images.size(), 2u);
  EXPECT_EQ(back.metadata.at("weights_license"), "CC-BY-SA-4.0");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.images[i].name, pack.images[i].name);
    EXPECT_EQ(back.images[i].split, pack.images[i].split);
    EXPECT_EQ(back.images[i].license, pack.images[i].license);
    EXPECT_EQ(back.images[i].source, pack.images[i].source);
    EXPECT_TRUE(at::equal(back.images[i].pixels, pack.images[i].pixels));
  }
  EXPECT_EQ(back.count(Split::Train), 1);
  const ImagePack catalogue = read_image_pack(dir / "p.cmpack", PackRead::Catalogue);
  ASSERT_EQ(catalogue.images.size(), 2u);
  EXPECT_EQ(catalogue.images[1].name, "b.png");
  EXPECT_EQ(catalogue.images[1].license, "GPL-2+");
  EXPECT_EQ(catalogue.images[1].split, Split::Test);
  EXPECT_EQ(catalogue.images[0].height, 30);
  EXPECT_EQ(catalogue.images[0].width, 40);
  EXPECT_FALSE(catalogue.images[0].pixels.defined());
  EXPECT_EQ(catalogue.metadata.at("weights_license"), "CC-BY-SA-4.0");
  ASSERT_EQ(back.pixels(Split::Test).size(), 1u);
  EXPECT_TRUE(at::equal(back.pixels(Split::Test)[0], pack.images[1].pixels));

  pack.images.push_back(pack.images[0]);
  EXPECT_CM_ERROR(write_image_pack(dir / "q.cmpack", pack), ErrorCode::BadArgument, "'a/beach.jpg' appears twice");
  pack.images.back() = {"gray", Split::Train, "", "", at::zeros({4, 4}, at::kByte), {}};
  EXPECT_CM_ERROR(write_image_pack(dir / "q.cmpack", pack), ErrorCode::BadArgument, "not [H, W, 3] uint8");
  EXPECT_FALSE(fs::exists(dir / "q.cmpack"));
}

TEST(ImagePack, CorruptOrHostileFilesGiveClearErrors) {
  cm::testing::TempDir dir;
  ImagePack pack;
  pack.images.push_back({"a", Split::Train, "", "", gradient_photo(8, 8, 1), {}});
  write_image_pack(dir / "p.cmpack", pack);
  std::string bytes;
  {
    std::ifstream in(dir / "p.cmpack", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return dir / name;
  };
  EXPECT_CM_ERROR(read_image_pack(dir / "missing"), ErrorCode::FileNotFound, "cannot open");
  EXPECT_CM_ERROR(read_image_pack(write("short", bytes.substr(0, 10))), ErrorCode::CorruptFile, "too short");
  EXPECT_CM_ERROR(read_image_pack(write("magic", "PNG" + bytes.substr(3))), ErrorCode::CorruptFile, "no CMPACK01 signature");
  EXPECT_CM_ERROR(read_image_pack(write("truncated", bytes.substr(0, bytes.size() - 5))), ErrorCode::CorruptFile, "runs past the end");
  EXPECT_CM_ERROR(read_image_pack(dir / "truncated", PackRead::Catalogue), ErrorCode::CorruptFile, "runs past the end");
  EXPECT_CM_ERROR(read_image_pack(write("tail", bytes + "xx")), ErrorCode::CorruptFile, "2 bytes after the last image");
  std::string huge = bytes;
  const uint64_t lie = uint64_t(1) << 60;
  std::memcpy(huge.data() + 8, &lie, 8);
  EXPECT_CM_ERROR(read_image_pack(write("huge", huge)), ErrorCode::CorruptFile, "does not fit");
  std::string sized = bytes;
  const std::size_t at = sized.find("\"height\":8");
  ASSERT_NE(at, std::string::npos);
  sized.replace(at, 10, "\"height\":9");
  EXPECT_CM_ERROR(read_image_pack(write("sized", sized)), ErrorCode::CorruptFile, "do not hold 8×9 RGB pixels");
  std::string jpeg = bytes;
  jpeg.replace(jpeg.find("\"rgb8\""), 6, "\"jpg8\"");
  EXPECT_CM_ERROR(read_image_pack(write("jpeg", jpeg)), ErrorCode::Unsupported, "encoding 'jpg8'");
}

#ifdef CMEDIT_HAS_IMAGEIO
TEST(ImagePack, JpegEntriesDecodeToTheirPixelsAndBadOnesAreCorrupt) {
  if (!can_decode_jpeg()) GTEST_SKIP() << "built without stb_image.h";
  cm::testing::TempDir dir;
  const at::Tensor smooth = ((cm::testing::smooth_photo(48, 64)[0].permute({1, 2, 0}) + 1) * 127.5).round().to(at::kByte).contiguous();
  ImagePack pack;
  pack.images.push_back({"smooth.jpg", Split::Train, "", "", smooth, cm::imageio::encode_jpeg(smooth, 95)});
  pack.images.push_back({"raw", Split::Test, "", "", gradient_photo(5, 6, 1), {}});
  write_image_pack(dir / "p.cmpack", pack);
  EXPECT_LT(fs::file_size(dir / "p.cmpack"), 48 * 64 * 3);  // smaller than the raw pixels
  const ImagePack back = read_image_pack(dir / "p.cmpack");
  ASSERT_EQ(back.images[0].pixels.sizes(), smooth.sizes());
  EXPECT_LT((back.images[0].pixels.to(at::kFloat) - smooth.to(at::kFloat)).abs().mean().item<double>(), 2.0);
  EXPECT_TRUE(at::equal(back.images[1].pixels, pack.images[1].pixels));

  pack.images[0].jpeg.assign(pack.images[0].jpeg.size(), 0x55);  // same length, not a JPEG
  write_image_pack(dir / "bad.cmpack", pack);
  EXPECT_CM_ERROR(read_image_pack(dir / "bad.cmpack"), ErrorCode::CorruptFile, "'smooth.jpg': not a decodable JPEG");
  EXPECT_EQ(read_image_pack(dir / "bad.cmpack", PackRead::Catalogue).images.size(), 2u);  // decodes nothing
  pack.images[0].jpeg = cm::imageio::encode_jpeg(smooth.slice(0, 0, 40), 90);  // header says 48 rows
  write_image_pack(dir / "lie.cmpack", pack);
  EXPECT_CM_ERROR(read_image_pack(dir / "lie.cmpack"), ErrorCode::CorruptFile, "the JPEG is 64×40, the header says 64×48");
}
#endif

TEST(ImagePack, HeldOutSplitByNameIsStableAndNearTheFraction) {
  int test = 0;
  for (int i = 0; i < 2000; ++i) test += split_for("photo-" + std::to_string(i) + ".jpg", 0.1) == Split::Test;
  EXPECT_NEAR(test, 200, 45);
  EXPECT_EQ(split_for("beach.jpg", 0.1), split_for("beach.jpg", 0.1));
  EXPECT_EQ(split_for("beach.jpg", 0.0), Split::Train);
  // A larger fraction only moves photos into the test split, never out of it.
  for (int i = 0; i < 200; ++i) {
    const std::string name = std::to_string(i);
    if (split_for(name, 0.1) == Split::Test) {
      EXPECT_EQ(split_for(name, 0.2), Split::Test);
    }
  }
}

}  // namespace
