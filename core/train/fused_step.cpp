#include "core/train/fused_step.h"

#include "core/base/error.h"
#include "core/train/flat_buffers.h"
#include "core/train/network.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <thread>

namespace cm::train {
namespace {

// Eager steps of a crop size before its capture: cuDNN's benchmark and every lazy initialisation
// (autograd, cuBLAS) must have run outside the graph.
constexpr int kEagerSteps = 2;

// How far the graphed step of a capture may lie from the same step run eagerly: both run the same
// kernels on the same inputs, so only non-deterministic reductions separate them.
constexpr double kLossTolerance = 1e-3, kUpdateTolerance = 1e-2;

double read(const at::Tensor& t, int64_t i = 0) { return t.reshape({-1})[i].item<double>(); }

}  // namespace

struct FusedStep::Slot {
  int size = 0;
  int64_t n = 0;
  at::Tensor x0, z, target;  // [n, 3, s, s]
  at::Tensor vec;            // [4, n]: σ, σ', use (0/1), λ
  int eager_steps = 0;
  std::unique_ptr<StepGraph> target_graph, online_graph;
  bool graphed = false;
  std::string why_not;  // why this crop size stays eager
};

struct FusedStep::Snapshot {
  at::Tensor param, exp_avg, exp_avg_sq, ema, steps, acc;
};

FusedStep::FusedStep(const TrainConfig& config, model::UNet& online, const std::vector<at::Tensor>& ema, const model::StateDict& moments,
                     int64_t optimizer_steps, c10::Device device, StepGraphMaker graphs)
    : config_(config), online_(online), device_(device), autocast_(config.bf16 && device.is_cuda()), graphs_(std::move(graphs)) {
  params_ = online_.parameters();
  layout_ = std::make_unique<FlatLayout>(params_);
  const at::TensorOptions floats = at::TensorOptions().dtype(at::kFloat).device(device_);
  param_ = at::zeros({layout_->numel()}, floats);
  layout_->rebind(params_, param_);
  grad_ = at::zeros_like(param_);
  exp_avg_ = at::zeros_like(param_);
  exp_avg_sq_ = at::zeros_like(param_);
  ema_ = layout_->gather(ema, floats);
  ema_views_ = layout_->views(ema_);
  // Backward accumulates into these views (AccumulateGrad adds in place to a defined .grad), so the
  // gradients land in grad_ without a copy.
  const std::vector<at::Tensor> grads = layout_->views(grad_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].requires_grad_(true);
    params_[i].mutable_grad() = grads[i];
  }
  const at::TensorOptions doubles = at::TensorOptions().dtype(at::kDouble).device(device_);
  steps_ = at::zeros({1}, doubles);
  acc_ = at::zeros({5}, doubles);
  mu_ = at::zeros({1}, doubles);
  if (!moments.empty()) load_optimizer_state(moments, optimizer_steps);
}

FusedStep::~FusedStep() = default;

FusedStep::Slot& FusedStep::slot_for(const StepDraw& d) {
  const int size = int(d.x0.size(2));
  auto& slot = slots_[size];
  if (!slot) {
    slot = std::make_unique<Slot>();
    slot->size = size;
    slot->n = d.x0.size(0);
    const at::TensorOptions floats = at::TensorOptions().dtype(at::kFloat).device(device_);
    slot->x0 = at::empty(d.x0.sizes(), floats);
    slot->z = at::empty(d.x0.sizes(), floats);
    slot->target = at::empty(d.x0.sizes(), floats);
    slot->vec = at::empty({4, slot->n}, floats);
  }
  if (d.x0.size(0) != slot->n)
    throw Error(ErrorCode::Internal, fmt::format("{} px steps of {} and of {} images in one run", size, slot->n, d.x0.size(0)));
  return *slot;
}

void FusedStep::load_inputs(Slot& s, const StepDraw& d, double ema_mu) {
  // Page-locked host copies go to CUDA without blocking; the caching host allocator keeps each
  // buffer until its copy is done.
  const bool pin = device_.is_cuda();
  s.x0.copy_(d.x0, /*non_blocking=*/true);
  s.z.copy_(d.z, /*non_blocking=*/true);
  const at::Tensor vec = at::empty({4, s.n}, at::TensorOptions().dtype(at::kFloat).pinned_memory(pin));
  vec[0].copy_(d.sigma);
  vec[1].copy_(d.target_sigma.defined() ? d.target_sigma : d.sigma);
  vec[2].copy_(d.use_target);
  vec[3].copy_(d.weight);
  s.vec.copy_(vec, /*non_blocking=*/true);
  const at::Tensor mu = at::empty({1}, at::TensorOptions().dtype(at::kDouble).pinned_memory(pin)).fill_(ema_mu);
  mu_.copy_(mu, /*non_blocking=*/true);
}

