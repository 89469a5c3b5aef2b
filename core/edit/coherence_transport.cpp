#include "core/edit/coherence_transport.h"

#include "core/edit/estimates.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cm::edit {
namespace {

// A normalised Gaussian blur over the known pixels only (each output the mean of the known pixels
// around it, weighted): what the known part of the image looks like, never mixed with the hole.
at::Tensor known_blur(const at::Tensor& x, const at::Tensor& known, double sigma) {
  const int64_t r = std::max<int64_t>(1, int64_t(std::ceil(3 * sigma)));
  const at::Tensor t = at::arange(-r, r + 1, at::kFloat);
  const at::Tensor g = at::exp(-t.pow(2) / float(2 * sigma * sigma));
  const at::Tensor k = (g / g.sum()).to(x.device());
  const auto separable = [&](const at::Tensor& y) {
    const int64_t c = y.size(1);
    const at::Tensor row = k.view({1, 1, 1, -1}).expand({c, 1, 1, 2 * r + 1}).contiguous();
    const at::Tensor column = k.view({1, 1, -1, 1}).expand({c, 1, 2 * r + 1, 1}).contiguous();
    const at::Tensor out = at::conv2d(y, row, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, r}, at::IntArrayRef{1, 1}, c);
    return at::conv2d(out, column, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{r, 0}, at::IntArrayRef{1, 1}, c);
  };
  return separable(x * known) / separable(known).clamp_min(1e-6);
}

// x at (y + dy, x + dx), wrapping at the image's edge (callers mask or ignore the wrapped rows).
at::Tensor shifted(const at::Tensor& x, int64_t dy, int64_t dx) { return at::roll(x, {-dy, -dx}, {2, 3}); }

// The products of x's central-difference gradients, summed over its channels: (gx², gx·gy, gy²),
// [1,3,H,W], a structure tensor before its average.
at::Tensor gradient_products(const at::Tensor& x) {
  const at::Tensor gy = (shifted(x, 1, 0) - shifted(x, -1, 0)) / 2, gx = (shifted(x, 0, 1) - shifted(x, 0, -1)) / 2;
  return at::cat({(gx * gx).sum(1, true), (gx * gy).sum(1, true), (gy * gy).sum(1, true)}, 1);
}

// A structure tensor's leading eigenvector (unit, x then y), its eigenvalue λ₁ and its coherence
// ((λ₁ − λ₂)/(λ₁ + λ₂))²: the direction the image changes most in, how much, and how sure.
struct Direction {
  double x, y, strength, coherence;
};

Direction leading_direction(double a, double b, double c) {
  const double root = std::sqrt((a - c) * (a - c) + 4 * b * b), l1 = 0.5 * (a + c + root), l2 = 0.5 * (a + c - root);
  const double coherence = l1 + l2 > 1e-12 ? std::pow((l1 - l2) / (l1 + l2), 2) : 0;
  double ex = b, ey = l1 - a;  // (A − λ₁I)v = 0 → v = (b, λ₁ − a) for the (x, y) order
  if (std::abs(ex) + std::abs(ey) < 1e-12) ex = a >= c ? 1 : 0, ey = a >= c ? 0 : 1;
  const double norm = std::hypot(ex, ey);
  return {ex / norm, ey / norm, l1, coherence};
}

}  // namespace

at::Tensor structure_field(const at::Tensor& image_in, const at::Tensor& known_in, const TransportOptions& o) {
  const at::Tensor image = image_in.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor known = (known_in.to(at::kCPU) > 0).to(at::kFloat).expand({1, 1, image.size(2), image.size(3)}).contiguous();
  const int64_t height = image.size(2), width = image.size(3);
  // Every channel's gradient, on known pixels whose neighbours are known too (the hole's grey is
  // no edge), averaged over ρ and carried into the hole as a membrane.
  const at::Tensor tensor = gradient_products(known_blur(image, known, o.smoothing));
  // The wrapped edge rows and columns are not valid either.
  at::Tensor valid = known * shifted(known, 1, 0) * shifted(known, -1, 0) * shifted(known, 0, 1) * shifted(known, 0, -1);
  valid.narrow(2, 0, 1).zero_(), valid.narrow(2, height - 1, 1).zero_(), valid.narrow(3, 0, 1).zero_(), valid.narrow(3, width - 1, 1).zero_();
  at::Tensor field = known_blur(tensor, valid, o.structure);
  if (valid.max().item<float>() > 0) field = fill_holes(field, valid);
  return field.contiguous();
}

