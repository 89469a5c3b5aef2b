// preview_latency — what a user waits for in the editor: from a finished stroke to the preview on
// screen, through the real engine (its worker thread, its thread settings, latest-wins supersede).
//
//   preview_latency [--model DIR | --arch lsun256|imagenet64|tiny|FILE.json] [--kind inpaint|sketch|colorize]
//                   [--photo 1024x768] [--steps 1,3] [--runs 30] [--device auto|cpu|cuda]
//                   [--precision auto|fp32|fp16|bf16] [--estimates no,yes] [--graphs yes,no] [--layout nchw,nhwc]
//                   [--mask box|cable]
//
// Two measurements on a synthetic photo with a 120×80 mask (the built-in model by default; --arch
// times a network that does not ship, with random weights):
//   single  one preview request at a time, for each --steps and --estimates in the lists:
//           submit → result, median and min over --runs, with the
//           engine's own split of the time (prepare / model / composite). On a GPU, "model" is the
//           time to queue the network's kernels (the engine does not wait for them), or to replay
//           their graph (--graphs yes, the engine's default: EngineOptions::cuda_graphs).
//   stroke  a stroke as the editor sends it, at the first --steps: a preview every 16 ms for 20
//           mouse moves (each one supersedes the last), then the time from the last move to its
//           preview; median over --runs / 3 strokes.
// --mask cable instead times a camera-sized photo's long stroke (run it with --photo 4000x3000): a
// 24-px curve across the whole photo on smooth gradients, edited in windows along the mask
// (mask_windows.h) from the brush's end, the stroke's last point. It prints the time from submit to
// the first window's pixels (RegionOptions::on_window, what the editor pastes into its preview
// first) and to the whole result, medians over --runs / 3 drafts.
// --estimates yes asks for the intermediate image after every step (JobCallbacks::estimates), the
// host copy the editor does without; the difference between the two rows is its cost. Every
// --graphs and --layout pair is an engine of its own (the model loaded again). What it is doing is
// printed as it goes, line by line, so that a run cut short by a timeout still says how far it got.
// Results go to docs/BENCHMARKS.md with the command and machine.
#include "bench/bench_models.h"
#include "core/base/text.h"
#include "core/engine/edit_registry.h"
#include "core/engine/engine.h"
#include "core/model/model_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Stats {
  double median, min;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front()};
}

struct Preview {
  cm::edit::EditKind kind = cm::edit::EditKind::Inpaint;
  at::Tensor photo, mask;
  int steps = 1;
  cm::engine::JobCallbacks callbacks;
  int64_t focus_y = -1, focus_x = -1;  // the brush, for windows along the mask
  std::function<void(int64_t, int64_t, const at::Tensor&)> on_window;

  std::future<cm::engine::EditResult> submit(cm::engine::Engine& engine, std::uint64_t seed) const {
    cm::engine::EditRequest r;
    r.kind = kind;
    r.preview = true;
    r.use = cm::engine::EditRequest::Use::Draft;  // the live preview while painting, as the editor asks for it
    r.image = photo;
    if (cm::engine::spec_of(kind).mask != cm::engine::Need::No) r.mask = mask;
    r.steps = steps;  // at the edit's default strength
    r.seed = seed;
    r.region.focus_y = focus_y;
    r.region.focus_x = focus_x;
    r.region.on_window = on_window;
    return engine.submit(std::move(r), callbacks);
  }
};

cm::engine::EditResult finished(std::future<cm::engine::EditResult> f) {
  cm::engine::EditResult r = f.get();
  if (r.status != cm::engine::JobStatus::Done) throw std::runtime_error("preview failed: " + r.error);
  return r;
}

// One preview at a time; the first pays for allocations and is not counted.
void time_single(cm::engine::Engine& engine, const Preview& p, int runs, const std::string& estimates) {
  finished(p.submit(engine, 0));
  std::vector<double> wall, prepare, model_ms, composite;
  int evaluations = 0;  // at the default strength a window takes one whatever the steps (engine::window_steps)
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    const cm::engine::EditResult result = finished(p.submit(engine, std::uint64_t(r)));
    wall.push_back(ms_since(t0));
    prepare.push_back(result.timings.prepare_ms);
    model_ms.push_back(result.timings.model_ms);
    composite.push_back(result.timings.composite_ms);
    evaluations = result.timings.evaluations;
  }
  const Stats w = stats(wall), pr = stats(prepare), f = stats(model_ms), c = stats(composite);
  std::printf("single, %d step(s) asked, %d evaluation(s), estimates %s: median %.1f ms (min %.1f) submit->result over %d runs; "
              "prepare %.1f, model %.1f, composite %.1f ms\n",
              p.steps, evaluations, estimates.c_str(), w.median, w.min, runs, pr.median, f.median, c.median);
}

