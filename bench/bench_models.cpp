#include "bench/bench_models.h"

#include "core/model/model_card.h"
#include "core/model/safetensors.h"
#include "core/model/unet.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cm::bench {

model::UNetConfig architecture(const std::string& name) {
  if (name == "lsun256") return model::lsun256_config();
  if (name == "imagenet64") return model::imagenet64_config();
  if (name == "tiny")
    return model::unet_config_from_json({{"image_size", 32}, {"num_channels", 32}, {"num_res_blocks", 1}, {"channel_mult", "1,2,2"},
                                         {"attention_resolutions", "16,8"}, {"num_head_channels", 32}});
  std::ifstream in(name);
  if (!in) throw std::runtime_error("unknown architecture '" + name + "' (lsun256, imagenet64, tiny or a JSON file)");
  const nlohmann::json j = nlohmann::json::parse(in);
  return model::unet_config_from_json(j.contains("architecture") ? j.at("architecture") : j);  // a model card, or flags
}

model::StateDict random_weights(const model::UNetConfig& config, std::uint64_t seed) {
  // Each tensor is a window of one pool of normal draws, at an offset drawn from the seed: the
  // LSUN-256 network's 526 M weights drawn one by one took most of a GPU benchmark's start (one
  // draw per weight on one core), and speed does not depend on the values.
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  constexpr int64_t kPool = int64_t(1) << 20;
  const at::Tensor pool = at::randn({2 * kPool}, generator) * 0.02;
  model::StateDict weights;
  for (const model::ParameterSpec& spec : model::unet_parameter_specs(config)) {
    const int64_t offset = at::randint(kPool, {1}, generator).item<int64_t>(), n = spec.numel();
    const at::Tensor flat = n <= kPool ? pool.narrow(0, offset, n).clone() : pool.narrow(0, offset, kPool).repeat({(n + kPool - 1) / kPool}).narrow(0, 0, n);
    weights.emplace_back(spec.name, flat.view(spec.shape));
  }
  return weights;
}

std::filesystem::path write_random_model(const std::filesystem::path& dir, const std::string& arch) {
  model::ModelCard card;
  card.name = "random-" + std::filesystem::path(arch).stem().string();
  card.architecture = architecture(arch);
  card.license = "benchmark network (random weights)";
  model::StateDict weights = random_weights(card.architecture);
  for (auto& [name, tensor] : weights) tensor = tensor.to(at::kHalf);  // as models ship: half the bytes to write and read
  std::filesystem::create_directories(dir);
  model::write_safetensors(dir / card.weights, weights);
  model::write_model_card(dir / "model.json", card);
  return dir;
}

}  // namespace cm::bench
