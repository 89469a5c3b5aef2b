// The gradient domain (core/edit/gradient_domain.h): the Poisson solve and the stitching of a copy.
#include "core/edit/gradient_domain.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::edit;

// Σ_q (x_p − x_q) over the four neighbours inside the image, written out with loops: the
// operator solve_poisson inverts, independently of its tensor form.
at::Tensor laplacian_by_loops(const at::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  const at::Tensor xc = x[0][0].contiguous();
  const auto a = xc.accessor<float, 2>();
  at::Tensor out = at::zeros({1, 1, h, w});
  auto o = out.accessor<float, 4>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x0 = 0; x0 < w; ++x0) {
      float sum = 0;
      if (y > 0) sum += a[y][x0] - a[y - 1][x0];
      if (y + 1 < h) sum += a[y][x0] - a[y + 1][x0];
      if (x0 > 0) sum += a[y][x0] - a[y][x0 - 1];
      if (x0 + 1 < w) sum += a[y][x0] - a[y][x0 + 1];
      o[0][0][y][x0] = sum;
    }
  return out;
}

// A blob-and-bar hole on an odd-sized image: deep in one place, two pixels wide in another, and
// touching the image's edge, so every part of the multigrid's handling of edges is used.
at::Tensor odd_hole(int64_t h, int64_t w) {
  const at::Tensor y = at::arange(h, at::kFloat).view({1, 1, -1, 1}).expand({1, 1, h, w});
  const at::Tensor x = at::arange(w, at::kFloat).view({1, 1, 1, -1}).expand({1, 1, h, w});
  const at::Tensor blob = (y - 0.45f * h).pow(2) + (x - 0.4f * w).pow(2) < 0.09f * h * w;
  const at::Tensor bar = (y >= 0.75f * h) & (y < 0.75f * h + 2) & (x > 3);
  const at::Tensor edge = (x < 0.2f * w) & (y < 6);
  return blob | bar | edge;
}

TEST(GradientDomain, ThePoissonSolveSatisfiesItsEquationInTheHoleAndIsZeroOutside) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t h = 75, w = 93;
  const at::Tensor hole = odd_hole(h, w);
  const at::Tensor f = at::randn({1, 1, h, w}, gen) * hole;
  const at::Tensor x = solve_poisson(f, hole);
  EXPECT_EQ(x.masked_select(~hole).abs().max().item<float>(), 0.0f);
  const double residual = (laplacian_by_loops(x) - f).masked_select(hole).abs().max().item<double>();
  // The equation's scale: f's largest value; the solution itself is tens of times larger.
  EXPECT_LT(residual, 1e-3 * f.abs().max().item<double>()) << "largest |x| " << x.abs().max().item<double>();
}

TEST(GradientDomain, StitchingJoinsTwoFlatCopiesIntoTheSlopeBetweenTheirEdges) {
  // A photo that is a smooth left-to-right slope, and a hole copied from two flat places: its left
  // half a single colour, its right half another, a step between them that the photo has nowhere.
  const int64_t h = 40, w = 60;
  const at::Tensor xs = at::arange(w, at::kFloat).view({1, 1, 1, -1}).expand({1, 1, h, w});
  const at::Tensor image = (xs / float(w) - 0.5f).contiguous();
  const at::Tensor ys = at::arange(h, at::kLong).view({-1, 1}).expand({h, w});
  const at::Tensor cols = at::arange(w, at::kLong).view({1, -1}).expand({h, w});
  const at::Tensor hole = ((ys >= 10) & (ys < 30) & (cols >= 15) & (cols < 45)).view({1, 1, h, w});
  // Each copied pixel comes from the same row of a column far to the left or far to the right,
  // the same for the whole half, so each half's copy is flat and the halves differ by 0.5.
  const at::Tensor left = cols < 30;
  const at::Tensor source = at::where(hole[0][0], ys * w + at::where(left, at::full_like(cols, 5), at::full_like(cols, 50)),
                                      at::full_like(cols, -1)).reshape({-1});
  const at::Tensor photo_flat = image.reshape({-1});
  const at::Tensor copied = at::where(hole, photo_flat.index_select(0, source.clamp_min(0)).view({1, 1, h, w}), image);
  const at::Tensor stitched = copied + stitch_correction(image, copied, source, hole);
  // Outside the hole nothing moved.
  EXPECT_TRUE(at::equal(stitched.masked_select(~hole), image.masked_select(~hole)));
  // The hole's edge is held (the copy's step there is seamless's to correct), so the 0.75 between
  // the halves is spread over the 31 differences of a row, one 30th each, over the photo's slope
  // of 1/60 a pixel: no step is left in the hole's middle rows. Next to its upper and lower edge
  // the held pixels take part of the seam's step.
  const at::Tensor d = stitched[0][0].narrow(0, 14, 12).narrow(1, 15, 30).diff(1, 1);  // d[·][14]: columns 29 → 30
  EXPECT_LT(d.abs().max().item<double>(), 0.06) << "the copy's step was 0.75";
  EXPECT_NEAR(d[6][14].item<double>(), 1.0 / w + 0.75 / 31, 0.01);
}

TEST(GradientDomain, ACopyWithoutSeamsIsLeftAsItIs) {
  // A hole copied from one place, pixel for pixel shifted: every neighbour's source is its
  // source's neighbour, so there is nothing to stitch, whatever the texture.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t h = 32, w = 48;
  const at::Tensor image = at::rand({1, 3, h, w}, gen) * 2 - 1;
  const at::Tensor ys = at::arange(h, at::kLong).view({-1, 1}).expand({h, w});
  const at::Tensor cols = at::arange(w, at::kLong).view({1, -1}).expand({h, w});
  const at::Tensor hole = ((ys >= 8) & (ys < 24) & (cols >= 28) & (cols < 44)).view({1, 1, h, w});
  const at::Tensor source = at::where(hole[0][0], ys * w + cols - 24, at::full_like(cols, -1)).reshape({-1});
  const at::Tensor copied = image.reshape({3, -1}).index_select(1, source.clamp_min(0)).view({1, 3, h, w});
  EXPECT_EQ(stitch_correction(image, at::where(hole, copied, image), source, hole).abs().max().item<float>(), 0.0f);
}

}  // namespace
