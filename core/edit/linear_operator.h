// The linear operators A of Algorithm 4 (docs/MATH.md §5). Each is orthogonal, so A⁻¹ = Aᵀ, and maps
// an image [B,C,H,W] to coefficients in which "known" and "to be generated" separate cleanly:
//  - Identity:   inpainting (a coefficient is a pixel);
//  - LumaChroma: colorization; per pixel, coefficient 0 is the luma direction
//                q₀ = (0.2989, 0.5870, 0.1140)/‖·‖, 1 and 2 span chroma;
//  - PatchBasis: super-resolution ×k; per k×k patch and channel, coefficient 0 is the patch
//                mean direction (1/k everywhere), the other k²−1 the detail.
// Bases are Householder reflections H = I − 2vvᵀ/vᵀv with v = e₁ − q₀, so H's first column is q₀
// exactly as in the official QR-built bases; the projections depend only on q₀.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace cm::edit {

class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  virtual at::Tensor forward(const at::Tensor& image) const = 0;         // A·x
  virtual at::Tensor inverse(const at::Tensor& coefficients) const = 0;  // A⁻¹·a
  // The shape of A·x for an image of `image_sizes`, so masks in A's space can be built.
  virtual std::vector<int64_t> coefficient_sizes(at::IntArrayRef image_sizes) const = 0;
  virtual std::string name() const = 0;
};

class IdentityOperator final : public LinearOperator {
 public:
  at::Tensor forward(const at::Tensor& image) const override { return image; }
  at::Tensor inverse(const at::Tensor& coefficients) const override { return coefficients; }
  std::vector<int64_t> coefficient_sizes(at::IntArrayRef image_sizes) const override { return image_sizes.vec(); }
  std::string name() const override { return "identity"; }
};

// Per-pixel 3×3 orthogonal basis: [B,3,H,W] ↔ [B,3,H,W] with channel 0 = luma coefficient.
class LumaChromaOperator final : public LinearOperator {
 public:
  LumaChromaOperator();
  at::Tensor forward(const at::Tensor& image) const override;
  at::Tensor inverse(const at::Tensor& coefficients) const override;
  std::vector<int64_t> coefficient_sizes(at::IntArrayRef image_sizes) const override { return image_sizes.vec(); }
  std::string name() const override { return "luma-chroma"; }
  const at::Tensor& basis() const { return q_; }  // Q, [3,3] double, column 0 = q₀

 private:
  at::Tensor q_;
};

// Per k×k patch and channel: [B,C,H,W] ↔ [B,C,H/k,W/k,k²] with coefficient 0 = k·(patch mean).
// H and W must be multiples of k.
class PatchBasisOperator final : public LinearOperator {
 public:
  explicit PatchBasisOperator(int factor);
  at::Tensor forward(const at::Tensor& image) const override;
  at::Tensor inverse(const at::Tensor& coefficients) const override;
  std::vector<int64_t> coefficient_sizes(at::IntArrayRef image_sizes) const override;
  std::string name() const override;
  int factor() const { return k_; }
  const at::Tensor& basis() const { return q_; }  // Q, [k²,k²] double, column 0 = 1/k

 private:
  int k_;
  at::Tensor q_;
};

// The orthogonal matrix whose first column is the unit vector q0 (Householder reflection), in double.
at::Tensor basis_with_first_column(const at::Tensor& q0);

// q₀ of colorization: (0.2989, 0.5870, 0.1140)/‖·‖, double [3].
at::Tensor luma_direction();

// The grey image (r = g = b) with rgb's luma: (q₀·rgb / Σq₀)·(1, 1, 1). Not the image with its
// chroma coefficients zeroed: q₀ is not (1, 1, 1). [B,3,H,W], rgb's dtype and device.
at::Tensor grey_of(const at::Tensor& rgb);

}  // namespace cm::edit
