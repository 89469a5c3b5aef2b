#include "core/base/sha256.h"
#include "core/expect_error.h"
#include "core/golden_dir.h"
#include "core/model/model_card.h"
#include "core/model/model_loader.h"
#include "core/model/safetensors.h"
#include "core/model/torch_checkpoint.h"
#include "core/temp_dir.h"
#include "core/test_model_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

namespace {

using namespace cm::model;
using cm::ErrorCode;
namespace fs = std::filesystem;

ModelCard golden_card() {
  std::ifstream in(cm::testing::golden_dir() / "unet_a" / "manifest.json");
  ModelCard card;
  card.name = "golden-a";
  card.architecture = unet_config_from_json(nlohmann::json::parse(in).at("config"));
  card.default_ts = {0, 22, 39};
  card.weights = "model.pt";
  card.license = "test data";
  return card;
}

TEST(ModelCard, RecognisesAllTwelveOfficialCheckpoints) {
  ASSERT_EQ(official_checkpoint_names().size(), 12u);
  for (const std::string& name : official_checkpoint_names()) {
    const auto card = official_card_for(name);
    ASSERT_TRUE(card) << name;
    const bool edm = name.rfind("edm_", 0) == 0;
    EXPECT_EQ(card->parameterization, edm ? Parameterization::Edm : Parameterization::Consistency) << name;
    EXPECT_EQ(card->default_ts.empty(), edm) << name;
    EXPECT_EQ(card->architecture.image_size, name.find("64") != std::string::npos ? 64 : 256) << name;
  }
  EXPECT_EQ(official_card_for("cd_bedroom256_lpips.pt")->default_ts, (std::vector<int>{0, 17, 39}));
  EXPECT_EQ(official_card_for("ct_imagenet64.pt")->schedule_points, 201);
  EXPECT_FALSE(official_card_for("my_model.pt"));
}

TEST(ModelCard, RoundTripsThroughJson) {
  REQUIRE_GOLDEN();
  cm::testing::TempDir dir;
  const ModelCard card = golden_card();
  write_model_card(dir / "model.json", card);
  const ModelCard back = read_model_card(dir / "model.json");
  EXPECT_EQ(back.name, card.name);
  EXPECT_EQ(back.default_ts, card.default_ts);
  EXPECT_EQ(back.architecture.num_classes, 10);
  EXPECT_EQ(unet_parameter_specs(back.architecture).size(), 217u);
}

TEST(ModelCard, BrokenCardsSayWhatIsWrong) {
  cm::testing::TempDir dir;
  std::ofstream(dir / "a.json") << "{ not json";
  EXPECT_CM_ERROR(read_model_card(dir / "a.json"), ErrorCode::CorruptFile, "not valid JSON");
  std::ofstream(dir / "b.json") << R"({"format": "something-else"})";
  EXPECT_CM_ERROR(read_model_card(dir / "b.json"), ErrorCode::CorruptFile, "not a cmedit model card");
  std::ofstream(dir / "c.json") << R"({"format": "cmedit-model-card", "format_version": 1, "name": "x"})";
  EXPECT_CM_ERROR(read_model_card(dir / "c.json"), ErrorCode::CorruptFile, "missing field 'parameterization'");
  nlohmann::json j = nlohmann::json::parse(R"({"format": "cmedit-model-card", "format_version": 1, "name": "x",
    "parameterization": "cm", "architecture": {"image_size": 64}, "sigma_min": 0.002, "sigma_max": 80,
    "sigma_data": 0.5, "schedule_points": 40, "default_ts": [0, 39], "weights": "../../etc/passwd"})");
  std::ofstream(dir / "d.json") << j.dump();
  EXPECT_CM_ERROR(read_model_card(dir / "d.json"), ErrorCode::CorruptFile, "plain file name");
  // Fields of the wrong JSON type are corrupt cards, not escaping JSON exceptions (a fuzz finding).
  std::ofstream(dir / "e.json") << R"({"format": 3})";
  EXPECT_CM_ERROR(read_model_card(dir / "e.json"), ErrorCode::CorruptFile, "a field has the wrong type");
  j["weights"] = "model.safetensors";
  j["license"] = 42;
  std::ofstream(dir / "f.json") << j.dump();
  EXPECT_CM_ERROR(read_model_card(dir / "f.json"), ErrorCode::CorruptFile, "a field has the wrong type");
}

