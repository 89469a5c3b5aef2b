// The objectives' pieces that the plain step (Trainer) and the fused step (FusedStep) share: what
// one step draws at random, the two passes of the network, and the weighted loss (docs/MATH.md §6).
//
// Every objective but CD compares the online network at (x0 + σ·z, σ) with a target: the same
// network without gradient at (x0 + σ'·z, σ') where `use_target` holds, the clean image x0
// elsewhere. iCT: σ = σ_high, σ' = σ_low, everywhere. ECT: σ = t, σ' = r, where r > ε (the clean
// image at the boundary). EDM: the target is x0 everywhere (λ(σ) as weight, l2). Both passes of a
// step see the same dropout masks (reseed_dropout before each).
#pragma once

#include "core/train/data_source.h"
#include "core/train/losses.h"
#include "core/train/network.h"
#include "core/train/trainer.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>

namespace cm::train {

// How finely step `key` discretises the noise axis (StepStats::discretization): the N of the
// grid iCT (N(k)) and CD (fixed) draw their pairs from, ECT's stage (t − r shrinks by q each
// stage; −1 while pretraining), 0 for EDM, which has none.
int discretization_at(const TrainConfig& config, int64_t key);

// Everything random about one step, a function of (seed, key) alone. The per-image vectors and z
// are on the CPU; x0 is where the data source makes it.
struct StepDraw {
  at::Tensor x0;            // [n, 3, s, s]
  at::Tensor z;             // [n, 3, s, s]: the noise direction of both points
  at::Tensor sigma;         // [n] float: where the online network looks
  at::Tensor target_sigma;  // [n] float: where the target looks (undefined for EDM)
  at::Tensor use_target;    // [n] bool: false where the target is x0 itself
  at::Tensor weight;        // [n] float: λ per image
  std::uint64_t dropout_seed = 0;
  bool any_target() const;  // some image needs the target pass
};

struct DrawOptions {
  int64_t key = 0;          // the data and noise keys (the step, or a held-out key)
  int64_t stage_step = 0;   // the step whose ECT stage sets r (the current one, also for held-out keys)
  int64_t batch = 0;        // images in the whole batch
  int size = 0;             // crop side
  int64_t first = 0, count = 0;  // this rank's slice of the batch (0, batch in one process)
  int rank = 0;             // for the dropout seed (each rank draws its own masks)
  bool pinned_noise = false;     // z in page-locked memory, for a copy to CUDA that does not block
};

// The draws of every objective but CD, in the order each has always drawn them (so that runs,
// resumes and held-out losses are those of before), sliced to this rank. Throws
// cm::Error(BadArgument) for CD (its pairs feed a teacher: Trainer draws them itself).
StepDraw draw_step(const TrainConfig& config, const DataSource& source, const DrawOptions& o);

// The distance of the objective: ct_metric for iCT and ECT, cd_metric for CD, l2 for EDM.
Metric objective_metric(const TrainConfig& config);

// bfloat16 autocast on CUDA for the network's passes; does nothing when disabled.
class AutocastScope {
 public:
  explicit AutocastScope(bool enable);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Half;
};

// Dropout draws from the device's default generator; reseeding it before each of two passes
// gives both the same masks (iCT's and ECT's shared dropout RNG).
void reseed_dropout(c10::Device device, std::uint64_t seed);

// f(x, σ) of one network on a device: dropout in training, bf16 autocast where asked.
using NetworkPass = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& sigma)>;

// The online pass f(x0 + σ·z, σ), with gradients. All on the network's device.
at::Tensor online_pass(const NetworkPass& f, const at::Tensor& x0, const at::Tensor& z, const at::Tensor& sigma);
// The target: f(x0 + σ'·z, σ') without gradient where `use` holds, x0 elsewhere.
at::Tensor target_pass(const NetworkPass& f, const at::Tensor& x0, const at::Tensor& z, const at::Tensor& target_sigma,
                       const at::Tensor& use);
// mean(λ · d(online, target)), d with the pseudo-Huber c of the images' size (losses.h).
at::Tensor weighted_loss(const at::Tensor& online, const at::Tensor& target, const at::Tensor& weight, Metric metric);

}  // namespace cm::train
