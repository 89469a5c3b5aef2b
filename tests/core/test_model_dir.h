// A model folder (model.json + weights) made from the golden set's small class-conditional UNet,
// the model the engine and CLI tests run on.
#pragma once

#include "core/golden_dir.h"
#include "core/model/model_card.h"
#include "core/model/safetensors.h"
#include "core/model/torch_checkpoint.h"
#include "core/model/unet_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

namespace cm::testing {

// Writes dir/model.json and dir/model.safetensors; `tamper` may change the weights first.
inline void write_golden_model_dir(const std::filesystem::path& dir,
                                   const std::function<void(model::StateDict&)>& tamper = nullptr) {
  const std::filesystem::path golden = golden_dir() / "unet_a";
  std::ifstream manifest(golden / "manifest.json");
  model::ModelCard card;
  card.name = "golden-unet-a";
  card.architecture = model::unet_config_from_json(nlohmann::json::parse(manifest).at("config"));
  card.default_ts = {0, 22, 39};
  card.license = "test model (random weights)";
  model::StateDict weights = model::read_torch_checkpoint(golden / "model.pt");
  if (tamper) tamper(weights);
  std::filesystem::create_directories(dir);
  model::write_safetensors(dir / card.weights, weights);
  model::write_model_card(dir / "model.json", card);
}

}  // namespace cm::testing
