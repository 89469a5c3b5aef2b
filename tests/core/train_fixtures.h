// Shared pieces of the training tests: Gaussian data with a known consistency function, and a
// network small enough to train for a few hundred steps in seconds on a CPU.
#pragma once

#include "core/analytic_model.h"
#include "core/model/unet_config.h"
#include "core/train/data_source.h"
#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace cm::testing {

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

}  // namespace cm::testing
