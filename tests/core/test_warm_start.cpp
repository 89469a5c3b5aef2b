// Warm-started edits (issue 16): the initial estimates (core/edit/estimates.h), strength ↔ σ, the
// warm start against the analytic model's closed form, and re-noising. The edit registry that
// drives the engine is test_edit_registry.cpp.
#include "core/analytic_model.h"
#include "core/base/cancel.h"
#include "core/edit/edits.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/expect_error.h"
#include "core/sampling/consistency_loop.h"
#include "core/sampling/schedule.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using cm::ErrorCode;
using cm::testing::box_mask;
using cm::testing::max_abs_diff;
namespace edit = cm::edit;
namespace sampling = cm::sampling;

TEST(Estimates, AHoleInAPlaneIsFilledWithThePlaneAndKnownPixelsStayExact) {
  // The membrane fill of a linear function is that function: the fill is only as wrong as the
  // pyramid's few sweeps leave it.
  const at::Tensor ramp = at::linspace(-0.8, 0.8, 64).view({1, 1, 1, 64}).expand({1, 3, 64, 64}).contiguous();
  const at::Tensor hole = box_mask(64, 20, 16, 24, 30);
  const at::Tensor holed = at::where(hole.expand_as(ramp) > 0, at::full_like(ramp, 0.9), ramp);  // garbage inside
  const at::Tensor filled = edit::fill_holes(holed, hole <= 0);
  EXPECT_TRUE(at::equal(at::where(hole.expand_as(ramp) > 0, at::zeros_like(ramp), filled),
                        at::where(hole.expand_as(ramp) > 0, at::zeros_like(ramp), ramp)));
  EXPECT_LT(max_abs_diff(filled, ramp), 0.03);
  EXPECT_EQ(edit::fill_holes(holed, at::zeros({1, 1, 64, 64})).abs().max().item<double>(), 0.0);  // nothing known: grey
}

// A superseded preview stops inside a fill: a 50 MP photo's can take a second or more.
TEST(Estimates, AFillStopsBetweenSweepsWhenCancelled) {
  const at::Tensor image = at::rand({1, 3, 256, 256}) * 2 - 1;
  const at::Tensor hole = box_mask(256, 60, 60, 136, 136);
  int polls = 0;
  {
    const cm::CancelScope stop([&polls] { return ++polls > 3; });
    EXPECT_CM_ERROR(edit::fill_holes(image, hole <= 0), ErrorCode::Cancelled, "");
  }
  EXPECT_EQ(polls, 4) << "asked once a sweep, and stopped at the first yes";
}

// On the CPU the membrane's sweeps are a loop over the unknown pixels instead of a dozen
// whole-level tensor ops a sweep (4.1 s of a wide stroke's draft on 50 MP): the same floats, bit
// for bit, at the edges (replicated), with several images and channels, and unknown pixels in
// runs of every length.
TEST(Estimates, TheMembranesLoopOnTheCpuGivesTheSameFloatsAsTheTensorOps) {
  at::manual_seed(3);
  const at::Tensor values = at::rand({2, 3, 37, 53}) * 2 - 1;
  const at::Tensor known = at::rand({2, 1, 37, 53}) > 0.7;  // most unknown, the edges too
  const at::Tensor x = at::where(known.expand_as(values), values, at::rand_like(values) - 0.5);
  const at::Tensor fused = edit::detail::membrane_sweeps(x, known, 9, true);
  const at::Tensor ops = edit::detail::membrane_sweeps(x, known, 9, false);
  EXPECT_TRUE(at::equal(fused, ops)) << max_abs_diff(fused, ops);
  EXPECT_TRUE(at::equal(at::where(known.expand_as(x), fused, x), x)) << "the known pixels as given";
  EXPECT_GT(max_abs_diff(fused, x), 0.1) << "the unknown ones swept";
}

TEST(Estimates, AGuideStopsTheFillAtItsEdges) {
  // Left half dark guide, right half bright; a red hint on each side of the edge at the top.
  at::Tensor guide = at::zeros({1, 1, 32, 32});
  guide.narrow(3, 16, 16).fill_(1);
  at::Tensor values = at::zeros({1, 1, 32, 32});
  at::Tensor known = at::zeros({1, 1, 32, 32});
  values[0][0][0][2] = -1, known[0][0][0][2] = 1;
  values[0][0][0][29] = 1, known[0][0][0][29] = 1;
  const at::Tensor guided = edit::fill_holes(values, known, guide, 0.05);
  EXPECT_LT(guided.narrow(3, 0, 14).mean().item<double>(), -0.8);  // the left half takes the left hint
  EXPECT_GT(guided.narrow(3, 18, 14).mean().item<double>(), 0.8);
  EXPECT_LT(guided.narrow(3, 0, 14).max().item<double>(), -0.6);
  EXPECT_GT(guided.narrow(3, 18, 14).min().item<double>(), 0.6);
  const at::Tensor plain = edit::fill_holes(values, known);
  EXPECT_GT(plain.narrow(3, 14, 4).abs().max().item<double>(), 0.0);
  EXPECT_LT(plain.narrow(3, 14, 4).abs().max().item<double>(), 0.5);  // without a guide they blend across
}

