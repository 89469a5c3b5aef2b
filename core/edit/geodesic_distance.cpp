#include "core/edit/geodesic_distance.h"

#include "core/base/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cm::edit {

at::Tensor geodesic_distance(const at::Tensor& guide, const at::Tensor& seeds, double sigma, double edge_cost, double tolerance,
                             int passes) {
  if (guide.dim() != 4 || guide.size(0) != 1 || guide.size(1) < 1)
    throw Error(ErrorCode::ShapeMismatch, "a geodesic distance needs a [1,C,H,W] guide");
  if (seeds.dim() != 4 || seeds.size(2) != guide.size(2) || seeds.size(3) != guide.size(3))
    throw Error(ErrorCode::ShapeMismatch, "the seeds of a geodesic distance must have the guide's size");
  const int64_t h = guide.size(2), w = guide.size(3), channels = guide.size(1), plane = h * w;
  const at::Tensor g = guide.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor seeded = (seeds.to(at::kCPU) > 0).to(at::kByte).contiguous();
  const float* gp = g.data_ptr<float>();
  const uint8_t* sp = seeded.data_ptr<uint8_t>();
  at::Tensor out = at::empty({1, 1, h, w}, at::kFloat);
  float* d = out.data_ptr<float>();
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < h * w; ++i) d[i] = sp[i] ? 0.f : inf;
  const float k = float(edge_cost / (2 * sigma * sigma)), diagonal = float(std::sqrt(2.0));
  const float free = float(tolerance);
  // The neighbours a scan has already visited: above (and to the sides) and to the left; the
  // backward scan mirrors them.
  const int64_t dy[4] = {-1, -1, -1, 0}, dx[4] = {-1, 0, 1, -1};
  const float length[4] = {diagonal, 1.f, diagonal, 1.f};
  // What each step costs, once for all the passes: from pixel p to p + d (d the n-th offset), its
  // length and the contrast across it and one more on each side, p − d to p + 2d (edges repeated):
  // a soft edge is seen at its whole contrast, not in small steps each within the tolerance. The
  // backward scans take the same step from its other end.
  std::vector<float> step_cost(std::size_t(4 * plane));
  for (int n = 0; n < 4; ++n)
    for (int64_t y = 0; y < h; ++y) {
      const int64_t by = std::clamp<int64_t>(y - dy[n], 0, h - 1), ay = std::clamp<int64_t>(y + 2 * dy[n], 0, h - 1);
      for (int64_t x = 0; x < w; ++x) {
        const int64_t bx = std::clamp<int64_t>(x - dx[n], 0, w - 1), ax = std::clamp<int64_t>(x + 2 * dx[n], 0, w - 1);
        float cost = 0.f;
        for (int64_t c = 0; c < channels; ++c) {
          const float* gc = gp + c * plane;
          const float step = std::max(0.f, std::abs(gc[by * w + bx] - gc[ay * w + ax]) - free);
          cost += step * step;
        }
        step_cost[std::size_t(n * plane + y * w + x)] = length[n] + k * cost;
      }
    }
  const auto relax = [&](int64_t y, int64_t x, int sign) {
    const int64_t i = y * w + x;
    float best = d[i];
    for (int n = 0; n < 4; ++n) {
      const int64_t ny = y + sign * dy[n], nx = x + sign * dx[n];
      if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
      const int64_t j = ny * w + nx;
      if (d[j] == inf) continue;
      best = std::min(best, d[j] + step_cost[std::size_t(n * plane + (sign > 0 ? i : j))]);
    }
    d[i] = best;
  };
  for (int p = 0; p < passes; ++p) {
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) relax(y, x, 1);
    for (int64_t y = h - 1; y >= 0; --y)
      for (int64_t x = w - 1; x >= 0; --x) relax(y, x, -1);
  }
  return out.to(guide.device());
}

}  // namespace cm::edit
