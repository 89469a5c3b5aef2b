#include "core/model/unet.h"

#include "core/base/error.h"
#include "core/model/unet_architecture.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <set>

namespace cm::model {

std::shared_ptr<const UNetArchitecture> build_architecture(const UNetConfig& cfg) {
  cfg.validate();
  const std::vector<double> mult = cfg.resolved_channel_mult();
  const std::vector<int> attention_ds = cfg.attention_downsample_factors();
  auto attends = [&](int ds) { return std::find(attention_ds.begin(), attention_ds.end(), ds) != attention_ds.end(); };
  auto width = [&](double m) { return int(m * cfg.model_channels); };
  auto arch = std::make_shared<UNetArchitecture>();

  int ch = width(mult[0]);
  arch->out_norm_channels = ch;
  std::vector<int> skip_channels = {ch};
  arch->input_blocks.push_back({StemConv{"input_blocks.0.0", cfg.in_channels, ch}});
  int ds = 1;
  for (std::size_t level = 0; level < mult.size(); ++level) {
    for (int r = 0; r < cfg.num_res_blocks; ++r) {
      const std::string p = "input_blocks." + std::to_string(arch->input_blocks.size());
      Block block = {ResBlock{p + ".0", ch, width(mult[level]), Resample::None}};
      ch = width(mult[level]);
      if (attends(ds)) block.push_back(Attention{p + ".1", ch, cfg.heads_for(ch, false)});
      arch->input_blocks.push_back(block);
      skip_channels.push_back(ch);
    }
    if (level + 1 != mult.size()) {
      const std::string p = "input_blocks." + std::to_string(arch->input_blocks.size()) + ".0";
      if (cfg.resblock_updown) arch->input_blocks.push_back({ResBlock{p, ch, ch, Resample::Down}});
      else arch->input_blocks.push_back({ResampleConv{p, ch, Resample::Down}});
      skip_channels.push_back(ch);
      ds *= 2;
    }
  }

  arch->middle_block = {ResBlock{"middle_block.0", ch, ch, Resample::None},
                        Attention{"middle_block.1", ch, cfg.heads_for(ch, false)},
                        ResBlock{"middle_block.2", ch, ch, Resample::None}};

  for (int level = int(mult.size()) - 1; level >= 0; --level) {
    for (int r = 0; r <= cfg.num_res_blocks; ++r) {
      const std::string p = "output_blocks." + std::to_string(arch->output_blocks.size());
      const int skip = skip_channels.back();
      skip_channels.pop_back();
      Block block = {ResBlock{p + ".0", ch + skip, width(mult[level]), Resample::None}};
      ch = width(mult[level]);
      if (attends(ds)) block.push_back(Attention{p + "." + std::to_string(block.size()), ch, cfg.heads_for(ch, true)});
      if (level > 0 && r == cfg.num_res_blocks) {
        const std::string up = p + "." + std::to_string(block.size());
        if (cfg.resblock_updown) block.push_back(ResBlock{up, ch, ch, Resample::Up});
        else block.push_back(ResampleConv{up, ch, Resample::Up});
        ds /= 2;
      }
      arch->output_blocks.push_back(block);
    }
  }
  return arch;
}

namespace {

// --- parameter names and shapes -----------------------------------------------------------------

using Specs = std::vector<ParameterSpec>;

void add_conv(Specs& s, const std::string& p, int c_out, int c_in, int k) {
  s.push_back({p + ".weight", {c_out, c_in, k, k}});
  s.push_back({p + ".bias", {c_out}});
}
void add_norm(Specs& s, const std::string& p, int c) {
  s.push_back({p + ".weight", {c}});
  s.push_back({p + ".bias", {c}});
}
void add_linear(Specs& s, const std::string& p, int c_out, int c_in) {
  s.push_back({p + ".weight", {c_out, c_in}});
  s.push_back({p + ".bias", {c_out}});
}

struct SpecVisitor {
  Specs& s;
  const UNetConfig& cfg;
  void operator()(const StemConv& l) const { add_conv(s, l.prefix, l.c_out, l.c_in, 3); }
  void operator()(const ResBlock& l) const {
    add_norm(s, l.prefix + ".in_layers.0", l.c_in);
    add_conv(s, l.prefix + ".in_layers.2", l.c_out, l.c_in, 3);
    add_linear(s, l.prefix + ".emb_layers.1", cfg.use_scale_shift_norm ? 2 * l.c_out : l.c_out, cfg.time_embed_dim());
    add_norm(s, l.prefix + ".out_layers.0", l.c_out);
    add_conv(s, l.prefix + ".out_layers.3", l.c_out, l.c_out, 3);
    if (l.c_in != l.c_out) add_conv(s, l.prefix + ".skip_connection", l.c_out, l.c_in, 1);
  }
  void operator()(const Attention& l) const {
    add_norm(s, l.prefix + ".norm", l.channels);
    add_conv(s, l.prefix + ".qkv", 3 * l.channels, l.channels, 1);
    add_conv(s, l.prefix + ".proj_out", l.channels, l.channels, 1);
  }
  void operator()(const ResampleConv& l) const {
    add_conv(s, l.prefix + (l.resample == Resample::Down ? ".op" : ".conv"), l.channels, l.channels, 3);
  }
};

// The official fp16 mode (convert_module_to_f16) converts only the convolutions inside the
// blocks; embeddings, the emb_layers linears, GroupNorm and the out head stay float32.
bool converts_to_half(const std::string& name) {
  const bool in_blocks = name.rfind("input_blocks.", 0) == 0 || name.rfind("middle_block.", 0) == 0 ||
                         name.rfind("output_blocks.", 0) == 0;
  const bool is_norm = name.find(".in_layers.0.") != std::string::npos ||
                       name.find(".out_layers.0.") != std::string::npos || name.find(".norm.") != std::string::npos;
  return in_blocks && !is_norm && name.find(".emb_layers.") == std::string::npos;
}

}  // namespace

int64_t ParameterSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<ParameterSpec> unet_parameter_specs(const UNetConfig& cfg) {
  const auto arch = build_architecture(cfg);
  Specs s;
  const int mc = cfg.model_channels, E = cfg.time_embed_dim();
  add_linear(s, "time_embed.0", E, mc);
  add_linear(s, "time_embed.2", E, E);
  if (cfg.num_classes > 0) s.push_back({"label_emb.weight", {cfg.num_classes, E}});
  const SpecVisitor visit{s, cfg};
  visit_layers(*arch, visit);
  add_norm(s, "out.0", arch->out_norm_channels);
  add_conv(s, "out.2", cfg.out_channels(), arch->out_norm_channels, 3);
  return s;
}

namespace {

// Walks the layers in order, following the resolution through the down- and up-sampling.
struct FlopVisitor {
  const UNetConfig& cfg;
  double side;        // current feature-map side
  double flops = 0;

