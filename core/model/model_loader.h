// Finding and loading a model from what a user points at: a model folder (model.json + weights),
// a model.json, a .safetensors or .pt file (with a model.json beside it, or an official name).
#pragma once

#include "core/model/model_card.h"
#include "core/model/state_dict.h"
#include "core/model/unet_function.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace cm::model {

struct ModelSource {
  std::optional<ModelCard> card;       // nullopt: no card found and not an official name
  std::string card_origin;             // "model.json" path or "official file name"
  std::filesystem::path weights;       // the weights file
};

// Resolves card and weights without reading the weights. Throws cm::Error(FileNotFound).
ModelSource locate_model(const std::filesystem::path& path);

// Reads .pt (restricted unpickler) or .safetensors by extension; cm::Error(Unsupported) otherwise.
StateDict read_weights(const std::filesystem::path& path);

struct LoadedModel {
  ModelCard card;
  std::shared_ptr<const UNetFunction> function;
};

// locate + read + check every key and shape against the card's architecture + build.
// Throws cm::Error; a file without a card is BadArgument ("no model card …").
LoadedModel load_model(const std::filesystem::path& path);

// Checks the weights file against the SHA-256 its card records: cm::Error(CorruptFile) naming the
// file on a mismatch. A card without one (the user's own, older exports) passes with a log line;
// official checkpoints recognised by name have no card to record one.
void verify_weights(const ModelSource& source);

// Where the built-in model is: $CMEDIT_MODEL when set, else models/default installed beside the
// program (PREFIX/bin/../share/cmedit/models/default; in the build tree a link to the source's
// models/). Throws cm::Error(FileNotFound)
// saying where it looked when none is there.
std::filesystem::path builtin_model_path();

// What --model names: an existing file or folder, else a model folder of that name among the
// installed models (share/cmedit/models/NAME) or the source tree's (models/NAME). Throws
// cm::Error(FileNotFound) "unknown model …" listing where it looked.
std::filesystem::path find_model(const std::string& name_or_path);

// Every model folder (a folder with a model.json) in the installed and source models folders,
// sorted by name; a name found in both appears once (the installed one).
std::vector<std::filesystem::path> installed_models();

// The same, with the weights moved to `device` in `dtype` (Half/BFloat16: the official mixed
// precision of UNet::to) before the function is built.
LoadedModel load_model(const std::filesystem::path& path, c10::Device device, c10::ScalarType dtype);

}  // namespace cm::model
