// quality — how well a model edits held-out photos through the engine's real path
// (cm::engine::execute, as the editor and the CLI run them), side by side with classical
// baselines, over a sweep of configurations. Results go to docs/QUALITY.md.
//
//   quality --model DIR --pack PACK [--photos 100] [--size 192] [--samples 256] [--steps 1,2]
//           [--sample-steps 1,2,4] [--edits inpaint,sketch,superres,colorize] [--hints 0]
//           [--holes strokes,box,brush,cable,object]
//           [--fills auto,smooth,exemplar] [--xphoto yes] [--strengths default,1]
//           [--fresh-noise 1] [--work-sizes default] [--shrinks 2] [--textures 0.75] [--texture-reach 24]
//           [--colour-blurs 2] [--exemplar-depths 32] [--grow 0] [--feather 0] [--seed 0] [--threads 2]
//           [--out DIR] [--csv FILE] [--per-photo FILE] [--plot DIR] [--crops SIDE]
//
// --grow and --feather: the mask's growth and feathered band for every cmedit row (RegionOptions;
// the editor's defaults are 2 and 8, the CLI's 0). Scores stay inside the mask; with a band the
// pixels beside it change too, and the last column says how many.
//
// Every combination of --fills (inpaint's start, the registry's --fill words), --steps,
// --strengths (in [0, 1]; `default` = the engine's own choice for the photo),
// --fresh-noise, --work-sizes (0 = the model's size, default = the edit's own) and inpainting's
// --shrinks, --textures, --colour-blurs and --exemplar-depths (RegionOptions: how much a window may
// be shrunk, the healed texture, the blur of the model's colour, where the exemplar start begins;
// --texture-reach applies to every row) is one row of the model. On the pack's
// held-out photos, centre-cropped to size×size, each method gets PSNR and SSIM over the edited
// region, the gradient ratio (texture: Σ of squared forward differences over the region, result
// / truth; 1 = as sharp as the photo, < 1 blurry, > 1 noisy) and the SWD of 7×7 Laplacian-pyramid
// patches drawn in the region's bounding box, means over photos:
//   inpaint   one table per kind of mask (--holes, quality_inputs.h: strokes, box, brush, wide, cable,
//             object), inside the mask, with the chroma's high frequencies against the truth's
//             (colour speckle) and the share of pixels outside the mask that changed; vs OpenCV
//             Telea, Navier-Stokes, the harmonic fill and the exemplar fill (the warm starts), and
//             with --xphoto yes opencv_contrib's FSR and shift-map (seconds a photo).
//   sketch    the same masks painted over (quality_inputs.h, stroke_painting), the same columns
//             inside the mask; vs the painting itself
//   superres  ×4 from the 4×4 box mean, whole photo, and the largest deviation of a 4×4 mean
//             from its input pixel; vs bicubic and bicubic + back-projection (the warm start)
//   colorize  from the luma, whole photo, and chroma RMSE and colourfulness (Hasler–Süsstrunk);
//             vs the grey input; with --hints N, N dabs of the truth's colour (add_hints) given to
//             every cmedit row, and the classical answer from them (propagate_chroma) as a row
//   generate  (--samples > 0) SWD between unconditional samples and held-out crops (the
//             training crop sampler), per --sample-steps count (Karras et al. 2018)
// Each row also gets its time per photo (ms, on --threads). --out writes PNG grids (the first
// photos and configurations) and, with --crops SIDE, for inpainting a JPEG of SIDE-px crops around
// each hole at the photo's own pixels (input, Telea, the first cmedit row, truth), --csv every row
// with every metric, --per-photo a row per photo and method (PSNR, SSIM, gradient ratio), --plot
// an SVG per edit of PSNR against gradient ratio.
#include "bench/options.h"
#include "bench/quality_baselines.h"
#include "bench/quality_inputs.h"
#include "bench/quality_metrics.h"
#include "bench/quality_tables.h"
#include "core/base/text.h"
#include "core/edit/estimates.h"
#include "core/edit/exemplar_fill.h"
#include "core/engine/edit_registry.h"
#include "core/engine/execute.h"
#include "core/model/model_loader.h"
#include "core/sampling/multistep.h"
#include "core/sampling/schedule.h"
#include "core/train/data_source.h"
#include "core/train/image_pack.h"
#include "core/train/sample_grid.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#ifdef CMEDIT_HAVE_XPHOTO
#include <opencv2/xphoto.hpp>
#endif

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cm::edit::EditKind;
using namespace cm::bench;

