#include "core/engine/edit_registry.h"

#include "core/base/error.h"
#include "core/edit/pixels.h"
#include "core/edit/region.h"
#include "core/engine/edit_request.h"
#include "core/sampling/multistep.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace cm::engine {
namespace {

using edit::EditKind;
namespace region = edit::region;

// The CLI's compositing: the mask means exactly what it says (no grow, no feather), so every
// pixel outside it comes back bit-identical. The editor sets its own visual feather.
EditSetting grow_setting() {
  return {"grow", "pixels beyond the mask that are regenerated too", 0, 0, 256, true,
          [](const EditRequest& r) { return double(r.region.grow); }, [](EditRequest& r, double v) { r.region.grow = int(v); }};
}
EditSetting feather_setting() {
  return {"feather", "half-width in pixels of the fade from the edit into the photo", 0, 0, 256, true,
          [](const EditRequest& r) { return double(r.region.feather); }, [](EditRequest& r, double v) { r.region.feather = int(v); }};
}

constexpr const char* kFillChoices = "auto|smooth|exemplar";  // the order of edit::region::HoleFill

EditSetting fill_setting() {
  return {"fill", "what inpainting starts from before the model refines it", 0, 0, 2, true,
          [](const EditRequest& r) { return double(r.region.fill); },
          [](EditRequest& r, double v) { r.region.fill = region::HoleFill(int(v)); }, kFillChoices,
          "patches copied from the photo for large holes, a smooth fill for thin strokes (default)"
          "|a smooth fill from the hole's edges: fast, blurred"
          "|patches copied from the rest of the photo: the texture it already has"};
}

// Measured on the held-out photos (docs/QUALITY.md): strokes from the membrane fill at the model's
// scale, large holes from the exemplar fill ("Large holes"), thin holes at the photo's own pixels
// from the healed membrane fill ("Edit quality at the photo's own pixels").
constexpr double kInpaintStrength = 0.49, kLargeHoleStrength = 0.30, kNativeStrength = 0.20;

std::vector<EditSpec> make_specs() {
  std::vector<EditSpec> specs;
  specs.push_back({EditKind::Inpaint, "Inpaint (mask)", "IMAGE --mask MASK", "regenerate the white part of MASK",
                   true, false, Need::Required, false, true, kInpaintStrength, 1.0, 1, 256,
                   "a membrane fill of the hole, or for large holes patches copied from the photo",
                   "every pixel outside the mask", {grow_setting(), feather_setting(), fill_setting()},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return region::inpaint(f, r.image, r.mask, s, r.region);  // execute() checked the inputs
                   },
                   kLargeHoleStrength, kNativeStrength});
  specs.push_back({EditKind::Sketch, "Sketch (strokes)", "IMAGE [--mask MASK]",
                   "redraw a painting so it looks like a photo (SDEdit)", true, true, Need::Optional, false, true, 0.50, 1.0, 1, 256,
                   "the painting itself", "nothing, or every pixel outside the optional mask",
                   {grow_setting(), feather_setting()},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return region::sketch(f, r.image, s, r.mask, r.region);
                   }});
  specs.push_back({EditKind::Colorize, "Colorize (hints)", "IMAGE [--hints HINTS]",
                   "colour a grey photo; opaque (or non-black) pixels of HINTS give their colour",
                   true, false, Need::No, true, true, 0.40, 1.0, 1, 0,
                   "the photo's luma with the hints' colour spread along its edges (grey without hints)",
                   "the luma everywhere, and the colour at hinted pixels", {},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return region::colorize(f, r.image, s, r.hints, r.hint_mask, r.region);
                   }});
  specs.push_back({EditKind::SuperResolve, "Super-resolve (selection)", "IMAGE [--scale 2|4|8]",
                   "enlarge; every k×k block averages back to the input pixel", true, false, Need::No, false, true, 0.33, 1.0, 1, 0,
                   "bicubic, back-projected so every block mean is exact", "every k×k block mean",
                   {{"scale", "enlargement factor: 2, 4 or 8", 4, 2, 8, true,
                     [](const EditRequest& r) { return double(r.scale); }, [](EditRequest& r, double v) { r.scale = int(v); }}},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return region::super_resolve(f, r.image, r.scale, s, r.region);
                   }});
  specs.push_back({EditKind::Denoise, "Denoise", "IMAGE [--sigma S]", "remove noise of S 8-bit levels (estimated if not given)",
                   true, false, Need::No, false, false, 1.0, 1.0, 1, 0, "the noisy photo, read as a point at its noise level",
                   "nothing", {{"sigma", "noise in 8-bit levels; 0 = estimate it", 0, 0, 255, false,
                                [](const EditRequest& r) { return r.sigma * 255.0 / 2.0; },
                                [](EditRequest& r, double v) { r.sigma = v * 2.0 / 255.0; }}},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return region::denoise_recording_level(f, r.image, r.sigma, s, r.region);
                   }});
  specs.push_back({EditKind::Generate, "Generate (new image)", "[--batch N]", "sample new images", false, false, Need::No, false,
                   false, 1.0, 1.0, 1, 0, "pure noise", "nothing",
                   {{"batch", "images to sample", 1, 1, 1024, true, [](const EditRequest& r) { return double(r.batch); },
                     [](EditRequest& r, double v) { r.batch = int(v); }}},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return sampling::generate(f, r.batch, r.seed, s.schedule, s.labels, s.control, r.first_image);
                   }});
  specs.push_back({EditKind::Interpolate, "Interpolate (two seeds)", "--seeds A,B --frames N",
                   "N images between the samples of two seeds", false, false, Need::No, false, false, 1.0, 1.0, 1, 0,
                   "the slerp of two seeds' noises", "nothing", {},
                   [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
                     return edit::interpolate_frames(f, r.seed, r.seed_b, r.alphas, s);
                   }});
  return specs;
}

}  // namespace

