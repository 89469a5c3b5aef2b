#include "core/train/optimizer.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <cmath>
#include <map>

namespace cm::train {

const char* to_string(OptimizerKind k) { return k == OptimizerKind::Adam ? "adam" : "radam"; }

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "radam") return OptimizerKind::RAdam;
  throw Error(ErrorCode::BadArgument, "unknown optimizer '" + name + "' (expected adam or radam)");
}

void OptimizerConfig::validate() const {
  const auto bad = [](const std::string& what) { throw Error(ErrorCode::BadArgument, what); };
  if (!(lr > 0 && std::isfinite(lr))) bad(fmt::format("learning rate must be > 0, got {}", lr));
  if (!(beta1 >= 0 && beta1 < 1)) bad(fmt::format("beta1 must lie in [0, 1), got {}", beta1));
  if (!(beta2 >= 0 && beta2 < 1)) bad(fmt::format("beta2 must lie in [0, 1), got {}", beta2));
  if (!(eps > 0)) bad(fmt::format("eps must be > 0, got {}", eps));
  if (warmup_steps < 0) bad("warm-up steps must be ≥ 0");
  if (!(grad_clip >= 0)) bad(fmt::format("gradient clipping norm must be ≥ 0, got {}", grad_clip));
}

Optimizer::Optimizer(OptimizerConfig config, std::vector<at::Tensor> params)
    : config_(config), params_(std::move(params)) {
  config_.validate();
  for (const at::Tensor& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
  }
}

double Optimizer::learning_rate(int64_t step_index) const {
  if (config_.warmup_steps <= 0) return config_.lr;
  return config_.lr * std::min(1.0, double(step_index + 1) / double(config_.warmup_steps));
}

StepReport Optimizer::step() {
  c10::NoGradGuard no_grad;
  StepReport report;
  report.lr = learning_rate(steps_);

  at::Tensor norm_sq = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(params_.empty() ? at::kCPU : params_[0].device()));
  for (const at::Tensor& p : params_)
    if (p.grad().defined()) norm_sq += p.grad().to(at::kDouble).pow(2).sum();
  report.grad_norm = std::sqrt(norm_sq.item<double>());
  if (!std::isfinite(report.grad_norm)) {
    report.skipped = true;
    for (const at::Tensor& p : params_)
      if (p.grad().defined()) p.mutable_grad().zero_();
    return report;
  }
  const double clip = (config_.grad_clip > 0 && report.grad_norm > config_.grad_clip)
                          ? config_.grad_clip / (report.grad_norm + 1e-6)
                          : 1.0;

  ++steps_;
  const double b1 = config_.beta1, b2 = config_.beta2, t = double(steps_);
  const double bias1 = 1 - std::pow(b1, t), bias2 = 1 - std::pow(b2, t);
  // RAdam's variance rectification (Liu et al. 2020, as torch.optim.RAdam): the adaptive step is
  // used only once the variance of the adaptive rate is tractable (ρ_t > 5).
  const double rho_inf = 2 / (1 - b2) - 1;
  const double rho_t = rho_inf - 2 * t * std::pow(b2, t) / bias2;
  const bool adaptive = config_.kind == OptimizerKind::Adam || rho_t > 5;
  const double rect = config_.kind == OptimizerKind::Adam
                          ? 1.0
                          : (adaptive ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0.0);

  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor g = p.grad().defined() ? p.grad() * clip : at::zeros_like(p);
    exp_avg_[i].mul_(b1).add_(g, 1 - b1);
    exp_avg_sq_[i].mul_(b2).addcmul_(g, g, 1 - b2);
    if (config_.kind == OptimizerKind::Adam) {
      // torch.optim.Adam: p −= lr/bias1 · m / (√v/√bias2 + eps)
      const at::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bias2)).add_(config_.eps);
      p.addcdiv_(exp_avg_[i], denom, -report.lr / bias1);
    } else if (adaptive) {
      // torch.optim.RAdam: p −= lr · m/bias1 · rect · √bias2 / (√v + eps)
      const at::Tensor denom = exp_avg_sq_[i].sqrt().add_(config_.eps);
      p.addcdiv_(exp_avg_[i], denom, -report.lr * rect * std::sqrt(bias2) / bias1);
    } else {
      p.add_(exp_avg_[i], -report.lr / bias1);
    }
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  return report;
}

model::StateDict Optimizer::state() const {
  model::StateDict out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + std::to_string(i), exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + std::to_string(i), exp_avg_sq_[i]);
  }
  return out;
}

void Optimizer::load_state(const model::StateDict& state, int64_t steps_taken) {
  std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
  c10::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    for (auto* list : {&exp_avg_, &exp_avg_sq_}) {
      const std::string name = (list == &exp_avg_ ? "exp_avg." : "exp_avg_sq.") + std::to_string(i);
      const auto it = by_name.find(name);
      if (it == by_name.end()) throw Error(ErrorCode::CorruptFile, "optimizer state: missing '" + name + "'");
      if (!it->second.sizes().equals((*list)[i].sizes()))
        throw Error(ErrorCode::ShapeMismatch, "optimizer state: '" + name + "' does not fit its parameter");
      (*list)[i].copy_(it->second);
    }
  }
  if (state.size() != 2 * params_.size())
    throw Error(ErrorCode::CorruptFile, fmt::format("optimizer state has {} tensors, expected {}", state.size(), 2 * params_.size()));
  steps_ = steps_taken;
}

}  // namespace cm::train