// --- configurations and scores ------------------------------------------------------------------

constexpr int kPatchesPerLevel = 64;

// The region an edit is scored on: inside the mask for inpaint and sketch, the whole photo otherwise.
at::Tensor region_of(EditKind kind, const Photo& p) { return masked(kind) ? p.mask : at::ones_like(p.mask); }

// What the edit gets from the photo.
const at::Tensor& input_of(EditKind kind, const Photo& p) {
  switch (kind) {
    case EditKind::Inpaint: return p.holed;
    case EditKind::Sketch: return p.painting;
    case EditKind::SuperResolve: return p.low;
    default: return p.grey;
  }
}

// The texture's patches: in the edited region's bounding box, or centred in the mask
// (patches_centred_in_mask).
PatchSet patches_of(const EditTable& t, const at::Tensor& image, const Photo& p, const std::vector<int64_t>& box, std::uint64_t seed) {
  return masked(t.kind) && patches_centred_in_mask(t.hole) ? mask_patches(image, p.mask, kPatchesPerLevel, seed)
                                                            : region_patches(image, box, kPatchesPerLevel, seed);
}

// --per-photo: a row per photo and method, so a change's gains and losses can be told apart.
struct PerPhoto {
  std::ofstream* out = nullptr;
  std::size_t photo = 0;
};

void score(const EditTable& t, Row& row, const at::Tensor& result, const Photo& p, const at::Tensor& region,
           const std::vector<int64_t>& box, std::uint64_t patch_seed, const PerPhoto& per_photo) {
  const double value = psnr(result, p.truth, region), similarity = ssim(result, p.truth, region);
  // Colorization keeps the luma, so its texture is that of its colour (grey: 0).
  const double grad = t.kind == EditKind::Colorize ? gradient_ratio(colour_offset(result), colour_offset(p.truth), region)
                                                   : gradient_ratio(result, p.truth, region);
  row.m["psnr"].add(value);
  row.m["ssim"].add(similarity);
  row.m["grad"].add(grad);
  if (per_photo.out)
    *per_photo.out << per_photo.photo << ',' << cm::edit::to_string(t.kind) << ',' << (masked(t.kind) ? name_of(t.hole) : "") << ','
                   << row.method << ',' << value << ',' << similarity << ',' << grad << '\n';
  row.patches.push_back(patches_of(t, result, p, box, patch_seed));
  if (masked(t.kind)) {
    row.m["changed"].add(changed_outside(result, input_of(t.kind, p), p.mask));
    row.m["chroma_hf"].add(chroma_hf_ratio(result, p.truth, region));
  }
  if (t.kind == EditKind::SuperResolve) row.m["deviation"].add((at::avg_pool2d(result, {4, 4}) - p.low).abs().max().item<double>());
  if (t.kind == EditKind::Colorize) {
    row.m["chroma"].add(chroma_rmse(result, p.truth));
    row.m["colorfulness"].add(colorfulness(result));
  }
  if (int(row.grid.size()) < kGridPhotos) row.grid.push_back(result);
}

