#include "core/train/training_run.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/base/sha256.h"
#include "core/model/model_card.h"
#include "core/model/safetensors.h"
#include "core/sampling/karras.h"
#include "core/train/image_pack.h"
#include "core/train/noise_schedule.h"
#include "core/train/sample_grid.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

namespace cm::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kCsvHeader = "step,loss,held_out_loss,discretization,lr,grad_norm,steps_per_second\n";

void write_text(const fs::path& path, const std::string& text) { write_file_atomically(path, text.data(), text.size()); }

// loss.csv without the rows after `step` (a resumed run rewrites them).
void trim_loss_log(const fs::path& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  bool header = true;
  while (std::getline(in, line)) {
    if (header || line.empty()) {
      kept += line + "\n";
      header = false;
      continue;
    }
    const int64_t row_step = std::strtoll(line.c_str(), nullptr, 10);
    if (row_step <= step) kept += line + "\n";
  }
  write_text(path, kept);
}

void append_line(const fs::path& path, const std::string& line) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error(ErrorCode::Io, "cannot append to '" + path.string() + "'");
  if (fresh) out << kCsvHeader;
  out << line;
  if (!out.flush()) throw Error(ErrorCode::Io, "cannot write '" + path.string() + "'");
}

void prune_checkpoints(const fs::path& parent, int keep) {
  auto all = list_checkpoints(parent);
  for (std::size_t i = 0; i + std::size_t(std::max(keep, 1)) < all.size(); ++i) {
    std::error_code ec;
    fs::remove_all(all[i], ec);
  }
}

void save_samples(const Trainer& trainer, const fs::path& run_dir, const RunOptions& o) {
  const bool edm = trainer.config().mode == TrainMode::Edm;
  std::vector<at::Tensor> rows;
  rows.reserve(2);
  rows.push_back(trainer.sample(o.sample_count, o.sample_seed, 1));
  if (!edm) rows.push_back(trainer.sample(o.sample_count, o.sample_seed, 2));
  fs::create_directories(run_dir / "samples");
  write_png(run_dir / "samples" / fmt::format("step-{:09d}.png", trainer.steps_done()), image_grid(at::cat(rows, 0), o.sample_count));
}

// Two-step index: the grid point nearest σ = 1.4, where the official two-step samplers put their
// middle step (σ = 1.38 for CD N = 40, 1.91 for CT ImageNet N = 201; docs/MATH.md §3).
int middle_index(int n, const model::NoiseRange& range) {
  const std::vector<double> sigmas = sampling::karras_sigmas(n, range);
  int best = 1;
  for (int i = 1; i + 1 < n; ++i)
    if (std::abs(std::log(sigmas[std::size_t(i)] / 1.4)) < std::abs(std::log(sigmas[std::size_t(best)] / 1.4))) best = i;
  return best;
}

}  // namespace

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&now));
  return buf;
}

void start_run(const fs::path& run_dir, const TrainConfig& config) {
  config.validate();
  if (fs::exists(run_dir / "run.json"))
    throw Error(ErrorCode::BadArgument, "'" + run_dir.string() + "' holds a run already: resume it, or choose another folder");
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create run folder '" + run_dir.string() + "': " + ec.message());
  write_text(run_dir / "run.json", to_json(config).dump(2) + "\n");
}

TrainConfig read_run_config(const fs::path& run_dir) {
  std::ifstream in(run_dir / "run.json");
  if (!in) throw Error(ErrorCode::FileNotFound, "'" + run_dir.string() + "' is not a training run (no run.json)");
  try {
    return train_config_from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::CorruptFile, "'" + (run_dir / "run.json").string() + "' is not valid JSON: " + e.what());
  }
}

int64_t resume_run(Trainer& trainer, const fs::path& run_dir) {
  const auto latest = latest_checkpoint(run_dir / "checkpoints");
  if (!latest) return 0;
  trainer.restore(read_checkpoint(*latest));
  if (trainer.rank() == 0) trim_loss_log(run_dir / "loss.csv", trainer.steps_done());
  return trainer.steps_done();
}

