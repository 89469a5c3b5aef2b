#include "core/edit/healing.h"

#include "core/edit/linear_operator.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

namespace cm::edit {
namespace {

at::Tensor blur(const at::Tensor& x, int radius) { return box_mean(box_mean(x, radius), radius); }

int64_t squared_distance(int64_t a, int64_t b, int64_t w) {
  const int64_t dy = a / w - b / w, dx = a % w - b % w;
  return dy * dy + dx * dx;
}

// The nearest known pixel of every pixel (itself when known; −1 when the image has none), by two
// raster passes that hand each neighbour's nearest on when it is nearer (Danielsson's vector
// propagation, 8 neighbours).
std::vector<int64_t> nearest_known(const bool* in_hole, int64_t h, int64_t w) {
  const int64_t n = h * w;
  std::vector<int64_t> nearest(std::size_t(n), -1);
  for (int64_t i = 0; i < n; ++i)
    if (!in_hole[i]) nearest[std::size_t(i)] = i;
  const auto offer = [&](int64_t p, int64_t q) {
    const int64_t b = nearest[std::size_t(q)];
    if (b < 0) return;
    int64_t& mine = nearest[std::size_t(p)];
    if (mine < 0 || squared_distance(p, b, w) < squared_distance(p, mine, w)) mine = b;
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
  return nearest;
}

// p reflected across the known pixel b: 2b − p, or b where that lands outside or in the hole.
int64_t reflected(int64_t p, int64_t b, const bool* in_hole, int64_t h, int64_t w) {
  const int64_t ry = 2 * (b / w) - p / w, rx = 2 * (b % w) - p % w;
  const bool inside = ry >= 0 && ry < h && rx >= 0 && rx < w;
  return inside && !in_hole[ry * w + rx] ? ry * w + rx : b;
}

// The known pixel where the hole ends on the far side of p: from p on, away from its nearest known
// pixel b, one pixel at a time, at most kFarReach; −1 where the walk leaves the image or the reach.
int64_t far_edge(int64_t p, int64_t b, const bool* in_hole, int64_t h, int64_t w) {
  const double py = double(p / w), px = double(p % w), dy = py - double(b / w), dx = px - double(b % w);
  const double length = std::sqrt(dy * dy + dx * dx);
  for (int t = 1; t <= kFarReach; ++t) {
    const int64_t y = std::lround(py + dy / length * t), x = std::lround(px + dx / length * t);
    if (y < 0 || y >= h || x < 0 || x >= w) return -1;
    if (!in_hole[y * w + x]) return y * w + x;
  }
  return -1;
}

// The mean of x over the pixels where `inside` is 1 within `radius` (two box blurs), so nothing
// beyond them is mixed in.
at::Tensor blur_over(const at::Tensor& x, const at::Tensor& inside, int radius) {
  return blur(x * inside, radius) / blur(inside, radius).clamp_min(1e-6);
}

// Where each pixel's mirrors read: `near` across its nearest known pixel (mirror_fill), `far`
// across the hole's far edge (mirror_fill_far; the pixel itself where none was found, and
// `has_far` false). Flat indices, [H·W]; a known pixel reads itself.
struct MirrorSources {
  at::Tensor near, far, has_far, distance;
};

MirrorSources mirror_sources(const at::Tensor& hole_in, bool far) {
  const at::Tensor hole = (hole_in > 0).to(at::kCPU).contiguous();
  const int64_t h = hole.size(2), w = hole.size(3), n = h * w;
  const bool* in_hole = hole.data_ptr<bool>();
  const std::vector<int64_t> nearest = nearest_known(in_hole, h, w);
  MirrorSources m{at::arange(n, at::kLong), far ? at::arange(n, at::kLong) : at::Tensor(), at::zeros({1, 1, h, w}, at::kBool),
                  at::zeros({1, 1, h, w}, at::kFloat)};
  int64_t *near_source = m.near.data_ptr<int64_t>(), *far_source = far ? m.far.data_ptr<int64_t>() : nullptr;
  bool* has_far = m.has_far.data_ptr<bool>();
  float* d = m.distance.data_ptr<float>();
  for (int64_t p = 0; p < n; ++p) {
    const int64_t b = nearest[std::size_t(p)];
    if (!in_hole[p] || b < 0) continue;
    d[p] = std::sqrt(float(squared_distance(p, b, w)));
    near_source[p] = reflected(p, b, in_hole, h, w);
    if (!far) continue;
    const int64_t e = far_edge(p, b, in_hole, h, w);
    if (e >= 0) far_source[p] = reflected(p, e, in_hole, h, w), has_far[p] = true;
  }
  return m;
}

// image's pixels as `source` says where each one reads.
at::Tensor gathered(const at::Tensor& image, const at::Tensor& source) {
  const at::Tensor flat = image.reshape({image.size(0), image.size(1), image.size(2) * image.size(3)});
  return flat.index_select(2, source.to(image.device())).view_as(image);
}

}  // namespace

at::Tensor luma_detail(const at::Tensor& image) {
  const at::Tensor grey = grey_of(image);
  return grey - blur(grey, 2);
}

at::Tensor mirror_fill(const at::Tensor& image, const at::Tensor& hole, at::Tensor* distance) {
  const MirrorSources m = mirror_sources(hole, false);
  if (distance) *distance = m.distance.to(image.device());
  return gathered(image, m.near);
}

at::Tensor mirror_fill_far(const at::Tensor& image, const at::Tensor& hole, at::Tensor* found) {
  const MirrorSources m = mirror_sources(hole, true);
  if (found) *found = m.has_far.to(image.device());
  return gathered(image, m.far);
}

at::Tensor mirrored_detail(const at::Tensor& smooth, const at::Tensor& hole, at::Tensor* distance) {
  const MirrorSources m = mirror_sources(hole, true);
  if (distance) *distance = m.distance.to(smooth.device());
  const at::Tensor detail = luma_detail(smooth), near = gathered(detail, m.near);
  // Each side's detail energy around the pixel its mirror reads, from the known pixels alone.
  // (Grey: the first channel's energy is the detail's.)
  const at::Tensor energy = blur_over(detail.narrow(1, 0, 1).pow(2), (hole <= 0).to(smooth.device(), at::kFloat), kAgreementRadius);
  const at::Tensor cap = (kAgreementTolerance * gathered(energy, m.far) / gathered(energy, m.near).clamp_min(1e-8)).clamp_max(1).sqrt();
  return near * at::where(m.has_far.to(smooth.device()), cap, at::ones_like(cap));
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
  const at::Tensor paint = blur_over(painting - copied, weight, radius);
  return (copied + paint).clamp(-1, 1);
}

at::Tensor smooth_colour_change(const at::Tensor& start, const at::Tensor& result, int radius) {
  if (radius <= 0) return result;
  const at::Tensor change = result - start, grey = grey_of(change);
  return (start + grey + blur(change - grey, radius)).clamp(-1, 1);
}

}  // namespace cm::edit
