#include "core/model/unet_function.h"

#include "core/base/error.h"

#include <ATen/ATen.h>

namespace cm::model {

const char* to_string(Parameterization p) { return p == Parameterization::Consistency ? "cm" : "edm"; }

Parameterization parse_parameterization(const std::string& name) {
  if (name == "cm") return Parameterization::Consistency;
  if (name == "edm") return Parameterization::Edm;
  throw Error(ErrorCode::BadArgument, "unknown parameterisation '" + name + "' (expected cm or edm)");
}

Scalings scalings(const at::Tensor& sigma_in, Parameterization p, const NoiseRange& range) {
  const at::Tensor sigma = sigma_in.to(at::kFloat);
  const double sd = range.sigma_data, sd2 = sd * sd;
  const at::Tensor c_in = 1 / (sigma.pow(2) + sd2).pow(0.5);
  if (p == Parameterization::Edm)
    return {sd2 / (sigma.pow(2) + sd2), sigma * sd / (sigma.pow(2) + sd2).pow(0.5), c_in};
  // The shift appears only here (the official get_scalings_for_boundary_condition; docs/MATH.md §2).
  const at::Tensor shifted = sigma - range.sigma_min;
  return {sd2 / (shifted.pow(2) + sd2), shifted * sd / (sigma.pow(2) + sd2).pow(0.5), c_in};
}

at::Tensor sigma_to_timestep(const at::Tensor& sigma) { return 250.0 * at::log(sigma.to(at::kFloat) + 1e-44); }

UNetFunction::UNetFunction(std::shared_ptr<const UNet> unet, Parameterization parameterization, ModelSpec spec)
    : unet_(std::move(unet)), parameterization_(parameterization), spec_(std::move(spec)) {
  if (!unet_) throw Error(ErrorCode::Internal, "UNetFunction without a UNet");
  spec_.image_size = unet_->config().image_size;
  spec_.channels = unet_->config().in_channels;
  spec_.num_classes = unet_->config().num_classes;
}

namespace {
at::Tensor per_image(const at::Tensor& v) { return v.view({-1, 1, 1, 1}); }
}  // namespace

UNetFunction::Evaluation UNetFunction::evaluate(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels,
                                                bool check) const {
  if (check) validate_call(spec_, x, sigma, labels);
  const c10::Device device = unet_->device();
  const at::Tensor s = sigma.to(device, at::kFloat);
  Evaluation e{x.to(device, at::kFloat), scalings(s, parameterization_, spec_.noise), at::Tensor()};
  e.network_output = unet_->forward(per_image(e.k.c_in) * e.xt, sigma_to_timestep(s),
                                    labels.defined() ? labels.to(device) : labels);
  return e;
}

at::Tensor UNetFunction::network_output(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  return evaluate(x, sigma, labels).network_output;
}

at::Tensor UNetFunction::operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  return output(evaluate(x, sigma, labels));
}

at::Tensor UNetFunction::unchecked(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  return output(evaluate(x, sigma, labels, /*check=*/false));
}

at::Tensor UNetFunction::output(const Evaluation& e) {
  return per_image(e.k.c_out) * e.network_output + per_image(e.k.c_skip) * e.xt;  // official order: c_out·F + c_skip·x
}

}  // namespace cm::model