void run_training(Trainer& trainer, const fs::path& run_dir, const RunOptions& o, const DataSource* held_out,
                  const RunHooks& hooks) {
  using Clock = std::chrono::steady_clock;
  const int64_t until = o.until_step > 0 ? o.until_step : trainer.config().iterations;
  // Several processes (Trainer::distribute): rank 0 alone logs, samples and checkpoints; the
  // others only train. A stop asked of any rank stops all of them after the same step.
  const bool lead = trainer.rank() == 0;
  const auto message = [&](const std::string& m) {
    if (hooks.on_message && lead) hooks.on_message(m);
  };
  const auto stop_here = [&] {
    const bool asked = hooks.should_stop && hooks.should_stop();
    if (!trainer.collective()) return asked;
    std::vector<at::Tensor> any = {at::full({1}, asked ? 1.0f : 0.0f)};
    trainer.collective()->allreduce_sum(any);
    return any[0].item<float>() > 0;
  };
  const auto checkpoint = [&] {
    if (!lead) return;
    const fs::path dir = checkpoint_dir(run_dir / "checkpoints", trainer.steps_done());
    if (fs::exists(dir)) return;
    trainer.save(dir, o.max_shard_bytes);
    prune_checkpoints(run_dir / "checkpoints", o.keep_checkpoints);
    message("checkpoint " + dir.string());
  };

  RunProgress p;
  p.until = until;
  trainer.take_window();  // what steps before this run left
  auto window_start = Clock::now();
  while (trainer.steps_done() < until) {
    const StepStats s = trainer.step();
    const bool last = trainer.steps_done() == until;
    const bool stop = stop_here();

    if (lead && o.log_every > 0 && (trainer.steps_done() % o.log_every == 0 || last || stop)) {
      // The fused step reads the device here, once per log line (it has queued the steps since).
      const StepWindow w = trainer.take_window();
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      p.step = trainer.steps_done();
      p.loss = w.mean_loss();
      p.skipped += w.skipped;
      p.steps_per_second = seconds > 0 ? double(w.steps) / seconds : 0;
      p.eta_seconds = p.steps_per_second > 0 ? double(until - p.step) / p.steps_per_second : 0;
      p.discretization = s.discretization;
      p.lr = w.lr;
      p.grad_norm = w.grad_norm;
      p.held_out_loss = (held_out && o.held_out_batches > 0)
                            ? trainer.evaluate_loss(*held_out, o.held_out_batches, trainer.config().batch)
                            : -1;
      append_line(run_dir / "loss.csv",
                  fmt::format("{},{:.6g},{},{},{:.6g},{:.6g},{:.4g}\n", p.step, p.loss,
                              p.held_out_loss < 0 ? std::string() : fmt::format("{:.6g}", p.held_out_loss),
                              p.discretization, p.lr, p.grad_norm, p.steps_per_second));
      if (hooks.on_report) hooks.on_report(p);
      window_start = Clock::now();
    }
    if (lead && o.sample_every > 0 && (trainer.steps_done() % o.sample_every == 0 || last)) {
      save_samples(trainer, run_dir, o);
      message(fmt::format("samples {}", (run_dir / "samples" / fmt::format("step-{:09d}.png", trainer.steps_done())).string()));
    }
    if ((o.checkpoint_every > 0 && trainer.steps_done() % o.checkpoint_every == 0) || last || stop) checkpoint();
    if (stop) {
      message(fmt::format("stopped at step {}; resume to go on", trainer.steps_done()));
      return;
    }
  }
}

void export_run(const fs::path& run_dir, const fs::path& model_dir, const ExportOptions& options) {
  const TrainConfig config = read_run_config(run_dir);
  const auto latest = latest_checkpoint(run_dir / "checkpoints");
  if (!latest) throw Error(ErrorCode::FileNotFound, "run '" + run_dir.string() + "' has no checkpoint to export yet");
  const Checkpoint cp = read_checkpoint(*latest);
  const int64_t steps = cp.state.value("step", int64_t(0));

  model::StateDict weights;
  for (const auto& [name, t] : cp.tensors)
    if (name.rfind("ema/", 0) == 0) weights.emplace_back(name.substr(4), t.to(at::kHalf));
  model::UNetConfig arch = config.architecture;
  arch.dropout = 0;
  model::UNet check(arch, weights);  // every key and shape, before anything is written

  model::ModelCard card;
  card.name = options.name.empty() ? fs::absolute(model_dir).lexically_normal().filename().string() : options.name;
  if (card.name.empty()) card.name = fs::absolute(model_dir).lexically_normal().parent_path().filename().string();
  card.parameterization = config.parameterization();
  card.architecture = arch;
  card.noise = config.noise;
  if (config.mode == TrainMode::Ct) card.schedule_points = ict_discretization(std::max<int64_t>(steps - 1, 0), config.iterations, config.ct_s0, config.ct_s1);
  if (config.mode == TrainMode::Cd) card.schedule_points = config.cd_points;
  // ECT trains in continuous time: the editor's grid is iCT's finest, N = s1 + 1.
  if (config.mode == TrainMode::Ect) card.schedule_points = config.ct_s1 + 1;
  if (config.mode != TrainMode::Edm)
    card.default_ts = {0, middle_index(card.schedule_points, config.noise), card.schedule_points - 1};

  std::optional<ImagePack> pack;
  if (!config.data.empty() && fs::is_regular_file(config.data)) {
    try {
      pack = read_image_pack(config.data, PackRead::Catalogue);  // names and licences only
    } catch (const Error&) {
      pack.reset();  // not a pack (or gone): no attribution list
    }
  }
  card.license = options.license;
  if (card.license.empty() && pack && pack->metadata.count("weights_license")) card.license = pack->metadata.at("weights_license");
  if (card.license.empty()) card.license = "unspecified: see the licences of the training data";
  std::string provenance = fmt::format("cmedit-train {} for {} steps (batch {}, seed {}) on {}", to_string(config.mode), steps,
                                       config.batch, config.seed, config.data.empty() ? "unrecorded data" : fs::path(config.data).filename().string());
  if (pack) provenance += fmt::format(" ({} training photos, {} held out; see ATTRIBUTION.md)", pack->count(Split::Train), pack->count(Split::Test));
  provenance += "; exported " + today_utc();
  if (!options.provenance.empty()) provenance += ". " + options.provenance;
  card.provenance = provenance;

  std::error_code ec;
  fs::create_directories(model_dir, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create model folder '" + model_dir.string() + "': " + ec.message());
  std::map<std::string, std::string> metadata = options.metadata;
  metadata.insert({{"format", "pt"}, {"producer", "cmedit-train"}, {"steps", std::to_string(steps)}});
  model::write_safetensors(model_dir / card.weights, weights, metadata);
  card.weights_sha256 = sha256_file(model_dir / card.weights);
  if (pack) {
    std::ostringstream md;
    md << "# Training data of " << card.name << "\n\n"
       << "The weights were trained on these photos (the held-out test photos are not listed: training never saw them).\n\n"
       << "| photo | source | licence |\n|---|---|---|\n";
    for (const PackImage& im : pack->images)
      if (im.split == Split::Train) md << "| " << im.name << " | " << im.source << " | " << im.license << " |\n";
    write_text(model_dir / "ATTRIBUTION.md", md.str());
  }
  model::write_model_card(model_dir / "model.json", card);
}

}  // namespace cm::train
