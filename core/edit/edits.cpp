#include "core/edit/edits.h"

#include "core/edit/pixels.h"

#include "core/base/error.h"
#include "core/edit/algorithm4.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask.h"
#include "core/sampling/multistep.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <vector>

namespace cm::edit {
namespace {

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
  const at::Tensor outside = rgb.abs().gt(1).any(1);  // [B,H,W]
  if (!outside.any().item<bool>()) return rgb;
  // Only the pixels outside change, on a colorized photo a few in a hundred: they alone are
  // gathered (over every pixel this took 1.7 s of a 20 MP colorization's strips).
  const int64_t b = rgb.size(0), h = rgb.size(2), w = rgb.size(3);
  const at::Tensor pixels = rgb.transpose(0, 1).reshape({3, -1});  // [3, B·H·W]
  const at::Tensor which = outside.reshape({-1}).nonzero().squeeze(1);
  const at::Tensor some = pixels.index_select(1, which).t().reshape({-1, 3, 1, 1});  // as [M,3,1,1] images
  const at::Tensor grey = grey_of(some);  // same luma, no colour
  const at::Tensor s = std::get<0>(shrink_factors(some, grey).min(1, true));
  const at::Tensor fitted = (grey + s * (some - grey)).clamp(-1, 1);
  return pixels.index_copy(1, which, fitted.reshape({-1, 3}).t()).view({3, b, h, w}).transpose(0, 1).contiguous();
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
