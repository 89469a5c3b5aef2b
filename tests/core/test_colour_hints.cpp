// Colour hints spread along a photo's edges (core/edit/geodesic_distance.h, estimates.h's
// spread_hints, region.h's colorize_photo), with the analytic model at 64 px.
#include "core/analytic_model.h"
#include "core/edit/estimates.h"
#include "core/edit/geodesic_distance.h"
#include "core/edit/linear_operator.h"
#include "core/edit/region.h"
#include "core/expect_error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace cm::edit;
using cm::ErrorCode;

TEST(GeodesicDistance, OnAFlatGuideItIsTheChamferDistance) {
  const at::Tensor flat = at::zeros({1, 1, 40, 60});
  at::Tensor seed = at::zeros({1, 1, 40, 60});
  seed[0][0][10][5] = 1;
  const at::Tensor d = geodesic_distance(flat, seed, 0.05, 100);
  EXPECT_EQ(d[0][0][10][5].item<float>(), 0.f);
  EXPECT_FLOAT_EQ(d[0][0][10][45].item<float>(), 40.f);                      // straight along a row
  EXPECT_FLOAT_EQ(d[0][0][30][25].item<float>(), 20.f * std::sqrt(2.f));   // the diagonal
  // Any pixel: within the 8-neighbour chamfer's 8 % of the Euclidean distance.
  const at::Tensor y = at::arange(40, at::kFloat).view({1, 1, 40, 1}) - 10, x = at::arange(60, at::kFloat).view({1, 1, 1, 60}) - 5;
  const at::Tensor euclid = (y * y + x * x).sqrt();
  EXPECT_TRUE(at::all(d >= euclid - 1e-4).item<bool>());
  EXPECT_TRUE(at::all(d <= euclid * 1.09 + 1e-4).item<bool>());
  EXPECT_TRUE(at::all(at::isinf(geodesic_distance(flat, at::zeros_like(seed), 0.05, 100))).item<bool>());
  EXPECT_CM_ERROR(geodesic_distance(flat, at::zeros({1, 1, 40, 59}), 0.05, 100), ErrorCode::ShapeMismatch,
                  "the seeds of a geodesic distance must have the guide's size");
}

// A bright bar across a dark field: each of its two edges costs edge_cost times −log of Levin's
// weight on each of the three steps whose span (four pixels) holds it, and going round the bar,
// where it leaves a gap, only the way round.
TEST(GeodesicDistance, AnEdgeCostsItsWeightAndAGapIsTheWayRound) {
  const double sigma = 0.05, edge_cost = 100;
  at::Tensor guide = at::zeros({1, 1, 50, 50});
  guide.narrow(2, 20, 4).narrow(3, 0, 50).fill_(0.5);  // a full-width bar, rows 20–23
  at::Tensor seed = at::zeros({1, 1, 50, 50});
  seed[0][0][5][25] = 1;
  const double edge = edge_cost * 0.5 * 0.5 / (2 * sigma * sigma);
  const at::Tensor across = geodesic_distance(guide, seed, sigma, edge_cost);
  EXPECT_NEAR(across[0][0][21][25].item<double>(), 16 + 3 * edge, 1e-2);  // into the bar: one edge
  EXPECT_NEAR(across[0][0][40][25].item<double>(), 35 + 6 * edge, 1e-2);  // beyond it: two
  guide.narrow(2, 20, 4).narrow(3, 0, 10).fill_(0);  // a gap on the left
  const at::Tensor round = geodesic_distance(guide, seed, sigma, edge_cost);
  EXPECT_LT(round[0][0][40][25].item<double>(), 70);  // round through the gap
  EXPECT_GT(round[0][0][21][25].item<double>(), edge);  // the bar itself is still across an edge
}

// The same bar with soft edges, its contrast climbed in steps each within the tolerance: still
// a wall (when each step was weighed alone, it cost nothing, and a pole's anti-aliased edge let a
// sky's blue onto it).
TEST(GeodesicDistance, ASoftEdgeIsStillAWall) {
  const double sigma = 0.05, edge_cost = 100, tolerance = 0.2;
  at::Tensor sharp = at::zeros({1, 1, 50, 50}), soft = at::zeros({1, 1, 50, 50});
  sharp.narrow(2, 20, 10).fill_(0.6);
  soft.narrow(2, 20, 10).fill_(0.6);
  for (int r = 0; r < 3; ++r) soft.narrow(2, 17 + r, 1).fill_(0.15 * (r + 1)), soft.narrow(2, 32 - r, 1).fill_(0.15 * (r + 1));
  at::Tensor seed = at::zeros({1, 1, 50, 50});
  seed[0][0][2][25] = 1;
  const double wall = edge_cost * 0.4 * 0.4 / (2 * sigma * sigma);  // (0.6 − tolerance)² a step
  for (const at::Tensor& guide : {sharp, soft}) {
    const at::Tensor d = geodesic_distance(guide, seed, sigma, edge_cost, tolerance);
    EXPECT_GT(d[0][0][25][25].item<double>(), 23 + wall / 2);  // into the bar: at least half a sharp edge's cost
    // Within the tolerance (a texture's contrast) a step costs its length only.
    EXPECT_FLOAT_EQ(geodesic_distance(guide, seed, sigma, edge_cost, 0.61)[0][0][25][25].item<float>(), 23.f);
  }
}

