#include "core/train/network.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace cm::train {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// zero_module() in cm/unet.py: the layers whose output starts at exactly zero.
bool starts_at_zero(const std::string& name) {
  return name.find(".out_layers.3.") != std::string::npos || name.find(".proj_out.") != std::string::npos ||
         name.rfind("out.2.", 0) == 0;
}

bool is_group_norm(const std::string& name) {
  return name.find(".in_layers.0.") != std::string::npos || name.find(".out_layers.0.") != std::string::npos ||
         name.find(".norm.") != std::string::npos || name.rfind("out.0.", 0) == 0;
}

}  // namespace

model::StateDict init_unet_weights(const model::UNetConfig& config, std::uint64_t seed) {
  const std::vector<model::ParameterSpec> specs = model::unet_parameter_specs(config);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // fan_in of a layer = its weight's numel / out channels; the bias shares its weight's bound.
  std::map<std::string, int64_t> fan_in;
  for (const model::ParameterSpec& s : specs)
    if (ends_with(s.name, ".weight") && s.shape.size() >= 2) fan_in[s.name.substr(0, s.name.size() - 7)] = s.numel() / s.shape[0];

  model::StateDict weights;
  for (const model::ParameterSpec& s : specs) {
    at::Tensor t;
    const bool bias = ends_with(s.name, ".bias");
    const std::string layer = s.name.substr(0, s.name.rfind('.'));
    if (starts_at_zero(s.name)) {
      t = at::zeros(s.shape, at::kFloat);
    } else if (is_group_norm(s.name)) {
      t = bias ? at::zeros(s.shape, at::kFloat) : at::ones(s.shape, at::kFloat);
    } else if (s.name == "label_emb.weight") {
      t = at::randn(s.shape, gen, at::kFloat);
    } else {
      const double bound = 1.0 / std::sqrt(double(fan_in.at(layer)));
      t = at::empty(s.shape, at::kFloat).uniform_(-bound, bound, gen);
    }
    weights.emplace_back(s.name, t);
  }
  return weights;
}

at::Tensor evaluate(const model::UNet& unet, const Parameterized& p, const at::Tensor& x, const at::Tensor& sigma,
                    const at::Tensor& labels, bool training) {
  const at::Tensor s = sigma.to(at::kFloat);
  const model::Scalings k = model::scalings(s, p.parameterization, p.noise);
  const auto per_image = [](const at::Tensor& v) { return v.view({-1, 1, 1, 1}); };
  const at::Tensor input = per_image(k.c_in) * x;
  const at::Tensor t = model::sigma_to_timestep(s);
  const at::Tensor out = training ? unet.forward_training(input, t, labels) : unet.forward(input, t, labels);
  return per_image(k.c_out) * out.to(at::kFloat) + per_image(k.c_skip) * x;
}

}  // namespace cm::train
