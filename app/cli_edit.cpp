#include "app/cli_edit.h"

#include "app/cli_batch.h"

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/edit/edit_kind.h"
#include "core/engine/edit_registry.h"
#include "core/engine/engine.h"
#include "core/engine/execute.h"
#include "core/imageio/image_file.h"
#include "core/model/model_loader.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <unistd.h>

namespace cli {

namespace {

using cm::Error;
using cm::ErrorCode;
using cm::edit::EditKind;
namespace fs = std::filesystem;

struct Arguments {
  EditKind kind = EditKind::Generate;
  const cm::engine::EditSpec* spec = nullptr;
  std::optional<std::string> input, output, model, mask, hints, masks;
  std::string device = "auto", precision = "auto";
  bool json = false, progress = true, overwrite = false;
  bool strip_metadata = false, srgb = false;  // how the output carries the input's metadata (SaveOptions)
  bool folder = false;  // the input is a folder of images (cli_batch.h)
  int jobs = 1;
  int threads = 0;  // CPU threads per engine; 0: the engine's choice (cm::engine::choose_cpu_threads)
  cm::engine::EditRequest request;
  int frames = 0;
  bool sigma_given = false;
};

template <typename T>
T parse_number(const std::string& flag, const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end)
    throw Error(ErrorCode::BadArgument, fmt::format("{} needs {}, got '{}'", flag,
                                                    std::is_integral_v<T> ? "a whole number" : "a number", text));
  return value;
}

double parse_real(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw Error(ErrorCode::BadArgument, fmt::format("{} needs a number, got '{}'", flag, text));
}

template <typename T>
std::vector<T> parse_list(const std::string& flag, const std::string& text) {
  if (text.empty()) throw Error(ErrorCode::BadArgument, fmt::format("{} needs a list of numbers, got ''", flag));
  std::vector<T> out;
  for (const std::string& item : cm::split_list(text)) out.push_back(parse_number<T>(flag, item));
  return out;
}

// "0.3" or "30%": a strength in [0, 1].
double parse_strength(const std::string& flag, const std::string& text) {
  const bool percent = !text.empty() && text.back() == '%';
  const double v = parse_real(flag, percent ? text.substr(0, text.size() - 1) : text) / (percent ? 100.0 : 1.0);
  if (!(v >= 0 && v <= 1))
    throw Error(ErrorCode::BadArgument, fmt::format("{} must lie in 0…1 (or 0%…100%), got '{}'", flag, text));
  return v;
}

Arguments parse(const std::string& command, const std::vector<std::string>& args) {
  Arguments a;
  a.kind = cm::edit::parse_edit_kind(command);
  a.spec = &cm::engine::spec_of(a.kind);
  const cm::engine::EditSpec& spec = *a.spec;
  a.request.kind = a.kind;
  a.request.steps = spec.steps;
  for (const cm::engine::EditSetting& s : spec.settings) s.set(a.request, s.fallback);
  std::vector<std::uint64_t> seeds;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto value = [&]() -> const std::string& {
      if (i + 1 == args.size()) throw Error(ErrorCode::BadArgument, arg + " needs a value");
      return args[++i];
    };
    auto& r = a.request;
    const cm::engine::EditSetting* setting = arg.rfind("--", 0) == 0 ? cm::engine::find_setting(spec, arg.substr(2)) : nullptr;
    if (setting && setting->choices) {
      const std::string& word = value();
      const int index = cm::engine::choice_index(*setting, word);
      if (index < 0) throw Error(ErrorCode::BadArgument, fmt::format("{} takes {}, got '{}'", arg, setting->choices, word));
      setting->set(r, index);
    } else if (setting) {
      setting->set(r, parse_real(arg, value()));
      if (std::string(setting->name) == "sigma") a.sigma_given = true;
    }
    else if (arg == "-o" || arg == "--output") a.output = value();
    else if (arg == "--model") a.model = value();
    else if (arg == "--mask" && spec.mask != cm::engine::Need::No) a.mask = value();
    else if (arg == "--hints" && spec.hints) a.hints = value();
    else if (arg == "--masks" && spec.mask != cm::engine::Need::No) a.masks = value();
    else if (arg == "--jobs" && spec.image) a.jobs = parse_number<int>(arg, value());
    else if (arg == "--overwrite" && spec.image) a.overwrite = true;
    else if (arg == "--device") a.device = value();
    else if (arg == "--precision") a.precision = value();
    else if (arg == "--threads") {
      a.threads = parse_number<int>(arg, value());
      if (a.threads < 1) throw Error(ErrorCode::BadArgument, fmt::format("--threads needs at least 1, got {}", a.threads));
    }
    else if (arg == "--json") a.json = true;
    else if (arg == "--no-progress") a.progress = false;
    else if (arg == "--strip-metadata" && spec.image) a.strip_metadata = true;
    else if (arg == "--srgb" && spec.image) a.srgb = true;
    else if (arg == "--steps") r.steps = parse_number<int>(arg, value());
    else if (arg == "--ts") r.ts = parse_list<int>(arg, value());
    else if (arg == "--seed") r.seed = parse_number<std::uint64_t>(arg, value());
    else if (arg == "--class") r.class_label = parse_number<int>(arg, value());
    else if (arg == "--strength" && spec.has_strength) r.strength = parse_strength(arg, value());
    else if (arg == "--fresh-noise" && spec.has_strength) r.fresh_noise = parse_strength(arg, value());
    else if (arg == "--work-size" && spec.image) r.region.max_work_size = parse_number<int>(arg, value());
    else if (arg == "--seeds" && a.kind == EditKind::Interpolate) seeds = parse_list<std::uint64_t>(arg, value());
    else if (arg == "--frames" && a.kind == EditKind::Interpolate) a.frames = parse_number<int>(arg, value());
    else if (!arg.empty() && arg[0] == '-') throw Error(ErrorCode::BadArgument, "unknown option '" + arg + "' for " + command);
    else if (!a.input && spec.image) a.input = arg;
    else throw Error(ErrorCode::BadArgument, "unexpected argument '" + arg + "' for " + command);
  }
  if (spec.image && !a.input) throw Error(ErrorCode::BadArgument, command + " needs an input image");
  if (!a.output) throw Error(ErrorCode::BadArgument, command + " needs -o OUT");
  a.folder = a.input && fs::is_directory(*a.input);
  const bool folder = a.folder;
  if (spec.mask == cm::engine::Need::Required && !a.mask && !(folder && a.masks))
    throw Error(ErrorCode::BadArgument, command + (folder ? " of a folder needs --masks DIR (masks named as the images)"
                                                          : " needs --mask MASK (white = edit)"));
  if (!folder && (a.masks || a.jobs != 1 || a.overwrite))
    throw Error(ErrorCode::BadArgument, "--masks, --jobs and --overwrite are for a folder of images");
  if (folder && a.mask) throw Error(ErrorCode::BadArgument, "a folder of images takes --masks DIR, not --mask");
  if (a.jobs < 1 || a.jobs > 256) throw Error(ErrorCode::BadArgument, "--jobs must lie in 1…256");
  if (a.kind == EditKind::Denoise && a.sigma_given && cm::edit::estimates_noise_sigma(a.request.sigma))
    throw Error(ErrorCode::BadArgument, "--sigma must be > 0 (8-bit levels); leave it out to estimate it");
  if (a.kind == EditKind::Interpolate) {
    if (seeds.size() != 2) throw Error(ErrorCode::BadArgument, "interpolate needs --seeds A,B");
    if (a.frames < 2 || a.frames > 1000) throw Error(ErrorCode::BadArgument, "interpolate needs --frames N with 2 ≤ N ≤ 1000");
    a.request.seed = seeds[0];
    a.request.seed_b = seeds[1];
    for (int i = 0; i < a.frames; ++i) a.request.alphas.push_back(double(i) / (a.frames - 1));
  }
  cm::engine::check_request_settings(a.request);
  return a;
}