void FusedStep::step(const StepDraw& d, double ema_mu) {
  Slot& s = slot_for(d);
  load_inputs(s, d, ema_mu);
  const bool target = d.any_target();  // use_target is on the host: no sync
  if (s.graphed) {
    replay(s, target, d.dropout_seed);
  } else if (graphs_ && s.why_not.empty() && s.eager_steps >= kEagerSteps) {
    capture_and_check(s, target, d.dropout_seed);
  } else {
    run_eager(s, target, d.dropout_seed);
    ++s.eager_steps;
  }
  keep_host_close();
}

void FusedStep::run_eager(Slot& s, bool target, std::uint64_t seed) {
  if (target) {
    reseed_dropout(device_, seed);
    target_body(s);
  } else {
    s.target.copy_(s.x0);
  }
  reseed_dropout(device_, seed);
  online_body(s);
  // Whatever replaced a weight or its gradient (UNet::to, a grad set to None) would train a copy.
  const std::vector<at::Tensor> grads = layout_->views(grad_), weights = layout_->views(param_);
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i].data_ptr() != weights[i].data_ptr() || params_[i].grad().data_ptr() != grads[i].data_ptr())
      throw Error(ErrorCode::Internal, fmt::format("weight {} no longer lives in the fused step's buffers", i));
}

void FusedStep::replay(Slot& s, bool target, std::uint64_t seed) {
  // Each replay reads the default generator's seed and offset as they are now: reseeding before
  // both gives them the masks of the eager passes.
  if (target) {
    reseed_dropout(device_, seed);
    s.target_graph->replay();
  } else {
    s.target.copy_(s.x0);
  }
  reseed_dropout(device_, seed);
  s.online_graph->replay();
}

void FusedStep::capture_and_check(Slot& s, bool target, std::uint64_t seed) {
  const Snapshot before = snapshot();
  run_eager(s, target, seed);
  const Snapshot eager = snapshot();
  restore(before);
  std::string why;
  try {
    s.target_graph = graphs_();
    s.target_graph->capture([this, &s] { target_body(s); }, pool_owner_);
    if (!pool_owner_) pool_owner_ = s.target_graph.get();
    s.online_graph = graphs_();
    s.online_graph->capture([this, &s] { online_body(s); }, pool_owner_);
    replay(s, target, seed);
    const Snapshot graphed = snapshot();
    const double loss_e = read(eager.acc) - read(before.acc), loss_g = read(graphed.acc) - read(before.acc);
    const double norm_e = read(eager.acc, 3), norm_g = read(graphed.acc, 3);
    const at::Tensor step_e = eager.param - before.param, step_g = graphed.param - before.param;
    const double apart = (step_g - step_e).norm().item<double>() / std::max(step_e.norm().item<double>(), 1e-30);
    if (!(std::abs(loss_g - loss_e) <= kLossTolerance * std::abs(loss_e) + 1e-12))
      why = fmt::format("its loss {:.6g} is not the eager step's {:.6g}", loss_g, loss_e);
    else if (!(std::abs(norm_g - norm_e) <= kLossTolerance * std::abs(norm_e) + 1e-12))
      why = fmt::format("its |g| {:.6g} is not the eager step's {:.6g}", norm_g, norm_e);
    else if (!(apart <= kUpdateTolerance))
      why = fmt::format("its update lies {:.3g} (relative) from the eager step's", apart);
  } catch (const std::exception& e) {
    why = std::string("the capture failed: ") + e.what();
  }
  if (why.empty()) {
    s.graphed = true;
    return;
  }
  s.why_not = why;
  if (pool_owner_ == s.target_graph.get()) pool_owner_ = nullptr;
  s.target_graph.reset();
  s.online_graph.reset();
  restore(eager);  // the step stands as the eager pass computed it
}

