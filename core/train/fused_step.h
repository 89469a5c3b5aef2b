// The training step for throughput (Trainer::set_speed), computing what the plain step computes:
// - one flat buffer each for the weights, gradients, Adam/RAdam moments and the EMA
//   (flat_buffers.h), so clipping, the update and the EMA are a few ops over one tensor;
// - no host sync: the gradient norm, clipping, the non-finite check and the optimizer's step count
//   stay on the device, where a non-finite loss or gradient leaves weights, moments and EMA as
//   they were; the loss and |g| are summed there and read when asked (take_window);
// - inputs copied from page-locked memory without blocking, and the host kept at most two steps
//   ahead of the device, so the CPU draws the next step's noise while the GPU trains;
// - optionally CUDA graphs (step_graph.h): per crop size, after two eager steps, the target pass
//   and the online pass with its backward, update and EMA are captured into two graphs that share
//   one memory pool, and replayed with the dropout generator reseeded before each (so both passes
//   see the same masks, as in the plain step). The step of each capture is checked against the
//   same step run eagerly; a mismatch or a failed capture keeps that crop size eager, and says why.
#pragma once

#include "core/model/unet.h"
#include "core/train/objective.h"
#include "core/train/step_graph.h"
#include "core/train/trainer.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Event.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cm::train {

class FlatLayout;

class FusedStep {
 public:
  // Binds `online`'s weights to a flat buffer (in the layout they have) and takes the EMA and the
  // optimizer's state from the given tensors (per parameter, as Optimizer::state() names them).
  // `graphs` empty: every step eager.
  FusedStep(const TrainConfig& config, model::UNet& online, const std::vector<at::Tensor>& ema, const model::StateDict& moments,
            int64_t optimizer_steps, c10::Device device, StepGraphMaker graphs);
  ~FusedStep();
  FusedStep(const FusedStep&) = delete;
  FusedStep& operator=(const FusedStep&) = delete;

  // One step on `draw`, with this step's EMA rate μ.
  void step(const StepDraw& draw, double ema_mu);

  // What the steps since the last call left on the device (one read, one sync).
  StepWindow take_window();

  std::vector<at::Tensor> ema_views() const { return ema_views_; }
  model::StateDict optimizer_state() const;  // "exp_avg.<i>", "exp_avg_sq.<i>", as Optimizer::state()
  int64_t optimizer_steps() const;           // reads the device
  void load_optimizer_state(const model::StateDict& state, int64_t steps);  // throws as Optimizer::load_state
  void reset_optimizer();  // zero moments, no steps taken (a campaign window's fresh optimizer)

  // "eager" or which crop sizes replay graphs, and why any does not.
  std::string describe() const;

 private:
  struct Slot;  // the static inputs, target and graphs of one crop size
  struct Snapshot;
  Slot& slot_for(const StepDraw& draw);
  void load_inputs(Slot& s, const StepDraw& draw, double ema_mu);
  void run_eager(Slot& s, bool target, std::uint64_t seed);
  void replay(Slot& s, bool target, std::uint64_t seed);
  void capture_and_check(Slot& s, bool target, std::uint64_t seed);
  void target_body(Slot& s);
  void online_body(Slot& s);
  void update(const at::Tensor& loss);
  Snapshot snapshot() const;
  void restore(const Snapshot& s);
  void keep_host_close();

  TrainConfig config_;
  model::UNet& online_;
  c10::Device device_;
  bool autocast_;
  StepGraphMaker graphs_;
  std::unique_ptr<FlatLayout> layout_;
  at::Tensor param_, grad_, exp_avg_, exp_avg_sq_, ema_;  // flat, float32
  std::vector<at::Tensor> params_, ema_views_;
  at::Tensor steps_;  // [1] float64: optimizer steps taken
  at::Tensor acc_;    // [5] float64: loss sum, finite losses, skipped steps, last |g|, last lr
  at::Tensor mu_;     // [1] float64: this step's EMA rate
  std::map<int, std::unique_ptr<Slot>> slots_;
  StepGraph* pool_owner_ = nullptr;  // the first graph captured: every other shares its memory
  std::deque<c10::Event> in_flight_;
};

}  // namespace cm::train