// Colour hints from an image: opaque pixels when it has alpha, else every non-black pixel.
std::pair<at::Tensor, at::Tensor> load_hints(const fs::path& path) {
  const cm::imageio::Image hints = cm::imageio::load_image(path);
  const at::Tensor where = hints.alpha.defined() ? (hints.alpha >= 0.5)
                                                 : (hints.rgb > -1 + 1.5 * 2.0 / 255).any(1, /*keepdim=*/true);
  return {hints.rgb, where.to(at::kFloat)};
}

// OUT for one image; OUT-0.png, OUT-1.png, … for several.
std::vector<fs::path> output_names(const fs::path& out, int64_t count) {
  if (count == 1) return {out};
  std::vector<fs::path> names;
  const int width = int(std::to_string(count - 1).size());
  for (int64_t i = 0; i < count; ++i)
    names.push_back(out.parent_path() / fmt::format("{}-{:0{}}{}", out.stem().string(), i, width, out.extension().string()));
  return names;
}

// The request's knobs, for the report: what a rerun needs to give the same result.
nlohmann::json parameters_of(const Arguments& a) {
  const cm::engine::EditRequest& r = a.request;
  nlohmann::json p = {{"steps", r.ts.empty() ? r.steps : int(r.ts.size()) - 1}};
  if (!r.ts.empty()) p["ts"] = r.ts;
  if (r.class_label >= 0) p["class"] = r.class_label;
  if (a.spec->has_strength && r.ts.empty()) p["strength"] = cm::engine::strength_of(r);
  for (const cm::engine::EditSetting& s : a.spec->settings)
    if (std::string(s.name) != "sigma" || a.sigma_given) {
      if (s.choices) p[s.name] = cm::engine::choice_name(s, s.get(r));
      else if (s.integral) p[s.name] = int(s.get(r));
      else p[s.name] = s.get(r);
    }
  if (r.region.max_work_size > 0) p["work_size"] = r.region.max_work_size;
  if (a.kind == EditKind::Interpolate) p["seeds"] = {r.seed, r.seed_b}, p["frames"] = a.frames;
  if (a.kind == EditKind::Colorize) p["hints"] = a.hints.has_value();
  if (a.input) p["input"] = *a.input;
  if (a.mask) p["mask"] = *a.mask;
  return p;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  ~ProgressBar() { finish(); }
  void show(const cm::engine::Progress& p) {
    if (!enabled_) return;
    const int width = 30, filled = p.total > 0 ? width * p.step / p.total : width;
    std::fprintf(stderr, "\r[%s%s] %d/%d  σ %-8.4g %6.1f s", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), p.step, p.total, p.sigma, p.elapsed_ms / 1000);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fputc('\n', stderr);
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

// A default the common options share, as the edits declare it (edit_registry.cpp): the value when
// every edit that takes the option has the same, else "the edit's own".
template <typename T>
std::string shared_default(T cm::engine::EditSpec::*field, bool strength_edits_only) {
  std::optional<T> value;
  for (const cm::engine::EditSpec& spec : cm::engine::edit_specs()) {
    if (strength_edits_only && !spec.has_strength) continue;
    if (value && *value != spec.*field) return "the edit's own";
    value = spec.*field;
  }
  return value ? fmt::format("{:g}", double(*value)) : "none";
}

}  // namespace