// Strokes: 20 moves 16 ms apart, each superseding the previous preview.
void time_strokes(cm::engine::Engine& engine, const Preview& p, int strokes) {
  std::vector<double> after_stroke;
  int superseded = 0, moves = 0;
  for (int s = 0; s < strokes; ++s) {
    std::vector<std::future<cm::engine::EditResult>> pending;
    Clock::time_point last_move;
    for (int m = 0; m < 20; ++m) {
      last_move = Clock::now();
      pending.push_back(p.submit(engine, std::uint64_t(1000 + 20 * s + m)));
      std::this_thread::sleep_for(std::chrono::milliseconds(16));
    }
    finished(std::move(pending.back()));
    after_stroke.push_back(ms_since(last_move));
    for (std::size_t m = 0; m + 1 < pending.size(); ++m, ++moves)
      if (pending[m].get().status == cm::engine::JobStatus::Cancelled) ++superseded;
  }
  const Stats st = stats(after_stroke);
  std::printf("stroke: median %.1f ms (min %.1f) from the last move to its preview over %zu strokes; %d of %d earlier "
              "previews superseded\n",
              st.median, st.min, after_stroke.size(), superseded, moves);
}

// A long stroke's draft: submit → first window, and → the whole edit.
void time_windows(cm::engine::Engine& engine, Preview p, int drafts) {
  p.callbacks = {};
  std::vector<double> first, whole;
  int windows = 0;  // the same plan every time
  for (int d = 0; d <= drafts; ++d) {  // the first pays for allocations and is not counted
    auto seen = std::make_shared<std::atomic<int>>(0);
    auto first_ms = std::make_shared<std::atomic<double>>(-1.0);
    const auto t0 = Clock::now();
    p.on_window = [seen, first_ms, t0](int64_t, int64_t, const at::Tensor&) {
      if (seen->fetch_add(1) == 0) first_ms->store(ms_since(t0));
    };
    finished(p.submit(engine, std::uint64_t(d)));
    if (d == 0) continue;
    whole.push_back(ms_since(t0));
    first.push_back(first_ms->load());
    windows = seen->load();
  }
  const Stats f = stats(first), w = stats(whole);
  std::printf("cable: median %.0f ms (min %.0f) submit->first window, %.0f ms (min %.0f) the whole draft of %d windows, "
              "over %d drafts\n",
              f.median, f.min, w.median, w.min, windows, drafts);
}

