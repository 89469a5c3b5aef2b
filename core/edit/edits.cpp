#include "core/edit/edits.h"

#include "core/edit/pixels.h"

#include "core/base/error.h"
#include "core/edit/algorithm4.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask.h"
#include "core/model/state_dict.h"
#include "core/sampling/multistep.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

namespace cm::edit {
namespace {

void require_image(const at::Tensor& image, const char* what) {
  if (!image.defined() || image.dim() != 4 || !image.is_floating_point())
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} needs a [B,C,H,W] float image, got {}", what,
                                                      image.defined() ? model::shape_string(image.sizes()) : "nothing"));
  if (!image.isfinite().all().item<bool>()) throw Error(ErrorCode::BadArgument, fmt::format("the {} image holds NaN or infinite values", what));
}

sampling::NoiseSource noise_for(const at::Tensor& image, const EditSettings& s) {
  const sampling::NoiseWindow window{image.size(0), image.size(1), s.noise_y0, s.noise_x0, image.size(2), image.size(3)};
  if (!s.blend_seeds) return sampling::field_noise(sampling::NoiseField(s.seed), window);
  if (!(s.blend >= 0 && s.blend <= 1))
    throw Error(ErrorCode::BadArgument, fmt::format("the blend between two seeds must lie in [0, 1], got {}", s.blend));
  const sampling::NoiseField a(s.seed), b(s.blend_seed);
  const double alpha = s.blend;
  return [a, b, window, alpha](int draw) { return sampling::slerp(a.crop(draw, window), b.crop(draw, window), alpha); };
}

// The largest s ≤ 1 per element with target + s·(x − target) inside [−1, 1].
at::Tensor shrink_factors(const at::Tensor& x, const at::Tensor& target) {
  const at::Tensor d = x - target;
  const at::Tensor ones = at::ones_like(x);
  const at::Tensor above = at::where(x > 1, (1 - target) / d, ones), below = at::where(x < -1, (-1 - target) / d, ones);
  return at::minimum(above, below).clamp(0, 1);
}

}  // namespace

at::Tensor colorization_input(const at::Tensor& image) {
  const at::Tensor rgb = image.size(1) == 1 ? image.expand({-1, 3, -1, -1}).to(at::kFloat) : image.to(at::kFloat);
  if (rgb.size(1) != 3) throw Error(ErrorCode::ShapeMismatch, "colorization needs a grey or RGB image");
  return rgb;
}

void check_colour_hints(const at::Tensor& image, const at::Tensor& hints, const at::Tensor& hint_mask) {
  if (hints.defined() != hint_mask.defined())
    throw Error(ErrorCode::BadArgument, "colour hints need both their colours and where they are");
  if (!hints.defined()) return;
  if (!is_stored(hints)) require_image(hints, "hint");  // stored colours (pixels.h) are finite by their type
  else if (hints.dim() != 4) throw Error(ErrorCode::ShapeMismatch, "the colour hints must be a [1,3,H,W] image");
  validate_mask(image, hint_mask);
  if (hints.size(1) != 3 || hints.size(2) != image.size(2) || hints.size(3) != image.size(3))
    throw Error(ErrorCode::ShapeMismatch, "the colour hints must be an RGB image of the image's size");
}

void check_super_resolution_factor(int factor) {
  if (factor != 2 && factor != 4 && factor != 8)
    throw Error(ErrorCode::BadArgument, fmt::format("super-resolution scales by 2, 4 or 8, not {}", factor));
}

at::Tensor fit_range_keeping_luma(const at::Tensor& rgb) {
  if (rgb.ge(-1).logical_and(rgb.le(1)).all().item<bool>()) return rgb;
  const at::Tensor grey = grey_of(rgb);  // same luma, no colour
  const at::Tensor s = std::get<0>(shrink_factors(rgb, grey).min(1, true));
  return (grey + s * (rgb - grey)).clamp(-1, 1);
}

at::Tensor fit_range_keeping_patch_means(const at::Tensor& image, int k) {
  if (image.ge(-1).logical_and(image.le(1)).all().item<bool>()) return image;
  const at::Tensor means = at::avg_pool2d(image, {k, k}).repeat_interleave(k, 2).repeat_interleave(k, 3);
  const int64_t b = image.size(0), c = image.size(1), h = image.size(2), w = image.size(3);
  const at::Tensor per_pixel = shrink_factors(image, means);
  const at::Tensor per_patch = per_pixel.reshape({b, c, h / k, k, w / k, k}).amin({3, 5}, true);  // per channel and patch
  const at::Tensor s = per_patch.expand({b, c, h / k, k, w / k, k}).reshape({b, c, h, w});
  return (means + s * (image - means)).clamp(-1, 1);
}

