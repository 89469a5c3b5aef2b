// Model cards: the model.json beside a model's weights. It says everything needed to build and
// use the network (architecture, parameterisation, noise range, default schedule) and where it
// came from (name, licence, provenance). The 12 official checkpoints are recognised by file
// name, so they load without a card.
#pragma once

#include "core/model/consistency_function.h"
#include "core/model/unet_config.h"
#include "core/model/unet_function.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cm::model {

struct ModelCard {
  std::string name;
  Parameterization parameterization = Parameterization::Consistency;
  UNetConfig architecture;
  NoiseRange noise;
  int schedule_points = 40;       // N of the Karras schedule the model was trained/distilled on
  std::vector<int> default_ts;    // the recommended multistep indices, e.g. {0, 22, 39}; empty for EDM
  std::string weights = "model.safetensors";  // file name, relative to the card
  std::string weights_sha256;     // lower-case hex SHA-256 of the weights file; empty: not recorded
  std::string license;
  std::string provenance;

  ModelSpec spec() const;
};

// Throws cm::Error: FileNotFound, CorruptFile (not JSON, missing or mistyped field, named).
ModelCard read_model_card(const std::filesystem::path& path);
// Atomic write (temporary file + rename).
void write_model_card(const std::filesystem::path& path, const ModelCard& card);

// The card of an official OpenAI checkpoint, from its file name (e.g. "cd_imagenet64_l2.pt");
// nullopt for any other name.
std::optional<ModelCard> official_card_for(const std::string& file_name);
// The 12 official file names.
const std::vector<std::string>& official_checkpoint_names();

}  // namespace cm::model