void FusedStep::target_body(Slot& s) {
  const NetworkPass f = [this](const at::Tensor& x, const at::Tensor& sigma) {
    AutocastScope scope(autocast_);
    return evaluate(online_, {config_.parameterization(), config_.noise}, x, sigma, at::Tensor(), /*training=*/true);
  };
  s.target.copy_(target_pass(f, s.x0, s.z, s.vec[1], s.vec[2] > 0.5));
}

void FusedStep::online_body(Slot& s) {
  const NetworkPass f = [this](const at::Tensor& x, const at::Tensor& sigma) {
    AutocastScope scope(autocast_);
    return evaluate(online_, {config_.parameterization(), config_.noise}, x, sigma, at::Tensor(), /*training=*/true);
  };
  grad_.zero_();
  const at::Tensor loss = weighted_loss(online_pass(f, s.x0, s.z, s.vec[0]), s.target, s.vec[3], objective_metric(config_));
  loss.backward();
  update(loss.detach());
}

// Optimizer::step, clipping and ema_update over the flat buffers, with every per-step number a
// device tensor. ok = (loss and |g| finite); where it is false, every coefficient below is 0 (or
// 1 for the decay), so weights, moments, EMA and the step count stay as they were.
void FusedStep::update(const at::Tensor& loss) {
  c10::NoGradGuard no_grad;
  const OptimizerConfig& o = config_.optimizer;
  const at::Tensor norm = at::norm(grad_, 2, at::kDouble);  // accumulated in float64, as Optimizer::step, without a float64 copy
  const at::Tensor finite = at::isfinite(loss), ok = finite.logical_and(at::isfinite(norm));
  const at::Tensor one = at::ones_like(norm), zero = at::zeros_like(norm);
  const auto when_ok = [&](const at::Tensor& v, const at::Tensor& otherwise) { return at::where(ok, v, otherwise).to(at::kFloat); };
  steps_.add_(ok.to(at::kDouble));
  const at::Tensor t = at::where(ok, steps_.reshape({}), one);  // this update's number, 1-based
  const at::Tensor clip = o.grad_clip > 0 ? at::where(norm > o.grad_clip, o.grad_clip / (norm + 1e-6), one) : one;
  const at::Tensor lr = o.warmup_steps > 0 ? o.lr * at::clamp_max(t / double(o.warmup_steps), 1.0) : o.lr * one;
  const double b1 = o.beta1, b2 = o.beta2;
  const at::Tensor bias1 = 1 - at::pow(b1, t), bias2 = 1 - at::pow(b2, t);

  const at::Tensor g = at::where(ok, grad_ * clip.to(at::kFloat), at::zeros({}, grad_.options()));
  exp_avg_.mul_(when_ok(b1 * one, one)).add_(g * when_ok((1 - b1) * one, zero));
  exp_avg_sq_.mul_(when_ok(b2 * one, one)).add_(g * g * when_ok((1 - b2) * one, zero));
  if (o.kind == OptimizerKind::Adam) {
    // torch.optim.Adam: p −= lr/bias1 · m / (√v/√bias2 + eps)
    const at::Tensor denom = exp_avg_sq_.sqrt() / bias2.sqrt().to(at::kFloat) + o.eps;
    param_.sub_(exp_avg_ / denom * when_ok(lr / bias1, zero));
  } else {
    // torch.optim.RAdam: the rectified adaptive step once ρ_t > 5, a momentum step before.
    const double rho_inf = 2 / (1 - b2) - 1;
    const at::Tensor rho = rho_inf - 2 * t * at::pow(b2, t) / bias2;
    const at::Tensor adaptive = rho > 5;
    const at::Tensor rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)).sqrt();
    const at::Tensor a = when_ok(at::where(adaptive, lr * rect * bias2.sqrt() / bias1, zero), zero);
    const at::Tensor m = when_ok(at::where(adaptive, zero, lr / bias1), zero);
    param_.sub_(exp_avg_ * (a / (exp_avg_sq_.sqrt() + o.eps) + m));
  }
  ema_.lerp_(param_, when_ok(1 - mu_.reshape({}), zero));

  const at::Tensor lossd = loss.to(at::kDouble);
  acc_.narrow(0, 0, 3).add_(at::stack({at::where(finite, lossd, zero), finite.to(at::kDouble), ok.logical_not().to(at::kDouble)}));
  acc_.narrow(0, 3, 1).copy_(norm.reshape({1}));
  acc_.narrow(0, 4, 1).copy_(lr.reshape({1}));
}

