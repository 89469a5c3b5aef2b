#include "bench/quality_metrics.h"

#include "core/edit/linear_operator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace cm::bench {

double psnr(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {
  const at::Tensor m = mask.expand_as(a).to(at::kBool);
  const double mse = ((a - b) / 2).pow(2).masked_select(m).mean().item<double>();
  return 10 * std::log10(1.0 / std::max(mse, 1e-12));
}

double ssim(const at::Tensor& a_in, const at::Tensor& b_in, const at::Tensor& mask) {
  const at::Tensor a = (a_in + 1) / 2, b = (b_in + 1) / 2;
  const at::Tensor g = at::exp(-at::pow(at::arange(-5, 6, at::kFloat), 2) / (2 * 1.5 * 1.5));
  const at::Tensor k1 = (g / g.sum());
  const at::Tensor kernel = (k1.view({11, 1}) * k1.view({1, 11})).view({1, 1, 11, 11}).repeat({3, 1, 1, 1});
  const auto blur = [&](const at::Tensor& x) { return at::conv2d(at::reflection_pad2d(x, {5, 5, 5, 5}), kernel, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, 3); };
  const at::Tensor mu_a = blur(a), mu_b = blur(b);
  const at::Tensor var_a = blur(a * a) - mu_a * mu_a;
  const at::Tensor var_b = blur(b * b) - mu_b * mu_b;
  const at::Tensor cov = blur(a * b) - mu_a * mu_b;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const at::Tensor map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
  return map.masked_select(mask.expand_as(map).to(at::kBool)).mean().item<double>();
}

double colorfulness(const at::Tensor& image) {
  const at::Tensor x = (image[0] + 1) * 127.5;
  const at::Tensor rg = x[0] - x[1], yb = 0.5 * (x[0] + x[1]) - x[2];
  const double s = std::sqrt(rg.var(false).item<double>() + yb.var(false).item<double>());
  const double m = std::sqrt(std::pow(rg.mean().item<double>(), 2) + std::pow(yb.mean().item<double>(), 2));
  return s + 0.3 * m;
}

double chroma_rmse(const at::Tensor& a, const at::Tensor& b) {
  const edit::LumaChromaOperator op;
  return (op.forward(a).narrow(1, 1, 2) - op.forward(b).narrow(1, 1, 2)).pow(2).mean().sqrt().item<double>();
}

namespace {

// Σ of squared forward differences whose either end lies in the region: a difference across the
// mask's edge is the seam between the edit and the kept photo, and a visible seam is texture
// the truth does not have (the truth's own edges there count on its side alike).
double gradient_energy(const at::Tensor& x, const at::Tensor& m) {
  const int64_t h = x.size(2), w = x.size(3);
  const at::Tensor dx = x.narrow(3, 1, w - 1) - x.narrow(3, 0, w - 1);
  const at::Tensor dy = x.narrow(2, 1, h - 1) - x.narrow(2, 0, h - 1);
  const at::Tensor mx = at::max(m.narrow(3, 1, w - 1), m.narrow(3, 0, w - 1));
  const at::Tensor my = at::max(m.narrow(2, 1, h - 1), m.narrow(2, 0, h - 1));
  return ((dx * dx * mx).sum() + (dy * dy * my).sum()).item<double>();
}

// 8-bit RGB as a viewer shows it.
at::Tensor to_8bit(const at::Tensor& x) { return ((x + 1) * 127.5).round().clamp(0, 255); }

}  // namespace

double gradient_ratio(const at::Tensor& result, const at::Tensor& truth, const at::Tensor& mask) {
  const at::Tensor m = (mask > 0).to(at::kFloat);
  return gradient_energy(result, m) / std::max(gradient_energy(truth, m), 1e-12);
}

namespace {

// Cb and Cr (ITU-R BT.601) of [1, 3, H, W] RGB, minus their Gaussian blur (σ = 2, radius 6,
// the image's edge repeated).
at::Tensor chroma_high_frequencies(const at::Tensor& rgb) {
  const at::Tensor weights = at::tensor({-0.168736f, -0.331264f, 0.5f, 0.5f, -0.418688f, -0.081312f}).view({2, 3, 1, 1});
  const at::Tensor chroma = at::conv2d(rgb.to(at::kFloat), weights);
  const at::Tensor x = at::arange(-6, 7, at::kFloat);
  at::Tensor g = at::exp(-x * x / 8.0);
  g = g / g.sum();
  const at::Tensor padded = at::replication_pad2d(chroma, {6, 6, 6, 6});
  const std::vector<int64_t> one{1, 1}, none{0, 0};
  const at::Tensor across = at::conv2d(padded, g.view({1, 1, 1, 13}).repeat({2, 1, 1, 1}), at::Tensor(), one, none, one, 2);
  const at::Tensor blurred = at::conv2d(across, g.view({1, 1, 13, 1}).repeat({2, 1, 1, 1}), at::Tensor(), one, none, one, 2);
  return chroma - blurred;
}

}  // namespace

double chroma_hf_ratio(const at::Tensor& result, const at::Tensor& truth, const at::Tensor& mask) {
  const at::Tensor m = (mask > 0).to(at::kFloat);
  const double r = (chroma_high_frequencies(result).pow(2) * m).sum().item<double>();
  const double t = (chroma_high_frequencies(truth).pow(2) * m).sum().item<double>();
  return r / std::max(t, 1e-12);
}

at::Tensor colour_offset(const at::Tensor& image) {
  return image - cm::edit::grey_of(image);
}

double changed_outside(const at::Tensor& result, const at::Tensor& input, const at::Tensor& mask) {
  const at::Tensor outside = (mask[0][0] <= 0);
  const int64_t n = outside.sum().item<int64_t>();
  if (n == 0) return 0;
  const at::Tensor differs = (to_8bit(result[0]) != to_8bit(input[0])).any(0);
  return double((differs & outside).sum().item<int64_t>()) / double(n);
}

std::vector<int64_t> bounding_box(const at::Tensor& mask) {
  const at::Tensor m = mask[0][0] > 0;
  const int64_t h = m.size(0), w = m.size(1);
  const at::Tensor rows = at::nonzero(m.any(1)).flatten(), cols = at::nonzero(m.any(0)).flatten();
  if (rows.numel() == 0) return {0, 0, h - 1, w - 1};
  return {rows.min().item<int64_t>(), cols.min().item<int64_t>(), rows.max().item<int64_t>(), cols.max().item<int64_t>()};
}

// --- SWD ----------------------------------------------------------------------------------------

namespace {

constexpr int64_t kPatch = 7;

at::Tensor random_patches(const at::Tensor& level, int per_image, at::Generator gen) {
  const int64_t n = level.size(0), h = level.size(2), w = level.size(3), k = kPatch;
  const at::Tensor ys = at::randint(h - k + 1, {n, per_image}, gen, at::kLong), xs = at::randint(w - k + 1, {n, per_image}, gen, at::kLong);
  std::vector<at::Tensor> patches;
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0; p < per_image; ++p) {
      const int64_t y = ys[i][p].item<int64_t>(), x = xs[i][p].item<int64_t>();
      patches.push_back(level[i].slice(1, y, y + k).slice(2, x, x + k).reshape({-1}));
    }
  return at::stack(patches);
}

// One level: x, y are [patches, 3·49].
double sliced_distance(at::Tensor x, at::Tensor y, at::Generator gen) {
  // Normalise each channel over both sets, so levels of different contrast weigh alike.
  const at::Tensor all = at::cat({x, y}).view({-1, 3, 49});
  const at::Tensor per_channel = all.transpose(0, 1).reshape({3, -1});
  const at::Tensor mean = per_channel.mean(at::IntArrayRef{1}).view({1, 3, 1});
  const at::Tensor spread = per_channel.std(at::IntArrayRef{1}).view({1, 3, 1}) + 1e-8;
  x = ((x.view({-1, 3, 49}) - mean) / spread).view({x.size(0), -1});
  y = ((y.view({-1, 3, 49}) - mean) / spread).view({y.size(0), -1});
  double total = 0;
  const int repeats = 4;
  for (int r = 0; r < repeats; ++r) {
    at::Tensor dirs = at::randn({x.size(1), 128}, gen);
    dirs = dirs / dirs.norm(2, 0, true);
    const at::Tensor px = std::get<0>(at::sort(x.matmul(dirs), 0)), py = std::get<0>(at::sort(y.matmul(dirs), 0));
    total += (px - py).abs().mean().item<double>();
  }
  return 1e3 * total / repeats;
}

}  // namespace