// A bird's pale breast against the blur behind it (what a user saw: a grey 20 MP photo of a
// nuthatch, one red dab inside the bird turned the blur and the trunk beside it red): the two
// meet with the same luma, one detailed and the other smooth. The change of texture is the edge.
TEST(ColourHints, AHintOnADetailedObjectStaysOffTheSmoothBlurItMeets) {
  const int64_t h = 160, w = 320;
  const at::Tensor y = at::arange(h, at::kFloat).view({h, 1}), x = at::arange(w, at::kFloat).view({1, w});
  // Feathers: a fixed pseudo-random pattern of ±0.04 around the blur's grey, each step within the
  // luma's tolerance, so that only the texture tells them apart.
  const at::Tensor hash = at::sin(x * 12.9898 + y * 78.233) * 43758.5453;
  const at::Tensor detail = 0.08 * (hash - hash.floor() - 0.5);
  const auto spread_from_left = [&](const at::Tensor& grey) {
    const at::Tensor rgb = grey.view({1, 1, h, w}).expand({1, 3, h, w}).contiguous();
    at::Tensor where = at::zeros({1, 1, h, w});
    where.narrow(2, 70, 20).narrow(3, 10, 20).fill_(1);  // a dab on the left
    const at::Tensor red = at::tensor({0.8f, -0.4f, -0.4f}).view({1, 3, 1, 1}).expand({1, 3, h, w}).contiguous();
    return spread_hints(rgb, red, where).amount[0][0];
  };
  const at::Tensor left = (x < 120).expand({h, w}), right = (x >= 160).expand({h, w});
  const auto mean_where = [](const at::Tensor& a, const at::Tensor& where) { return a.masked_select(where).mean().item<double>(); };
  // Detail on the left, the blur on the right.
  const at::Tensor object = spread_from_left(at::where(left.logical_or(x < 140), 0.2 + detail, at::full({}, 0.2f)));
  EXPECT_GT(mean_where(object, left), 0.6) << "the detail the dab was painted in";
  // Where the detail happens to be smoothest the texture's edge is weakest, and that is where the
  // colour crosses: 0.085 here, against 0.50 with the luma alone.
  EXPECT_LT(mean_where(object, right), 0.15) << "the blur beside it took the dab's colour";
  // Detail everywhere: its texture is no edge, and the colour fades with the distance only.
  const at::Tensor whole = spread_from_left(0.2 + detail);
  EXPECT_GT(mean_where(whole, right), 0.4);
  EXPECT_LT(mean_where(whole, right), mean_where(whole, left));
}

// A grey sky 2048 px wide with a white pole 24 px thick across it. At the model's 64 px the pole is
// a pixel of mixed sky, so a blue hint in the sky came back on the pole too (what a user saw: pool
// photo 00006, 12 MP, its white poles blue). The hints are now spread where the pole has its edges.
TEST(ColourHints, AHintInASkyLeavesAThinWhitePoleAcrossItWhite) {
  const auto f = cm::testing::analytic_model(64);
  const int64_t h = 1024, w = 2048;
  const at::Tensor rows = at::arange(h, at::kFloat).view({h, 1}), cols = at::arange(w, at::kFloat).view({1, w});
  // The sky darkens slowly upward; the pole runs from the left edge down to the right.
  at::Tensor grey = (0.1 + 0.2 * rows / h).expand({h, w}).clone();
  const at::Tensor on_pole = ((rows - 200 - cols * 0.3).abs() < 12).expand({h, w});
  grey = at::where(on_pole, at::full({}, 0.8), grey);
  const at::Tensor photo = grey.view({1, 1, h, w}).expand({1, 3, h, w}).contiguous();
  at::Tensor hint_mask = at::zeros({1, 1, h, w});
  hint_mask.narrow(2, 600, 12).narrow(3, 200, 600).fill_(1);  // a stroke in the sky below the pole
  const at::Tensor hints = at::tensor({-0.4f, 0.1f, 0.7f}).view({1, 3, 1, 1}).expand({1, 3, h, w}).contiguous();
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.14);
  s.warm_start = true;
  s.seed = 3;
  const LumaChromaOperator op;
  const auto chroma = [&](const at::Tensor& rgb) { return (op.forward(rgb) - op.forward(grey_of(rgb))).narrow(1, 1, 2); };
  // How far the colour is from the hint's, and from the model's own (the colour without hints).
  const at::Tensor out = region::colorize_photo(f, photo, s, hints, hint_mask);
  const at::Tensor from_hint = (chroma(out) - chroma(hints)).abs().sum(1, true);
  const at::Tensor from_own = (chroma(out) - chroma(region::colorize_photo(f, photo, s))).abs().sum(1, true);
  const double apart = chroma(hints).abs().sum(1, true)[0][0][0][0].item<double>();  // the hint from grey
  const auto mean_where = [&](const at::Tensor& x, const at::Tensor& where) {
    return x.masked_select(where.view({1, 1, h, w})).mean().item<double>();
  };
  const at::Tensor pole_core = ((rows - 200 - cols * 0.3).abs() < 8).expand({h, w});
  const at::Tensor sky_below = (rows > 200 + cols * 0.3 + 40).expand({h, w}).logical_and((cols < 1200).expand({h, w}));
  EXPECT_LT(mean_where(from_hint, sky_below), 0.3 * apart) << "the sky the hint was painted in";
  EXPECT_LT(mean_where(from_own, pole_core), 0.1 * apart) << "the pole took the sky's colour";
}

}  // namespace
