// preview_latency — what a user waits for in the editor: from a finished stroke to the preview on
// screen, through the real engine (its worker thread, its thread settings, latest-wins supersede).
//
//   preview_latency [--model DIR] [--kind inpaint|sketch|colorize] [--photo 1024x768]
//                   [--runs 30] [--device auto|cpu|cuda] [--precision auto|fp32|fp16|bf16]
//
// Two measurements on a synthetic photo with a 120×80 mask (the built-in model by default):
//   single  one preview request at a time: submit → result, median and min over --runs, with the
//           engine's own split of the time (prepare / model / composite);
//   stroke  a stroke as the editor sends it: a preview every 16 ms for 20 mouse moves (each one
//           supersedes the last), then the time from the last move to its preview; median over
//           --runs / 3 strokes.
// Results go to docs/BENCHMARKS.md with the command and machine.
#include "core/engine/edit_registry.h"
#include "core/engine/engine.h"
#include "core/model/model_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

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

cm::engine::EditRequest preview_request(cm::edit::EditKind kind, const at::Tensor& photo, const at::Tensor& mask, std::uint64_t seed) {
  cm::engine::EditRequest r;
  r.kind = kind;
  r.preview = true;
  r.use = cm::engine::EditRequest::Use::Draft;  // the live preview while painting, as the editor asks for it
  r.image = photo;
  if (cm::engine::spec_of(kind).mask != cm::engine::Need::No) r.mask = mask;
  r.steps = 1;  // at the edit's default strength
  r.seed = seed;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {{"--model", ""}, {"--kind", "inpaint"}, {"--photo", "1024x768"}, {"--runs", "30"},
                                          {"--device", "auto"}, {"--precision", "auto"}};
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (!a.count(k) || i + 1 >= argc) {
      std::fprintf(stderr, "usage: see the comment at the top of bench/preview_latency.cpp\n");
      return 2;
    }
    a[k] = argv[++i];
  }
  try {
    const int runs = std::max(3, std::stoi(a["--runs"]));
    const auto x = a["--photo"].find('x');
    const int64_t width = std::stoll(a["--photo"].substr(0, x)), height = std::stoll(a["--photo"].substr(x + 1));
    const auto kind = cm::edit::parse_edit_kind(a["--kind"]);

    cm::engine::EngineOptions options;
    options.device = a["--device"];
    options.precision = a["--precision"];
    cm::engine::Engine engine(options);
    const auto model = a["--model"].empty() ? cm::model::builtin_model_path() : cm::model::find_model(a["--model"]);
    const cm::engine::ModelInfo info = engine.load_model(model).get();

    const at::Tensor photo = at::rand({1, 3, height, width}) * 2 - 1;
    at::Tensor mask = at::zeros({1, 1, height, width});
    mask.slice(2, height / 2 - 40, height / 2 + 40).slice(3, width / 2 - 60, width / 2 + 60).fill_(1);

    // Single previews. The first one pays for allocations; it is not counted.
    engine.submit(preview_request(kind, photo, mask, 0)).get();
    std::vector<double> wall, prepare, model_ms, composite;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = Clock::now();
      const cm::engine::EditResult result = engine.submit(preview_request(kind, photo, mask, std::uint64_t(r))).get();
      wall.push_back(ms_since(t0));
      if (result.status != cm::engine::JobStatus::Done) throw std::runtime_error("preview failed: " + result.error);
      prepare.push_back(result.timings.prepare_ms);
      model_ms.push_back(result.timings.model_ms);
      composite.push_back(result.timings.composite_ms);
    }

    // Strokes: 20 moves 16 ms apart, each superseding the previous preview.
    std::vector<double> after_stroke;
    int superseded = 0, moves = 0;
    for (int s = 0; s < std::max(1, runs / 3); ++s) {
      std::vector<std::future<cm::engine::EditResult>> pending;
      Clock::time_point last_move;
      for (int m = 0; m < 20; ++m) {
        last_move = Clock::now();
        pending.push_back(engine.submit(preview_request(kind, photo, mask, std::uint64_t(1000 + 20 * s + m))));
        std::this_thread::sleep_for(std::chrono::milliseconds(16));
      }
      const cm::engine::EditResult last = pending.back().get();
      after_stroke.push_back(ms_since(last_move));
      if (last.status != cm::engine::JobStatus::Done) throw std::runtime_error("preview failed: " + last.error);
      for (std::size_t m = 0; m + 1 < pending.size(); ++m, ++moves)
        if (pending[m].get().status == cm::engine::JobStatus::Cancelled) ++superseded;
    }

    const Stats w = stats(wall), p = stats(prepare), f = stats(model_ms), c = stats(composite), st = stats(after_stroke);
    std::printf("model %s (%lld parameters, %dx%d) on %s %s, %d CPU threads for the engine\n", info.name.c_str(),
                static_cast<long long>(info.parameters), info.image_size, info.image_size, info.device.c_str(),
                info.precision.c_str(), cm::engine::choose_cpu_threads(std::thread::hardware_concurrency()));
    std::printf("%s preview of a %lldx%lld photo, mask 120x80, one evaluation\n", a["--kind"].c_str(),
                static_cast<long long>(width), static_cast<long long>(height));
    std::printf("single: median %.1f ms (min %.1f) submit->result over %d runs; prepare %.1f, model %.1f, composite %.1f ms\n",
                w.median, w.min, runs, p.median, f.median, c.median);
    std::printf("stroke: median %.1f ms (min %.1f) from the last move to its preview over %zu strokes; %d of %d earlier "
                "previews superseded\n",
                st.median, st.min, after_stroke.size(), superseded, moves);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "preview_latency: %s\n", e.what());
    return 1;
  }
}