int swd_levels(int64_t size) {
  int levels = 1;
  while (levels < 3 && (size >> levels) >= 16) ++levels;
  return levels;
}

std::vector<at::Tensor> laplacian_pyramid(const at::Tensor& images, int levels) {
  std::vector<at::Tensor> out;
  at::Tensor g = images;
  for (int l = 0; l + 1 < levels; ++l) {
    const at::Tensor down = at::avg_pool2d(g, {2, 2});
    out.push_back(g - at::upsample_bilinear2d(down, {g.size(2), g.size(3)}, false));
    g = down;
  }
  out.push_back(g);
  return out;
}

std::vector<double> swd(const at::Tensor& a, const at::Tensor& b, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int levels = swd_levels(a.size(2));
  const auto pa = laplacian_pyramid(a, levels), pb = laplacian_pyramid(b, levels);
  std::vector<double> out;
  for (std::size_t l = 0; l < pa.size(); ++l) {
    const at::Tensor x = random_patches(pa[l], 64, gen), y = random_patches(pb[l], 64, gen);
    out.push_back(sliced_distance(x, y, gen));
  }
  return out;
}

PatchSet region_patches(const at::Tensor& image, const std::vector<int64_t>& box, int per_level, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto pyramid = laplacian_pyramid(image, swd_levels(image.size(2)));
  PatchSet out;
  for (std::size_t l = 0; l < pyramid.size(); ++l) {
    const at::Tensor& level = pyramid[l];
    const int64_t h = level.size(2), w = level.size(3);
    // The box at this level; a corner past h − 7 would cut the patch, so those move in.
    const int64_t y0 = std::min(box[0] >> l, h - kPatch), y1 = std::clamp(box[2] >> l, y0, h - kPatch);
    const int64_t x0 = std::min(box[1] >> l, w - kPatch), x1 = std::clamp(box[3] >> l, x0, w - kPatch);
    std::uniform_int_distribution<int64_t> ys(y0, y1), xs(x0, x1);
    std::vector<at::Tensor> patches;
    for (int p = 0; p < per_level; ++p) {
      const int64_t y = ys(rng), x = xs(rng);
      patches.push_back(level[0].slice(1, y, y + kPatch).slice(2, x, x + kPatch).reshape({-1}));
    }
    out.push_back(at::stack(patches));
  }
  return out;
}

