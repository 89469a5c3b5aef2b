// The distances between online and target outputs (core/train/losses.h).
#include "core/expect_error.h"
#include "core/train/losses.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::train;
using cm::ErrorCode;

TEST(Losses, PseudoHuberIsQuadraticForSmallAndLinearForLargeDifferences) {
  EXPECT_NEAR(pseudo_huber_c(64 * 64 * 3), 0.0598, 1e-4);  // iCT's c for 64² images
  const at::Tensor zero = at::zeros({2, 3, 4, 4});
  const double c = 0.06;
  const at::Tensor small = at::full({2, 3, 4, 4}, 1e-3), large = at::full({2, 3, 4, 4}, 10.0);
  const double small_sq = 48 * 1e-6, large_norm = std::sqrt(48.0) * 10;  // 48 values per image
  EXPECT_NEAR(distance(small, zero, Metric::PseudoHuber, c)[0].item<double>(), small_sq / (2 * c), 1e-2 * small_sq / (2 * c));
  EXPECT_NEAR(distance(large, zero, Metric::PseudoHuber, c)[1].item<double>(), large_norm - c, 1e-3);
  EXPECT_NEAR(distance(large, zero, Metric::PseudoHuber, 0.0)[0].item<double>(), large_norm, 1e-3);
  EXPECT_NEAR(distance(large, zero, Metric::L2)[0].item<double>(), 100.0, 1e-4);
  EXPECT_NEAR(distance(-large, zero, Metric::L1)[0].item<double>(), 10.0, 1e-5);
  EXPECT_CM_ERROR(distance(zero, at::zeros({2, 3}), Metric::L2), ErrorCode::ShapeMismatch, "different shapes");
  EXPECT_CM_ERROR(parse_metric("lpips"), ErrorCode::BadArgument, "l2, l1 or pseudo-huber");
}

}  // namespace
