#include "core/model/model_card.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace cm::model {
namespace {

constexpr const char* kFormat = "cmedit-model-card";
constexpr int kFormatVersion = 1;

struct Official {
  const char* file;
  bool imagenet;  // else the LSUN-256 architecture
  Parameterization parameterization;
  int schedule_points;
  std::vector<int> ts;
  const char* what;
};

// Spec §3.1 and §3.2: architectures, N and the published two-step ts.
const std::vector<Official>& officials() {
  using P = Parameterization;
  static const std::vector<Official> list = {
      {"edm_imagenet64_ema.pt", true, P::Edm, 40, {}, "EDM teacher, ImageNet 64"},
      {"cd_imagenet64_l2.pt", true, P::Consistency, 40, {0, 22, 39}, "consistency distillation (l2), ImageNet 64"},
      {"cd_imagenet64_lpips.pt", true, P::Consistency, 40, {0, 22, 39}, "consistency distillation (LPIPS), ImageNet 64"},
      {"ct_imagenet64.pt", true, P::Consistency, 201, {0, 106, 200}, "consistency training, ImageNet 64"},
      {"edm_bedroom256_ema.pt", false, P::Edm, 40, {}, "EDM teacher, LSUN bedroom 256"},
      {"cd_bedroom256_l2.pt", false, P::Consistency, 40, {0, 18, 39}, "consistency distillation (l2), LSUN bedroom 256"},
      {"cd_bedroom256_lpips.pt", false, P::Consistency, 40, {0, 17, 39}, "consistency distillation (LPIPS), LSUN bedroom 256"},
      {"ct_bedroom256.pt", false, P::Consistency, 151, {0, 67, 150}, "consistency training, LSUN bedroom 256"},
      {"edm_cat256_ema.pt", false, P::Edm, 40, {}, "EDM teacher, LSUN cat 256"},
      // The cat CD two-step indices were not published; the bedroom ones are the nearest analogue.
      {"cd_cat256_l2.pt", false, P::Consistency, 40, {0, 18, 39}, "consistency distillation (l2), LSUN cat 256"},
      {"cd_cat256_lpips.pt", false, P::Consistency, 40, {0, 17, 39}, "consistency distillation (LPIPS), LSUN cat 256"},
      {"ct_cat256.pt", false, P::Consistency, 151, {0, 62, 150}, "consistency training, LSUN cat 256"},
  };
  return list;
}

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::filesystem::path& path) {
  if (!j.contains(key)) throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': missing field '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': field '" + key + "' has the wrong type");
  }
}

}  // namespace

ModelSpec ModelCard::spec() const {
  ModelSpec s;
  s.name = name;
  s.image_size = architecture.image_size;
  s.channels = architecture.in_channels;
  s.num_classes = architecture.num_classes;
  s.noise = noise;
  return s;
}

const std::vector<std::string>& official_checkpoint_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Official& o : officials()) n.push_back(o.file);
    return n;
  }();
  return names;
}

std::optional<ModelCard> official_card_for(const std::string& file_name) {
  for (const Official& o : officials()) {
    if (file_name != o.file) continue;
    ModelCard card;
    card.name = std::string(o.file).substr(0, std::string(o.file).size() - 3);
    card.parameterization = o.parameterization;
    card.architecture = o.imagenet ? imagenet64_config() : lsun256_config();
    card.schedule_points = o.schedule_points;
    card.default_ts = o.ts;
    card.weights = o.file;
    card.license = "MIT (openai/consistency_models)";
    card.provenance = std::string("official OpenAI checkpoint: ") + o.what;
    return card;
  }
  return std::nullopt;
}

namespace {

ModelCard interpret_model_card(const nlohmann::json& j, const std::filesystem::path& path) {
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw Error(ErrorCode::CorruptFile, "'" + path.string() + "' is not a cmedit model card (no \"format\": \"" + kFormat + "\")");
  if (field<int>(j, "format_version", path) > kFormatVersion)
    throw Error(ErrorCode::Unsupported, "model card '" + path.string() + "' is from a newer cmedit");
  ModelCard card;
  card.name = field<std::string>(j, "name", path);
  card.parameterization = parse_parameterization(field<std::string>(j, "parameterization", path));
  if (!j.contains("architecture")) throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': missing field 'architecture'");
  card.architecture = unet_config_from_json(j.at("architecture"));
  card.noise = {field<double>(j, "sigma_min", path), field<double>(j, "sigma_max", path), field<double>(j, "sigma_data", path)};
  if (!(card.noise.sigma_min > 0 && card.noise.sigma_max > card.noise.sigma_min && card.noise.sigma_data > 0))
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': needs 0 < sigma_min < sigma_max and sigma_data > 0");
  card.schedule_points = field<int>(j, "schedule_points", path);
  card.default_ts = field<std::vector<int>>(j, "default_ts", path);
  card.weights = field<std::string>(j, "weights", path);
  if (card.weights.empty() || card.weights.find('/') != std::string::npos || card.weights.find("..") != std::string::npos)
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': 'weights' must be a plain file name beside the card");
  card.license = j.value("license", "");
  card.provenance = j.value("provenance", "");
  card.weights_sha256 = j.value("weights_sha256", "");
  if (!card.weights_sha256.empty() &&
      (card.weights_sha256.size() != 64 || card.weights_sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': 'weights_sha256' must be 64 lower-case hex digits");
  return card;
}

}  // namespace

ModelCard read_model_card(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open model card '" + path.string() + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "' is not valid JSON: " + e.what());
  }
  try {
    return interpret_model_card(j, path);
  } catch (const nlohmann::json::exception& e) {  // e.g. "format": 3 (found by fuzz_model_card)
    throw Error(ErrorCode::CorruptFile, "model card '" + path.string() + "': a field has the wrong type (" + e.what() + ")");
  }
}

void write_model_card(const std::filesystem::path& path, const ModelCard& card) {
  nlohmann::json j = {{"format", kFormat},
                            {"format_version", kFormatVersion},
                            {"name", card.name},
                            {"parameterization", to_string(card.parameterization)},
                            {"architecture", unet_config_to_json(card.architecture)},
                            {"image_size", card.architecture.image_size},
                            {"num_classes", card.architecture.num_classes},
                            {"sigma_min", card.noise.sigma_min},
                            {"sigma_max", card.noise.sigma_max},
                            {"sigma_data", card.noise.sigma_data},
                            {"schedule_points", card.schedule_points},
                            {"default_ts", card.default_ts},
                            {"weights", card.weights},
                            {"license", card.license},
                            {"provenance", card.provenance}};
  if (!card.weights_sha256.empty()) j["weights_sha256"] = card.weights_sha256;
  const std::string text = j.dump(2) + "\n";
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace cm::model