PatchSet mask_patches(const at::Tensor& image, const at::Tensor& mask, int per_level, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto pyramid = laplacian_pyramid(image, swd_levels(image.size(2)));
  PatchSet out;
  for (std::size_t l = 0; l < pyramid.size(); ++l) {
    const at::Tensor& level = pyramid[l];
    const int64_t h = level.size(2), w = level.size(3), k = int64_t(1) << l;
    // The mask at this level: a pixel any of whose k×k photo pixels is in it.
    const at::Tensor here = at::max_pool2d((mask > 0).to(at::kFloat), {k, k}, {k, k}, {0, 0}, {1, 1}, true)[0][0];
    const at::Tensor at_mask = at::nonzero(here.narrow(0, 0, std::min(h, here.size(0))).narrow(1, 0, std::min(w, here.size(1))) > 0);
    std::vector<at::Tensor> patches;
    if (at_mask.size(0) > 0) {
      const auto* yx = at_mask.data_ptr<int64_t>();
      std::uniform_int_distribution<int64_t> pick(0, at_mask.size(0) - 1);
      for (int p = 0; p < per_level; ++p) {
        const int64_t i = pick(rng);
        // The patch centred there, moved in where it would cross the image's edge.
        const int64_t y = std::clamp<int64_t>(yx[2 * i] - kPatch / 2, 0, h - kPatch), x = std::clamp<int64_t>(yx[2 * i + 1] - kPatch / 2, 0, w - kPatch);
        patches.push_back(level[0].slice(1, y, y + kPatch).slice(2, x, x + kPatch).reshape({-1}));
      }
    }
    out.push_back(patches.empty() ? at::zeros({0, 3 * kPatch * kPatch}) : at::stack(patches));
  }
  return out;
}

double swd_pooled(const std::vector<PatchSet>& a, const std::vector<PatchSet>& b, std::uint64_t seed) {
  if (a.empty() || b.empty() || a[0].empty()) return NAN;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  double total = 0;
  for (std::size_t l = 0; l < a[0].size(); ++l) {
    std::vector<at::Tensor> xs, ys;
    for (const PatchSet& p : a) xs.push_back(p[l]);
    for (const PatchSet& p : b) ys.push_back(p[l]);
    total += sliced_distance(at::cat(xs), at::cat(ys), gen);
  }
  return total / double(a[0].size());
}

}  // namespace cm::bench
