#include "core/edit/pixels.h"

#include "core/base/error.h"
#include "core/base/pixel_format.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace cm::edit {

void require_image(const at::Tensor& image, const char* what) {
  if (!image.defined() || image.dim() != 4 || !image.is_floating_point())
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} needs a [B,C,H,W] float image, got {}", what,
                                                      image.defined() ? model::shape_string(image.sizes()) : "nothing"));
  if (!image.isfinite().all().item<bool>()) throw Error(ErrorCode::BadArgument, fmt::format("the {} image holds NaN or infinite values", what));
}

bool is_stored(const at::Tensor& photo) {
  return photo.defined() && (photo.scalar_type() == at::kByte || photo.scalar_type() == at::kShort);
}

at::Tensor to_unit(const at::Tensor& photo) {
  if (photo.scalar_type() == at::kByte) return photo.to(at::kFloat).mul_(2.0 / pixels::kMax8).sub_(1.0);
  if (photo.scalar_type() == at::kShort)
    return photo.to(at::kFloat).add_(double(pixels::kOffset16)).mul_(2.0 / pixels::kMax16).sub_(1.0);
  if (!photo.is_floating_point()) throw Error(ErrorCode::BadArgument, "a photo's pixels must be float, uint8 or int16");
  return photo;
}

at::Tensor to_form_of(const at::Tensor& unit, const at::Tensor& like) {
  if (like.scalar_type() == at::kByte)
    return unit.to(at::kFloat).add(1.0).mul_(pixels::kMax8 / 2.0).round_().clamp_(0, pixels::kMax8).to(at::kByte);
  if (like.scalar_type() == at::kShort)
    return unit.to(at::kFloat)
        .add(1.0)
        .mul_(pixels::kMax16 / 2.0)
        .round_()
        .clamp_(0, pixels::kMax16)
        .sub_(double(pixels::kOffset16))
        .to(at::kShort);
  return unit.to(like.scalar_type());
}

}  // namespace cm::edit
