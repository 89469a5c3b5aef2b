// The EMA update (core/train/ema.h).
#include "core/expect_error.h"
#include "core/train/ema.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using cm::train::ema_update;

TEST(Ema, MovesTowardTheModelByOneMinusMu) {
  std::vector<at::Tensor> avg = {at::zeros({4}), at::full({2, 2}, 10.0)};
  const std::vector<at::Tensor> cur = {at::ones({4}), at::zeros({2, 2})};
  ema_update(avg, cur, 0.9);
  EXPECT_TRUE(at::allclose(avg[0], at::full({4}, 0.1)));
  EXPECT_TRUE(at::allclose(avg[1], at::full({2, 2}, 9.0)));
}

TEST(Ema, RepeatedUpdatesFollowTheGeometricSeries) {
  // After k updates toward a constant 1 from 0: 1 − μᵏ.
  std::vector<at::Tensor> avg = {at::zeros({3})};
  const std::vector<at::Tensor> cur = {at::ones({3})};
  for (int k = 0; k < 20; ++k) ema_update(avg, cur, 0.95);
  EXPECT_NEAR(avg[0][0].item<double>(), 1.0 - std::pow(0.95, 20), 1e-6);
}

TEST(Ema, LeavesTheModelUntouchedAndWorksOnParameters) {
  at::Tensor param = at::ones({3}).requires_grad_(true);
  std::vector<at::Tensor> avg = {at::zeros({3})};
  ema_update(avg, {param}, 0.5);
  EXPECT_TRUE(at::allclose(param.detach(), at::ones({3})));
  EXPECT_FALSE(avg[0].requires_grad());
}

TEST(Ema, RejectsMismatchesAndBadRates) {
  std::vector<at::Tensor> avg = {at::zeros({3})};
  EXPECT_CM_ERROR(ema_update(avg, {at::zeros({4})}, 0.9), cm::ErrorCode::ShapeMismatch, "tensor 0");
  EXPECT_CM_ERROR(ema_update(avg, {}, 0.9), cm::ErrorCode::ShapeMismatch, "EMA has 1 tensors but the model has 0");
  EXPECT_CM_ERROR(ema_update(avg, {at::zeros({3})}, 1.5), cm::ErrorCode::BadArgument, "[0, 1]");
}

}  // namespace
