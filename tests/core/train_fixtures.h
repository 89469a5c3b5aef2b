// Shared pieces of the training tests: Gaussian data with a known consistency function, a
// network small enough to train for a few hundred steps in seconds on a CPU, and the loss
// trajectory of a run (the fused step against the plain one).
#pragma once

#include "core/analytic_model.h"
#include "core/model/unet_config.h"
#include "core/train/data_source.h"
#include "core/train/device_crops.h"
#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace cm::testing {

// A photo [h, w, 3] uint8 of stripes that differ by seed (image packs, crops, sample grids).
inline at::Tensor gradient_photo(int64_t h, int64_t w, int seed) {
  return ((at::arange(h * w * 3, at::kLong) * (seed + 1)) % 256).to(at::kByte).view({h, w, 3});
}

// x₀ ~ N(μ, s²I) with the analytic model's μ and s: a batch per key, like CropSampler.
class GaussianSource final : public train::DataSource {
 public:
  explicit GaussianSource(int size, std::uint64_t seed = 7) : size_(size), seed_(seed) {}
  at::Tensor batch(std::uint64_t key, int64_t n) const override {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(train::mix_seed(seed_, key));
    return kDataMean + kDataStd * at::randn({n, 3, size_, size_}, gen);
  }
  int image_size() const override { return size_; }

 private:
  int size_;
  std::uint64_t seed_;
};

// An 8×8 UNet of one level (attention only in the middle block): ~0.1 M parameters, ~30
// training steps/s on two CPU cores at batch 16.
inline model::UNetConfig tiny_unet(int size = 8) {
  model::UNetConfig c;
  c.image_size = size;
  c.model_channels = 32;
  c.num_res_blocks = 1;
  c.channel_mult = {1};
  c.attention_resolutions = {};
  c.num_head_channels = 32;
  return c;
}

inline train::TrainConfig tiny_config(train::TrainMode mode, int64_t iterations) {
  train::TrainConfig c;
  c.mode = mode;
  c.architecture = tiny_unet();
  c.iterations = iterations;
  c.batch = 16;
  c.seed = 3;
  c.optimizer.kind = train::OptimizerKind::Adam;
  c.optimizer.lr = 5e-3;
  c.ema_rate = 0.99;
  c.ct_s0 = 10;
  c.ct_s1 = 40;
  return c;
}

// Noise levels across [ε, T], and the middle ones where iCT's log-normal proposal
// (P_mean −1.1, P_std 2) puts most of its training.
inline const std::vector<double> kAllLevels = {0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0, 80.0};
inline const std::vector<double> kMiddleLevels = {0.2, 0.5, 1.0};

// Mean squared error of f against the analytic consistency function (or, for EDM runs, the
// analytic denoiser) on fresh Gaussian data, averaged over the noise levels.
inline double error_vs_analytic(const model::ConsistencyFunction& f, bool denoiser,
                                const std::vector<double>& levels = kAllLevels) {
  at::NoGradGuard no_grad;
  const int size = f.spec().image_size;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(99);
  double total = 0;
  for (double sigma : levels) {
    const at::Tensor x0 = kDataMean + kDataStd * at::randn({64, 3, size, size}, gen);
    const at::Tensor x = x0 + sigma * at::randn({64, 3, size, size}, gen);
    const at::Tensor s = at::full({64}, sigma, at::kFloat);
    const double s2 = kDataStd * kDataStd;
    const double gain = denoiser ? s2 / (s2 + sigma * sigma) : analytic_gain(sigma);
    const at::Tensor truth = kDataMean + (x - kDataMean) * gain;
    total += (f(x, s) - truth).pow(2).mean().item<double>();
  }
  return total / double(levels.size());
}

// Noise photos of a few shapes, for crop samplers that serve every crop size a test asks for.
inline std::vector<at::Tensor> noise_photos(std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<at::Tensor> photos;
  for (const auto& [h, w] : {std::pair{40, 56}, std::pair{48, 32}, std::pair{64, 64}})
    photos.push_back(at::randint(0, 256, {h, w, 3}, gen, at::kByte));
  return photos;
}

// An ECT run of the tiny network that crosses from pretraining (no target pass) into its stages,
// with dropout, clipping, a warm-up and crops of two sizes: every branch of a step.
inline train::TrainConfig trajectory_config(train::OptimizerKind optimizer) {
  train::TrainConfig c = tiny_config(train::TrainMode::Ect, 100);
  c.architecture.dropout = 0.1;
  c.optimizer.kind = optimizer;
  c.optimizer.grad_clip = 0.5;
  c.optimizer.warmup_steps = 3;
  c.ect_pretrain_steps = 3;
  c.ect_stage_steps = 3;
  c.crop_sizes = {8, 8, 16};
  return c;
}

struct Trajectory {
  std::vector<double> losses, grad_norms;
  model::StateDict online, ema;
};

// Steps `steps` times, reading each step's loss and |g| (the fused step's read is a sync).
inline Trajectory trajectory(train::Trainer& trainer, int steps) {
  Trajectory t;
  for (int i = 0; i < steps; ++i) {
    trainer.step();
    const train::StepWindow w = trainer.take_window();
    t.losses.push_back(w.mean_loss());
    t.grad_norms.push_back(w.grad_norm);
  }
  t.online = trainer.online_weights();
  t.ema = trainer.ema_weights();
  return t;
}

// How far apart two runs are: the largest relative difference of a step's loss or |g|, and the
// relative L2 distance of all weights together, then of all EMA weights together. Rounding alone
// moves Adam's weights more than its losses: where a gradient is near zero, the sign of the
// normalised step m/√v follows the rounding.
struct TrajectoryGap {
  double losses = 0, weights = 0;
};

inline TrajectoryGap trajectory_gap(const Trajectory& a, const Trajectory& b) {
  TrajectoryGap gap;
  for (std::size_t i = 0; i < a.losses.size(); ++i) {
    gap.losses = std::max(gap.losses, std::abs(a.losses[i] - b.losses[i]) / std::abs(a.losses[i]));
    gap.losses = std::max(gap.losses, std::abs(a.grad_norms[i] - b.grad_norms[i]) / std::abs(a.grad_norms[i]));
  }
  for (const auto& [x, y] : {std::pair{&a.online, &b.online}, std::pair{&a.ema, &b.ema}}) {
    double apart = 0, size = 0;
    for (std::size_t i = 0; i < x->size(); ++i) {
      const at::Tensor u = (*x)[i].second.to(at::kDouble), v = (*y)[i].second.to(at::kDouble);
      apart += (u - v).pow(2).sum().item<double>();
      size += u.pow(2).sum().item<double>();
    }
    gap.weights = std::max(gap.weights, std::sqrt(apart / size));
  }
  return gap;
}

}  // namespace cm::testing