at::Tensor inpaint(const model::ConsistencyFunction& f, const at::Tensor& image, const at::Tensor& mask,
                   const EditSettings& settings) {
  require_image(image, "inpainting");
  validate_mask(image, mask);
  const KnownPart known(std::make_shared<IdentityOperator>(), image, (mask > 0).expand_as(image));
  const at::Tensor estimate = !settings.warm_start        ? at::Tensor()
                              : settings.estimate.defined() ? settings.estimate
                                                            : fill_holes(image.to(f.device()), mask.to(f.device()) <= 0);
  return algorithm4(f, known, settings.schedule, noise_for(image, settings), settings.labels, settings.control, estimate);
}

at::Tensor colorize(const model::ConsistencyFunction& f, const at::Tensor& image_in, const EditSettings& settings,
                    const at::Tensor& hints, const at::Tensor& hint_mask) {
  require_image(image_in, "colorization");
  const at::Tensor image = colorization_input(image_in);
  check_colour_hints(image, hints, hint_mask);
  const auto op = std::make_shared<LumaChromaOperator>();
  at::Tensor coefficients = op->forward(image);
  at::Tensor generate = at::ones_like(coefficients, at::kBool);
  generate.select(1, 0).fill_(false);  // luma is known everywhere
  if (hints.defined()) {
    const at::Tensor hinted = (hint_mask > 0).expand({image.size(0), 2, -1, -1});
    const at::Tensor hint_chroma = op->forward(hint_at_luma(image, hints)).narrow(1, 1, 2);
    coefficients = at::cat({coefficients.narrow(1, 0, 1), at::where(hinted, hint_chroma, coefficients.narrow(1, 1, 2))}, 1);
    generate.narrow(1, 1, 2).copy_(hinted.logical_not());
  }
  const KnownPart known(op, op->inverse(coefficients), generate);
  const at::Tensor estimate =
      settings.warm_start ? propagate_chroma(image.to(f.device()), hints.defined() ? hints.to(f.device()) : hints,
                                             hint_mask.defined() ? hint_mask.to(f.device()) : hint_mask)
                          : at::Tensor();
  const at::Tensor out = algorithm4(f, known, settings.schedule, noise_for(image, settings), settings.labels,
                                    settings.control, estimate);
  if (!settings.keep_in_range) return out;
  return fit_range_keeping_luma(out);
}

at::Tensor super_resolve(const model::ConsistencyFunction& f, const at::Tensor& low_res, int factor,
                         const EditSettings& settings) {
  require_image(low_res, "super-resolution");
  check_super_resolution_factor(factor);
  // Nearest upsampling: every k×k patch holds its low-res pixel, so its mean is that pixel.
  const at::Tensor reference = low_res.to(at::kFloat).repeat_interleave(factor, 2).repeat_interleave(factor, 3);
  at::Tensor generate = at::ones({int64_t(factor) * factor}, at::kBool);
  generate[0] = false;  // the patch mean is known
  const KnownPart known(std::make_shared<PatchBasisOperator>(factor), reference, generate);
  const at::Tensor estimate = settings.warm_start ? upsample_keeping_means(low_res.to(f.device()), factor) : at::Tensor();
  const at::Tensor out = algorithm4(f, known, settings.schedule, noise_for(reference, settings), settings.labels,
                                    settings.control, estimate);
  return settings.keep_in_range ? fit_range_keeping_patch_means(out, factor) : out;
}

at::Tensor sketch(const model::ConsistencyFunction& f, const at::Tensor& painting, const EditSettings& settings,
                  const at::Tensor& mask) {
  require_image(painting, "stroke-guided editing");
  sampling::Projection project;
  std::shared_ptr<KnownPart> known;
  if (mask.defined()) {
    validate_mask(painting, mask);
    known = std::make_shared<KnownPart>(
        KnownPart(std::make_shared<IdentityOperator>(), painting, (mask > 0).expand_as(painting)).to(f.device()));
    project = [known](const at::Tensor& x) { return known->project(x); };
  }
  // SDEdit starts from the painting itself, not a projection of it: the strokes are the guide.
  return sampling::run_consistency_loop(f, painting.to(at::kFloat), settings.schedule, noise_for(painting, settings),
                                        settings.labels, project, settings.control);
}

