#include "core/edit/healing.h"

#include "core/edit/linear_operator.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

namespace cm::edit {
namespace {

at::Tensor blur(const at::Tensor& x, int radius) { return box_mean(box_mean(x, radius), radius); }

}  // namespace

at::Tensor luma_detail(const at::Tensor& image) {
  const at::Tensor grey = grey_of(image);
  return grey - blur(grey, 2);
}

at::Tensor mirror_fill(const at::Tensor& image, const at::Tensor& hole_in, at::Tensor* distance) {
  const at::Tensor hole = (hole_in > 0).to(at::kCPU).contiguous();
  const int64_t h = image.size(2), w = image.size(3), n = h * w;
  const bool* in_hole = hole.data_ptr<bool>();
  // The nearest known pixel of every pixel, by two raster passes that hand each neighbour's
  // nearest on when it is nearer (Danielsson's vector propagation, 8 neighbours).
  std::vector<int64_t> nearest(std::size_t(n), -1);
  for (int64_t i = 0; i < n; ++i)
    if (!in_hole[i]) nearest[std::size_t(i)] = i;
  const auto distance_sq = [w](int64_t a, int64_t b) {
    const int64_t dy = a / w - b / w, dx = a % w - b % w;
    return dy * dy + dx * dx;
  };
  const auto offer = [&](int64_t p, int64_t q) {
    const int64_t b = nearest[std::size_t(q)];
    if (b < 0) return;
    int64_t& mine = nearest[std::size_t(p)];
    if (mine < 0 || distance_sq(p, b) < distance_sq(p, mine)) mine = b;
  };
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t p = y * w + x;
      if (!in_hole[p]) continue;
      if (x > 0) offer(p, p - 1);
      if (y > 0) {
        offer(p, p - w);
        if (x > 0) offer(p, p - w - 1);
        if (x + 1 < w) offer(p, p - w + 1);
      }
    }
  for (int64_t y = h; y-- > 0;)
    for (int64_t x = w; x-- > 0;) {
      const int64_t p = y * w + x;
      if (!in_hole[p]) continue;
      if (x + 1 < w) offer(p, p + 1);
      if (y + 1 < h) {
        offer(p, p + w);
        if (x + 1 < w) offer(p, p + w + 1);
        if (x > 0) offer(p, p + w - 1);
      }
    }
  if (distance) {
    *distance = at::zeros({1, 1, h, w}, at::kFloat);
    float* d = distance->data_ptr<float>();
    for (int64_t p = 0; p < n; ++p)
      if (in_hole[p] && nearest[std::size_t(p)] >= 0) d[p] = std::sqrt(float(distance_sq(p, nearest[std::size_t(p)])));
    *distance = distance->to(image.device());
  }
  at::Tensor source = at::arange(n, at::kLong);
  int64_t* s = source.data_ptr<int64_t>();
  for (int64_t p = 0; p < n; ++p) {
    const int64_t b = nearest[std::size_t(p)];
    if (!in_hole[p] || b < 0) continue;
    const int64_t ry = 2 * (b / w) - p / w, rx = 2 * (b % w) - p % w;
    const bool inside = ry >= 0 && ry < h && rx >= 0 && rx < w;
    s[p] = inside && !in_hole[ry * w + rx] ? ry * w + rx : b;
  }
  const at::Tensor flat = image.reshape({image.size(0), image.size(1), n});
  return flat.index_select(2, source.to(image.device())).view_as(image);
}

at::Tensor mirrored_detail(const at::Tensor& smooth, const at::Tensor& hole, at::Tensor* distance) {
  return mirror_fill(luma_detail(smooth), hole, distance);
}

at::Tensor texture_fade(const at::Tensor& distance, double reach) { return at::exp(-(distance - 1).clamp_min(0) / reach); }

at::Tensor texture_amount(const at::Tensor& distance, double texture, double reach) {
  const at::Tensor depth_around = at::max_pool2d(distance, {17, 17}, {1, 1}, {8, 8});
  return texture * texture_fade(distance, reach) * ((depth_around - 1) / (kFullTextureDepth - 1)).clamp(0, 1);
}

at::Tensor heal(const at::Tensor& smooth, const at::Tensor& detail, const at::Tensor& amount) {
  return (smooth + detail * amount.to(smooth.device(), at::kFloat)).clamp(-1, 1);
}

at::Tensor heal_missing(const at::Tensor& painting, const at::Tensor& copy_detail, const at::Tensor& amount) {
  // Grey: the three channels are equal, so the first one's energy is the detail's.
  const auto energy = [](const at::Tensor& d) { return blur(d.narrow(1, 0, 1).pow(2), 4); };
  const at::Tensor missing = (1 - energy(luma_detail(painting)) / energy(copy_detail).clamp_min(1e-8)).clamp_min(0).sqrt();
  return (painting + copy_detail * missing * amount.to(painting.device(), at::kFloat)).clamp(-1, 1);
}

at::Tensor carry_paint(const at::Tensor& painting, const at::Tensor& copied, const at::Tensor& inside, int radius) {
  const at::Tensor weight = inside.to(painting.device(), at::kFloat);
  const at::Tensor paint = blur((painting - copied) * weight, radius) / blur(weight, radius).clamp_min(1e-6);
  return (copied + paint).clamp(-1, 1);
}

at::Tensor smooth_colour_change(const at::Tensor& start, const at::Tensor& result, int radius) {
  if (radius <= 0) return result;
  const at::Tensor change = result - start, grey = grey_of(change);
  return (start + grey + blur(change - grey, radius)).clamp(-1, 1);
}

}  // namespace cm::edit