TEST(Estimates, UpsamplingKeepsEveryPatchMeanAndIsBetterThanNearest) {
  const at::Tensor truth = cm::testing::smooth_photo(64, 64);
  for (int k : {2, 4, 8}) {
    const at::Tensor low = at::avg_pool2d(truth, {k, k});
    const at::Tensor up = edit::upsample_keeping_means(low, k);
    ASSERT_EQ(up.sizes(), truth.sizes());
    EXPECT_LT(max_abs_diff(at::avg_pool2d(up, {k, k}), low), 1e-5) << k;
    const at::Tensor nearest = low.repeat_interleave(k, 2).repeat_interleave(k, 3);
    EXPECT_LT((up - truth).pow(2).mean().item<double>(), 0.5 * (nearest - truth).pow(2).mean().item<double>()) << k;
  }
}

TEST(Estimates, ChromaPropagationKeepsLumaAndHints) {
  const at::Tensor photo = cm::testing::smooth_photo(32, 32);
  const edit::LumaChromaOperator op;
  const at::Tensor grey = edit::propagate_chroma(photo, at::Tensor(), at::Tensor());
  EXPECT_LT(max_abs_diff(op.forward(grey).narrow(1, 0, 1), op.forward(photo).narrow(1, 0, 1)), 1e-5);
  EXPECT_LT(max_abs_diff(grey.narrow(1, 0, 1), grey.narrow(1, 1, 1)), 1e-6);  // no hints: grey, R = G = B
  EXPECT_LT(max_abs_diff(grey.narrow(1, 2, 1), grey.narrow(1, 1, 1)), 1e-6);
  at::Tensor hint_mask = at::zeros({1, 1, 32, 32});
  hint_mask.narrow(2, 10, 3).narrow(3, 10, 3).fill_(1);
  const at::Tensor coloured = edit::propagate_chroma(photo, photo, hint_mask);
  EXPECT_LT(max_abs_diff(op.forward(coloured).narrow(1, 0, 1), op.forward(photo).narrow(1, 0, 1)), 1e-5);
  const at::Tensor chroma = op.forward(coloured).narrow(1, 1, 2) - op.forward(grey).narrow(1, 1, 2);
  const at::Tensor truth = op.forward(photo).narrow(1, 1, 2) - op.forward(grey).narrow(1, 1, 2);
  EXPECT_LT(max_abs_diff(chroma.narrow(2, 10, 3).narrow(3, 10, 3), truth.narrow(2, 10, 3).narrow(3, 10, 3)), 1e-5);
  EXPECT_GT(chroma.narrow(2, 0, 5).abs().mean().item<double>(), 0.01);  // spread beyond the hints
}

// One red hint on a dragonfly turned a whole 12 MP photo of leaves red: as a membrane, the one
// colour known anywhere is the whole fill, whatever the edges. A hint's colour now stays on its
// side of a strong edge and fades with the distance on a flat one, and the model's own colour
// comes where it has gone.
TEST(Estimates, AHintsColourStaysOnItsSideOfAnEdgeAndFadesWithDistance) {
  const int64_t n = 96;
  // Dark on the left, light on the right: one strong luma edge at x = 48.
  at::Tensor photo = at::full({1, 3, n, n}, -0.6);
  photo.narrow(3, 48, 48).fill_(0.5);
  at::Tensor hints = at::zeros({1, 3, n, n});
  hints.select(1, 0).fill_(0.4);  // red, over the dark half's grey
  hints.select(1, 1).fill_(-0.8);
  hints.select(1, 2).fill_(-0.8);
  at::Tensor hint_mask = at::zeros({1, 1, n, n});
  hint_mask.narrow(2, 46, 4).narrow(3, 8, 4).fill_(1);
  const edit::LumaChromaOperator op;
  const at::Tensor grey = edit::propagate_chroma(photo, at::Tensor(), at::Tensor());
  const at::Tensor chroma = (op.forward(edit::propagate_chroma(photo, hints, hint_mask)) - op.forward(grey)).narrow(1, 1, 2).abs().sum(1);
  const double at_hint = chroma[0][47][9].item<double>();
  ASSERT_GT(at_hint, 0.1);
  EXPECT_LT(chroma[0][47][80].item<double>(), 0.05 * at_hint) << "the colour crossed the edge";
  // Along the flat half, away from the hint: less and less.
  const double near = chroma[0][47][24].item<double>(), far = chroma[0][0][44].item<double>();
  EXPECT_GT(near, 0.25 * at_hint);
  EXPECT_LT(far, 0.9 * near) << "near " << near << ", far " << far;  // as a membrane: equal
}

