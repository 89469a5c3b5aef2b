#include "core/train/objective.h"

#include "core/base/error.h"
#include "core/train/noise_schedule.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>  // TORCH_VERSION_*: without it the guards below always take the 1.x branch

#include <mutex>

namespace cm::train {
namespace {

at::Tensor per_image(const at::Tensor& v) { return v.view({-1, 1, 1, 1}); }

// Standard normal values, as at::randn draws them (it is empty().normal_() itself), optionally in
// page-locked memory.
at::Tensor normal(c10::IntArrayRef shape, at::Generator& gen, bool pinned) {
  return at::empty(shape, at::TensorOptions().dtype(at::kFloat).pinned_memory(pinned)).normal_(0, 1, gen);
}

}  // namespace

int discretization_at(const TrainConfig& c, int64_t key) {
  switch (c.mode) {
    case TrainMode::Ct: return ict_discretization(key, c.iterations, c.ct_s0, c.ct_s1);
    case TrainMode::Cd: return c.cd_points;
    case TrainMode::Edm: return 0;
    case TrainMode::Ect: return ect_stage(key, c.ect_pretrain_steps, c.ect_stage_steps, c.ect_max_stage);
  }
  return 0;
}

Metric objective_metric(const TrainConfig& c) {
  switch (c.mode) {
    case TrainMode::Cd: return c.cd_metric;
    case TrainMode::Edm: return Metric::L2;
    case TrainMode::Ct:
    case TrainMode::Ect: return c.ct_metric;
  }
  return c.ct_metric;
}

bool StepDraw::any_target() const { return use_target.defined() && use_target.any().item<bool>(); }

namespace {

// What every objective's draw shares: this rank's slice of the batch, the batch's whole shape, and
// the step's generator. Data parallelism: this rank's images only, and every draw for the whole
// batch, cut to this rank's slice, so that a run does not depend on the number of ranks.
struct Draw {
  const DrawOptions& o;
  int64_t count;                // this rank's images
  std::vector<int64_t> whole;   // the whole batch's shape
  at::Generator gen;
  at::Tensor mine(const at::Tensor& t) const { return count == o.batch ? t : t.narrow(0, o.first, count); }
};

// ECT (Geng et al. 2024; ECMLoss in locuslab/ect; docs/MATH.md §6): one direction z for both
// points, the clean image where r reaches the boundary, weight 1/(t − r).
void draw_ect(const TrainConfig& c, Draw& w, StepDraw& d) {
  const model::NoiseRange& range = c.noise;
  const at::Tensor t = w.mine(at::exp(c.ct_p_mean + c.ct_p_std * at::randn({w.whole[0]}, w.gen)).clamp(range.sigma_min, range.sigma_max));
  const at::Tensor r = ect_r(t, discretization_at(c, w.o.stage_step), c.ect_q, c.ect_k, c.ect_b);
  d.z = w.mine(normal(w.whole, w.gen, w.o.pinned_noise));
  d.sigma = t;
  d.target_sigma = r.clamp_min(range.sigma_min);
  d.use_target = r > range.sigma_min;  // f(x, ε) = x: at the boundary the target is x0 itself
  d.weight = 1.0 / (t.to(at::kDouble) - r.to(at::kDouble)).to(at::kFloat);
}

// EDM: ln σ ~ N(P_mean, P_std²), λ(σ) = (σ² + σ_d²)/(σ·σ_d)², the target the clean image.
void draw_edm(const TrainConfig& c, Draw& w, StepDraw& d) {
  d.sigma = w.mine(at::exp(c.edm_p_mean + c.edm_p_std * at::randn({w.o.batch}, w.gen)));
  d.z = w.mine(normal(w.whole, w.gen, w.o.pinned_noise));
  const double sd2 = c.noise.sigma_data * c.noise.sigma_data;
  d.weight = (d.sigma.pow(2) + sd2) / (d.sigma.pow(2) * sd2);
  d.use_target = at::zeros({w.count}, at::kBool);
}

// iCT: adjacent points of the curriculum's grid, the target at the lower one everywhere.
void draw_ict(const TrainConfig& c, Draw& w, StepDraw& d) {
  const std::vector<double> sigmas = increasing_karras_sigmas(discretization_at(c, w.o.key), c.noise);
  const NoisePairs pairs = sample_pairs(sigmas, lognormal_pair_probabilities(sigmas, c.ct_p_mean, c.ct_p_std), w.o.batch, w.gen);
  d.z = w.mine(normal(w.whole, w.gen, w.o.pinned_noise));
  d.sigma = w.mine(pairs.sigma_high);
  d.target_sigma = w.mine(pairs.sigma_low);
  d.use_target = at::ones({w.count}, at::kBool);
  d.weight = w.mine(ict_weight(pairs));
}

}  // namespace

StepDraw draw_step(const TrainConfig& c, const DataSource& source, const DrawOptions& o) {
  if (c.mode == TrainMode::Cd) throw Error(ErrorCode::BadArgument, "draw_step serves ct, ect and edm: CD draws for its teacher");
  const int64_t count = o.count > 0 ? o.count : o.batch;
  StepDraw d;
  d.x0 = source.part_at(std::uint64_t(o.key), o.batch, o.size, o.first, count);
  Draw w{o, count, {o.batch, d.x0.size(1), d.x0.size(2), d.x0.size(3)},
         at::make_generator<at::CPUGeneratorImpl>(mix_seed(c.seed, std::uint64_t(o.key), 1))};
  d.dropout_seed = mix_seed(c.seed, std::uint64_t(o.key), 2 + 16 * std::uint64_t(o.rank));
  switch (c.mode) {
    case TrainMode::Ect: draw_ect(c, w, d); break;
    case TrainMode::Edm: draw_edm(c, w, d); break;
    case TrainMode::Ct:
    case TrainMode::Cd: draw_ict(c, w, d); break;  // (CD refused above)
  }
  return d;
}

AutocastScope::AutocastScope(bool enable) : enabled_(enable) {
  if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  previous_ = at::autocast::is_enabled();
  previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
  at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
  at::autocast::set_enabled(previous_);
  at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
}

void reseed_dropout(c10::Device device, std::uint64_t seed) {
  at::Generator gen = at::globalContext().defaultGenerator(device.is_cuda() ? device : c10::Device(at::kCPU));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
}

at::Tensor online_pass(const NetworkPass& f, const at::Tensor& x0, const at::Tensor& z, const at::Tensor& sigma) {
  return f(x0 + per_image(sigma) * z, sigma);
}

at::Tensor target_pass(const NetworkPass& f, const at::Tensor& x0, const at::Tensor& z, const at::Tensor& target_sigma,
                       const at::Tensor& use) {
  c10::NoGradGuard no_grad;
  return at::where(per_image(use), f(x0 + per_image(target_sigma) * z, target_sigma), x0);
}

at::Tensor weighted_loss(const at::Tensor& online, const at::Tensor& target, const at::Tensor& weight, Metric metric) {
  return (weight * distance(online, target.detach(), metric, pseudo_huber_c(online[0].numel()))).mean();
}

}  // namespace cm::train