namespace {

// The finest diagonal Haar coefficients of an image (orthonormal HH), one per 2×2 block, and
// whether `where` holds on all four pixels of each block (undefined without `where`).
std::pair<at::Tensor, at::Tensor> diagonal_haar(const at::Tensor& image, const at::Tensor& where) {
  require_image(image, "noise estimation");
  const int64_t h = image.size(2) / 2 * 2, w = image.size(3) / 2 * 2;
  if (h < 2 || w < 2) throw Error(ErrorCode::BadArgument, "noise estimation needs an image of at least 2×2 pixels");
  const auto blocks = [&](const at::Tensor& x, int dy, int dx) { return x.narrow(2, 0, h).narrow(3, 0, w).slice(2, dy, h, 2).slice(3, dx, w, 2); };
  const at::Tensor x = image.to(at::kDouble);
  const at::Tensor diagonal = (blocks(x, 0, 0) - blocks(x, 0, 1) - blocks(x, 1, 0) + blocks(x, 1, 1)) / 2;
  if (!where.defined()) return {diagonal, at::Tensor()};
  const at::Tensor in = where.to(image.device(), at::kBool);
  return {diagonal, blocks(in, 0, 0) & blocks(in, 0, 1) & blocks(in, 1, 0) & blocks(in, 1, 1)};
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

// The median absolute deviation → σ for a Gaussian. On a grid of `step` (the diagonal Haar
// coefficients of 8-bit pixels lie on one of half levels) many values tie at the median, so it is
// placed inside its bin by the share of the ties below the middle (the grouped-data median).
// Unplaced, noise of 1, 2 and 5 levels read as 0.74, 2.22 and 5.19 levels.
double mad_sigma(const at::Tensor& coefficients, double step) {
  constexpr double kMadOfAGaussian = 0.6744897501960817;
  at::Tensor a = coefficients.abs().flatten();
  if (step <= 0) return a.median().item<double>() / kMadOfAGaussian;
  a = (a / step).round();  // in steps: exact ties
  const double m = a.median().item<double>();
  const double below = double((a < m).sum().item<int64_t>()), ties = double((a == m).sum().item<int64_t>());
  const double low = m == 0 ? 0 : m - 0.5, width = m == 0 ? 0.5 : 1;  // the bin of |c| that rounds to m
  return (low + width * (0.5 * double(a.numel()) - below) / ties) * step / kMadOfAGaussian;
}

}  // namespace

double estimate_noise_sigma(const at::Tensor& image) {
  return mad_sigma(diagonal_haar(image, at::Tensor()).first, pixel_step(image) / 2);
}

std::optional<double> estimate_noise_sigma(const at::Tensor& image, const at::Tensor& where) {
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

at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, double sigma, const at::Tensor& labels) {
  require_image(noisy, "denoising");
  return denoise(f, noisy, at::full({noisy.size(0)}, denoise_sigma(sigma, noisy), at::kDouble), labels);
}

at::Tensor denoise(const model::ConsistencyFunction& f, const at::Tensor& noisy, const at::Tensor& sigmas, const at::Tensor& labels) {
  require_image(noisy, "denoising");
  const model::NoiseRange& range = f.spec().noise;
  const at::Tensor levels = sigmas.to(at::kDouble).clamp(range.sigma_min, range.sigma_max).to(f.device(), at::kFloat);
  const at::Tensor out = f(noisy.to(f.device(), at::kFloat), levels, labels);
  if (!out.isfinite().all().item<bool>()) throw Error(ErrorCode::Internal, "the model returned NaN or infinite values");
  return out.clamp(-1, 1);
}

at::Tensor interpolate(const model::ConsistencyFunction& f, int64_t batch, std::uint64_t seed_a, std::uint64_t seed_b,
                       double alpha, const EditSettings& settings) {
  if (!(alpha >= 0 && alpha <= 1)) throw Error(ErrorCode::BadArgument, fmt::format("α must lie in [0, 1], got {}", alpha));
  if (batch < 1) throw Error(ErrorCode::BadArgument, fmt::format("cannot sample {} images", batch));
  const model::ModelSpec& spec = f.spec();
  const sampling::NoiseWindow window{batch, spec.channels, 0, 0, spec.image_size, spec.image_size};
  const sampling::NoiseField a(seed_a), b(seed_b);
  const sampling::NoiseSource blended = [=](int draw) {
    return sampling::slerp(a.crop(draw, window), b.crop(draw, window), alpha);
  };
  const at::Tensor start = at::zeros({batch, spec.channels, spec.image_size, spec.image_size}, at::kFloat);
  return sampling::run_consistency_loop(f, start, settings.schedule, blended, settings.labels, nullptr, settings.control);
}

at::Tensor interpolate_frames(const model::ConsistencyFunction& f, std::uint64_t seed_a, std::uint64_t seed_b,
                              const std::vector<double>& alphas, const EditSettings& settings) {
  if (alphas.empty()) throw Error(ErrorCode::BadArgument, "interpolate needs at least one α");
  EditSettings s = settings;
  const int steps = settings.schedule.steps();
  s.control.total_steps = int(alphas.size()) * steps;
  std::vector<at::Tensor> frames;
  for (std::size_t i = 0; i < alphas.size(); ++i) {
    s.control.step_offset = settings.control.step_offset + int(i) * steps;
    frames.push_back(interpolate(f, 1, seed_a, seed_b, alphas[i], s).cpu());
  }
  return at::cat(frames);
}

}  // namespace cm::edit