// Every combination of the options of windows along a mask; other edits run once with the defaults.
std::vector<std::tuple<double, double, int, int>> inpaint_variants(EditKind kind, const std::vector<double>& shrinks,
                                                                   const std::vector<double>& textures, const std::vector<int>& blurs,
                                                                   const std::vector<int>& depths) {
  if (!masked(kind)) return {{2.0, 0.0, 0, 0}};
  std::vector<std::tuple<double, double, int, int>> all;
  for (double s : shrinks)
    for (double t : textures)
      for (int b : blurs)
        for (int d : depths) all.emplace_back(s, t, b, d);
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  if (!a.count("--model") || !a.count("--pack")) {
    std::fprintf(stderr, "usage: quality --model DIR --pack PACK [--photos 100] [--size 192] [--samples 256] [--steps 1,2] "
                         "[--sample-steps 1,2,4] [--edits inpaint,sketch,superres,colorize] [--hints N] [--holes strokes,box,brush,wide,cable,object,spots,wires] [--fills auto,smooth,exemplar] [--xphoto yes] [--strengths default,1] [--fresh-noise 1] "
                         "[--work-sizes default] [--shrinks 2] [--textures 0.75] [--texture-reach 24] [--colour-blurs 2] [--exemplar-depths 32] [--grow 0] [--feather 0] [--seed 0] [--threads 2] [--out DIR] [--csv FILE] [--per-photo FILE] [--plot DIR] [--crops SIDE]\n");
    return 2;
  }
  try {
    at::set_num_threads(std::stoi(option(a, "--threads", "2")));
    const int photos = std::stoi(option(a, "--photos", "100")), size = std::stoi(option(a, "--size", "192"));
    const int samples = std::stoi(option(a, "--samples", "256"));
    const std::uint64_t seed = std::stoull(option(a, "--seed", "0"));
    const int hint_count = std::stoi(option(a, "--hints", "0"));  // colorize: colour hints from the truth (add_hints)
    std::vector<int> step_counts, sample_step_counts, work_sizes;
    std::vector<Hole> holes;  // one inpainting table each
    for (const auto& t : cm::split_list(option(a, "--holes", "strokes"))) {
      const std::optional<Hole> h = hole_named(t);
      if (!h) throw std::runtime_error("--holes: " + t + " is none of strokes, box, brush, wide, cable, object, spots, wires");
      holes.push_back(*h);
    }
    // Inpainting at the photo's own pixels (RegionOptions): window shrink, texture, colour blur.
    std::vector<double> fresh_shares, shrinks, textures;
    std::vector<int> colour_blurs, exemplar_depths;
    for (const auto& t : cm::split_list(option(a, "--shrinks", "2"))) shrinks.push_back(std::stod(t));
    const cm::edit::region::RegionOptions region_defaults;
    const double texture_reach = std::stod(option(a, "--texture-reach", fixed(region_defaults.texture_reach, "%g")));
    const int grow = std::stoi(option(a, "--grow", "0")), feather = std::stoi(option(a, "--feather", "0"));
    for (const auto& t : cm::split_list(option(a, "--textures", fixed(region_defaults.texture, "%g")))) textures.push_back(std::stod(t));
    for (const auto& t : cm::split_list(option(a, "--colour-blurs", std::to_string(region_defaults.colour_blur))))
      colour_blurs.push_back(std::stoi(t));
    for (const auto& t : cm::split_list(option(a, "--exemplar-depths", std::to_string(region_defaults.exemplar_depth))))
      exemplar_depths.push_back(std::stoi(t));
    for (const auto& t : cm::split_list(option(a, "--steps", "1,2"))) step_counts.push_back(std::stoi(t));
    for (const auto& t : cm::split_list(option(a, "--sample-steps", "1,2,4"))) sample_step_counts.push_back(std::stoi(t));
    // "default": the edit's own work size (the registry's; what the CLI uses).
    for (const auto& t : cm::split_list(option(a, "--work-sizes", "default"))) work_sizes.push_back(t == "default" ? -1 : std::stoi(t));
    for (const auto& t : cm::split_list(option(a, "--fresh-noise", "1"))) fresh_shares.push_back(std::stod(t));
    const std::vector<std::string> strengths = cm::split_list(option(a, "--strengths", "default,1"));
    // Inpainting's starts to compare (the registry's --fill words).
    const cm::engine::EditSetting& fill_setting = *cm::engine::find_setting(cm::engine::spec_of(EditKind::Inpaint), "fill");
    const std::vector<std::string> fills = cm::split_list(option(a, "--fills", "auto"));
    const bool xphoto = option(a, "--xphoto", "no") == "yes";  // the slow opencv_contrib fills as baselines too
    const fs::path out = option(a, "--out", ""), plot_dir = option(a, "--plot", "");
    const int crop_side = std::stoi(option(a, "--crops", "0"));  // with --out: crops at the photo's own pixels
    if (!out.empty()) fs::create_directories(out);
    if (!plot_dir.empty()) fs::create_directories(plot_dir);
    const cm::model::LoadedModel model = cm::model::load_model(cm::model::find_model(a["--model"]));
    const cm::model::ConsistencyFunction& f = *model.function;
    const int model_size = int(model.card.architecture.image_size);

    // The tables: per edit its baselines, then the model at every configuration.
    std::vector<EditTable> tables;
    for (const std::string& name : cm::split_list(option(a, "--edits", "inpaint,superres,colorize"))) {
      EditTable t;
      if (name == "inpaint") {
        t.kind = EditKind::Inpaint;
        t.rows.push_back({"OpenCV Telea", [](const Photo& p) { return opencv_inpaint(p.holed, p.mask, cv::INPAINT_TELEA); }});
        t.rows.push_back({"OpenCV Navier-Stokes", [](const Photo& p) { return opencv_inpaint(p.holed, p.mask, cv::INPAINT_NS); }});
        t.rows.push_back({"harmonic fill", [](const Photo& p) { return cm::edit::fill_holes(p.holed, p.mask <= 0); }});
        t.rows.push_back({"exemplar fill", [](const Photo& p) { return cm::edit::exemplar_fill(p.holed, p.mask <= 0); }});
#ifdef CMEDIT_HAVE_XPHOTO
        if (xphoto) {  // seconds a photo on the CPU: only when asked
          t.rows.push_back({"OpenCV xphoto FSR fast", [](const Photo& p) { return xphoto_inpaint(p.holed, p.mask, cv::xphoto::INPAINT_FSR_FAST); }});
          t.rows.push_back({"OpenCV xphoto shift-map", [](const Photo& p) { return xphoto_inpaint(p.holed, p.mask, cv::xphoto::INPAINT_SHIFTMAP); }});
        }
#else
        if (xphoto) throw std::runtime_error("--xphoto needs OpenCV's xphoto module (libopencv-contrib-dev) at build time");
#endif
      } else if (name == "sketch") {
        t.kind = EditKind::Sketch;
        t.rows.push_back({"the painting", [](const Photo& p) { return p.painting; }});
      } else if (name == "superres") {
        t.kind = EditKind::SuperResolve;
        t.rows.push_back({"bicubic", [](const Photo& p) { return bicubic_up(p.low, 4).clamp(-1, 1); }});
        t.rows.push_back({"bicubic + back-projection", [](const Photo& p) { return cm::edit::upsample_keeping_means(p.low, 4); }});
      } else if (name == "colorize") {
        t.kind = EditKind::Colorize;
        t.hints = hint_count;
        t.rows.push_back({"grey input", [](const Photo& p) { return p.grey; }});
        if (hint_count > 0)
          t.rows.push_back({"hints spread (Levin et al. 2004)", [](const Photo& p) { return cm::edit::propagate_chroma(p.grey, p.hints, p.hint_mask); }});
      } else {
        throw std::runtime_error("--edits: unknown edit '" + name + "' (inpaint, sketch, superres, colorize)");
      }
      // "default" runs at the engine's own choice (strength −1), which may depend on the photo
      // (inpaint: on the hole); the table shows what it chose for the first photo.
      std::vector<std::pair<double, bool>> levels;  // strength, is the default; each once
      for (const std::string& s : strengths) {
        const double v = s == "default" ? -1.0 : std::stod(s);
        if (s == "default") {
          levels.push_back({v, true});
          continue;
        }
        if (!(v >= 0 && v <= 1)) throw std::runtime_error("--strengths: " + s + " is not in [0, 1]");
        bool seen = false;
        for (auto& level : levels) seen |= level.first == v;
        if (!seen) levels.push_back({v, false});
      }
      for (const std::string& fill : t.kind == EditKind::Inpaint ? fills : std::vector<std::string>{"auto"})
        for (int steps : step_counts)
          for (const auto& [strength, is_default] : levels)
            for (double fresh : fresh_shares)
              for (int work : work_sizes)
                for (const auto& [shrink, texture, blur, depth] : inpaint_variants(t.kind, shrinks, textures, colour_blurs, exemplar_depths)) {
                  Row r{fill == "auto" ? "cmedit" : "cmedit, " + fill + " start"};
                  if (shrinks.size() > 1) r.method += ", shrink " + fixed(shrink, "%g");
                  if (textures.size() > 1) r.method += ", texture " + fixed(texture, "%g");
                  if (colour_blurs.size() > 1) r.method += ", colour blur " + std::to_string(blur);
                  if (exemplar_depths.size() > 1) r.method += ", exemplar from depth " + std::to_string(depth);
                  r.steps = steps, r.strength = strength, r.default_strength = is_default, r.fresh = fresh, r.work = work;
                  r.shrink = shrink, r.texture = texture, r.colour_blur = blur, r.exemplar_depth = depth;
                  r.fill = cm::engine::choice_index(fill_setting, fill);
                  if (r.fill < 0) throw std::runtime_error("--fills: " + fill + " is none of " + fill_setting.choices);
                  t.rows.push_back(std::move(r));
                }
      if (!masked(t.kind)) {
        tables.push_back(std::move(t));
        continue;
      }
      for (Hole hole : holes) {  // one table per kind of mask
        EditTable one = t;
        one.hole = hole;
        tables.push_back(std::move(one));
      }
    }

    const cm::train::ImagePack pack = cm::train::read_image_pack(a["--pack"]);
    std::vector<at::Tensor> test = pack.pixels(cm::train::Split::Test);
    if (test.empty()) throw std::runtime_error("the pack has no held-out photos");
    if (int(test.size()) > photos) test.resize(std::size_t(photos));
    at::InferenceMode inference;
    // One exemplar fill per photo and hole, whatever the strength and steps (as in the engine).
    cm::edit::ExemplarCache exemplar_cache(64);
    std::ofstream per_photo;
    if (a.count("--per-photo")) {
      per_photo.open(a["--per-photo"]);
      if (!per_photo) throw std::runtime_error("cannot write " + a["--per-photo"]);
      per_photo << "photo,edit,holes,method,psnr,ssim,grad_ratio\n";
    }
    const auto t0 = std::chrono::steady_clock::now();

    for (std::size_t i = 0; i < test.size(); ++i) {
      const PerPhoto this_photo{per_photo.is_open() ? &per_photo : nullptr, i};
      for (EditTable& t : tables) {
        Photo p = make_photo(test[i], size, seed * 1000 + i, t.hole);
        if (t.hints > 0) add_hints(p, t.hints, seed * 1000 + i);
        const at::Tensor region = region_of(t.kind, p);
        const std::vector<int64_t> box = bounding_box(region);
        // The same corners for the truth and every method, another set per photo and edit.
        const std::uint64_t patch_seed = (seed * 1000 + i) * 16 + std::uint64_t(t.kind);
        t.truth_patches.push_back(patches_of(t, p.truth, p, box, patch_seed));
        t.coverage.add(p.mask.mean().item<double>());
        t.truth_colorfulness.add(colorfulness(p.truth));
        const at::Tensor& input = input_of(t.kind, p);
        if (int(t.truth_grid.size()) < kGridPhotos) t.input_grid.push_back(input), t.truth_grid.push_back(p.truth), t.mask_grid.push_back(p.mask);
        for (Row& row : t.rows) {
          const auto started = std::chrono::steady_clock::now();
          const auto time_it = [&] { row.m["ms"].add(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count()); };
          if (row.baseline) {
            const at::Tensor result = row.baseline(p);
            time_it();
            score(t, row, result, p, region, box, patch_seed, this_photo);
            continue;
          }
          cm::engine::EditRequest r;
          r.kind = t.kind;
          r.image = input;
          if (masked(t.kind)) r.mask = p.mask;
          if (t.hints > 0) r.hints = p.hints, r.hint_mask = p.hint_mask;
          r.scale = 4;
          r.steps = row.steps;
          r.strength = row.default_strength ? -1.0 : row.strength;
          r.region.fill = cm::edit::region::HoleFill(row.fill);
          r.fresh_noise = row.fresh;
          r.seed = seed + i;
          r.region.max_work_size = row.work;
          r.region.window_shrink = row.shrink;
          r.region.texture = row.texture;
          r.region.colour_blur = row.colour_blur;
          r.region.exemplar_depth = row.exemplar_depth;
          r.region.texture_reach = texture_reach;
          r.region.grow = grow, r.region.feather = feather;  // at 0 every pixel outside the mask comes back as it was
          cm::engine::Timings timings;
          if (row.default_strength && !(row.strength >= 0)) row.strength = cm::engine::strength_of(cm::engine::resolved(r, true));
          const at::Tensor result = cm::engine::execute(f, model.card, r, {{}, &exemplar_cache}, timings);
          time_it();
          score(t, row, result, p, region, box, patch_seed, this_photo);
        }
      }
      std::fprintf(stderr, "\rphoto %zu/%zu", i + 1, test.size());
    }
    std::fprintf(stderr, "\n");
    for (EditTable& t : tables)
      for (Row& row : t.rows) row.swd = swd_pooled(row.patches, t.truth_patches, seed);

    // Unconditional samples vs held-out crops from the training crop sampler.
    cm::train::CropOptions crop;
    crop.size = model_size;
    std::vector<double> floor;
    std::map<int, std::vector<double>> swd_steps;
    std::map<int, at::Tensor> generated;
    if (samples > 0) {
      const cm::train::CropSampler held_out(pack.pixels(cm::train::Split::Test), crop, 4242);
      const at::Tensor reference = held_out.batch(0, samples);
      floor = swd(held_out.batch(1, samples), reference, seed);
      for (int steps : sample_step_counts) {
        std::vector<at::Tensor> chunks;
        for (int b = 0; b < samples; b += 32)
          chunks.push_back(cm::sampling::generate(f, std::min(32, samples - b), seed + 7, cm::sampling::karras_schedule(steps, model.card.noise.sigma_max, model.card.noise), {}, {}, b));
        generated[steps] = at::cat(chunks).to(at::kCPU);
        swd_steps[steps] = swd(generated[steps], reference, seed);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("model %s (%s), %zu held-out photos at %d×%d, seed %llu, %.0f s\n", model.card.name.c_str(), a["--model"].c_str(),
                test.size(), size, size, static_cast<unsigned long long>(seed), seconds);
    std::ofstream csv;
    if (a.count("--csv")) {
      csv.open(a["--csv"]);
      if (!csv) throw std::runtime_error("cannot write " + a["--csv"]);
      csv << csv_header();
    }
    const Varied varied{fills.size() > 1, fresh_shares.size() > 1, work_sizes.size() > 1, shrinks.size() > 1};
    for (EditTable& t : tables) print_table(t, model.card, model_size, test.size(), varied, csv.is_open() ? &csv : nullptr, plot_dir);
    if (samples > 0) {
      std::printf("\nUnconditional samples vs %d held-out crops: SWD ×10³ of 7×7 Laplacian-pyramid patches (lower is better):\n\n| samples |", samples);
      for (int l = 0; l < swd_levels(crop.size); ++l) std::printf(" %d px |", crop.size >> l);
      std::printf(" mean |\n|---|");
      for (int l = 0; l <= swd_levels(crop.size); ++l) std::printf("---|");
      std::printf("\n");
      const auto row = [](const std::string& name, const std::vector<double>& v) {
        double total = 0;
        std::printf("| %s |", name.c_str());
        for (double x : v) std::printf(" %.1f |", x), total += x;
        std::printf(" %.1f |\n", total / double(v.size()));
      };
      row("held-out crops (floor)", floor);
      for (int k : sample_step_counts) row(std::to_string(k) + (k > 1 ? " steps" : " step"), swd_steps[k]);
    }

    if (!out.empty()) {
      write_grids(tables, out, crop_side);
      for (const auto& [k, images] : generated)
        write_grid_png(out / ("samples-" + std::to_string(k) + "step.png"), cm::train::image_grid(images.slice(0, 0, 32), 8));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quality: %s\n", e.what());
    return 1;
  }
}
