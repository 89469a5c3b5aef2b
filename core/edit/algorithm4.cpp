#include "core/edit/algorithm4.h"

#include "core/base/error.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <ATen/ExpandUtils.h>
#include <fmt/format.h>

namespace cm::edit {

KnownPart::KnownPart(std::shared_ptr<const LinearOperator> op, const at::Tensor& reference, const at::Tensor& generate)
    : op_(std::move(op)) {
  if (!op_) throw Error(ErrorCode::Internal, "an edit needs an operator");
  if (!reference.defined() || reference.dim() != 4)
    throw Error(ErrorCode::ShapeMismatch, "the reference of an edit must be a [B,C,H,W] image");
  known_coefficients_ = op_->forward(reference.to(at::kFloat));
  if (!generate.defined()) throw Error(ErrorCode::Internal, "an edit needs a mask in its operator's space");
  generate_ = generate.to(at::kBool);
  const std::vector<int64_t> sizes = op_->coefficient_sizes(reference.sizes());
  try {
    if (at::infer_size(generate_.sizes(), sizes) != sizes) throw std::runtime_error("mask widens the coefficients");
  } catch (const std::exception&) {
    throw Error(ErrorCode::ShapeMismatch, fmt::format("a {} mask cannot cover {} coefficients of operator {}",
                                                      model::shape_string(generate_.sizes()),
                                                      model::shape_string(sizes), op_->name()));
  }
}

at::Tensor KnownPart::project(const at::Tensor& estimate) const {
  return op_->inverse(at::where(generate_, op_->forward(estimate), known_coefficients_));
}

at::Tensor KnownPart::preprojected_reference() const {
  return op_->inverse(at::where(generate_, at::zeros_like(known_coefficients_), known_coefficients_));
}

KnownPart KnownPart::to(c10::Device device) const {
  KnownPart moved;
  moved.op_ = op_;
  moved.known_coefficients_ = known_coefficients_.to(device);
  moved.generate_ = generate_.to(device);
  return moved;
}

at::Tensor algorithm4(const model::ConsistencyFunction& f, const KnownPart& known, const sampling::Schedule& schedule,
                      const sampling::NoiseSource& noise, const at::Tensor& labels,
                      const sampling::LoopControl& control, const at::Tensor& estimate) {
  const KnownPart here = known.to(f.device());
  const sampling::Projection project = [&here](const at::Tensor& x) { return here.project(x); };
  const at::Tensor start = estimate.defined() ? here.project(estimate.to(f.device(), at::kFloat)) : here.preprojected_reference();
  return sampling::run_consistency_loop(f, start, schedule, noise, labels, project, control);
}

}  // namespace cm::edit