std::string edit_usage() {
  std::string out = "editing commands (each writes -o OUT; --json prints a report on stdout):\n";
  for (const cm::engine::EditSpec& spec : cm::engine::edit_specs()) {
    out += fmt::format("  {:<36} {}\n", spec.name() + " " + spec.arguments, spec.summary);
    if (spec.has_strength) {
      out += fmt::format("      starts from {}; keeps {}\n", spec.estimate, spec.keeps);
      // The default is chosen window by window along a mask (engine::window_strength, window_steps);
      // a super-resolution's tiles take one evaluation at it (EditSpec::one_step_at_default).
      std::string per_window;
      if (spec.exemplar_strength >= 0) per_window += fmt::format("; {:.0f}% from an exemplar fill", 100 * spec.exemplar_strength);
      if (spec.native_strength >= 0) per_window += fmt::format("; {:.0f}% near the photo's own pixels", 100 * spec.native_strength);
      if (!per_window.empty()) per_window += "; one step a window";
      if (spec.one_step_at_default) per_window += "; one step a tile";
      out += fmt::format("      {:<14} 0…1 or 0%…100%, from that start to pure noise (default {:.0f}%{})\n", "--strength S",
                         100 * spec.strength, per_window);
    }
    for (const cm::engine::EditSetting& s : spec.settings) {
      out += s.choices ? fmt::format("      {:<14} {}\n", fmt::format("--{} WORD", s.name), s.help)
                       : fmt::format("      {:<14} {} (default {:g})\n", fmt::format("--{} N", s.name), s.help, s.fallback);
      for (int i = 0; s.choices && i <= int(s.max); ++i)
        if (const std::string help = cm::engine::choice_help(s, i); !help.empty())
          out += fmt::format("        {:<12} {}\n", cm::engine::choice_name(s, i), help);
    }
  }
  out += "options for all of them:\n"
         "  --model NAME|DIR|FILE   default: the built-in model    --device auto|cpu|cuda[:N]\n";
  const std::string steps = shared_default(&cm::engine::EditSpec::steps, false);
  out += fmt::format("{:<56}--precision auto|fp32|fp16|bf16\n", fmt::format("  --steps N | --ts i,j,k  evaluations (default {})", steps));
  out += "  --seed N                default 0                      --class N (class-conditional models)\n"
         "  --threads N             CPU threads (default: all cores but one; 1 of 2, since 2 are 1.3-1.8x as fast\n"
         "                          on an idle machine but 4x as slow while another program keeps a core busy)\n"
         "  --work-size PX          edit windows at up to PX pixels a side (default: the edit's own; 0: the model's size)\n";
  // --fresh-noise is taken by the edits with a strength only (parse()).
  out += fmt::format("  --fresh-noise F         share of fresh noise between steps, (0, 1] (default {})\n",
                     shared_default(&cm::engine::EditSpec::fresh_noise, true));
  out +=
      "  -o OUT                  output file (several images: OUT-0.png, OUT-1.png, …): .png .jpg .tif .webp\n"
      "                          .avif .heic .jxl .bmp; the input's EXIF, XMP and colour profile go along\n"
      "  --strip-metadata        leave out EXIF, XMP and IPTC (camera, place, date); the colour profile stays\n"
      "  --srgb                  write sRGB, tagged sRGB, instead of converting back to the photo's own profile\n"
      "  --json                  machine-readable report        --no-progress\n"
      "a folder: EDIT DIR -o OUTDIR edits every image in DIR as a run on that file would, into OUTDIR/NAME\n"
      "  --masks DIR, --hints DIR  masks and hints matched by name (a.png takes DIR/a.*)\n"
      "  --jobs N                  N engines at once (CPU); or one per device: --device cuda:0,cuda:1\n"
      "  --overwrite               redo images whose output exists (by default a rerun resumes)\n"
      "  a file that fails is reported and skipped; the exit status is 1 when any failed\n";
  return out;
}

