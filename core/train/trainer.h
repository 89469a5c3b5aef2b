// One training run in memory: the network, its EMA copy, the optimizer, and one objective —
// iCT consistency training, ECT (continuous-time consistency tuning, with its diffusion
// pretraining phase), consistency distillation from an EDM teacher, or EDM denoiser training
// (docs/MATH.md §6). Every step's randomness (batch, noise levels, noise, dropout masks) is a
// function of (seed, step), so restoring a checkpoint continues the run exactly.
#pragma once

#include "core/model/consistency_function.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"
#include "core/train/collective.h"
#include "core/train/data_source.h"
#include "core/train/losses.h"
#include "core/train/optimizer.h"
#include "core/train/sharded_checkpoint.h"
#include "core/train/step_graph.h"

#include <c10/core/Device.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cm::train {

enum class TrainMode { Ct, Cd, Edm, Ect };
const char* to_string(TrainMode m);
TrainMode parse_train_mode(const std::string& name);  // "ct" | "cd" | "edm" | "ect"

struct TrainConfig {
  TrainMode mode = TrainMode::Ct;
  model::UNetConfig architecture;  // dropout is the training dropout
  model::NoiseRange noise;
  int64_t iterations = 100000;     // the run's length K (also the length of iCT's curriculum)
  int64_t batch = 64;
  std::uint64_t seed = 0;
  OptimizerConfig optimizer;
  double ema_rate = 0.9999;        // the evaluation EMA (what export ships); warmed up as min(μ, (1+k)/(10+k))
  bool bf16 = true;                // autocast the network to bfloat16 on CUDA (ignored on the CPU)

  // iCT (Song & Dhariwal 2024, Table 1; docs/MATH.md §6); ECT shares its log-normal proposal of σ
  // and its metric
  int ct_s0 = 10, ct_s1 = 1280;
  double ct_p_mean = -1.1, ct_p_std = 2.0;
  Metric ct_metric = Metric::PseudoHuber;
  // ECT (Geng et al. 2024; docs/MATH.md §6): t ~ exp(N(ct_p_mean, ct_p_std²)), r = ect_r(t, stage),
  // weight 1/(t − r).
  // Steps before ect_pretrain_steps are the diffusion pretraining (r = 0); then t − r halves
  // (for q = 2) every ect_stage_steps steps, up to ect_max_stage.
  int64_t ect_pretrain_steps = 0;
  int64_t ect_stage_steps = 10000;
  int ect_max_stage = 8;
  double ect_q = 2.0, ect_k = 8.0, ect_b = 1.0;
  // CD (CM Algorithm 2; docs/MATH.md §6)
  std::string teacher;             // the EDM teacher's path, for the record
  int cd_points = 40;
  double cd_target_ema = 0.95;
  Metric cd_metric = Metric::L2;
  // EDM teacher training: ln σ ~ N(P_mean, P_std²), λ(σ) = (σ² + σ_d²)/(σ·σ_d)²
  double edm_p_mean = -1.2, edm_p_std = 1.2;

  // Data, for the record (the run's data source is given separately).
  std::string data;
  int min_crop = 0;
  // Crop sides, one per step in turn (empty: the model's image_size alone). A step at side s
  // trains on batch·(image_size/s)² images, so every step costs about the same pixels; the
  // network is convolutional, so it meets the token counts and context of larger windows.
  std::vector<int> crop_sizes;

  int crop_size_at(int64_t step) const;
  int64_t batch_at(int64_t step) const { return batch_for(crop_size_at(step)); }
  int64_t batch_for(int crop_size) const;  // batch·(image_size/crop_size)², at least 1

  model::Parameterization parameterization() const {
    return mode == TrainMode::Edm ? model::Parameterization::Edm : model::Parameterization::Consistency;
  }
  void validate() const;  // throws cm::Error(BadArgument)
};

nlohmann::json to_json(const TrainConfig& c);
TrainConfig train_config_from_json(const nlohmann::json& j);  // throws cm::Error(CorruptFile)

// One step. The fused step (StepSpeed) reads nothing back: its loss, grad_norm and lr are NaN
// there, and skipped false; take_window() has them.
struct StepStats {
  int64_t step = 0;         // steps done after this one
  double loss = 0;
  double grad_norm = 0;
  double lr = 0;
  int discretization = 0;   // N of the noise grid (CT, CD); the stage for ECT (−1: pretraining); 0 for EDM
  int64_t images = 0;       // images this step trained on
  int crop_size = 0;        // their side
  bool skipped = false;     // non-finite gradient: no update
};

// The steps since the last Trainer::take_window(): what a log line reports.
struct StepWindow {
  int64_t steps = 0;
  int64_t finite = 0;       // steps with a finite loss
  double loss_sum = 0;      // the sum of their losses
  int64_t skipped = 0;      // steps that updated nothing (a non-finite loss or gradient)
  double grad_norm = 0;     // the last step's |g|, before clipping
  double lr = 0;            // the last step's learning rate
  double mean_loss() const;  // NaN when no step had a finite loss
};

