#include "core/edit/pixels.h"

#include "core/base/error.h"
#include "core/base/pixel_format.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

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

namespace {

at::Tensor stored_form(const at::Tensor& unit, at::ScalarType type) {
  if (type == at::kByte)
    return unit.to(at::kFloat).add(1.0).mul_(pixels::kMax8 / 2.0).round_().clamp_(0, pixels::kMax8).to(at::kByte);
  return unit.to(at::kFloat)
      .add(1.0)
      .mul_(pixels::kMax16 / 2.0)
      .round_()
      .clamp_(0, pixels::kMax16)
      .sub_(double(pixels::kOffset16))
      .to(at::kShort);
}

}  // namespace

at::Tensor to_form_of(const at::Tensor& unit, const at::Tensor& like) {
  if (!is_stored(like)) return unit.to(like.scalar_type());
  // A photo a band of rows at a time: at once, a 50 MP photo's float temporary is 0.6 GB beside
  // the float photo and the result.
  constexpr int64_t kRows = 256;
  if (unit.dim() != 4 || unit.size(2) <= kRows) return stored_form(unit, like.scalar_type());
  at::Tensor out = at::empty(unit.sizes(), unit.options().dtype(like.scalar_type()));
  for (int64_t y = 0; y < unit.size(2); y += kRows) {
    const int64_t rows = std::min(kRows, unit.size(2) - y);
    out.narrow(2, y, rows).copy_(stored_form(unit.narrow(2, y, rows), like.scalar_type()));
  }
  return out;
}

}  // namespace cm::edit
