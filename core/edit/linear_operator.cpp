#include "core/edit/linear_operator.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace cm::edit {
namespace {

at::Tensor as_like(const at::Tensor& matrix, const at::Tensor& x) { return matrix.to(x.device(), x.scalar_type()); }

void require_image(const at::Tensor& x, int64_t channels, const char* what) {
  if (!x.defined() || x.dim() != 4 || (channels > 0 && x.size(1) != channels))
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} needs [B,{},H,W] images", what, channels > 0 ? std::to_string(channels) : "C"));
}

}  // namespace

at::Tensor basis_with_first_column(const at::Tensor& q0) {
  const at::Tensor q = q0.to(at::kDouble).flatten();
  const int64_t n = q.size(0);
  at::Tensor v = -q;
  v[0] += 1.0;  // v = e₁ − q₀
  const double vv = (v * v).sum().item<double>();
  const at::Tensor identity = at::eye(n, at::kDouble);
  if (vv < 1e-30) return identity;  // q₀ = e₁ already
  return identity - 2.0 * at::outer(v, v) / vv;
}

at::Tensor luma_direction() {
  const at::Tensor w = at::tensor({0.2989, 0.5870, 0.1140}, at::kDouble);
  return w / w.norm();
}

at::Tensor grey_of(const at::Tensor& rgb) {
  const at::Tensor q0 = luma_direction().to(rgb.device(), rgb.scalar_type()).view({1, 3, 1, 1});
  return ((rgb * q0).sum(1, true) / q0.sum()).expand_as(rgb);
}

LumaChromaOperator::LumaChromaOperator() : q_(basis_with_first_column(luma_direction())) {}

at::Tensor LumaChromaOperator::forward(const at::Tensor& image) const {
  require_image(image, 3, "colorization");
  return at::einsum("ji,bjhw->bihw", {as_like(q_, image), image});  // Qᵀ x per pixel
}

at::Tensor LumaChromaOperator::inverse(const at::Tensor& coefficients) const {
  require_image(coefficients, 3, "colorization");
  return at::einsum("ij,bjhw->bihw", {as_like(q_, coefficients), coefficients});  // Q a per pixel
}

PatchBasisOperator::PatchBasisOperator(int factor) : k_(factor) {
  if (factor < 1 || factor > 64) throw Error(ErrorCode::BadArgument, fmt::format("unsupported patch size {}", factor));
  q_ = basis_with_first_column(at::full({int64_t(factor) * factor}, 1.0 / factor, at::kDouble));
}

std::string PatchBasisOperator::name() const { return fmt::format("patch-basis-{}", k_); }

std::vector<int64_t> PatchBasisOperator::coefficient_sizes(at::IntArrayRef s) const {
  return {s[0], s[1], s[2] / k_, s[3] / k_, int64_t(k_) * k_};
}

at::Tensor PatchBasisOperator::forward(const at::Tensor& image) const {
  require_image(image, 0, "super-resolution");
  const int64_t b = image.size(0), c = image.size(1), h = image.size(2), w = image.size(3);
  if (h % k_ || w % k_)
    throw Error(ErrorCode::ShapeMismatch, fmt::format("a {}×{} image does not split into {}×{} patches", w, h, k_, k_));
  const at::Tensor patches =
      image.reshape({b, c, h / k_, k_, w / k_, k_}).permute({0, 1, 2, 4, 3, 5}).reshape({b, c, h / k_, w / k_, k_ * k_});
  return at::matmul(patches, as_like(q_, image));  // row vector pᵀQ = (Qᵀp)ᵀ
}

at::Tensor PatchBasisOperator::inverse(const at::Tensor& a) const {
  if (!a.defined() || a.dim() != 5 || a.size(4) != k_ * k_)
    throw Error(ErrorCode::ShapeMismatch, "super-resolution coefficients must be [B,C,H/k,W/k,k²]");
  const int64_t b = a.size(0), c = a.size(1), hk = a.size(2), wk = a.size(3);
  const at::Tensor patches = at::matmul(a, as_like(q_, a).t());  // (Q a)ᵀ
  return patches.reshape({b, c, hk, wk, k_, k_}).permute({0, 1, 2, 4, 3, 5}).reshape({b, c, hk * k_, wk * k_});
}

}  // namespace cm::edit
