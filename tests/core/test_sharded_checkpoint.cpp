// Training checkpoints split into shards (core/train/sharded_checkpoint.h).
#include "core/expect_error.h"
#include "core/temp_dir.h"
#include "core/train/sharded_checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace cm::train;
using cm::ErrorCode;

TEST(ShardedCheckpoint, RoundTripsWithEveryFileWithinTheLimit) {
  cm::testing::TempDir dir;
  const cm::model::StateDict tensors = {{"big", at::randn({300, 200})},  // 240 KB: split in pieces
                                        {"small", at::arange(5, at::kLong)},
                                        {"half", at::randn({3, 4}).to(at::kHalf)},
                                        {"scalar", at::full({}, 2.5)}};
  const int64_t limit = 64 << 10;
  write_checkpoint(dir / "step-000000007", tensors, {{"step", 7}}, limit);
  for (const auto& e : fs::directory_iterator(dir / "step-000000007")) EXPECT_LE(int64_t(fs::file_size(e.path())), limit) << e.path();
  const Checkpoint back = read_checkpoint(dir / "step-000000007");
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_TRUE(at::equal(back.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(back.state["step"], 7);
  EXPECT_CM_ERROR(write_checkpoint(dir / "step-000000007", tensors, {}, limit), ErrorCode::Io, "exists already");
  EXPECT_CM_ERROR(write_checkpoint(dir / "x", tensors, {}, 1000), ErrorCode::BadArgument, "at least 64 KiB");
  EXPECT_CM_ERROR(write_checkpoint(dir / "y", {{"a", at::ones(1)}, {"a", at::ones(1)}}, {}, limit), ErrorCode::BadArgument, "'a' appears twice");
  EXPECT_FALSE(fs::exists(dir / "y"));
}

TEST(ShardedCheckpoint, MissingPiecesAreCorruptAndPartialFoldersAreIgnored) {
  cm::testing::TempDir dir;
  write_checkpoint(checkpoint_dir(dir.path(), 3), {{"big", at::randn({300, 200})}}, {}, 64 << 10);
  write_checkpoint(checkpoint_dir(dir.path(), 12), {{"w", at::ones(3)}}, {});
  fs::create_directories(dir / "step-000000099.partial");
  std::ofstream(dir / "step-000000099.partial" / "index.json") << "{}";
  EXPECT_EQ(list_checkpoints(dir.path()).size(), 2u);
  EXPECT_EQ(latest_checkpoint(dir.path())->filename(), "step-000000012");
  EXPECT_FALSE(latest_checkpoint(dir / "nothing").has_value());
  fs::remove(checkpoint_dir(dir.path(), 3) / "shard-001.safetensors");
  EXPECT_CM_ERROR(read_checkpoint(checkpoint_dir(dir.path(), 3)), ErrorCode::FileNotFound, "shard-001");
  EXPECT_CM_ERROR(read_checkpoint(dir / "nothing"), ErrorCode::FileNotFound, "index.json missing");
  std::ofstream(checkpoint_dir(dir.path(), 12) / "index.json") << "{\"format\": \"cmedit-checkpoint\", \"tensors\": [{\"name\": \"w\"}]}";
  EXPECT_CM_ERROR(read_checkpoint(checkpoint_dir(dir.path(), 12)), ErrorCode::CorruptFile, "missing or mistyped");
}

}  // namespace
