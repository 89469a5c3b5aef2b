// The analytic consistency function of Gaussian data (core/model/gaussian_consistency.h) as the
// model under test, and small helpers shared by the sampling, edit and region tests.
#pragma once

#include "core/model/gaussian_consistency.h"
#include "core/model/model_card.h"

#include <ATen/ATen.h>

#include <cmath>

namespace cm::testing {

constexpr double kDataMean = 0.1;
constexpr double kDataStd = 0.2;

inline model::ModelSpec analytic_spec(int image_size = 64) {
  model::ModelSpec spec;
  spec.name = "gaussian";
  spec.image_size = image_size;
  return spec;
}

inline model::GaussianConsistency analytic_model(int image_size = 64) {
  return model::GaussianConsistency(kDataMean, kDataStd, analytic_spec(image_size));
}

// The card engine::execute reads beside the analytic model (its name only).
inline model::ModelCard analytic_card() {
  model::ModelCard card;
  card.name = "gaussian";
  return card;
}

// A model whose f a test writes (operator()), at the analytic model's 64 px: for tests of what
// runs a model, where its answer must show what ran (tiles, passes, groups, mirrors).
class WrittenModel : public model::ConsistencyFunction {
 public:
  const model::ModelSpec& spec() const override { return spec_; }

 private:
  model::ModelSpec spec_ = analytic_spec(64);
};

// k(σ) = √(s² + ε²)/√(s² + σ²): how much of x − μ the analytic f keeps at level σ.
inline double analytic_gain(double sigma, double eps = 0.002) {
  return std::sqrt(kDataStd * kDataStd + eps * eps) / std::sqrt(kDataStd * kDataStd + sigma * sigma);
}

// A smooth test photo in [−1, 1]: gradients and a soft disc, [1,3,H,W].
inline at::Tensor smooth_photo(int64_t height, int64_t width) {
  const at::Tensor y = at::linspace(-1, 1, height, at::kFloat).view({1, 1, height, 1}).expand({1, 1, height, width});
  const at::Tensor x = at::linspace(-1, 1, width, at::kFloat).view({1, 1, 1, width}).expand({1, 1, height, width});
  const at::Tensor disc = at::exp(-(x * x + y * y) * 4);
  return at::cat({0.6 * x, 0.5 * y, disc - 0.5}, 1).contiguous();
}

// Diagonal stripes of period 6 in three colours, [1,3,size,size]: every patch of a hole in them
// has an exact copy outside (what an exemplar fill must continue).
inline at::Tensor stripes(int64_t size) {
  const at::Tensor y = at::arange(size, at::kFloat).view({-1, 1}), x = at::arange(size, at::kFloat).view({1, -1});
  const at::Tensor phase = (y + x).remainder(6) / 6 * 2 * M_PI;
  return at::stack({at::sin(phase), at::cos(phase), at::sin(phase * 2) * 0.5}).unsqueeze(0) * 0.8;
}

// [1,1,size,size]: 1 on the h×w box at (y0, x0), 0 elsewhere (a hole, or a mask).
inline at::Tensor box_mask(int64_t size, int64_t y0, int64_t x0, int64_t h, int64_t w) {
  at::Tensor m = at::zeros({1, 1, size, size});
  m.narrow(2, y0, h).narrow(3, x0, w).fill_(1);
  return m;
}

// The mean squared difference across neighbouring pixels (along rows), over pairs where both are
// in `where`: how textured an image is there.
inline double texture_energy(const at::Tensor& image, const at::Tensor& where) {
  const int64_t w = image.size(3);
  const at::Tensor d = (image.narrow(3, 1, w - 1) - image.narrow(3, 0, w - 1)).pow(2).mean(1, true);
  const at::Tensor both = where.narrow(3, 1, w - 1) * where.narrow(3, 0, w - 1);
  return (d * both).sum().item<double>() / both.sum().item<double>();
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace cm::testing
