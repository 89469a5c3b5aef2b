// The one abstraction every edit shares (docs/ARCHITECTURE.md, "The one abstraction"):
//   x̂ = f(x, σ [, class]).
// Images are NCHW in [-1, 1]; σ is the noise level of x (x = x₀ + σ·z). core/sampling and
// core/edit only ever call this interface; core/model implements it from checkpoints, and
// tests implement it in closed form (GaussianConsistency).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace cm::model {

// Noise range and data scale of the paper (docs/MATH.md §1): ε = σ_min, T = σ_max, σ_data.
struct NoiseRange {
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double sigma_data = 0.5;
};

// What a caller must know to feed a consistency function.
struct ModelSpec {
  std::string name;
  int image_size = 64;   // native height = width
  int channels = 3;
  int num_classes = 0;   // 0: unconditional
  NoiseRange noise;
};

class ConsistencyFunction {
 public:
  virtual ~ConsistencyFunction() = default;

  // f(x, σ): x [B,C,H,W] float, sigma [B] (one σ per batch element, ε ≤ σ ≤ T), labels [B] int64
  // for class-conditional models (undefined tensor otherwise). Returns [B,C,H,W], not clamped.
  virtual at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma,
                                const at::Tensor& labels = at::Tensor()) const = 0;

  virtual const ModelSpec& spec() const = 0;

  // Where f computes; callers keep their loop's tensors there to avoid a copy per evaluation.
  // The result of operator() lies on this device whatever device x came from.
  virtual c10::Device device() const { return c10::Device(c10::kCPU); }
};

// Checks a call against a spec and throws cm::Error(ShapeMismatch / BadArgument) with a message
// naming the offending argument: x must be 4-D float with spec.channels channels, sigma must be a
// [B] vector of finite values in [ε, T], labels must be given exactly for class-conditional models.
void validate_call(const ModelSpec& spec, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels);

}  // namespace cm::model
