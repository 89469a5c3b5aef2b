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

// The settings. The CLI's compositing: the mask means exactly what it says (no grow, no feather),
// so every pixel outside it comes back bit-identical. The editor sets its own visual feather.
// A whole number 0…max kept in the request's RegionOptions::*Field, 0 by default.
template <int region::RegionOptions::*Field>
EditSetting region_setting(const char* name, const char* help, int max) {
  EditSetting s;
  s.name = name;
  s.help = help;
  s.fallback = 0;
  s.min = 0;
  s.max = max;
  s.integral = true;
  s.get = [](const EditRequest& r) { return double(r.region.*Field); };
  s.set = [](EditRequest& r, double v) { r.region.*Field = int(v); };
  return s;
}

// Widths in pixels around the mask, 0…256.
EditSetting grow_setting() {
  return region_setting<&region::RegionOptions::grow>("grow", "pixels beyond the mask that are regenerated too", 256);
}

EditSetting feather_setting() {
  return region_setting<&region::RegionOptions::feather>("feather", "half-width in pixels of the fade from the edit into the photo", 256);
}

EditSetting fill_setting() {
  EditSetting s;
  s.name = "fill";
  s.help = "what inpainting starts from before the model refines it";
  s.fallback = 0;
  s.min = 0;
  s.max = 2;
  s.integral = true;
  s.get = [](const EditRequest& r) { return double(r.region.fill); };
  s.set = [](EditRequest& r, double v) { r.region.fill = region::HoleFill(int(v)); };
  s.choices = "auto|smooth|exemplar";  // the order of edit::region::HoleFill
  s.choice_help = "patches copied from the photo for large holes and spots, a smooth fill for thin strokes (default)"
                  "|a smooth fill from the hole's edges: fast, blurred"
                  "|patches copied from the rest of the photo: the texture it already has";
  return s;
}

EditSetting scale_setting() {
  EditSetting s;
  s.name = "scale";
  s.help = "enlargement factor: 2, 4 or 8";
  s.fallback = 4;
  s.min = 2;
  s.max = 8;
  s.integral = true;
  s.get = [](const EditRequest& r) { return double(r.scale); };
  s.set = [](EditRequest& r, double v) { r.scale = int(v); };
  return s;
}

EditSetting sigma_setting() {
  EditSetting s;
  s.name = "sigma";
  s.help = "noise in 8-bit levels, > 0; left out, it is estimated (where the mask is)";
  s.fallback = 0;
  s.min = 0;
  s.max = 255;
  s.integral = false;
  s.get = [](const EditRequest& r) { return r.sigma * 255.0 / 2.0; };
  s.set = [](EditRequest& r, double v) { r.sigma = v * 2.0 / 255.0; };
  return s;
}

EditSetting mirrors_setting() {
  return region_setting<&region::RegionOptions::mirrors>(
      "mirrors", "evaluations a tile, of it mirrored, averaged: 1, 2 or 4 (0 = 4 on a GPU, 1 on a CPU)", 4);
}

EditSetting passes_setting() {
  return region_setting<&region::RegionOptions::denoise_passes>(
      "passes", "1, or 2: first at twice the pixel spacing, for a camera's noise and flat skies (0 = 2 from 3.5 levels of noise on)", 2);
}

EditSetting batch_setting() {
  EditSetting s;
  s.name = "batch";
  s.help = "images to sample";
  s.fallback = 1;
  s.min = 1;
  s.max = 1024;
  s.integral = true;
  s.get = [](const EditRequest& r) { return double(r.batch); };
  s.set = [](EditRequest& r, double v) { r.batch = int(v); };
  return s;
}

// The entries, in the order of the CLI's usage and the editor's picker. Each sets its fields by
// name; the inputs an edit does not take, and the defaults every edit shares today (fresh noise 1,
// one step, the model's work size), keep EditSpec's own values.

// Measured on the held-out photos (docs/QUALITY.md): strokes from the membrane fill at the model's
// scale, large holes from the exemplar fill ("Large holes"), thin holes at the photo's own pixels
// from the healed membrane fill ("Edit quality at the photo's own pixels").
constexpr double kInpaintStrength = 0.49, kLargeHoleStrength = 0.30, kNativeStrength = 0.20;

EditSpec inpaint_entry() {
  EditSpec e;
  e.kind = EditKind::Inpaint;
  e.label = "Inpaint (mask)";
  e.arguments = "IMAGE --mask MASK";
  e.summary = "regenerate the white part of MASK";
  e.image = true;
  e.mask = Need::Required;
  e.has_strength = true;
  e.strength = kInpaintStrength;
  e.exemplar_strength = kLargeHoleStrength;
  e.native_strength = kNativeStrength;
  e.work_size = 256;
  e.estimate = "a membrane fill of the hole, or for large holes and spots patches copied from the photo";
  e.keeps = "every pixel outside the mask";
  e.settings = {grow_setting(), feather_setting(), fill_setting()};
  e.picker_position = 0;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return region::inpaint_photo(f, r.image, r.mask, s, r.region);  // execute() checked the inputs
  };
  return e;
}