at::Tensor coherence_transport(const at::Tensor& image_in, const at::Tensor& known_in, const TransportOptions& o, const at::Tensor& field_in) {
  const at::Tensor image = image_in.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor known = (known_in.to(at::kCPU) > 0).to(at::kFloat).expand({1, 1, image.size(2), image.size(3)}).contiguous();
  const int64_t channels = image.size(1), height = image.size(2), width = image.size(3);
  if (known.min().item<float>() > 0 || known.max().item<float>() <= 0) return image_in.clone();

  const at::Tensor field = (field_in.defined() ? field_in : structure_field(image, known, o)).to(at::kCPU, at::kFloat).contiguous();

  // Hole pixels are filled ring by ring (their Chebyshev distance to the known pixels), each ring
  // from the rings before it only.
  std::vector<float> value(image.data_ptr<float>(), image.data_ptr<float>() + image.numel());
  std::vector<uint8_t> done(std::size_t(height * width));
  const float* k = known.data_ptr<float>();
  std::vector<int64_t> pending, ring, later;
  for (int64_t i = 0; i < height * width; ++i) {
    done[std::size_t(i)] = k[i] > 0;
    if (!done[std::size_t(i)]) pending.push_back(i);
  }
  const float* j11 = field.data_ptr<float>();
  const float *j12 = j11 + height * width, *j22 = j12 + height * width;
  const int64_t r = int64_t(std::ceil(o.radius));
  const double scale = o.sharpness * o.sharpness / (2 * o.radius * o.radius);
  std::vector<double> sum(static_cast<std::size_t>(channels));
  while (!pending.empty()) {
    ring.clear(), later.clear();
    for (const int64_t p : pending) {
      const int64_t y = p / width, x = p % width;
      bool beside = false;
      for (int64_t dy = -1; dy <= 1 && !beside; ++dy)
        for (int64_t dx = -1; dx <= 1 && !beside; ++dx) {
          const int64_t yy = y + dy, xx = x + dx;
          beside = yy >= 0 && yy < height && xx >= 0 && xx < width && done[std::size_t(yy * width + xx)];
        }
      (beside ? ring : later).push_back(p);
    }
    pending.swap(later);
    if (ring.empty()) break;
    for (const int64_t p : ring) {
      const int64_t y = p / width, x = p % width;
      // The gradient direction g: the tensor's leading eigenvector; how sure: its coherence.
      const Direction d = leading_direction(j11[p], j12[p], j22[p]);
      const double ex = d.x, ey = d.y, coherence = d.coherence;
      std::fill(sum.begin(), sum.end(), 0.0);
      double total = 0;
      for (int64_t dy = -r; dy <= r; ++dy)
        for (int64_t dx = -r; dx <= r; ++dx) {
          const int64_t yy = y + dy, xx = x + dx;
          if ((dy == 0 && dx == 0) || yy < 0 || yy >= height || xx < 0 || xx >= width || !done[std::size_t(yy * width + xx)]) continue;
          const double distance = std::hypot(double(dx), double(dy));
          if (distance > o.radius) continue;
          const double across = ex * double(dx) + ey * double(dy);
          const double w = std::exp(-scale * coherence * across * across) / distance;
          total += w;
          for (int64_t ch = 0; ch < channels; ++ch) sum[std::size_t(ch)] += w * value[std::size_t(ch * height * width + yy * width + xx)];
        }
      if (total <= 0) continue;  // cannot happen: a ring pixel has a filled neighbour
      for (int64_t ch = 0; ch < channels; ++ch) value[std::size_t(ch * height * width + p)] = float(sum[std::size_t(ch)] / total);
    }
    for (const int64_t p : ring) done[std::size_t(p)] = 1;
  }
  at::Tensor out = at::from_blob(value.data(), image.sizes(), at::kFloat).clone();
  return at::where(known.expand_as(out) > 0, image, out).to(image_in.device());
}

at::Tensor transport_crossing_edges(const at::Tensor& image, const at::Tensor& hole_in, const at::Tensor& membrane,
                                    const at::Tensor& distance_in, const TransportOptions& o) {
  const at::Tensor hole = (hole_in.to(at::kCPU) > 0).contiguous();
  const at::Tensor known = hole.logical_not().to(at::kFloat);
  const int64_t height = image.size(2), width = image.size(3), n = height * width;
  if (!hole.any().item<bool>() || !known.any().item<bool>()) return membrane;
  const at::Tensor field = structure_field(image, known, o);
  const at::Tensor transport = coherence_transport(image, known, o, field).to(at::kCPU, at::kFloat);
  // The hole's normal: the leading direction of the distance map's gradients within 2 px, which
  // stays defined along the hole's middle, where the gradients from its two sides meet.
  const at::Tensor distance = distance_in.to(at::kCPU, at::kFloat).view({1, 1, height, width});
  const at::Tensor normals = box_mean(gradient_products(distance), 2).contiguous();

  at::Tensor gate = at::zeros({1, 1, height, width}, at::kFloat);
  const float *j = field.data_ptr<float>(), *m = normals.data_ptr<float>();
  const bool* in_hole = hole.data_ptr<bool>();
  float* g = gate.data_ptr<float>();
  for (int64_t p = 0; p < n; ++p) {
    if (!in_hole[p]) continue;
    const Direction edge = leading_direction(j[p], j[n + p], j[2 * n + p]);
    const Direction normal = leading_direction(m[p], m[n + p], m[2 * n + p]);
    const double across = edge.x * normal.x + edge.y * normal.y;  // 1: the edge runs along the hole
    g[p] = float(edge.coherence * (1 - across * across) * edge.strength / (edge.strength + kCrossingEdgeStrength));
  }
  const at::Tensor gate_here = gate.to(membrane.device());
  return membrane + gate_here * (transport.to(membrane.device()) - membrane);
}

}  // namespace cm::edit
