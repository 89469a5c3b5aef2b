#include "app/cli_batch.h"

#include "core/base/error.h"
#include "core/imageio/image_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace cli {

namespace fs = std::filesystem;
using cm::Error;
using cm::ErrorCode;

namespace {

// The images of a folder by stem, whatever their extension: read once, however many photos ask.
std::map<fs::path, fs::path> images_by_stem(const fs::path& dir) {
  std::map<fs::path, fs::path> by_stem;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && cm::imageio::is_image_file(e.path())) by_stem.emplace(e.path().stem(), e.path());
  return by_stem;
}

std::optional<fs::path> image_of(const std::map<fs::path, fs::path>& by_stem, const fs::path& stem) {
  const auto it = by_stem.find(stem);
  return it == by_stem.end() ? std::nullopt : std::optional<fs::path>(it->second);
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Outcome {
  enum { Pending, Done, Failed, Skipped } status = Pending;
  std::string error;
  double seconds = 0;
};

// Done / total and the time left, on one terminal line; or one line per image in a log.
class BatchProgress {
 public:
  BatchProgress(bool enabled, std::size_t total) : tty_(isatty(STDERR_FILENO)), enabled_(enabled), total_(total) {}
  void finished(const BatchItem& item, const Outcome& o, std::size_t finished, std::size_t edited) {
    if (!enabled_) return;
    const double elapsed = seconds_since(start_);
    const std::size_t left = total_ - finished;
    // The time left from the images edited so far (those done already took no time).
    const double eta = edited > 0 ? elapsed / double(edited) * double(left) : 0;
    if (tty_) {
      const int width = 30, filled = int(width * finished / std::max<std::size_t>(1, total_));
      std::fprintf(stderr, "\r[%s%s] %zu/%zu  ETA %4.0f s", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), finished, total_, eta);
      if (o.status == Outcome::Failed) std::fprintf(stderr, "\n%s: %s\n", item.input.filename().c_str(), o.error.c_str());
      if (finished == total_) std::fputc('\n', stderr);
    } else {
      const char* what = o.status == Outcome::Done ? "done" : o.status == Outcome::Skipped ? "already done" : "FAILED";
      std::fprintf(stderr, "[%zu/%zu] %s: %s%s (ETA %.0f s)\n", finished, total_, item.input.filename().c_str(), what,
                   o.status == Outcome::Failed ? (": " + o.error).c_str() : "", eta);
    }
    std::fflush(stderr);
  }

 private:
  bool tty_, enabled_;
  std::size_t total_;
  Clock::time_point start_ = Clock::now();
};

}  // namespace

std::vector<BatchItem> list_batch(const fs::path& input_dir, const fs::path& output_dir,
                                  const std::optional<fs::path>& masks_dir, const std::optional<fs::path>& hints_dir) {
  std::error_code ec;
  if (fs::equivalent(input_dir, output_dir, ec))
    throw Error(ErrorCode::BadArgument, "-o " + output_dir.string() + " is the input folder: its images would be overwritten; give another folder");
  for (const auto& dir : {masks_dir, hints_dir})
    if (dir && !fs::is_directory(*dir)) throw Error(ErrorCode::FileNotFound, "no folder '" + dir->string() + "'");
  std::vector<fs::path> inputs;
  for (const fs::directory_entry& e : fs::directory_iterator(input_dir))
    if (e.is_regular_file() && cm::imageio::is_image_file(e.path())) inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) throw Error(ErrorCode::FileNotFound, "no images (PNG, JPEG, TIFF, WebP, BMP, HEIC, AVIF, JPEG XL, camera RAW) in '" + input_dir.string() + "'");
  const std::map<fs::path, fs::path> masks = masks_dir ? images_by_stem(*masks_dir) : std::map<fs::path, fs::path>();
  const std::map<fs::path, fs::path> hints = hints_dir ? images_by_stem(*hints_dir) : std::map<fs::path, fs::path>();
  std::vector<BatchItem> items;
  for (const fs::path& in : inputs) {
    BatchItem item;
    item.input = in;
    item.output = output_dir / cm::imageio::writable_name(in.filename());
    if (masks_dir) {
      item.mask = image_of(masks, in.stem());
      if (!item.mask) item.problem = fmt::format("no mask named {}.* in {}", in.stem().string(), masks_dir->string());
    }
    if (hints_dir) item.hints = image_of(hints, in.stem());  // hints are optional per image
    items.push_back(std::move(item));
  }
  return items;
}