TEST(Strength, MapsZeroToEpsilonOneToTExactlyOnALogScale) {
  const cm::model::NoiseRange range;
  EXPECT_DOUBLE_EQ(sampling::sigma_for_strength(0, range), 0.002);
  EXPECT_EQ(sampling::sigma_for_strength(1, range), 80.0);
  EXPECT_NEAR(sampling::sigma_for_strength(0.5, range), std::sqrt(0.002 * 80.0), 1e-9);  // the geometric mean
  for (double s : {0.1, 0.37, 0.9}) EXPECT_NEAR(sampling::strength_for_sigma(sampling::sigma_for_strength(s, range), range), s, 1e-12);
  EXPECT_CM_ERROR(sampling::sigma_for_strength(1.2, range), ErrorCode::BadArgument, "strength must lie in 0…100 %");
}

TEST(WarmStart, OneStepFromAnEstimateMatchesTheClosedForm) {
  // Inpainting a constant photo v: the estimate is v, x = v + √(σ²−ε²)·z, and the analytic
  // f gives μ + (x − μ)·k(σ): mean μ + (v − μ)·k, spread √(σ²−ε²)·k inside the hole.
  const auto f = cm::testing::analytic_model(64);
  const double v = -0.4, sigma = 0.3, eps = 0.002, k = cm::testing::analytic_gain(sigma);
  const at::Tensor photo = at::full({1, 3, 64, 64}, v);
  const at::Tensor hole = box_mask(64, 8, 8, 48, 48);
  edit::EditSettings s;
  s.schedule = sampling::karras_schedule(1, sigma);
  s.warm_start = true;
  s.keep_in_range = false;
  const at::Tensor out = edit::inpaint(f, photo, hole, s);
  const at::Tensor inside = out.masked_select(hole.expand_as(out) > 0);
  const double mean = cm::testing::kDataMean + (v - cm::testing::kDataMean) * k;
  EXPECT_NEAR(inside.mean().item<double>(), mean, 0.01);
  EXPECT_NEAR(inside.std().item<double>(), std::sqrt(sigma * sigma - eps * eps) * k, 0.01);
  EXPECT_TRUE(at::equal(out.masked_select(hole.expand_as(out) == 0), photo.masked_select(hole.expand_as(out) == 0)));
  // A cold start at the same σ begins from the zeroed hole instead: its mean is μ − μ·k.
  s.warm_start = false;
  const at::Tensor cold = edit::inpaint(f, photo, hole, s).masked_select(hole.expand_as(out) > 0);
  EXPECT_NEAR(cold.mean().item<double>(), cm::testing::kDataMean * (1 - k), 0.01);
}

TEST(WarmStart, AllFreshNoiseIsThePublishedLoopAndLessFreshNoiseChangesIt) {
  const auto f = cm::testing::analytic_model(16);
  const at::Tensor start = at::zeros({2, 3, 16, 16});
  const auto noise = [](int draw) { return at::randn({2, 3, 16, 16}, at::make_generator<at::CPUGeneratorImpl>(draw + 7)); };
  sampling::Schedule schedule = sampling::karras_schedule(3, 80.0);
  const at::Tensor published = sampling::run_consistency_loop(f, start, schedule, noise);
  schedule.fresh_noise = 1;
  EXPECT_TRUE(at::equal(sampling::run_consistency_loop(f, start, schedule, noise), published));
  schedule.fresh_noise = 0.1;
  const at::Tensor renoised = sampling::run_consistency_loop(f, start, schedule, noise);
  EXPECT_GT(max_abs_diff(renoised, published), 1e-3);
  EXPECT_TRUE(renoised.isfinite().all().item<bool>());
  schedule.fresh_noise = 0;
  EXPECT_CM_ERROR(sampling::run_consistency_loop(f, start, schedule, noise), ErrorCode::BadArgument, "fresh noise");
}

}  // namespace
