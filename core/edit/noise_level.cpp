// The noise level of an image (noise_level.h): median absolute deviations of its finest diagonal
// Haar coefficients, read a band of rows at a time on a large photo.
#include "core/edit/noise_level.h"

#include "core/base/error.h"
#include "core/edit/pixels.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

namespace cm::edit {
namespace {

// Pixel (dy, dx) of every whole 2×2 block of x ([B,C,H,W]).
at::Tensor in_blocks(const at::Tensor& x, int dy, int dx) {
  const int64_t h = x.size(2) / 2 * 2, w = x.size(3) / 2 * 2;
  return x.narrow(2, 0, h).narrow(3, 0, w).slice(2, dy, h, 2).slice(3, dx, w, 2);
}

// Whether `where` ([1,1,H,W]) holds on all four pixels of each whole 2×2 block, on `device`.
at::Tensor whole_blocks(const at::Tensor& where, const at::Device& device) {
  const at::Tensor in = where.to(device, at::kBool);
  return in_blocks(in, 0, 0) & in_blocks(in, 0, 1) & in_blocks(in, 1, 0) & in_blocks(in, 1, 1);
}

// The finest diagonal Haar coefficients of an image (orthonormal HH), one per 2×2 block, and
// whether `where` holds on all four pixels of each block (undefined without `where`).
std::pair<at::Tensor, at::Tensor> diagonal_haar(const at::Tensor& image, const at::Tensor& where) {
  require_image(image, "noise estimation");
  if (image.size(2) < 2 || image.size(3) < 2) throw Error(ErrorCode::BadArgument, "noise estimation needs an image of at least 2×2 pixels");
  const at::Tensor x = image.to(at::kDouble);
  const at::Tensor diagonal = (in_blocks(x, 0, 0) - in_blocks(x, 0, 1) - in_blocks(x, 1, 0) + in_blocks(x, 1, 1)) / 2;
  return {diagonal, where.defined() ? whole_blocks(where, image.device()) : at::Tensor()};
}

// The grid an image's values lie on, in [−1, 1] units: 2/255 for 8-bit pixels, 2/65535 for 16-bit
// ones, 0 for none. Read on every 7th row and column: a grid holds for any of its pixels.
double pixel_step(const at::Tensor& image) {
  const at::Tensor some = to_unit(image.slice(2, 0, image.size(2), 7).slice(3, 0, image.size(3), 7)).to(at::kDouble);
  for (const double levels : {255.0, 65535.0}) {
    const at::Tensor v = (some + 1) * (levels / 2);
    if ((v - v.round()).abs().max().item<double>() < 1e-3) return 2 / levels;
  }
  return 0;
}

constexpr double kMadOfAGaussian = 0.6744897501960817;

// σ of n values |c| on a grid of `step` whose median rounds to m steps, `below` of them to fewer
// and `ties` to m: the median placed inside its bin by the share of the ties below the middle
// (the grouped-data median). Unplaced, noise of 1, 2 and 5 levels read as 0.74, 2.22 and 5.19.
double grouped_mad_sigma(double m, double below, double ties, double n, double step) {
  const double low = m == 0 ? 0 : m - 0.5, width = m == 0 ? 0.5 : 1;  // the bin of |c| that rounds to m
  return (low + width * (0.5 * n - below) / ties) * step / kMadOfAGaussian;
}

// The median absolute deviation → σ for a Gaussian. On a grid of `step` (the diagonal Haar
// coefficients of 8-bit pixels lie on one of half levels) many values tie at the median
// (grouped_mad_sigma).
double mad_sigma(const at::Tensor& coefficients, double step) {
  at::Tensor a = coefficients.abs().flatten();
  if (step <= 0) return a.median().item<double>() / kMadOfAGaussian;
  a = (a / step).round();  // in steps: exact ties
  const double m = a.median().item<double>();
  return grouped_mad_sigma(m, double((a < m).sum().item<int64_t>()), double((a == m).sum().item<int64_t>()), double(a.numel()), step);
}

// A photo's coefficients read a band of rows at a time: `bands(visit)` calls visit with each
// band's coefficients (a flat double tensor), so a 50 MP photo is never one double copy (1.2 GB).
using Bands = std::function<void(const std::function<void(const at::Tensor&)>&)>;

// mad_sigma of every band's coefficients together, exactly, holding a histogram and one bin's
// values rather than them all: on a grid, one count per step; off it, the median's bin of 2¹⁶
// over [0, max], then the median inside it (the k-th smallest, k = (n−1)/2, as at::median takes).
double mad_sigma(const Bands& bands, double step) {
  std::vector<int64_t> counts;
  const auto count = [&](const at::Tensor& bins, int64_t size) {
    const at::Tensor c = at::bincount(bins.flatten(), {}, size).to(at::kCPU, at::kLong).contiguous();
    if (counts.size() < std::size_t(c.numel())) counts.resize(std::size_t(c.numel()), 0);
    for (int64_t i = 0; i < c.numel(); ++i) counts[std::size_t(i)] += c.data_ptr<int64_t>()[i];
  };
  // The bin holding the k-th smallest of n values, and how many lie in the bins below it.
  const auto kth = [&](int64_t k) {
    int64_t below = 0;
    for (std::size_t b = 0;; below += counts[b++])
      if (below + counts[b] > k) return std::pair<int64_t, int64_t>{int64_t(b), below};
  };
  if (step > 0) {
    int64_t n = 0;
    bands([&](const at::Tensor& c) {
      if (c.numel() == 0) return;
      const at::Tensor a = (c.abs() / step).round().to(at::kLong);  // in steps: exact ties
      count(a, a.max().item<int64_t>() + 1);
      n += c.numel();
    });
    const auto [m, below] = kth((n - 1) / 2);
    return grouped_mad_sigma(double(m), double(below), double(counts[std::size_t(m)]), double(n), step);
  }
  int64_t n = 0;
  double top = 0;
  bands([&](const at::Tensor& c) {
    if (c.numel() > 0) top = std::max(top, c.abs().max().item<double>());
    n += c.numel();
  });
  if (top == 0) return 0;
  constexpr int64_t kBins = 1 << 16;
  const auto bin = [&](const at::Tensor& a) { return (a * (double(kBins) / top)).floor().clamp_max(kBins - 1).to(at::kLong); };
  bands([&](const at::Tensor& c) { count(bin(c.abs()), kBins); });
  const int64_t k = (n - 1) / 2;
  const auto [b, below] = kth(k);
  std::vector<at::Tensor> inside;
  bands([&](const at::Tensor& c) {
    const at::Tensor a = c.abs();
    inside.push_back(a.masked_select(bin(a) == b));
  });
  return std::get<0>(at::cat(inside).sort()).select(0, k - below).item<double>() / kMadOfAGaussian;
}

// Rows of an image whose coefficients are read at once (estimate_noise_sigma).
constexpr int64_t kNoiseBandRows = 256;

// estimate_noise_sigma's coefficients of an image taller than a band, band by band: those of the
// 2×2 blocks wholly where `where` holds, when given.
Bands noise_bands(const at::Tensor& image, const at::Tensor& where) {
  return [image, where](const std::function<void(const at::Tensor&)>& visit) {
    const int64_t h = image.size(2) / 2 * 2;
    for (int64_t y0 = 0; y0 < h; y0 += kNoiseBandRows) {
      const int64_t rows = std::min(kNoiseBandRows, h - y0);
      const auto [diagonal, inside] = diagonal_haar(image.narrow(2, y0, rows), where.defined() ? where.narrow(2, y0, rows) : where);
      visit(where.defined() ? diagonal.masked_select(inside.expand_as(diagonal)) : diagonal.flatten());
    }
  };
}

}  // namespace

double estimate_noise_sigma(const at::Tensor& image) {
  if (image.dim() == 4 && image.size(2) > kNoiseBandRows)  // each band's diagonal_haar checks it
    return mad_sigma(noise_bands(image, at::Tensor()), pixel_step(image) / 2);
  return mad_sigma(diagonal_haar(image, at::Tensor()).first, pixel_step(image) / 2);
}

std::optional<double> estimate_noise_sigma(const at::Tensor& image, const at::Tensor& where) {
  if (image.dim() == 4 && image.size(2) > kNoiseBandRows) {  // each band's diagonal_haar checks it
    if (whole_blocks(where, image.device()).sum().item<int64_t>() < kNoiseBlocks) return std::nullopt;
    return mad_sigma(noise_bands(image, where), pixel_step(image) / 2);
  }
  const auto [diagonal, inside] = diagonal_haar(image, where);
  if (inside.sum().item<int64_t>() < kNoiseBlocks) return std::nullopt;
  return mad_sigma(diagonal.masked_select(inside.expand_as(diagonal)), pixel_step(image) / 2);
}

namespace {

// One band of whole 32-px block rows of estimate_flat_noise's image, as it reads them: the pixels
// in [−1, 1] (doubles), which are not clipped, and their finest diagonal coefficients.
struct FlatNoiseBand {
  at::Tensor x, unclipped, finest, counted;