StepWindow FusedStep::take_window() {
  const at::Tensor a = acc_.to(at::kCPU).clone();  // waits for every step queued (on the CPU, to() alone would alias)
  acc_.zero_();
  in_flight_.clear();
  StepWindow w;
  w.loss_sum = read(a, 0);
  w.finite = int64_t(std::llround(read(a, 1)));
  w.skipped = int64_t(std::llround(read(a, 2)));
  w.grad_norm = read(a, 3);
  w.lr = read(a, 4);
  return w;
}

// The host draws step k + 1 while the device runs step k, but no further ahead: each step's
// page-locked inputs (25 MB of noise at batch 512) live until their copy is done.
void FusedStep::keep_host_close() {
  if (!device_.is_cuda()) return;
  const c10::impl::VirtualGuardImpl impl(device_.type());
  in_flight_.emplace_back(device_.type());
  in_flight_.back().record(impl.getStream(device_));
  while (in_flight_.size() > 2) {
    while (!in_flight_.front().query()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    in_flight_.pop_front();
  }
}

FusedStep::Snapshot FusedStep::snapshot() const {
  return {param_.clone(), exp_avg_.clone(), exp_avg_sq_.clone(), ema_.clone(), steps_.clone(), acc_.clone()};
}

void FusedStep::restore(const Snapshot& s) {
  c10::NoGradGuard no_grad;
  param_.copy_(s.param);
  exp_avg_.copy_(s.exp_avg);
  exp_avg_sq_.copy_(s.exp_avg_sq);
  ema_.copy_(s.ema);
  steps_.copy_(s.steps);
  acc_.copy_(s.acc);
}

model::StateDict FusedStep::optimizer_state() const {
  model::StateDict out;
  const std::vector<at::Tensor> m = layout_->views(exp_avg_), v = layout_->views(exp_avg_sq_);
  for (std::size_t i = 0; i < m.size(); ++i) {
    out.emplace_back("exp_avg." + std::to_string(i), m[i].contiguous());
    out.emplace_back("exp_avg_sq." + std::to_string(i), v[i].contiguous());
  }
  return out;
}

int64_t FusedStep::optimizer_steps() const { return int64_t(std::llround(read(steps_))); }

void FusedStep::load_optimizer_state(const model::StateDict& state, int64_t steps) {
  std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
  c10::NoGradGuard no_grad;
  const std::vector<at::Tensor> m = layout_->views(exp_avg_), v = layout_->views(exp_avg_sq_);
  for (std::size_t i = 0; i < m.size(); ++i) {
    for (const auto& [prefix, into] : {std::pair{"exp_avg.", m[i]}, std::pair{"exp_avg_sq.", v[i]}}) {
      const std::string name = prefix + std::to_string(i);
      const auto it = by_name.find(name);
      if (it == by_name.end()) throw Error(ErrorCode::CorruptFile, "optimizer state: missing '" + name + "'");
      if (!it->second.sizes().equals(into.sizes()))
        throw Error(ErrorCode::ShapeMismatch, "optimizer state: '" + name + "' does not fit its parameter");
      into.copy_(it->second);
    }
  }
  if (state.size() != 2 * m.size())
    throw Error(ErrorCode::CorruptFile, fmt::format("optimizer state has {} tensors, expected {}", state.size(), 2 * m.size()));
  steps_.fill_(double(steps));
}

void FusedStep::reset_optimizer() {
  exp_avg_.zero_();
  exp_avg_sq_.zero_();
  steps_.zero_();
}

std::string FusedStep::describe() const {
  if (!graphs_) return "eager";
  std::string out;
  for (const auto& [size, s] : slots_) {
    if (!out.empty()) out += "; ";
    out += s->graphed ? fmt::format("{} px: CUDA graphs", size)
                      : fmt::format("{} px: eager{}", size, s->why_not.empty() ? " (not captured yet)" : " (" + s->why_not + ")");
  }
  return out.empty() ? "CUDA graphs after " + std::to_string(kEagerSteps) + " eager steps of each crop size" : out;
}

}  // namespace cm::train