EditSpec sketch_entry() {
  EditSpec e;
  e.kind = EditKind::Sketch;
  e.label = "Sketch (strokes)";
  e.arguments = "IMAGE [--mask MASK]";
  e.summary = "redraw a painting so it looks like a photo (SDEdit)";
  e.image = true;
  e.painting = true;
  e.mask = Need::Optional;
  e.has_strength = true;
  e.strength = 0.50;
  e.native_strength = kNativeStrength;
  e.work_size = 256;
  e.estimate = "the painting, with the photo's own texture laid into its strokes in their colours";
  e.keeps = "nothing, or every pixel outside the optional mask";
  e.settings = {grow_setting(), feather_setting()};
  e.picker_position = 1;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return region::sketch_photo(f, r.image, s, r.mask, r.region);
  };
  return e;
}

// The request's hints at its image's size: placed there when it sends only their box (made here,
// on the engine's thread, not on the caller's).
std::pair<at::Tensor, at::Tensor> hints_over_image(const EditRequest& r) {
  if (!r.hints.defined() || !r.image.defined() || r.image.dim() != 4 || r.hints.dim() != 4 || !r.hint_mask.defined() ||
      r.hint_mask.dim() != 4)
    return {r.hints, r.hint_mask};  // colorize_photo says what is wrong
  const int64_t h = r.image.size(2), w = r.image.size(3);
  if (r.hints_y == 0 && r.hints_x == 0 && r.hints.size(2) == h && r.hints.size(3) == w) return {r.hints, r.hint_mask};
  const int64_t bh = r.hints.size(2), bw = r.hints.size(3);
  if (r.hints_y < 0 || r.hints_x < 0 || r.hints_y + bh > h || r.hints_x + bw > w || r.hint_mask.size(2) != bh || r.hint_mask.size(3) != bw)
    throw Error(ErrorCode::ShapeMismatch, fmt::format("colour hints of {}×{} at ({}, {}) do not lie inside the {}×{} image", bw, bh,
                                                      r.hints_x, r.hints_y, w, h));
  at::Tensor hints = at::zeros({r.hints.size(0), r.hints.size(1), h, w}, r.hints.options());
  at::Tensor where = at::zeros({r.hint_mask.size(0), r.hint_mask.size(1), h, w}, r.hint_mask.options());
  hints.narrow(2, r.hints_y, bh).narrow(3, r.hints_x, bw).copy_(r.hints);
  where.narrow(2, r.hints_y, bh).narrow(3, r.hints_x, bw).copy_(r.hint_mask);
  return {hints, where};
}

EditSpec colorize_entry() {
  EditSpec e;
  e.kind = EditKind::Colorize;
  e.label = "Colorize (hints)";
  e.arguments = "IMAGE [--hints HINTS]";
  e.summary = "colour a grey photo; opaque (or non-black) pixels of HINTS give their colour";
  e.image = true;
  e.hints = true;
  e.has_strength = true;
  e.strength = 0.40;
  e.estimate = "the photo's luma with the hints' colour spread along its edges (grey without hints)";
  e.keeps = "the luma everywhere, and the colour at hinted pixels";
  e.picker_position = 2;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    const auto [hints, where] = hints_over_image(r);
    return region::colorize_photo(f, r.image, s, hints, where, r.region);
  };
  return e;
}

EditSpec super_resolve_entry() {
  EditSpec e;
  e.kind = EditKind::SuperResolve;
  e.label = "Super-resolve (selection)";
  e.arguments = "IMAGE [--scale 2|4|8]";
  e.summary = "enlarge; every k×k block averages back to the input pixel";
  e.image = true;
  e.has_strength = true;
  e.strength = 0.33;
  e.estimate = "bicubic, back-projected so every block mean is exact";
  // From the back-projected enlargement at 0.33 (σ 0.066) a tile is near its answer: on the 17
  // held-out photos at 384 px (×4 from 96), 1 step gave 28.49 dB, SSIM 0.724, SWD 240 and 3 steps
  // 28.62 dB, 0.734, SWD 248 (smoother: gradient ratio 0.54 against 0.47) in 2.9 times the time
  // (docs/QUALITY.md, "Super-resolution: one evaluation a tile"). A 1100 × 720 selection ×2 in the
  // editor was 4,140 evaluations to its refined preview (about 9 minutes on 2 cores); now 1,380.
  e.one_step_at_default = true;
  e.keeps = "every k×k block mean";
  e.settings = {scale_setting()};
  e.picker_position = 4;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return region::super_resolve_photo(f, r.image, r.scale, s, r.region);
  };
  return e;
}

