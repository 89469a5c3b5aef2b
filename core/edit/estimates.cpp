#include "core/edit/estimates.h"

#include "core/base/cancel.h"
#include "core/edit/geodesic_distance.h"
#include "core/edit/linear_operator.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

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

// jacobi's sweeps without a guide on the CPU, as a loop over the level's unknown pixels: the same
// sums in the same order, so the same floats, without the dozen whole-level tensors the ops
// allocate a sweep. A 160-px stroke 2,300 px long on a 50 MP photo is one object, its draft one
// membrane on 2.9 MP (membrane_of_the_whole_mask), of which the hole is an eighth: 4.1 s before
// the draft's first window, most of it the kernel clearing new pages for those tensors.
at::Tensor jacobi_unguided_cpu(const at::Tensor& x_in, const at::Tensor& known_in, int sweeps) {
  at::Tensor from = x_in.contiguous().clone(), to = from.clone();
  const at::Tensor known = known_in.to(at::kBool).contiguous();  // [B,1,H,W]
  const int64_t batch = from.size(0), channels = from.size(1), height = from.size(2), width = from.size(3);
  struct Run {  // unknown pixels [x0, x1) of one row
    int64_t b, y, x0, x1;
  };
  std::vector<Run> runs;
  const bool* k = known.data_ptr<bool>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t y = 0; y < height; ++y) {
      const bool* row = k + (b * height + y) * width;
      for (int64_t x = 0; x < width;) {
        if (row[x]) {
          ++x;
          continue;
        }
        const int64_t x0 = x;
        while (x < width && !row[x]) ++x;
        runs.push_back({b, y, x0, x});
      }
    }
  for (int s = 0; s < sweeps; ++s) {
    throw_if_cancelled();
    const float* src = from.data_ptr<float>();
    float* dst = to.data_ptr<float>();
    at::parallel_for(0, int64_t(runs.size()), 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const Run& run = runs[r];
        for (int64_t c = 0; c < channels; ++c) {
          const int64_t plane = (run.b * channels + c) * height * width;
          const float* row = src + plane + run.y * width;
          // The edges repeat, as replication_pad2d repeats them.
          const float* up = src + plane + std::max<int64_t>(run.y - 1, 0) * width;
          const float* down = src + plane + std::min(run.y + 1, height - 1) * width;
          float* out = dst + plane + run.y * width;
          for (int64_t x = run.x0; x < run.x1; ++x) {
            // As jacobi sums them: zeros, then up, down, left and right.
            float sum = 0.0f;
            sum = sum + up[x];
            sum = sum + down[x];
            sum = sum + row[std::max<int64_t>(x - 1, 0)];
            sum = sum + row[std::min(x + 1, width - 1)];
            out[x] = sum / 4;
          }
        }
      }
    });
    std::swap(from, to);  // the known pixels are the values in both
  }
  return from;
}

// `known` [B,1,H,W]; x holds `values` where it is set.
at::Tensor jacobi(at::Tensor x, const at::Tensor& values, const at::Tensor& known_in, const std::vector<at::Tensor>& w,
                  int sweeps, bool fused = true) {
  const bool guided = std::any_of(w.begin(), w.end(), [](const at::Tensor& t) { return t.defined(); });
  if (fused && !guided && x.is_cpu() && x.scalar_type() == at::kFloat) return jacobi_unguided_cpu(x, known_in, sweeps);
  const at::Tensor known = known_in.expand_as(values);
  for (int s = 0; s < sweeps; ++s) {
    throw_if_cancelled();  // a sweep of a large photo's fill takes a tenth of a second
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
    x = at::where(known, values, total.defined() ? sum / total : sum / 4);
  }
  return x;
}

at::Tensor fill_level(const at::Tensor& values, const at::Tensor& weight, const at::Tensor& guide, double sigma) {
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
    const at::Tensor coarse = fill_level(coarse_values, (coarse_weight * 4).clamp_max(1), coarse_guide, sigma);
    // Push: the coarse solution enlarged is the start of the unknown pixels here.
    start = at::upsample_bilinear2d(coarse, {h, w}, /*align_corners=*/false);
  }
  const at::Tensor x = at::where(known, values, start);
  // Coarse levels are cheap and set the start of every finer one, so they get many sweeps; the
  // fine levels only need to settle the detail the coarser ones could not represent.
  const int sweeps = int(std::clamp<int64_t>(1024 / std::max(h, w), 8, 40));
  return jacobi(x, values, known, guide_weights(guide, sigma), sweeps);
}

}  // namespace