// One engine with these options: load, say how, then the single previews and the strokes.
void time_engine(cm::engine::EngineOptions options, const std::filesystem::path& model, Preview p,
                 const std::map<std::string, std::string>& a, int runs) {
  const bool cable = a.at("--mask") == "cable";
  const auto start = Clock::now();
  cm::engine::Engine engine(options);
  const cm::engine::ModelInfo info = engine.load_model(model).get();
  std::printf("== graphs %s, layout %s: model %s (%lld parameters, %dx%d) on %s %s, loaded in %.0f ms (warm-up %.0f ms, "
              "%.0f ms in all); graphs: %s; %d CPU threads for the engine\n",
              options.cuda_graphs ? "yes" : "no", options.channels_last ? "nhwc" : "nchw", info.name.c_str(),
              static_cast<long long>(info.parameters), info.image_size, info.image_size, info.device.c_str(),
              info.precision.c_str(), info.load_ms, info.warm_up_ms, ms_since(start),
              info.graphs ? "replayed" : info.no_graphs_because.c_str(),
              cm::engine::choose_cpu_threads(std::thread::hardware_concurrency()));
  if (cable) {
    p.steps = std::max(1, std::stoi(cm::split_list(a.at("--steps")).front()));
    time_windows(engine, p, std::max(1, runs / 3));
    return;
  }
  for (const std::string& steps : cm::split_list(a.at("--steps")))
    for (const std::string& estimates : cm::split_list(a.at("--estimates"))) {
      p.steps = std::max(1, std::stoi(steps));
      p.callbacks = {};
      if (estimates == "yes") {
        p.callbacks.estimates = true;
        p.callbacks.on_progress = [](const cm::engine::Progress& progress) { (void)progress.estimate.defined(); };
      }
      time_single(engine, p, runs, estimates);
    }
  p.steps = std::max(1, std::stoi(cm::split_list(a.at("--steps")).front()));
  p.callbacks = {};
  time_strokes(engine, p, std::max(1, runs / 3));
  const cm::engine::EngineStats stats = engine.stats();
  std::printf("graphs recorded %d, replayed %d\n", stats.graph_recordings, stats.graph_replays);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a run cut short keeps what it printed
  std::map<std::string, std::string> a = {{"--model", ""}, {"--arch", ""}, {"--kind", "inpaint"}, {"--photo", "1024x768"},
                                          {"--steps", "1"}, {"--runs", "30"}, {"--device", "auto"}, {"--precision", "auto"},
                                          {"--estimates", "no"}, {"--graphs", "yes"}, {"--layout", "nchw"},
                                          {"--mask", "box"}};
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (!a.count(k) || i + 1 >= argc) {
      std::fprintf(stderr, "usage: see the comment at the top of bench/preview_latency.cpp\n");
      return 2;
    }
    a[k] = argv[++i];
  }
  std::filesystem::path scratch;
  try {
    const int runs = std::max(3, std::stoi(a["--runs"]));
    const auto x = a["--photo"].find('x');
    const int64_t width = std::stoll(a["--photo"].substr(0, x)), height = std::stoll(a["--photo"].substr(x + 1));
    const auto check = [&](const std::string& option, const std::string& one, const std::string& other) {
      for (const std::string& e : cm::split_list(a[option]))
        if (e != one && e != other) throw std::runtime_error(option + " takes " + one + ", " + other + " or both");
    };
    check("--estimates", "yes", "no");
    check("--graphs", "yes", "no");
    check("--layout", "nchw", "nhwc");
    check("--mask", "box", "cable");

    std::filesystem::path model;
    if (!a["--arch"].empty()) {
      const auto start = Clock::now();
      std::printf("writing a random %s network...\n", a["--arch"].c_str());
      scratch = std::filesystem::temp_directory_path() / ("cmedit-preview-latency-" + std::to_string(::getpid()));
      model = cm::bench::write_random_model(scratch, a["--arch"]);
      std::printf("written in %.1f s\n", ms_since(start) / 1000);
    } else {
      model = a["--model"].empty() ? cm::model::builtin_model_path() : cm::model::find_model(a["--model"]);
    }
    Preview p;
    p.kind = cm::edit::parse_edit_kind(a["--kind"]);
    if (a["--mask"] == "cable") {
      // Smooth gradients (a random photo would make every start a texture), and the curve the
      // editor's test paints (tests/ui/test_big_photo.cpp): 24 px wide, across the whole width.
      const at::Tensor y = at::linspace(-1, 1, height).view({1, 1, height, 1});
      const at::Tensor x = at::linspace(-1, 1, width).view({1, 1, 1, width});
      p.photo = at::cat({x.expand({1, 1, height, width}), y.expand({1, 1, height, width}), at::sin(2 * (x + y))}, 1).contiguous();
      const at::Tensor ys = at::arange(height, at::kFloat).view({height, 1});
      const at::Tensor xs = at::arange(width, at::kFloat).view({1, width});
      const at::Tensor centre = 0.4 * double(height) + 0.1 * double(height) * at::sin(xs / (0.33 * double(width)));
      p.mask = (at::abs(ys - centre) <= 12).to(at::kFloat).view({1, 1, height, width});
      p.focus_x = width - 20;
      p.focus_y = int64_t(0.4 * double(height) + 0.1 * double(height) * std::sin(double(width - 20) / (0.33 * double(width))));
    } else {
      p.photo = at::rand({1, 3, height, width}) * 2 - 1;
      p.mask = at::zeros({1, 1, height, width});
      p.mask.slice(2, height / 2 - 40, height / 2 + 40).slice(3, width / 2 - 60, width / 2 + 60).fill_(1);
    }
    std::printf("%s preview of a %lldx%lld photo, mask %s\n", a["--kind"].c_str(), static_cast<long long>(width),
                static_cast<long long>(height), a["--mask"] == "cable" ? "a 24-px cable across it" : "120x80");
    for (const std::string& graphs : cm::split_list(a["--graphs"]))
      for (const std::string& layout : cm::split_list(a["--layout"])) {
        cm::engine::EngineOptions options;
        options.device = a["--device"];
        options.precision = a["--precision"];
        options.cuda_graphs = graphs == "yes";
        options.channels_last = layout == "nhwc";
        time_engine(options, model, p, a, runs);
      }
    if (!scratch.empty()) std::filesystem::remove_all(scratch);
    return 0;
  } catch (const std::exception& e) {
    std::printf("preview_latency: %s\n", e.what());
    if (!scratch.empty()) std::filesystem::remove_all(scratch);
    return 1;
  }
}