TEST(ModelLoader, ConvertedSafetensorsGiveTheSameFunctionAsThePtFile) {
  REQUIRE_GOLDEN();
  cm::testing::TempDir dir;
  fs::copy_file(cm::testing::golden_dir() / "unet_a" / "model.pt", dir / "model.pt");
  write_model_card(dir / "model.json", golden_card());
  const LoadedModel from_pt = load_model(dir.path());

  fs::create_directories(dir / "st");
  ModelCard card = golden_card();
  card.weights = "model.safetensors";
  write_safetensors(dir / "st" / "model.safetensors", read_torch_checkpoint(dir / "model.pt"));
  write_model_card(dir / "st" / "model.json", card);
  const LoadedModel from_st = load_model(dir / "st" / "model.safetensors");

  const at::Tensor x = at::randn({2, 3, 32, 32}), sigma = at::tensor({5.0f, 0.3f}), y = at::tensor({1, 9});
  EXPECT_TRUE(at::equal((*from_pt.function)(x, sigma, y), (*from_st.function)(x, sigma, y)));
}

// A card that records its weights' SHA-256 refuses weights with one flipped byte inside a tensor
// (which safetensors and LibTorch's zip reader would both load silently), naming the file; a card
// without one still loads. Export and convert record it.
TEST(ModelLoader, WeightsThatDoNotMatchTheirCardsHashAreRefused) {
  REQUIRE_GOLDEN();
  cm::testing::TempDir dir;
  ModelCard card = golden_card();
  card.weights = "model.safetensors";
  write_safetensors(dir / "model.safetensors", read_torch_checkpoint(cm::testing::golden_dir() / "unet_a" / "model.pt"));
  card.weights_sha256 = cm::sha256_file(dir / "model.safetensors");
  write_model_card(dir / "model.json", card);
  EXPECT_EQ(read_model_card(dir / "model.json").weights_sha256, card.weights_sha256);
  const LoadedModel intact = load_model(dir.path());

  {  // one byte near the end: inside the last tensor's data, past every header
    std::fstream f(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-100, std::ios::end);
    char byte = 0;
    f.read(&byte, 1);
    f.seekp(-100, std::ios::end);
    byte = char(byte ^ 0x10);
    f.write(&byte, 1);
  }
  EXPECT_NO_THROW(read_safetensors(dir / "model.safetensors"));  // the format itself cannot tell
  EXPECT_CM_ERROR(load_model(dir.path()), ErrorCode::CorruptFile, "model.safetensors' do not match the SHA-256 their model card records");

  card.weights_sha256.clear();  // the user's own card, without a hash: loads (and logs that it is unverified)
  write_model_card(dir / "model.json", card);
  EXPECT_NO_THROW(load_model(dir.path()));
  card.weights_sha256 = "not-a-hash";
  write_model_card(dir / "model.json", card);
  EXPECT_CM_ERROR(read_model_card(dir / "model.json"), ErrorCode::CorruptFile, "64 lower-case hex digits");
}

TEST(ModelLoader, TheBuiltInModelRecordsAndMatchesItsHash) {
  const fs::path builtin = fs::path(CMEDIT_SOURCE_DIR) / "models" / "default";
  if (!fs::exists(builtin / "model.json")) GTEST_SKIP() << "no built-in model in this tree";
  const ModelCard card = read_model_card(builtin / "model.json");
  ASSERT_EQ(card.weights_sha256.size(), 64u);
  EXPECT_EQ(cm::sha256_file(builtin / card.weights), card.weights_sha256);
}

TEST(ModelLoader, FilesWithoutACardAreExplained) {
  REQUIRE_GOLDEN();
  EXPECT_CM_ERROR(load_model(cm::testing::golden_dir() / "unet_a" / "model.pt"), ErrorCode::BadArgument,
                  "no model card");
  EXPECT_CM_ERROR(load_model("/nonexistent/model"), ErrorCode::FileNotFound, "no model at");
}

// Models exported by the user to $XDG_DATA_HOME/cmedit/models/NAME are found by NAME, before the
// installed ones; an unknown name says where it looked.
TEST(ModelLoader, FindsTheUsersOwnModelsByName) {
  cm::testing::TempDir data;
  cm::testing::write_golden_model_dir(data / "cmedit" / "models" / "mine");
  const char* old = std::getenv("XDG_DATA_HOME");
  const std::string saved = old ? old : "";
  setenv("XDG_DATA_HOME", data.path().c_str(), 1);
  EXPECT_EQ(cm::model::find_model("mine"), data / "cmedit" / "models" / "mine");
  bool listed = false;
  for (const auto& path : cm::model::installed_models()) listed |= path.filename() == "mine";
  EXPECT_TRUE(listed);
  EXPECT_CM_ERROR(cm::model::find_model("theirs"), cm::ErrorCode::FileNotFound,
                  (data / "cmedit" / "models" / "theirs").string());
  if (old) setenv("XDG_DATA_HOME", saved.c_str(), 1); else unsetenv("XDG_DATA_HOME");
}

}  // namespace
