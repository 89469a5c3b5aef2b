// Coherence transport (core/edit/coherence_transport.h): a hole filled along its edge's isophotes.
#include "core/analytic_model.h"
#include "core/edit/coherence_transport.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::edit;

// A treeline against a sky: above row `edge` a light sky darkening slowly downwards, below it dark
// trees, [1,3,size,size]; and a round hole at (cy, cx) of radius `radius` that the edge crosses
// below its centre, as a spot on the horizon.
struct Horizon {
  at::Tensor image, known;
  int64_t edge;
};

Horizon horizon(int64_t size, int64_t edge, double cy, double cx, double radius) {
  const at::Tensor y = at::arange(size, at::kFloat).view({1, 1, -1, 1}).expand({1, 1, size, size});
  const at::Tensor x = at::arange(size, at::kFloat).view({1, 1, 1, -1}).expand({1, 1, size, size});
  const at::Tensor sky = 0.8 - 0.3 * y / float(size), trees = at::full_like(y, -0.6);
  const at::Tensor grey = at::where(y < float(edge), sky, trees);
  const at::Tensor image = at::cat({grey, grey * 0.9, grey * 1.1}, 1).clamp(-1, 1).contiguous();
  const at::Tensor known = ((y - cy).pow(2) + (x - cx).pow(2) > radius * radius).to(at::kFloat);
  return {image, known, edge};
}

// The share of the hole's pixels on the wrong side of the edge: trees above it or sky below it.
double wrong_side(const Horizon& h, const at::Tensor& filled) {
  const at::Tensor hole = h.known[0][0] <= 0;
  const at::Tensor row = at::arange(h.image.size(2)).view({-1, 1}).expand_as(hole);
  const at::Tensor dark = filled[0][0] < 0.1;  // between the sky (≥ 0.5) and the trees (−0.6)
  const at::Tensor wrong = hole & (((row < h.edge) & dark) | ((row >= h.edge) & ~dark));
  return wrong.sum().item<double>() / hole.sum().item<double>();
}

TEST(CoherenceTransport, AnEdgeAcrossTheHoleGoesOnStraightWhereTheMembraneBends) {
  const Horizon h = horizon(96, 56, 46, 48, 16);  // the edge 10 px below the hole's centre
  const at::Tensor transported = coherence_transport(h.image, h.known);
  const at::Tensor membrane = fill_holes(h.image, h.known);
  EXPECT_LT(wrong_side(h, transported), 0.02);
  EXPECT_GT(wrong_side(h, membrane), 0.08) << "the membrane's level lines bulge into the sky";
  // The sky's slow gradient goes on too: its rows in the hole stay near their own colour.
  const at::Tensor hole = (h.known <= 0).expand_as(h.image);
  const at::Tensor sky_rows = hole & (at::arange(96).view({1, 1, -1, 1}) < h.edge - 3);
  EXPECT_LT(((transported - h.image).abs() * sky_rows).sum().item<double>() / sky_rows.sum().item<double>(), 0.02);
}

TEST(CoherenceTransport, KeepsTheKnownPixelsAndFillsAFlatImageFlat) {
  const Horizon h = horizon(64, 40, 32, 32, 10);
  const at::Tensor out = coherence_transport(h.image, h.known);
  EXPECT_TRUE(at::equal(at::where(h.known.expand_as(out) > 0, out, h.image), h.image));
  const at::Tensor flat = at::full({1, 2, 64, 64}, 0.25f);
  EXPECT_LT(cm::testing::max_abs_diff(coherence_transport(flat, h.known), flat), 1e-6);
  EXPECT_TRUE(at::equal(coherence_transport(h.image, at::ones_like(h.known)), h.image)) << "no hole: the image";
}

// The exemplar fill's coarsest level is laid out by its guide (exemplar_fill.h): a textured sky
// over textured trees, the edge across a spot below its centre. Along the edge's isophotes the
// treeline goes on straight; by the membrane the trees rise into the sky in a hump.
TEST(CoherenceTransport, TheExemplarFillsGuideContinuesATreelineAcrossASpot) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const Horizon h = horizon(160, 92, 80, 80, 24);
  const at::Tensor photo = (h.image + (at::rand({1, 1, 160, 160}, gen) - 0.5) * 0.3).clamp(-1, 1);
  ExemplarOptions o;
  const double transported = wrong_side(h, exemplar_fill(photo, h.known, o));
  o.transport_guide = false;
  const double membrane = wrong_side(h, exemplar_fill(photo, h.known, o));
  EXPECT_LT(transported, 0.03);
  EXPECT_GT(membrane, 2 * transported + 0.03);
}

}  // namespace

// A thin hole across the whole image, rows 28–35, and each hole pixel's distance to the rows
// beside it (mirror_fill's distance).
struct Strip {
  at::Tensor hole = at::zeros({1, 1, 64, 64});
  at::Tensor distance = at::zeros({1, 1, 64, 64});
  Strip() {
    hole.narrow(2, 28, 8).fill_(1);
    for (int64_t y = 28; y < 36; ++y) distance.narrow(2, y, 1).fill_(float(std::min(y - 27, 36 - y)));
  }
};

// The membrane blurs an edge that crosses a thin hole across the hole's width (a lantern's pillars
// under a wire came back as a smudge); the edge is carried on straight instead.
TEST(TransportCrossingEdges, AnEdgeAcrossAThinHoleStaysSharp) {
  const Strip strip;
  at::Tensor image = at::full({1, 3, 64, 64}, -0.5);
  image.narrow(3, 32, 32).fill_(0.5);  // a vertical edge at x = 32, crossing the strip
  const at::Tensor membrane = fill_holes(image * (1 - strip.hole), strip.hole <= 0);
  const at::Tensor filled = transport_crossing_edges(image * (1 - strip.hole), strip.hole, membrane, strip.distance);
  const auto step_in_the_middle = [](const at::Tensor& x) { return (x[0][0][31][32] - x[0][0][31][31]).item<double>(); };
  EXPECT_LT(step_in_the_middle(membrane), 0.6) << "the membrane's edge is a ramp in the hole's middle";
  EXPECT_GT(step_in_the_middle(filled), 0.9) << "the edge goes on as sharp as it is outside";
  EXPECT_TRUE(at::equal(filled * (1 - strip.hole), image * (1 - strip.hole))) << "known pixels kept";
}

// Where the image changes across the hole and its isophotes run along it (a sky's gradient under a
// wire), the transport's fronts from the two sides meet in a line; the membrane, a ramp across
// the hole, is kept.
TEST(TransportCrossingEdges, AGradientAcrossAThinHoleStaysTheMembranes) {
  const Strip strip;
  const at::Tensor ramp = (at::arange(64, at::kFloat) / 63 - 0.5).view({1, 1, 64, 1}).expand({1, 3, 64, 64}).contiguous();
  const at::Tensor holed = ramp * (1 - strip.hole);
  const at::Tensor membrane = fill_holes(holed, strip.hole <= 0);
  const at::Tensor filled = transport_crossing_edges(holed, strip.hole, membrane, strip.distance);
  const auto error = [&](const at::Tensor& x) { return (x - ramp).abs().max().item<double>(); };
  EXPECT_LT(error(filled), error(membrane) + 1e-4) << "no worse than the membrane";
  EXPECT_GT(error(coherence_transport(holed, strip.hole <= 0)), 4 * error(membrane) + 0.005) << "the plain transport's seam";
}