at::Tensor detail::membrane_sweeps(const at::Tensor& x, const at::Tensor& known, int sweeps, bool fused) {
  return jacobi(x, x, known > 0, std::vector<at::Tensor>(4), sweeps, fused);
}

at::Tensor fill_holes(const at::Tensor& image, const at::Tensor& known_in, const at::Tensor& guide, double guide_sigma) {
  const at::Tensor x = image.to(at::kFloat);
  const at::Tensor known = (known_in.to(x.device()) > 0).to(at::kFloat).expand({x.size(0), 1, x.size(2), x.size(3)}).contiguous();
  const at::Tensor g = guide.defined() ? guide.to(x.device(), at::kFloat) : at::Tensor();
  const at::Tensor filled = fill_level(x * known, known, g, guide_sigma);
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

at::Tensor texture_level(const at::Tensor& luma, double floor) {
  const int64_t h = luma.size(2), w = luma.size(3);
  const at::Tensor l = luma.to(at::kFloat);
  // Forward differences, the last row and column repeating zero: a flat border stays flat.
  const at::Tensor dx = w > 1 ? at::constant_pad_nd(l.narrow(3, 1, w - 1) - l.narrow(3, 0, w - 1), {0, 1, 0, 0}) : at::zeros_like(l);
  const at::Tensor dy = h > 1 ? at::constant_pad_nd(l.narrow(2, 1, h - 1) - l.narrow(2, 0, h - 1), {0, 0, 0, 1}) : at::zeros_like(l);
  const at::Tensor energy = at::avg_pool2d(at::replication_pad2d(dx * dx + dy * dy, {1, 1, 1, 1}), {3, 3}, {1, 1});
  return at::log(energy.sqrt() + floor);
}

ChromaSpread spread_hints(const at::Tensor& rgb_in, const at::Tensor& hints, const at::Tensor& hint_mask) {
  const at::Tensor rgb = rgb_in.to(at::kFloat);
  const at::Tensor colour = hints.to(rgb.device(), at::kFloat).expand_as(rgb);
  const at::Tensor offset = colour - grey_of(colour);  // the hint's colour, its luma removed
  // Spread along the photo's luma (q₀·rgb, in [−Σq₀, Σq₀]); σ ≈ 5 % of that range.
  const at::Tensor q0 = luma_direction().to(rgb.device(), at::kFloat);
  const at::Tensor luma = (rgb * q0.view({1, 3, 1, 1})).sum(1, true);
  const double sigma = 0.05 * q0.sum().item<double>(), reach = kHintReach * double(std::max(rgb.size(2), rgb.size(3)));
  const at::Tensor mask = hint_mask.to(rgb.device()).expand({rgb.size(0), 1, rgb.size(2), rgb.size(3)});
  // The colours between the hints: a membrane, whose one colour known is its whole fill...
  const at::Tensor spread = fill_holes(offset, mask, luma, sigma);
  // ...and how much of it reaches each pixel along the luma and its texture (geodesic_distance.h):
  // across a strong edge next to nothing, also into a thin region that has no hint of its own, or
  // from a bird's feathers into the smooth blur behind it, though where their lumas meet they match.
  // The texture is scaled so that kHintTexture of it costs what kHintEdge·σ of luma does.
  const at::Tensor texture = texture_level(luma, kTextureFloor * sigma) * (kHintEdge * sigma / kHintTexture);
  const at::Tensor guide = at::cat({luma, texture}, 1);
  std::vector<at::Tensor> amounts;
  for (int64_t b = 0; b < rgb.size(0); ++b)
    amounts.push_back(at::exp(-geodesic_distance(guide.narrow(0, b, 1), mask.narrow(0, b, 1), sigma, reach, kHintEdge * sigma, /*passes=*/4) / reach));
  return {spread - grey_of(spread), at::cat(amounts, 0)};  // the grey the spread picked up removed: the luma stays
}

at::Tensor hint_at_luma(const at::Tensor& rgb, const at::Tensor& hints) {
  const at::Tensor colour = hints.to(rgb.device(), at::kFloat).expand_as(rgb);
  return grey_of(rgb.to(at::kFloat)) + colour - grey_of(colour);
}

at::Tensor propagate_chroma(const at::Tensor& rgb_in, const at::Tensor& hints, const at::Tensor& hint_mask) {
  const at::Tensor grey = grey_of(rgb_in.to(at::kFloat)).contiguous();  // grey_of: not the chroma coefficients zeroed
  if (!hints.defined()) return grey;
  const ChromaSpread spread = spread_hints(rgb_in, hints, hint_mask);
  return grey + spread.amount * spread.colour;
}

}  // namespace cm::edit
