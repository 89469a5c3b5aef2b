#include "core/train/flat_buffers.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace cm::train {
namespace {

// Whether `strides` lay `sizes` out densely (every value once, no gaps), in any dimension order:
// what a view into a flat buffer of numel() values can reproduce.
bool dense(c10::IntArrayRef sizes, c10::IntArrayRef strides) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size), ignoring size-1 dimensions
  for (std::size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] != 1) dims.emplace_back(strides[d], sizes[d]);
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (const auto& [stride, size] : dims) {
    if (stride != expected) return false;
    expected *= size;
  }
  return true;
}

}  // namespace

FlatLayout::FlatLayout(const std::vector<at::Tensor>& like) {
  for (const at::Tensor& t : like) {
    if (!dense(t.sizes(), t.strides()))
      throw Error(ErrorCode::Internal, fmt::format("a flat buffer holds dense tensors only (tensor {} is not)", sizes_.size()));
    sizes_.push_back(t.sizes().vec());
    strides_.push_back(t.strides().vec());
    offsets_.push_back(numel_);
    numel_ += (t.numel() + kAlign - 1) / kAlign * kAlign;
  }
}

std::vector<at::Tensor> FlatLayout::views(const at::Tensor& flat) const {
  if (flat.dim() != 1 || flat.numel() != numel_ || !flat.is_contiguous())
    throw Error(ErrorCode::Internal, fmt::format("a flat buffer of {} values was expected", numel_));
  std::vector<at::Tensor> out;
  out.reserve(sizes_.size());
  for (std::size_t i = 0; i < sizes_.size(); ++i) out.push_back(flat.as_strided(sizes_[i], strides_[i], flat.storage_offset() + offsets_[i]));
  return out;
}

at::Tensor FlatLayout::gather(const std::vector<at::Tensor>& tensors, const at::TensorOptions& options) const {
  if (tensors.size() != sizes_.size())
    throw Error(ErrorCode::Internal, fmt::format("{} tensors for a layout of {}", tensors.size(), sizes_.size()));
  c10::NoGradGuard no_grad;
  const at::Tensor flat = at::zeros({numel_}, options);
  const std::vector<at::Tensor> into = views(flat);
  for (std::size_t i = 0; i < into.size(); ++i) into[i].copy_(tensors[i]);  // copy_ converts layouts as needed
  return flat;
}

void FlatLayout::rebind(std::vector<at::Tensor>& tensors, const at::Tensor& flat) const {
  if (tensors.size() != sizes_.size())
    throw Error(ErrorCode::Internal, fmt::format("{} tensors for a layout of {}", tensors.size(), sizes_.size()));
  c10::NoGradGuard no_grad;
  const std::vector<at::Tensor> into = views(flat);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    at::Tensor& t = tensors[i];
    if (!t.sizes().equals(sizes_[i]) || !t.strides().equals(strides_[i]) || t.requires_grad())
      throw Error(ErrorCode::Internal, fmt::format("tensor {} does not match the flat layout it is bound to", i));
    into[i].copy_(t);
    t.set_(flat.storage(), flat.storage_offset() + offsets_[i], sizes_[i], strides_[i]);
  }
}

}  // namespace cm::train
