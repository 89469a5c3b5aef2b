#include "core/edit/estimates.h"

#include "core/edit/linear_operator.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace cm::edit {
namespace {

// Sum of the four neighbours (edges replicated) of x·w and of w, for one Jacobi sweep.
at::Tensor shift(const at::Tensor& x, int dy, int dx) {
  const at::Tensor padded = at::replication_pad2d(x, {1, 1, 1, 1});
  return padded.narrow(2, 1 + dy, x.size(2)).narrow(3, 1 + dx, x.size(3));
}

constexpr int kOffsets[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};

// Neighbour weights from the guide, computed once per level: [B,1,H,W] each.
std::vector<at::Tensor> guide_weights(const at::Tensor& guide, double sigma) {
  std::vector<at::Tensor> w;
  for (const auto& o : kOffsets) {
    if (!guide.defined()) {
      w.push_back(at::Tensor());
      continue;
    }
    const at::Tensor d = shift(guide, o[0], o[1]) - guide;
    w.push_back(at::exp(-(d * d) / (2 * sigma * sigma)) + 1e-6);
  }
  return w;
}

// screening: λ of the screened Poisson equation at this level (0: the membrane), added to the
// neighbours' total weight, so an unknown pixel holds only part of their mean: away from what is
// known the fill fades to 0.
at::Tensor jacobi(at::Tensor x, const at::Tensor& values, const at::Tensor& known, const std::vector<at::Tensor>& w,
                  int sweeps, double screening) {
  for (int s = 0; s < sweeps; ++s) {
    at::Tensor sum = at::zeros_like(x), total;
    for (int i = 0; i < 4; ++i) {
      const at::Tensor neighbour = shift(x, kOffsets[i][0], kOffsets[i][1]);
      if (w[i].defined()) {
        sum = sum + w[i] * neighbour;
        total = total.defined() ? total + w[i] : w[i];
      } else {
        sum = sum + neighbour;
      }
    }
    x = at::where(known, values, total.defined() ? sum / (total + screening) : sum / (4 + screening));
  }
  return x;
}

at::Tensor fill_level(const at::Tensor& values, const at::Tensor& weight, const at::Tensor& guide, double sigma, double screening) {
  const at::Tensor known = weight > 0.999f;
  const int64_t h = values.size(2), w = values.size(3);
  if (known.all().item<bool>()) return values;
  at::Tensor start;
  if (h <= 1 && w <= 1) {
    start = at::zeros_like(values);
  } else {
    // Pull: mask-weighted means of 2×2 blocks (partial blocks at odd edges).
    const auto pool = [](const at::Tensor& x) {
      return at::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, /*ceil_mode=*/true, /*count_include_pad=*/false);
    };
    const at::Tensor coarse_weight = pool(weight);
    const at::Tensor coarse_values = pool(values * weight) / coarse_weight.clamp_min(1e-12);
    const at::Tensor coarse_guide = guide.defined() ? pool(guide) : at::Tensor();
    // A coarse pixel is known when any of its fine pixels is; its weight saturates at 1.
    // A coarse pixel is two fine ones across: the screened equation's λ·h² is four times as large.
    const at::Tensor coarse = fill_level(coarse_values, (coarse_weight * 4).clamp_max(1), coarse_guide, sigma, 4 * screening);
    // Push: the coarse solution enlarged is the start of the unknown pixels here.
    start = at::upsample_bilinear2d(coarse, {h, w}, /*align_corners=*/false);
  }
  const at::Tensor x = at::where(known, values, start);
  // Coarse levels are cheap and set the start of every finer one, so they get many sweeps; the
  // fine levels only need to settle the detail the coarser ones could not represent.
  const int sweeps = int(std::clamp<int64_t>(1024 / std::max(h, w), 8, 40));
  return jacobi(x, values, known.expand_as(values), guide_weights(guide, sigma), sweeps, screening);
}

}  // namespace

at::Tensor fill_holes(const at::Tensor& image, const at::Tensor& known_in, const at::Tensor& guide, double guide_sigma,
                      double reach) {
  const at::Tensor x = image.to(at::kFloat);
  const at::Tensor known = (known_in.to(x.device()) > 0).to(at::kFloat).expand({x.size(0), 1, x.size(2), x.size(3)}).contiguous();
  const at::Tensor g = guide.defined() ? guide.to(x.device(), at::kFloat) : at::Tensor();
  const double screening = reach > 0 ? 1.0 / (reach * reach) : 0.0;
  const at::Tensor filled = fill_level(x * known, known, g, guide_sigma, screening);
  return at::where(known.expand_as(x) > 0, x, filled);  // the known pixels exactly, whatever the pyramid did
}

at::Tensor upsample_keeping_means(const at::Tensor& low_in, int k) {
  const at::Tensor low = low_in.to(at::kFloat);
  const int64_t h = low.size(2) * k, w = low.size(3) * k;
  const auto bicubic = [&](const at::Tensor& t) { return at::upsample_bicubic2d(t, {h, w}, /*align_corners=*/false); };
  const auto means = [k](const at::Tensor& t) { return at::avg_pool2d(t, {k, k}); };
  at::Tensor x = bicubic(low);
  for (int i = 0; i < 6; ++i) x = x + bicubic(low - means(x));  // back-projection: the residual spread smoothly
  // The rest, below a few per cent of a level, as a constant shift per patch: means exact.
  return x + (low - means(x)).repeat_interleave(k, 2).repeat_interleave(k, 3);
}

at::Tensor propagate_chroma(const at::Tensor& rgb_in, const at::Tensor& hints, const at::Tensor& hint_mask) {
  const at::Tensor rgb = rgb_in.to(at::kFloat);
  const at::Tensor grey = grey_of(rgb).contiguous();  // grey_of: not the chroma coefficients zeroed
  if (!hints.defined()) return grey;
  const at::Tensor colour = hints.to(rgb.device(), at::kFloat).expand_as(rgb);
  const at::Tensor offset = colour - grey_of(colour);  // the hint's colour, its luma removed
  // Spread along the photo's luma (q₀·rgb, in [−Σq₀, Σq₀]); σ ≈ 5 % of that range.
  const at::Tensor q0 = luma_direction().to(rgb.device(), at::kFloat);
  const at::Tensor luma = (rgb * q0.view({1, 3, 1, 1})).sum(1, true);
  const at::Tensor spread = fill_holes(offset, hint_mask, luma, 0.05 * q0.sum().item<double>(),
                                      kHintReach * double(std::max(rgb.size(2), rgb.size(3))));
  // Keep the photo's luma exactly: remove the grey the spread offset picked up.
  return grey + spread - grey_of(spread);
}

}  // namespace cm::edit
