// The paper's Algorithm 4 (Song et al. 2023; docs/MATH.md §5): zero-shot editing with a consistency
// model. Given an operator A, a reference y and a mask Ω in A's space (true = generate), every
// estimate x̂ is projected so the known part of y is kept exactly:
//   x̂ ← A⁻¹[(Ay) ⊙ (1 − Ω) + (Ax̂) ⊙ Ω]
// and the loop starts from the pre-projected reference A⁻¹[(Ay) ⊙ (1 − Ω)].
#pragma once

#include "core/edit/linear_operator.h"
#include "core/model/consistency_function.h"
#include "core/sampling/consistency_loop.h"

#include <ATen/core/Tensor.h>

#include <memory>

namespace cm::edit {

// What an edit must keep. Built once per job; cheap to project with many times.
class KnownPart {
 public:
  // reference: [B,C,H,W] image y; generate: bool (or 0/1) tensor broadcastable to A's
  // coefficient shape, true where the model decides. Throws cm::Error(ShapeMismatch).
  KnownPart(std::shared_ptr<const LinearOperator> op, const at::Tensor& reference, const at::Tensor& generate);

  // A⁻¹[(Ay) ⊙ (1 − Ω) + (Ax̂) ⊙ Ω]; selection, not arithmetic, so the kept coefficients are
  // copied bit for bit (for A = I the kept pixels are exactly y's).
  at::Tensor project(const at::Tensor& estimate) const;
  // A⁻¹[(Ay) ⊙ (1 − Ω)]: the reference with the unknown part zeroed (line 1 of Algorithm 4).
  at::Tensor preprojected_reference() const;

  // The same constraint with its tensors on `device` (the loop's device).
  KnownPart to(c10::Device device) const;

  const LinearOperator& op() const { return *op_; }

 private:
  KnownPart() = default;
  std::shared_ptr<const LinearOperator> op_;
  at::Tensor known_coefficients_;  // A y
  at::Tensor generate_;            // Ω, bool
};

// Algorithm 4 over the schedule: start at the pre-projected reference, project after every
// evaluation. noise must give [B,C,H,W] tensors shaped like the reference. With an initial
// estimate (warm start, estimates.h) the loop starts from its projection instead: noise of
// level schedule.sigmas[0] is added to a complete image, not to one with the unknown part zeroed.
at::Tensor algorithm4(const model::ConsistencyFunction& f, const KnownPart& known, const sampling::Schedule& schedule,
                      const sampling::NoiseSource& noise, const at::Tensor& labels = at::Tensor(),
                      const sampling::LoopControl& control = {}, const at::Tensor& estimate = at::Tensor());

}  // namespace cm::edit
