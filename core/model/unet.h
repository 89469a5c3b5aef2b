// The official consistency-model UNet (cm/unet.py UNetModel), written with plain ATen ops over a
// table of named weights, so that the weights are exactly the checkpoint's tensors under the
// checkpoint's key names. Structure comes from UNetConfig alone (build_architecture in
// unet_architecture.h); unet.cpp holds the names, shapes and weights, unet_forward.cpp the forward
// pass.
#pragma once

#include "core/model/state_dict.h"
#include "core/model/unet_config.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cm::model {

struct ParameterSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// Every weight of the network in state_dict order, with its shape: what a checkpoint must hold.
std::vector<ParameterSpec> unet_parameter_specs(const UNetConfig& config);

// Floating-point operations of one forward pass for one image: 2 per multiply-add of every
// convolution, linear layer and attention product (GroupNorm, activations and additions are
// left out, as FLOP counts of networks usually do). Used by bench/one_step for the physical limit.
double unet_flops(const UNetConfig& config);

// Sinusoidal embedding of timesteps t [B] (cos first, then sin), width dim, float32 as torch does.
at::Tensor timestep_embedding(const at::Tensor& t, int dim);

// Attention over [B, heads, T, d] queries, keys and values: softmax(q·kᵀ/√d)·v, [B, heads, T, d].
// The scores are made for blocks of queries, at most `score_bytes` at a time (unet_forward.cpp
// says why 2 MB).
at::Tensor attention_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           int64_t score_bytes = int64_t(2) << 20);

// Intermediate values of one forward pass, for bisecting a parity failure.
struct UNetTrace {
  at::Tensor temb_sinusoid;  // [B, model_channels]
  at::Tensor emb;            // [B, 4·model_channels] (+ label embedding)
  at::Tensor middle_out;     // output of the middle block
};

struct UNetArchitecture;  // the block structure, built from a config (unet.cpp)

class UNet {
 public:
  // Checks the weights against the config before anything is built: a missing key, an extra key
  // or a wrong shape throws cm::Error(ShapeMismatch) naming the key (and both shapes).
  UNet(UNetConfig config, const StateDict& weights);

  // F(x, t, y): x [B,C,H,W], t [B] (t_in = 250·ln σ, already rescaled), y [B] int64 class labels
  // or undefined. Computes in the weights' dtype; GroupNorm in float32, or fused (set_fused_norm).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y = at::Tensor(),
                     UNetTrace* trace = nullptr) const;

  // The same pass in training mode: dropout with rate config().dropout before the second conv
  // of every ResBlock (cm/unet.py out_layers), drawn from the default generator, so a caller
  // that reseeds it gets the same dropout masks twice (iCT's shared dropout RNG).
  at::Tensor forward_training(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y = at::Tensor()) const;

  // The weights as named tensors in state_dict order. They share storage (and autograd state)
  // with the network: training sets requires_grad on them and updates them in place.
  StateDict state_dict() const;
  std::vector<at::Tensor> parameters() const;

  // Moves the weights. With dtype Half/BFloat16 only the convolutions inside the blocks change
  // dtype; embeddings, GroupNorm and the out head stay float32, as in the official fp16 mode.
  void to(c10::Device device, c10::ScalarType dtype);

  // Channels-last (NHWC) convolution weights and activations: what tensor cores and oneDNN prefer
  // for half precision. Off by default; results agree with the default layout to rounding.
  void set_channels_last(bool on);
  bool channels_last() const { return channels_last_; }

  // Attention through ATen's fused scaled_dot_product_attention (flash / memory-efficient kernels
  // on CUDA) where this LibTorch has it (2.x); LibTorch 1.13 always uses the explicit softmax.
  static bool has_fused_attention();
  void set_fused_attention(bool on) { fused_attention_ = on && has_fused_attention(); }
  bool fused_attention() const { return fused_attention_; }

  // GroupNorm (with the ResBlock's time-embedding add or scale-shift, and the SiLU after it) in
  // the activations' half precision, in 5 passes over them instead of 11 through a float32 copy
  // (unet_forward.cpp, Forward::fused_group_norm). Only for networks converted to fp16/bf16 by
  // to(); float32 keeps the official op order. to() turns it on for a CUDA device and off for the
  // CPU (where LibTorch's bf16 var_mean is slower than the float32 round trip: one_step, 2026-12-04);
  // results agree to rounding.
  void set_fused_norm(bool on) { fused_norm_ = on; }
  bool fused_norm() const { return fused_norm_; }

  const UNetConfig& config() const { return config_; }
  c10::Device device() const;
  c10::ScalarType dtype() const { return dtype_; }
  int64_t parameter_count() const;

 private:
  UNetConfig config_;
  at::Tensor run(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y, UNetTrace* trace, double dropout) const;

  std::shared_ptr<const UNetArchitecture> arch_;
  std::vector<std::string> order_;  // state_dict order
  std::map<std::string, at::Tensor> weights_;
  c10::ScalarType dtype_;
  bool channels_last_ = false;
  bool fused_attention_ = has_fused_attention();
  bool fused_norm_ = false;
};

}  // namespace cm::model
