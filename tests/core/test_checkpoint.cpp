#include "core/expect_error.h"
#include "core/golden_dir.h"
#include "core/model/torch_checkpoint.h"
#include "core/temp_dir.h"
#include "core/torch_save_writer.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace {

using cm::testing::Pickle;
using cm::testing::write_checkpoint;

using cm::ErrorCode;
using cm::model::read_torch_checkpoint;
namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TorchCheckpoint, ReadsAHandWrittenStateDictWithSharedStorage) {
  cm::testing::TempDir dir;
  const at::Tensor storage = at::arange(12, at::kFloat);
  Pickle p;
  p.ordered_dict().mark();
  p.str("a").tensor("0", 12, 0, {3, 4}, {4, 1});
  p.str("b.t").tensor("0", 12, 2, {2, 2}, {1, 4});  // transposed view with an offset, same storage
  p.setitems().stop();
  write_checkpoint(dir / "sd.pt", p, {{"0", storage}});
  const auto sd = read_torch_checkpoint(dir / "sd.pt");
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].first, "a");
  EXPECT_TRUE(at::equal(sd[0].second, storage.view({3, 4})));
  EXPECT_EQ(sd[1].first, "b.t");
  EXPECT_TRUE(at::equal(sd[1].second, storage.as_strided({2, 2}, {1, 4}, 2)));
}

TEST(TorchCheckpoint, RefusesForeignGlobalsByName) {
  cm::testing::TempDir dir;
  Pickle p;
  p.global("os", "system").mark().str("echo pwned").tuple().reduce().stop();
  write_checkpoint(dir / "evil.pt", p, {});
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "evil.pt"), ErrorCode::Unsupported, "references 'os.system'");

  Pickle q;  // protocol-4 style STACK_GLOBAL
  q.str("builtins").str("eval").raw("\x93").stop();
  write_checkpoint(dir / "evil4.pt", q, {});
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "evil4.pt"), ErrorCode::Unsupported, "references 'builtins.eval'");
}

TEST(TorchCheckpoint, RefusesViewsOutsideTheirStorage) {
  cm::testing::TempDir dir;
  Pickle p;
  p.ordered_dict().mark().str("w").tensor("0", 4, 2, {10}, {1}).setitems().stop();
  write_checkpoint(dir / "oob.pt", p, {{"0", at::zeros({4})}});
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "oob.pt"), ErrorCode::CorruptFile, "reaches element 11 of a storage of 4");
  // A negative offset with a huge stride once overflowed the bounds arithmetic (fuzz finding).
  Pickle n;
  n.ordered_dict().mark().str("w").tensor("0", 4, -67108864, {2}, {INT32_MAX}).setitems().stop();
  write_checkpoint(dir / "negative.pt", n, {{"0", at::zeros({4})}});
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "negative.pt"), ErrorCode::CorruptFile, "negative storage offset");
}

TEST(TorchCheckpoint, RefusesStoragesShorterThanTheyClaim) {
  cm::testing::TempDir dir;
  Pickle p;
  p.ordered_dict().mark().str("w").tensor("0", 100, 0, {100}, {1}).setitems().stop();
  write_checkpoint(dir / "short.pt", p, {{"0", at::zeros({4})}});
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "short.pt"), ErrorCode::CorruptFile, "claims 100 elements");
}

TEST(TorchCheckpoint, MalformedPicklesAreCorruptNotCrashes) {
  cm::testing::TempDir dir;
  const std::vector<std::string> bad = {"", "\x80\x02", "\x80\x02u.", "\x80\x02h\x07.", "\x80\x02X\xff\xff\xff\x7f",
                                        "\x80\x02\xff"};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    Pickle p;
    p.raw(bad[i].substr(std::min<std::size_t>(2, bad[i].size())));
    write_checkpoint(dir / "bad.pt", p, {});
    SCOPED_TRACE("case " + std::to_string(i));
    EXPECT_CM_ERROR(read_torch_checkpoint(dir / "bad.pt"), ErrorCode::CorruptFile, "malformed pickle");
  }
}

TEST(TorchCheckpoint, TruncatedOrForeignFilesAreCorrupt) {
  REQUIRE_GOLDEN();
  cm::testing::TempDir dir;
  const std::string good = read_all(cm::testing::golden_dir() / "unet_a" / "model.pt");
  for (std::size_t cut : {good.size() / 2, good.size() - 100, std::size_t(1000)}) {
    std::ofstream(dir / "cut.pt", std::ios::binary) << good.substr(0, cut);
    SCOPED_TRACE("cut at " + std::to_string(cut));
    EXPECT_CM_ERROR(read_torch_checkpoint(dir / "cut.pt"), ErrorCode::CorruptFile, "cut.pt");
  }
  std::ofstream(dir / "text.pt") << "not a checkpoint";
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "text.pt"), ErrorCode::CorruptFile, "torch.save zip");
  EXPECT_CM_ERROR(read_torch_checkpoint(dir / "absent.pt"), ErrorCode::FileNotFound, "absent.pt");
}

TEST(TorchCheckpoint, ReadsTheOfficialGoldenFile) {
  REQUIRE_GOLDEN();
  const auto sd = read_torch_checkpoint(cm::testing::golden_dir() / "unet_a" / "model.pt");
  EXPECT_EQ(sd.size(), 217u);
  EXPECT_EQ(sd.front().first, "time_embed.0.weight");
  EXPECT_EQ(sd.front().second.sizes(), (std::vector<int64_t>{128, 32}));
  EXPECT_EQ(sd.back().first, "out.2.bias");
}

}  // namespace
