#include "core/edit/mask.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace cm::edit {

void validate_mask(const at::Tensor& image, const at::Tensor& mask) {
  if (!image.defined() || image.dim() != 4) throw Error(ErrorCode::BadArgument, "the image must be a [B,C,H,W] tensor");
  if (!mask.defined() || mask.dim() != 4 || mask.size(1) != 1)
    throw Error(ErrorCode::BadArgument, "the mask must be a single-channel [B,1,H,W] tensor");
  if (mask.size(2) != image.size(2) || mask.size(3) != image.size(3))
    throw Error(ErrorCode::ShapeMismatch, fmt::format("the mask is {}×{} pixels but the image is {}×{}", mask.size(3),
                                                      mask.size(2), image.size(3), image.size(2)));
  if (mask.size(0) != 1 && mask.size(0) != image.size(0))
    throw Error(ErrorCode::ShapeMismatch,
                fmt::format("{} masks were given for {} images (give one, or one per image)", mask.size(0), image.size(0)));
  if (mask.numel() == 0) return;
  if (mask.scalar_type() == at::kBool) return;
  // Bytes hold no NaN and nothing below 0: their largest value alone can be out of range (one
  // reduction of a 50 MP mask instead of two).
  if (mask.scalar_type() == at::kByte) {
    if (mask.max().item<int>() > 1) throw Error(ErrorCode::BadArgument, "mask values must lie in [0, 1] (1 = edit, 0 = keep)");
    return;
  }
  // One pass, in the mask's own type (a float copy of a 50-megapixel mask is 200 MB): min and max
  // propagate NaN, and an infinity is an extreme.
  const auto [lowest_own, highest_own] = at::aminmax(mask);
  const at::Tensor lowest = lowest_own.to(at::kFloat), highest = highest_own.to(at::kFloat);
  const float lo = lowest.item<float>(), hi = highest.item<float>();
  if (!std::isfinite(lo) || !std::isfinite(hi)) throw Error(ErrorCode::BadArgument, "the mask holds NaN or infinite values");
  if (lo < 0.f || hi > 1.f)
    throw Error(ErrorCode::BadArgument, "mask values must lie in [0, 1] (1 = edit, 0 = keep)");
}

}  // namespace cm::edit