  double pixels() const { return side * side; }
  double conv(int c_in, int c_out, int k) const { return 2.0 * c_in * c_out * k * k * pixels(); }
  void operator()(const StemConv& l) { flops += conv(l.c_in, l.c_out, 3); }
  void operator()(const ResBlock& l) {
    if (l.resample == Resample::Down) side /= 2;  // in_layers' conv runs after the resampling
    if (l.resample == Resample::Up) side *= 2;
    flops += conv(l.c_in, l.c_out, 3) + conv(l.c_out, l.c_out, 3);
    flops += 2.0 * cfg.time_embed_dim() * (cfg.use_scale_shift_norm ? 2 * l.c_out : l.c_out);
    if (l.c_in != l.c_out) flops += conv(l.c_in, l.c_out, 1);
  }
  void operator()(const Attention& l) {
    const double t = pixels();
    flops += conv(l.channels, 3 * l.channels, 1) + conv(l.channels, l.channels, 1);
    flops += 2 * (2.0 * l.channels * t * t);  // qᵀk and v·weights over all heads
  }
  void operator()(const ResampleConv& l) {
    if (l.resample == Resample::Down) side /= 2;  // a stride-2 conv: output resolution
    if (l.resample == Resample::Up) side *= 2;    // nearest upsampling, then the conv
    flops += conv(l.channels, l.channels, 3);
  }
};

}  // namespace

double unet_flops(const UNetConfig& cfg) {
  const auto arch = build_architecture(cfg);
  const int mc = cfg.model_channels, E = cfg.time_embed_dim();
  FlopVisitor visit{cfg, double(cfg.image_size)};
  visit.flops = 2.0 * (mc * E + E * E);
  visit_layers(*arch, visit);
  return visit.flops + visit.conv(arch->out_norm_channels, cfg.out_channels(), 3);
}

UNet::UNet(UNetConfig config, const StateDict& weights)
    : config_(std::move(config)), arch_(build_architecture(config_)), dtype_(at::kFloat) {
  std::map<std::string, const at::Tensor*> given;
  for (const auto& [name, tensor] : weights) {
    if (!given.emplace(name, &tensor).second)
      throw Error(ErrorCode::CorruptFile, "weights: key '" + name + "' appears twice");
  }
  std::set<std::string> expected;
  for (const ParameterSpec& spec : unet_parameter_specs(config_)) {
    expected.insert(spec.name);
    order_.push_back(spec.name);
    const auto it = given.find(spec.name);
    if (it == given.end())
      throw Error(ErrorCode::ShapeMismatch, "weights: missing key '" + spec.name + "' (shape " +
                                                shape_string(spec.shape) + ") that this architecture needs");
    const at::Tensor& t = *it->second;
    if (!t.sizes().equals(spec.shape))
      throw Error(ErrorCode::ShapeMismatch, "weights: key '" + spec.name + "' has shape " + shape_string(t.sizes()) +
                                                " but this architecture needs " + shape_string(spec.shape));
    if (!t.is_floating_point())
      throw Error(ErrorCode::Unsupported, "weights: key '" + spec.name + "' is not floating-point");
    weights_[spec.name] = t.to(at::kFloat).contiguous();
  }
  for (const auto& [name, tensor] : weights)
    if (!expected.count(name))
      throw Error(ErrorCode::ShapeMismatch, "weights: unexpected key '" + name + "' (shape " +
                                                shape_string(tensor.sizes()) + "): not part of this architecture");
}

void UNet::to(c10::Device device, c10::ScalarType dtype) {
  for (auto& [name, tensor] : weights_) {
    tensor = tensor.to(device, converts_to_half(name) ? dtype : at::kFloat);
  }
  dtype_ = dtype;
  fused_norm_ = device.is_cuda();
  set_channels_last(channels_last_);
}

void UNet::set_channels_last(bool on) {
  const auto format = on ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  for (auto& [name, tensor] : weights_)
    if (tensor.dim() == 4) tensor = tensor.contiguous(format);
  channels_last_ = on;
}

bool UNet::has_fused_attention() { return TORCH_VERSION_MAJOR >= 2; }

c10::Device UNet::device() const { return weights_.begin()->second.device(); }

int64_t UNet::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, tensor] : weights_) n += tensor.numel();
  return n;
}

StateDict UNet::state_dict() const {
  StateDict out;
  for (const std::string& name : order_) out.emplace_back(name, weights_.at(name));
  return out;
}

std::vector<at::Tensor> UNet::parameters() const {
  std::vector<at::Tensor> out;
  for (const std::string& name : order_) out.push_back(weights_.at(name));
  return out;
}

at::Tensor UNet::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y, UNetTrace* trace) const {
  return run(x, t, y, trace, 0.0);
}

at::Tensor UNet::forward_training(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) const {
  return run(x, t, y, nullptr, config_.dropout);
}

}  // namespace cm::model