const std::vector<EditSpec>& edit_specs() {
  static const std::vector<EditSpec> specs = make_specs();
  return specs;
}

const EditSpec& spec_of(EditKind kind) {
  for (const EditSpec& s : edit_specs())
    if (s.kind == kind) return s;
  throw Error(ErrorCode::Internal, fmt::format("edit '{}' is not registered", edit::to_string(kind)));
}

const EditSpec* find_spec(const std::string& name) {
  for (const EditSpec& s : edit_specs())
    if (s.name() == name) return &s;
  return nullptr;
}

int work_size_of(const EditRequest& r, bool on_cpu) {
  if (r.region.max_work_size >= 0) return r.region.max_work_size;
  const int own = spec_of(r.kind).work_size;
  if (!on_cpu || r.use == EditRequest::Use::Final) return own;
  if (r.use == EditRequest::Use::Draft) return 0;
  return own > 0 ? std::min(own, kCpuInteractiveWorkSize) : own;
}

double strength_of(const EditRequest& r) {
  const EditSpec& spec = spec_of(r.kind);
  if (!spec.has_strength) return 1.0;
  if (r.strength >= 0) return r.strength;
  if (spec.exemplar_strength >= 0 && region::uses_exemplar(r.mask, r.region)) return spec.exemplar_strength;
  return spec.strength;
}

double window_strength(const EditSpec& spec, const region::RegionOptions::WindowStart& start) {
  const double own = start.exemplar && spec.exemplar_strength >= 0 ? spec.exemplar_strength : spec.strength;
  if (spec.native_strength < 0) return own;
  // A window near the photo's own pixels (shrunk 2× or less) takes the native strength; one shrunk
  // 8× or more, where a photo looks as the training crops do, the start's own; on a log scale
  // between (docs/QUALITY.md, "Edit quality at the photo's own pixels").
  const double t = std::clamp(std::log2(std::max(start.shrink, 1.0) / 2.0) / 2.0, 0.0, 1.0);
  return std::min(own, spec.native_strength + t * (own - spec.native_strength));
}

EditRequest resolved(const EditRequest& r, bool on_cpu) {
  EditRequest out = r;
  out.region.max_work_size = work_size_of(r, on_cpu);
  // A draft keeps the quick start everywhere; otherwise each window chooses its own (region.h).
  if (r.kind == EditKind::Inpaint && r.region.fill == region::HoleFill::Auto && r.use == EditRequest::Use::Draft)
    out.region.fill = region::HoleFill::Smooth;
  return out;
}

const EditSetting* find_setting(const EditSpec& spec, const std::string& name) {
  for (const EditSetting& s : spec.settings)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

// Field `index` of a '|'-separated list; nullopt past its end.
std::optional<std::string> field(const char* list, double index) {
  const std::string all = list ? list : "";
  std::size_t start = 0;
  for (int i = 0; list; ++i) {
    const std::size_t bar = all.find('|', start);
    if (i == int(index)) return all.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string choice_name(const EditSetting& s, double value) {
  return field(s.choices, value).value_or(fmt::format("{:g}", value));
}

std::string choice_help(const EditSetting& s, int index) { return field(s.choice_help, index).value_or(""); }

int choice_index(const EditSetting& s, const std::string& word) {
  for (int i = 0; s.choices && i <= int(s.max); ++i)
    if (choice_name(s, i) == word) return i;
  return -1;
}

}  // namespace cm::engine