EditSpec denoise_entry() {
  EditSpec e;
  e.kind = EditKind::Denoise;
  e.label = "Denoise (mask or whole)";
  e.one_evaluation = true;
  e.arguments = "IMAGE [--mask MASK] [--sigma S]";
  e.summary = "remove noise of S 8-bit levels (estimated if not given) where MASK is white, or everywhere";
  e.image = true;
  e.mask = Need::Optional;
  e.estimate = "the noisy photo, read as a point at its noise level";
  e.keeps = "nothing, or every pixel outside the optional mask";
  e.settings = {sigma_setting(), grow_setting(), feather_setting(), mirrors_setting(), passes_setting()};
  e.picker_position = 3;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return region::denoise_recording_level(f, r.image, r.sigma, s, r.region, r.mask);
  };
  return e;
}

EditSpec generate_entry() {
  EditSpec e;
  e.kind = EditKind::Generate;
  e.label = "Generate (new image)";
  e.arguments = "[--batch N]";
  e.summary = "sample new images";
  e.estimate = "pure noise";
  e.keeps = "nothing";
  e.settings = {batch_setting()};
  e.picker_position = 5;
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return sampling::generate(f, r.batch, r.seed, s.schedule, s.labels, s.control, r.first_image);
  };
  return e;
}

EditSpec interpolate_entry() {
  EditSpec e;
  e.kind = EditKind::Interpolate;
  e.label = "Interpolate (two seeds)";
  e.arguments = "--seeds A,B --frames N";
  e.summary = "N images between the samples of two seeds";
  e.estimate = "the slerp of two seeds' noises";
  e.keeps = "nothing";
  e.run = [](const model::ConsistencyFunction& f, const EditRequest& r, edit::EditSettings& s) {
    return edit::interpolate_frames(f, r.seed, r.seed_b, r.alphas, s);
  };
  return e;
}

std::vector<EditSpec> make_specs() {
  return {inpaint_entry(),  sketch_entry(),   colorize_entry(),   super_resolve_entry(),
          denoise_entry(),  generate_entry(), interpolate_entry()};
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

bool chooses_per_window(const EditSpec& spec) { return spec.exemplar_strength >= 0 || spec.native_strength >= 0; }

bool one_step_a_part(const EditSpec& spec, double strength) {
  return spec.has_strength && strength < 0 && (chooses_per_window(spec) || spec.one_step_at_default);
}

int window_steps(int steps) {
  // A window's default strength starts it close to the answer (σ 0.048 from an exemplar fill, and
  // σ ≤ 0.36 from a healed or painted start, lower near the photo's own pixels), and more steps
  // change nothing one can measure. On the 17 held-out 768-px photos (docs/QUALITY.md, "One
  // evaluation a window"), 3 steps against 1: objects 22.96 against 22.92 dB (SWD 66.0, 65.1);
  // wires 27.66 against 27.68, cables 24.81 against 24.84, brush strokes 26.27 against 26.26;
  // painted brush strokes 25.05 against 25.08; the 192-px strokes 20.88 against 20.87; each at
  // 1.8–2.5 times the time. So every such window takes one, and the editor's refinement comes
  // 2–3 times sooner.
  return std::min(steps, 1);
}

EditRequest resolved(const EditRequest& r, bool on_cpu) {
  EditRequest out = r;
  out.region.max_work_size = work_size_of(r, on_cpu);
  // A draft keeps the quick start everywhere (a sketch's: its edge's texture mirrored in);
  // otherwise each window chooses its own (region.h).
  const bool along_mask = r.kind == EditKind::Inpaint || r.kind == EditKind::Sketch;
  if (along_mask && r.region.fill == region::HoleFill::Auto && r.use == EditRequest::Use::Draft)
    out.region.fill = region::HoleFill::Smooth;
  // A draft on the CPU spreads colour hints at half the side: on a 12 MP photo the spread and its
  // fit cost ~250 ms at 1024 px, and the refinement comes at 1024 soon after.
  if (on_cpu && r.use == EditRequest::Use::Draft) out.region.hint_side = std::min(out.region.hint_side, kCpuDraftHintSide);
  if (!on_cpu && r.kind == EditKind::Denoise && r.region.tile_batch <= 1) out.region.tile_batch = kGpuDenoiseBatch;
  // A GPU evaluates a tile's four mirrors in the same group for little more than one; a CPU pays
  // three to four times the minutes (docs/QUALITY.md, "Denoising"), so there they are asked for.
  if (r.kind == EditKind::Denoise && r.region.mirrors <= 0) out.region.mirrors = on_cpu ? 1 : 4;
  return out;
}

std::vector<EditKind> picker_edits() {
  std::vector<const EditSpec*> offered;
  for (const EditSpec& s : edit_specs())
    if (s.picker_position >= 0) offered.push_back(&s);
  std::stable_sort(offered.begin(), offered.end(),
                   [](const EditSpec* a, const EditSpec* b) { return a->picker_position < b->picker_position; });
  std::vector<EditKind> kinds;
  for (const EditSpec* s : offered) kinds.push_back(s->kind);
  return kinds;
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
