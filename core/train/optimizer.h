// Adam and RAdam (the official code trains with RAdam), written out so that their whole state is
// a list of tensors a checkpoint can hold and a resumed run continues bit for bit.
//
// Learning rate: linear warm-up from 0 over `warmup_steps`, then constant as in the official
// runs (docs/MATH.md §6). Gradients are clipped to a global L2 norm of `grad_clip` (0: no
// clipping) before the update.
#pragma once

#include "core/model/state_dict.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cm::train {

enum class OptimizerKind { Adam, RAdam };
const char* to_string(OptimizerKind k);
OptimizerKind parse_optimizer(const std::string& name);  // "adam" | "radam"; else cm::Error(BadArgument)

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::RAdam;
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  int64_t warmup_steps = 0;
  double grad_clip = 1.0;

  void validate() const;  // throws cm::Error(BadArgument) naming the bad value
};

struct StepReport {
  double grad_norm = 0;  // before clipping
  double lr = 0;         // the rate this step used
  bool skipped = false;  // a non-finite gradient: nothing was changed
};

class Optimizer {
 public:
  // params: leaf tensors with requires_grad, updated in place.
  Optimizer(OptimizerConfig config, std::vector<at::Tensor> params);

  // One update from the params' .grad() (a missing grad counts as zero); zeroes the grads.
  // A non-finite gradient norm skips the update (and still zeroes the grads).
  StepReport step();

  double learning_rate(int64_t step_index) const;  // the rate of update number step_index (0-based)
  int64_t steps_taken() const { return steps_; }
  const OptimizerConfig& config() const { return config_; }

  // "exp_avg.<i>", "exp_avg_sq.<i>" for every parameter i, and the step count.
  model::StateDict state() const;
  void load_state(const model::StateDict& state, int64_t steps_taken);

 private:
  OptimizerConfig config_;
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  int64_t steps_ = 0;
};

}  // namespace cm::train