// How steps are computed; what they compute is the same up to rounding (the fused step's
// trajectory is checked against the plain one: tests/cuda/test_train_step_on_device.cpp).
struct StepSpeed {
  bool fused = false;          // FusedStep (fused_step.h): flat buffers, no host sync per step
  bool cuda_graphs = false;    // fused, and on CUDA each crop size's step replayed as CUDA graphs
  bool channels_last = false;  // NHWC convolution weights and activations (UNet::set_channels_last)
};
// "plain", "fused" or "graph" (fused with CUDA graphs); throws cm::Error(BadArgument) otherwise.
StepSpeed parse_step_kind(const std::string& name);
std::string describe(const StepSpeed& speed);  // "graph, channels-last"

class FusedStep;

class Trainer {
 public:
  // initial_weights: start from these (e.g. the teacher's, as the official CD does); otherwise
  // init_unet_weights(seed). teacher: the EDM denoiser D(x, σ), required for CD.
  Trainer(TrainConfig config, std::shared_ptr<const DataSource> data, c10::Device device,
          std::shared_ptr<const model::ConsistencyFunction> teacher = nullptr,
          const model::StateDict* initial_weights = nullptr);
  ~Trainer();

  // Data parallelism: from now on this process trains on its slice of every global batch (rank r
  // of W takes images [r·B/W, (r+1)·B/W) of the batch and of each noise draw, which are drawn whole
  // as one process would) and the gradients are averaged, so every rank takes the step one process
  // with batch B would take. Rank 0's weights are copied to all first. Dropout masks are drawn per
  // rank (one process's masks for the whole batch cannot be cut into slices). Throws
  // cm::Error(BadArgument) when a step's batch does not divide among the ranks.
  void distribute(std::shared_ptr<Collective> collective);
  int rank() const { return collective_ ? collective_->rank() : 0; }
  int world() const { return collective_ ? collective_->world() : 1; }
  Collective* collective() const { return collective_.get(); }

  StepStats step();
  int64_t steps_done() const { return step_; }
  // The loss, skips, |g| and learning rate of the steps since the last call (the fused step
  // reads them from the device here, once).
  StepWindow take_window();

  // Switches how steps are computed, keeping the weights, EMA, optimizer moments and step. The
  // fused step serves ct, ect and edm in one process: CD or a distributed trainer throws
  // cm::Error(BadArgument). CUDA graphs come from cuda_step_graphs unless `graphs` is given (the
  // CPU tests pass rerun_step_graphs); where there are none, the fused step runs eagerly.
  void set_speed(const StepSpeed& speed, StepGraphMaker graphs = {});
  const StepSpeed& speed() const { return speed_; }
  std::string speed_report() const;  // what is in effect, and why a part asked for is not
  int64_t parameter_count() const { return online_->parameter_count(); }
  const TrainConfig& config() const { return config_; }
  c10::Device device() const { return device_; }

  // The objective on fixed batches of `source`, with noise keys no training step uses, the online
  // network, no dropout and no update: a held-out loss comparable over time. For ct it is taken
  // on the final grid (N = s1 + 1) whatever the curriculum's current N.
  // size: the crop side (0: the model's).
  double evaluate_loss(const DataSource& source, int batches, int64_t batch_size, int size = 0) const;

  // Continues a run whose optimizer state did not travel: the online and EMA weights, and the
  // step count (which sets the curriculum, the ECT stage and the data keys). The optimizer starts
  // afresh; RAdam's rectified first steps re-warm its moments. Throws cm::Error(ShapeMismatch)
  // or CorruptFile for weights that do not fit this architecture.
  void continue_from(const model::StateDict& online, const model::StateDict& ema, int64_t step);

  // The EMA network as f(x, σ) (the consistency function, or D for EDM runs), dropout off.
  std::shared_ptr<const model::UNetFunction> ema_function() const;
  model::StateDict ema_weights() const;  // CPU float32, state_dict order
  model::StateDict online_weights() const;

  // n images from the EMA network: `steps` consistency steps (Karras schedule from T), or for
  // EDM runs an 18-step Heun solve. Same seed → same noise.
  at::Tensor sample(int64_t n, std::uint64_t seed, int steps) const;

  // Checkpoint contents (online, EMA, CD target, optimizer moments) and the state to resume.
  void save(const std::filesystem::path& dir, int64_t max_shard_bytes = kDefaultShardBytes) const;
  void restore(const Checkpoint& checkpoint);

 private:
  at::Tensor loss_for(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const;
  at::Tensor cd_loss(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const;
  at::Tensor drawn_loss(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const;
  std::vector<at::Tensor> parameters() const;
  model::StateDict optimizer_state() const;
  int64_t optimizer_steps() const;

  TrainConfig config_;
  std::shared_ptr<const DataSource> data_;
  c10::Device device_;
  std::shared_ptr<const model::ConsistencyFunction> teacher_;
  std::shared_ptr<model::UNet> online_;
  std::shared_ptr<model::UNet> target_;  // CD only: the EMA target θ⁻
  std::vector<at::Tensor> ema_;
  std::unique_ptr<Optimizer> optimizer_;  // the plain step's
  std::unique_ptr<FusedStep> fused_;      // the fused step's (it holds online_'s weights: declared after it)
  StepSpeed speed_;
  std::string graphs_missing_;            // why CUDA graphs were asked for and are not there
  StepWindow window_;                     // the plain step's, since take_window()
  std::shared_ptr<Collective> collective_;
  int64_t step_ = 0;
};

}  // namespace cm::train