  FlatNoiseBand(const at::Tensor& image, int64_t y0, int64_t rows, int64_t w) {
    constexpr double kClippedLevel = 1.5 / 127.5;  // within 1.5 levels of black or white
    x = to_unit(image.narrow(2, y0, rows).narrow(3, 0, w)).to(at::kDouble);
    // Coefficients with a clipped pixel (a blown sky, crushed shadows) are small because the noise
    // was cut off there: on a photo of the sun with 10 levels of noise the blown sky's blocks were
    // the flattest, and the level read 5.7. They are left out, and so is a block that is mostly them.
    unclipped = (x.abs() < 1 - kClippedLevel).all(1, true);
    std::tie(finest, counted) = diagonal_haar(x, unclipped);  // [1,C,rows/2,w/2], [1,1,rows/2,w/2]
  }
};

// Rows of blocks a band holds: 8 (256 rows), so a 50 MP photo is read a few tens of MB at a time,
// not as one double copy (1.2 GB).
constexpr int64_t kFlatNoiseBandBlocks = 8;

}  // namespace

std::optional<FlatNoise> estimate_flat_noise(const at::Tensor& image, const at::Tensor& where) {
  if (!is_stored(image)) require_image(image, "noise estimation");
  constexpr int64_t B = kFlatNoiseBlock;
  const int64_t h = image.size(2) / B * B, w = image.size(3) / B * B;
  if (h == 0 || w == 0) return std::nullopt;
  const int64_t band_rows = kFlatNoiseBandBlocks * B;
  const auto band_height = [&](int64_t y0) { return std::min(band_rows, h - y0); };
  // A block's flatness: the mean size of its counted finest diagonal coefficients, noise and
  // texture; infinite where the block is not usable (mostly clipped, or not wholly where asked).
  std::vector<at::Tensor> sizes;
  int64_t blocks = 0;
  for (int64_t y0 = 0; y0 < h; y0 += band_rows) {
    const FlatNoiseBand band(image, y0, band_height(y0), w);
    const at::Tensor share = at::avg_pool2d(band.counted.to(at::kDouble), B / 2);  // [1,1,rows/B,w/B]
    const at::Tensor size = at::avg_pool2d(band.finest.abs().mean(1, true) * band.counted, B / 2) / share.clamp_min(1e-9);
    at::Tensor usable = share >= 0.5;
    if (where.defined())
      usable = usable.logical_and(
          at::avg_pool2d(where.narrow(2, y0, band_height(y0)).narrow(3, 0, w).to(image.device(), at::kDouble), B) >= 1);
    blocks += usable.sum().item<int64_t>();
    sizes.push_back(size.masked_fill(usable.logical_not(), std::numeric_limits<double>::infinity()));
  }
  if (blocks == 0) return std::nullopt;
  const at::Tensor size = at::cat(sizes, 2);
  const int64_t keep = std::max<int64_t>(1, int64_t(std::ceil(kFlattestShare * double(blocks))));
  const double flattest = std::get<0>(size.flatten().kthvalue(keep)).item<double>();
  // The chosen blocks' coefficients, band by band (a median does not depend on their order).
  std::vector<at::Tensor> finest, strided;  // strided: the four sub-images' finest diagonal coefficients
  for (int64_t y0 = 0; y0 < h; y0 += band_rows) {
    const at::Tensor chosen = size.narrow(2, y0 / B, band_height(y0) / B) <= flattest;  // usable ones: finite
    if (!chosen.any().item<bool>()) continue;
    const FlatNoiseBand band(image, y0, band_height(y0), w);
    const auto in_chosen = [&](const at::Tensor& c, const at::Tensor& ok) {  // c: coefficients on a grid of B/k per block
      const int64_t k = c.size(2) / chosen.size(2);
      return c.masked_select(chosen.repeat_interleave(k, 2).repeat_interleave(k, 3).logical_and(ok).expand_as(c));
    };
    finest.push_back(in_chosen(band.finest, band.counted));
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        const auto sub = [&](const at::Tensor& t) { return t.slice(2, dy, t.size(2), 2).slice(3, dx, w, 2); };
        const auto [coefficients, ok] = diagonal_haar(sub(band.x), sub(band.unclipped));
        strided.push_back(in_chosen(coefficients, ok));
      }
  }
  const double step = pixel_step(image) / 2;
  return FlatNoise{mad_sigma(at::cat(strided), step), mad_sigma(at::cat(finest), step)};
}

double denoise_sigma(double sigma, const at::Tensor& image) {
  return estimates_noise_sigma(sigma) ? estimate_noise_sigma(image) : sigma;
}

}  // namespace cm::edit
