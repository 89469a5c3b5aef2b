// All of a network's parameters in one contiguous buffer, with per-parameter views that alias it:
// the optimizer, gradient clipping and the EMA then run as a dozen element-wise ops over one
// tensor instead of a dozen per parameter tensor (the built-in network has 384 of them), and a
// CUDA graph sees fixed addresses.
//
// Each parameter keeps its own memory layout (channels-last convolution weights stay
// channels-last), and starts at a multiple of kAlign values, so that vectorised kernels and cuDNN
// see aligned pointers. The gaps are zeros and stay zeros under every update (their gradients are
// zero).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cm::train {

class FlatLayout {
 public:
  static constexpr int64_t kAlign = 64;  // values (256 bytes in float32)

  // The layout of these tensors: their sizes, strides (dense in some order) and offsets.
  explicit FlatLayout(const std::vector<at::Tensor>& like);

  int64_t numel() const { return numel_; }
  std::size_t count() const { return sizes_.size(); }

  // Per-parameter views into `flat` (a buffer of numel() values), in the tensors' own layouts.
  std::vector<at::Tensor> views(const at::Tensor& flat) const;
  // A new zero buffer on `options`' device holding a copy of each tensor at its place.
  at::Tensor gather(const std::vector<at::Tensor>& tensors, const at::TensorOptions& options) const;
  // Makes each tensor a view of `flat` (Tensor::set_), so that whoever holds it (a UNet's weight
  // table) now reads and writes the buffer; its values are copied there first. The tensors must
  // be the ones this layout was made from (same sizes and strides) and must not require grad yet.
  void rebind(std::vector<at::Tensor>& tensors, const at::Tensor& flat) const;

 private:
  std::vector<std::vector<int64_t>> sizes_, strides_;
  std::vector<int64_t> offsets_;
  int64_t numel_ = 0;
};

}  // namespace cm::train