namespace {

// The files of one edit (a.input, a.mask, a.hints) read into a copy of the request. Throws
// cm::Error naming the file.
struct FileEdit {
  cm::engine::EditRequest request;
  cm::imageio::Image input;
};
FileEdit read_files(const Arguments& a) {
  FileEdit e{a.request, {}};
  if (a.input) {
    // As the file's integers: the edits make floats only of the windows they work on, so a
    // 50-megapixel photo takes 150 MB, not 600 (core/edit/pixels.h).
    e.input = cm::imageio::load_image(*a.input, cm::imageio::Pixels::Stored);
    e.request.image = e.input.rgb;
  }
  if (a.mask) e.request.mask = cm::imageio::load_mask(*a.mask);
  if (a.hints) std::tie(e.request.hints, e.request.hint_mask) = load_hints(*a.hints);
  return e;
}

// Runs one edit on `engine` and writes the result to a.output (several images: OUT-0, OUT-1, …).
// A folder runs read_files and this once per image, so each output is what a single run on that
// file writes. Throws cm::Error.
std::pair<cm::engine::EditResult, std::vector<fs::path>> edit_files(const std::string& command, const Arguments& a,
                                                                    const FileEdit& files, cm::engine::Engine& engine,
                                                                    const cm::engine::ModelInfo& info,
                                                                    cm::engine::JobCallbacks callbacks = {}) {
  const cm::engine::EditRequest& request = files.request;
  const cm::imageio::Image& input = files.input;
  const cm::engine::EditResult result = engine.submit(request, std::move(callbacks)).get();
  if (result.status != cm::engine::JobStatus::Done) throw Error(result.error_code, result.error);

  std::vector<fs::path> written;
  const std::vector<fs::path> names = output_names(*a.output, result.image.size(0));
  for (int64_t i = 0; i < result.image.size(0); ++i) {
    cm::imageio::Image out;
    out.rgb = result.image.narrow(0, i, 1);
    out.metadata = input.metadata;  // the camera's data and colour profile (metadata.h decides what an export keeps)
    if (input.alpha.defined()) {  // alpha is the user's: carried over untouched (enlarged by repetition for superres)
      const int64_t k = out.rgb.size(2) / input.alpha.size(2);
      out.alpha = k > 1 ? input.alpha.repeat_interleave(k, 2).repeat_interleave(k, 3) : input.alpha;
    }
    cm::imageio::SaveOptions save;  // the input's bit depth where the format allows it
    save.bit_depth = a.input ? input.bit_depth : 8;
    save.strip_metadata = a.strip_metadata;
    if (a.srgb) save.colour = cm::imageio::SaveOptions::Colour::Srgb;
    save.description = nlohmann::json{{"cmedit", command}, {"model", info.name}, {"seed", request.seed},
                                      {"parameters", parameters_of(a)}, {"sigmas", result.sigmas}}
                           .dump();
    cm::imageio::save_image(names[std::size_t(i)], out, save);
    written.push_back(names[std::size_t(i)]);
  }
  return {result, written};
}

// `EDIT DIR -o OUTDIR`: every image of the folder, as single runs would edit them (cli_batch.h).
int run_folder(const std::string& command, const Arguments& a) {
  fs::create_directories(*a.output);
  const bool hints_folder = a.hints && fs::is_directory(*a.hints);
  std::vector<BatchItem> items = list_batch(*a.input, *a.output, a.masks, hints_folder ? a.hints : std::nullopt);
  if (a.hints && !hints_folder)
    for (BatchItem& item : items) item.hints = *a.hints;  // one hints image for every photo
  BatchOptions options;
  options.devices = cm::split_list(a.device);
  if (options.devices.empty()) throw Error(ErrorCode::BadArgument, "--device needs a device: auto, cpu, cuda or cuda:N[,cuda:M…]");
  if (a.jobs > 1) {
    if (options.devices.size() > 1) throw Error(ErrorCode::BadArgument, "give either --jobs N or several devices, not both");
    options.devices.assign(std::size_t(a.jobs), options.devices.front());
  }
  options.precision = a.precision;
  options.threads = a.threads;
  options.model = a.model ? cm::model::find_model(*a.model) : cm::model::builtin_model_path();
  options.progress = a.progress;
  options.overwrite = a.overwrite;
  options.json = a.json;
  return run_batch(command, items, options, [&](cm::engine::Engine& engine, const cm::engine::ModelInfo& info, const BatchItem& item) {
    Arguments one = a;
    one.input = item.input.string();
    one.output = item.output.string();
    if (item.mask) one.mask = item.mask->string();
    if (item.hints) one.hints = item.hints->string();
    edit_files(command, one, read_files(one), engine, info);
  });
}

}  // namespace

