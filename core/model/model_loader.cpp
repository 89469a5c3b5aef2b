#include "core/model/model_loader.h"

#include "core/base/error.h"
#include "core/base/sha256.h"
#include "core/model/safetensors.h"
#include "core/model/torch_checkpoint.h"
#include "core/model/unet.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <vector>

namespace cm::model {
namespace fs = std::filesystem;

ModelSource locate_model(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::FileNotFound, "no model at '" + path.string() + "'");
  ModelSource source;
  fs::path card_path;
  if (fs::is_directory(path, ec)) card_path = path / "model.json";
  else if (path.extension() == ".json") card_path = path;
  else if (fs::exists(path.parent_path() / "model.json", ec)) card_path = path.parent_path() / "model.json";

  if (!card_path.empty()) {
    if (!fs::exists(card_path, ec)) throw Error(ErrorCode::FileNotFound, "no model.json in '" + path.string() + "'");
    source.card = read_model_card(card_path);
    source.card_origin = card_path.string();
    source.weights = fs::is_regular_file(path, ec) && path.extension() != ".json"
                         ? path
                         : card_path.parent_path() / source.card->weights;
  } else {
    source.weights = path;
    source.card = official_card_for(path.filename().string());
    if (source.card) source.card_origin = "official file name";
  }
  if (!fs::is_regular_file(source.weights, ec))
    throw Error(ErrorCode::FileNotFound, "model weights '" + source.weights.string() + "' not found");
  return source;
}

StateDict read_weights(const fs::path& path) {
  if (path.extension() == ".pt" || path.extension() == ".pth") return read_torch_checkpoint(path);
  if (path.extension() == ".safetensors") return read_safetensors(path).tensors;
  throw Error(ErrorCode::Unsupported, "cannot read weights from '" + path.string() + "' (expected .pt or .safetensors)");
}

namespace {

// Folders that hold model folders: the user's own ($XDG_DATA_HOME/cmedit/models, by default
// ~/.local/share/cmedit/models, where `cmedit-train export` suggests putting them), then
// PREFIX/share/cmedit/models beside the running program's PREFIX/bin. No build or source path is
// compiled in: the build tree has the same layout (build/share/cmedit/models links to the
// source's models/), so both find their models alike.
std::vector<fs::path> model_roots() {
  std::vector<fs::path> roots;
  const char* data_home = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  if (data_home && fs::path(data_home).is_absolute()) roots.push_back(fs::path(data_home) / "cmedit" / "models");
  else if (home && *home) roots.push_back(fs::path(home) / ".local" / "share" / "cmedit" / "models");
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path().parent_path() / "share" / "cmedit" / "models");
  return roots;
}

// The folder `name` among the roots, or an empty path; `looked` lists where it looked.
fs::path model_folder(const std::string& name, std::string& looked) {
  for (const fs::path& root : model_roots()) {
    if (fs::exists(root / name / "model.json")) return root / name;
    looked += (looked.empty() ? "" : ", ") + (root / name).string();
  }
  return {};
}

}  // namespace

std::vector<fs::path> installed_models() {
  std::map<std::string, fs::path> found;
  for (const fs::path& root : model_roots()) {
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(root, ec))
      if (entry.is_directory(ec) && fs::exists(entry.path() / "model.json"))
        found.emplace(entry.path().filename().string(), entry.path());  // the first root wins
  }
  std::vector<fs::path> models;
  for (const auto& [name, path] : found) models.push_back(path);
  return models;
}

fs::path builtin_model_path() {
  if (const char* env = std::getenv("CMEDIT_MODEL"); env && *env) return fs::path(env);
  std::string looked;
  if (fs::path found = model_folder("default", looked); !found.empty()) return found;
  throw Error(ErrorCode::FileNotFound, "no built-in model is installed (looked in " + looked +
                                           "); pass --model NAME|DIR|FILE or set CMEDIT_MODEL");
}

fs::path find_model(const std::string& name_or_path) {
  if (fs::exists(name_or_path)) return fs::path(name_or_path);
  std::string looked;
  const bool plain_name = name_or_path.find('/') == std::string::npos && !name_or_path.empty();
  if (plain_name)
    if (fs::path found = model_folder(name_or_path, looked); !found.empty()) return found;
  throw Error(ErrorCode::FileNotFound, "unknown model '" + name_or_path + "'" +
                                           (plain_name ? " (no such file, and no model folder " + looked + ")" : ": no such file"));
}

void verify_weights(const ModelSource& source) {
  if (!source.card || source.card_origin == "official file name") return;
  if (source.card->weights_sha256.empty()) {
    spdlog::info("the model card of '{}' records no weights_sha256: its weights are not verified", source.weights.string());
    return;
  }
  const std::string found = sha256_file(source.weights);
  if (found != source.card->weights_sha256)
    throw Error(ErrorCode::CorruptFile, "model weights '" + source.weights.string() +
                                            "' do not match the SHA-256 their model card records (the file is damaged or was "
                                            "replaced): expected " + source.card->weights_sha256 + ", found " + found);
}

LoadedModel load_model(const fs::path& path) { return load_model(path, c10::Device(c10::kCPU), at::kFloat); }

LoadedModel load_model(const fs::path& path, c10::Device device, c10::ScalarType dtype) {
  const ModelSource source = locate_model(path);
  if (!source.card)
    throw Error(ErrorCode::BadArgument, "no model card for '" + path.string() +
                                            "': put a model.json beside it (cmedit-cli models convert makes one for "
                                            "official checkpoints)");
  verify_weights(source);
  auto unet = std::make_shared<UNet>(source.card->architecture, read_weights(source.weights));
  if (device != c10::Device(c10::kCPU) || dtype != at::kFloat) unet->to(device, dtype);
  return {*source.card, std::make_shared<const UNetFunction>(unet, source.card->parameterization, source.card->spec())};
}

}  // namespace cm::model
