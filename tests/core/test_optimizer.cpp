// Adam and RAdam with warm-up and clipping (core/train/optimizer.h).
#include "core/expect_error.h"
#include "core/train/optimizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;

// A small least-squares problem: gradients that change every step.
at::Tensor quadratic_loss(const at::Tensor& w, int step) {
  const at::Tensor target = at::arange(6, at::kFloat).view({2, 3}) * (1 + 0.1 * step);
  return (w * w.sum() - target).pow(2).sum();
}

TEST(Optimizer, AdamMatchesTorchAdamStepForStep) {
  at::Tensor ours = (at::ones({2, 3}) * 0.3).requires_grad_(true);
  at::Tensor theirs = ours.detach().clone().requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.lr = 0.01;
  c.grad_clip = 0;
  Optimizer mine(c, {ours});
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(0.01));
  for (int step = 0; step < 20; ++step) {
    quadratic_loss(ours, step).backward();
    mine.step();
    reference.zero_grad();
    quadratic_loss(theirs, step).backward();
    reference.step();
    ASSERT_TRUE(at::allclose(ours, theirs, 1e-6, 1e-7)) << "step " << step;
  }
}

TEST(Optimizer, RAdamTakesMomentumStepsUntilTheVarianceIsTractableThenRectifiedOnes) {
  at::Tensor w = at::zeros({1}).requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::RAdam;
  c.lr = 0.1;
  c.grad_clip = 0;
  Optimizer opt(c, {w});
  // Constant gradient 1: m̂ = 1 and v̂ = 1 at every step. ρ_t ≤ 5 for t ≤ 5 (β₂ = 0.999): plain
  // momentum steps of lr·m̂; from t = 6 on, steps of lr·r_t·m̂/(√v̂ + ε′).
  double expected = 0;
  for (int t = 1; t <= 12; ++t) {
    w.mutable_grad() = at::ones({1});
    opt.step();
    const double b2 = 0.999, rho_inf = 2 / (1 - b2) - 1, bias2 = 1 - std::pow(b2, t);
    const double rho = rho_inf - 2 * t * std::pow(b2, t) / bias2;
    if (rho > 5) {
      const double r = std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
      expected -= 0.1 * r * std::sqrt(bias2) / (std::sqrt(bias2) + 1e-8);
    } else {
      expected -= 0.1;
    }
    ASSERT_NEAR(w.item<double>(), expected, 1e-6) << "t = " << t;
  }
}

TEST(Optimizer, ClipsTheGlobalNormWarmsUpAndSkipsNonFiniteGradients) {
  at::Tensor a = at::zeros({3}).requires_grad_(true), b = at::zeros({4}).requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.lr = 1.0;
  c.warmup_steps = 4;
  c.grad_clip = 1.0;
  Optimizer opt(c, {a, b});
  EXPECT_DOUBLE_EQ(opt.learning_rate(0), 0.25);
  EXPECT_DOUBLE_EQ(opt.learning_rate(3), 1.0);
  EXPECT_DOUBLE_EQ(opt.learning_rate(100), 1.0);
  a.mutable_grad() = at::full({3}, 3.0);
  b.mutable_grad() = at::full({4}, 4.0);
  const StepReport r = opt.step();
  EXPECT_NEAR(r.grad_norm, std::sqrt(9 * 3 + 16 * 4.0), 1e-9);
  EXPECT_DOUBLE_EQ(r.lr, 0.25);
  EXPECT_FALSE(r.skipped);
  EXPECT_FALSE(a.grad().defined() && a.grad().abs().sum().item<double>() != 0);  // grads are zeroed
  // Adam's first step moves every coordinate by lr whatever the (clipped) gradient's size.
  EXPECT_TRUE(at::allclose(a, at::full({3}, -0.25), 1e-5));

  const at::Tensor before = a.detach().clone();
  a.mutable_grad() = at::full({3}, NAN);
  const StepReport bad = opt.step();
  EXPECT_TRUE(bad.skipped);
  EXPECT_TRUE(at::equal(a.detach(), before));
  EXPECT_EQ(opt.steps_taken(), 1);
}

TEST(Optimizer, StateRoundTripsAndBadConfigsAreRefused) {
  at::Tensor w = at::zeros({2}).requires_grad_(true);
  Optimizer opt({}, {w});
  w.mutable_grad() = at::ones({2});
  opt.step();
  at::Tensor w2 = w.detach().clone().requires_grad_(true);
  Optimizer copy({}, {w2});
  copy.load_state(opt.state(), opt.steps_taken());
  w.mutable_grad() = at::full({2}, 0.5);
  w2.mutable_grad() = at::full({2}, 0.5);
  opt.step();
  copy.step();
  EXPECT_TRUE(at::equal(w, w2));
  EXPECT_CM_ERROR(copy.load_state({}, 1), ErrorCode::CorruptFile, "missing 'exp_avg.0'");

  OptimizerConfig c;
  c.lr = 0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "learning rate must be > 0");
  c = {};
  c.beta2 = 1.0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "beta2");
  EXPECT_CM_ERROR(parse_optimizer("sgd"), ErrorCode::BadArgument, "adam or radam");
}

}  // namespace