int run_edit_command(const std::string& command, const std::vector<std::string>& args) {
  Arguments a = parse(command, args);
  if (a.folder) return run_folder(command, a);
  const FileEdit files = read_files(a);  // a bad file fails before the model loads

  cm::engine::EngineOptions options;
  options.device = a.device;
  options.precision = a.precision;
  options.warm_up = false;  // one job: warming up would only add a run
  options.keep_exemplar_fills = false;  // nor would keeping its fill
  options.cpu_threads = a.threads;
  cm::engine::Engine engine(options);
  const fs::path model_path = a.model ? cm::model::find_model(*a.model) : cm::model::builtin_model_path();
  const cm::engine::ModelInfo info = engine.load_model(model_path).get();

  ProgressBar bar(a.progress);
  cm::engine::JobCallbacks callbacks;
  callbacks.on_progress = [&bar](const cm::engine::Progress& p) { bar.show(p); };
  std::pair<cm::engine::EditResult, std::vector<fs::path>> edited;
  try {
    edited = edit_files(command, a, files, engine, info, callbacks);
  } catch (...) {
    bar.finish();
    throw;
  }
  bar.finish();
  const cm::engine::EditResult& result = edited.first;
  const std::vector<fs::path>& written = edited.second;
  const cm::engine::EditRequest& request = a.request;

  if (a.json) {
    const cm::engine::Timings& t = result.timings;
    nlohmann::json report = {
        {"command", command},
        {"model", {{"name", info.name}, {"path", info.path}, {"image_size", info.image_size}, {"parameters", info.parameters}}},
        {"device", result.device},
        {"seed", request.seed},
        {"parameters", parameters_of(a)},
        {"sigmas", result.sigmas},
        {"timings_ms", {{"load", info.load_ms}, {"prepare", t.prepare_ms}, {"model", t.model_ms}, {"steps", t.steps_ms},
                        {"composite", t.composite_ms}, {"total", t.total_ms}}},
        {"evaluations", t.evaluations},
        {"outputs", nlohmann::json::array()}};
    for (const fs::path& p : written) report["outputs"].push_back(p.string());
    if (a.kind == EditKind::Denoise) report["sigma_8bit_levels"] = result.sigmas.at(0) * 255.0 / 2.0;
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::fprintf(stderr, "wrote %s%s (%d evaluations, %.0f ms on %s)\n", written.front().string().c_str(),
                 written.size() > 1 ? fmt::format(" … {} images", written.size()).c_str() : "", result.timings.evaluations,
                 result.timings.total_ms, result.device.c_str());
  }
  return 0;
}

}  // namespace cli