int run_batch(const std::string& command, const std::vector<BatchItem>& items, const BatchOptions& options,
              const EditOne& edit_one) {
  std::vector<Outcome> outcomes(items.size());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // outcomes, counts and the progress line
  std::size_t finished = 0, edited = 0;
  BatchProgress progress(options.progress, items.size());
  std::vector<std::string> devices(options.devices.size());
  std::string setup_error;

  // Each worker loads the model on its device when it first has an image to edit. A model or
  // device that does not load would fail every image the same way: it is said once, and the batch stops.
  const auto load = [&](std::size_t worker, std::unique_ptr<cm::engine::Engine>& engine, cm::engine::ModelInfo& info) {
    try {
      cm::engine::EngineOptions eo;
      eo.device = options.devices[worker];
      eo.precision = options.precision;
      eo.keep_exemplar_fills = false;  // every job another photo
      eo.cpu_threads = options.threads > 0 ? options.threads
                                            : std::max(1, cm::engine::choose_cpu_threads(std::thread::hardware_concurrency()) /
                                                              int(options.devices.size()));
      auto e = std::make_unique<cm::engine::Engine>(eo);
      info = e->load_model(options.model).get();
      engine = std::move(e);
      std::lock_guard<std::mutex> lock(mutex);
      devices[worker] = info.device + " (" + info.precision + ")";
      return true;
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex);
      if (setup_error.empty()) setup_error = e.what();
      next = items.size();
      return false;
    }
  };
  const auto work = [&](std::size_t worker) {
    std::unique_ptr<cm::engine::Engine> engine;
    cm::engine::ModelInfo info;
    for (std::size_t i; (i = next++) < items.size();) {
      const BatchItem& item = items[i];
      Outcome o;
      const Clock::time_point start = Clock::now();
      if (item.problem.empty() && !options.overwrite && fs::exists(item.output)) {
        o.status = Outcome::Skipped;
      } else if (item.problem.empty() && !engine && !load(worker, engine, info)) {
        return;
      } else {
        try {
          if (!item.problem.empty()) throw Error(ErrorCode::FileNotFound, item.problem);
          edit_one(*engine, info, item);
          o.status = Outcome::Done;
        } catch (const std::exception& e) {
          o.status = Outcome::Failed;
          o.error = e.what();
        }
      }
      o.seconds = seconds_since(start);
      std::lock_guard<std::mutex> lock(mutex);
      outcomes[i] = o;
      edited += o.status == Outcome::Done;
      progress.finished(item, o, ++finished, edited);
    }
  };
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < options.devices.size(); ++w) workers.emplace_back(work, w);
  for (std::thread& t : workers) t.join();
  if (!setup_error.empty()) throw Error(ErrorCode::Device, setup_error);

  std::size_t failed = 0, skipped = 0;  // and `edited`, counted as the images finished
  nlohmann::json report = {{"command", command}, {"images", nlohmann::json::array()}};
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Outcome& o = outcomes[i];
    failed += o.status == Outcome::Failed, skipped += o.status == Outcome::Skipped;
    const char* status = o.status == Outcome::Done ? "done" : o.status == Outcome::Failed ? "failed" : "already done";
    nlohmann::json entry = {{"input", items[i].input.string()}, {"output", items[i].output.string()}, {"status", status},
                            {"seconds", o.seconds}};
    if (!o.error.empty()) entry["error"] = o.error;
    report["images"].push_back(entry);
  }
  std::string on;
  for (const std::string& d : devices)
    if (!d.empty()) on += (on.empty() ? "" : ", ") + d;
  if (options.json) {
    report["edited"] = edited, report["failed"] = failed, report["already_done"] = skipped, report["devices"] = on;
    std::printf("%s\n", report.dump(2).c_str());
  }
  std::fprintf(stderr, "%zu image(s): %zu edited, %zu already done%s, %zu failed%s%s\n", items.size(), edited, skipped,
               skipped ? " (--overwrite redoes them)" : "", failed, on.empty() ? "" : ", on ",
               on.c_str());
  for (std::size_t i = 0; i < items.size(); ++i)
    if (outcomes[i].status == Outcome::Failed)
      std::fprintf(stderr, "  failed: %s: %s\n", items[i].input.string().c_str(), outcomes[i].error.c_str());
  return failed ? 1 : 0;
}

}  // namespace cli
