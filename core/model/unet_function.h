// f(x, σ) from a UNet: the consistency function of CM checkpoints (boundary-shifted scalings)
// or the EDM denoiser D(x, σ) of the teachers (docs/MATH.md §2), behind the one interface.
#pragma once

#include "core/model/consistency_function.h"
#include "core/model/unet.h"

#include <memory>

namespace cm::model {

enum class Parameterization {
  Consistency,  // c_skip = σ_d²/((σ−ε)²+σ_d²), c_out = (σ−ε)·σ_d/√(σ²+σ_d²): f(x, ε) = x
  Edm,          // c_skip = σ_d²/(σ²+σ_d²),     c_out = σ·σ_d/√(σ²+σ_d²)
};

// "cm" / "edm"; parse throws cm::Error(BadArgument).
const char* to_string(Parameterization p);
Parameterization parse_parameterization(const std::string& name);

struct Scalings {
  at::Tensor c_skip, c_out, c_in;  // [B], float32
};
// Computed in float32 with the official op order (cm/karras_diffusion.py).
Scalings scalings(const at::Tensor& sigma, Parameterization p, const NoiseRange& range);
// t_in = 250·ln(σ + 1e-44), float32.
at::Tensor sigma_to_timestep(const at::Tensor& sigma);

class UNetFunction final : public ConsistencyFunction {
 public:
  UNetFunction(std::shared_ptr<const UNet> unet, Parameterization parameterization, ModelSpec spec);

  // f(x, σ) = c_skip·x + c_out·F(c_in·x, t_in(σ), y), not clamped. x is cast to the UNet's device.
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma,
                        const at::Tensor& labels = at::Tensor()) const override;
  const ModelSpec& spec() const override { return spec_; }
  c10::Device device() const override { return unet_->device(); }

  // f without validate_call, for a caller that checked the call itself: a CUDA graph's recording
  // (graphed_function.h), where reading σ back to the host is not allowed.
  at::Tensor unchecked(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels = at::Tensor()) const;

  // The bare network output F inside f, for parity checks.
  at::Tensor network_output(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels = at::Tensor()) const;

  const UNet& unet() const { return *unet_; }
  Parameterization parameterization() const { return parameterization_; }

 private:
  struct Evaluation {
    at::Tensor xt;              // x on the UNet's device, float32
    Scalings k;
    at::Tensor network_output;  // F(c_in·x, t_in(σ), y)
  };
  Evaluation evaluate(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels, bool check = true) const;
  static at::Tensor output(const Evaluation& e);

  std::shared_ptr<const UNet> unet_;
  Parameterization parameterization_;
  ModelSpec spec_;
};

}  // namespace cm::model
