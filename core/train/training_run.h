// A training run on disk: the folder `cmedit-train` works in, and the export that turns it into a
// model folder the editor loads.
//
//   RUN/run.json                the TrainConfig, written when the run starts
//   RUN/loss.csv                step, loss, held-out loss, N (ECT: the stage, −1 while pretraining),
//                               lr, gradient norm, steps/s
//   RUN/samples/step-<n>.png    EMA samples: first row one step, second row two (EDM: Heun)
//   RUN/checkpoints/step-<n>/   the last few checkpoints, every file ≤ the shard limit
#pragma once

#include "core/train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace cm::train {

struct RunOptions {
  int64_t until_step = 0;          // stop after this many steps in all (0: the config's iterations)
  int64_t log_every = 100;
  int64_t sample_every = 1000;     // 0: no sample grids
  int64_t checkpoint_every = 1000; // and always at the end
  int keep_checkpoints = 2;
  int64_t max_shard_bytes = kDefaultShardBytes;
  int sample_count = 8;            // images per row of a grid
  int held_out_batches = 2;        // batches of the held-out loss at each log line (0: none)
  std::uint64_t sample_seed = 20231;
};

struct RunProgress {
  int64_t step = 0, until = 0;
  double loss = 0;                 // mean over the steps since the last report
  double held_out_loss = -1;       // < 0: not measured
  double steps_per_second = 0;
  double eta_seconds = 0;
  int discretization = 0;
  double lr = 0, grad_norm = 0;
  int64_t skipped = 0;             // steps skipped for non-finite gradients, in all
};

struct RunHooks {
  std::function<void(const RunProgress&)> on_report;   // every log_every steps
  std::function<void(const std::string&)> on_message;  // checkpoints, sample grids
  std::function<bool()> should_stop;                   // polled after every step; stop saves a checkpoint
};

// Today's date in UTC, "2026-11-30": the dates in exports' provenance and campaign records.
std::string today_utc();

// Creates RUN and run.json. Throws cm::Error(BadArgument) when RUN already holds a run (resume it
// instead), Io when it cannot be written.
void start_run(const std::filesystem::path& run_dir, const TrainConfig& config);
// Throws cm::Error(FileNotFound) when RUN has no run.json, CorruptFile when it cannot be read.
TrainConfig read_run_config(const std::filesystem::path& run_dir);

// Restores the run's latest checkpoint into `trainer`; returns its step (0 when there is none).
int64_t resume_run(Trainer& trainer, const std::filesystem::path& run_dir);

// Trains until options.until_step, logging, sampling and checkpointing as asked.
void run_training(Trainer& trainer, const std::filesystem::path& run_dir, const RunOptions& options,
                  const DataSource* held_out, const RunHooks& hooks);

struct ExportOptions {
  std::string name;        // the model's name (default: the model folder's name)
  std::string license;     // of the weights (default: the data pack's "weights_license" metadata)
  std::string provenance;  // added to what export writes itself
  std::map<std::string, std::string> metadata;  // added to the safetensors metadata
};

// The EMA weights of the run's latest checkpoint as MODEL_DIR/model.safetensors (fp16) and a
// model card (architecture, noise range, schedule, licence, provenance: mode, steps, data). When
// the run's data is an image pack, MODEL_DIR/ATTRIBUTION.md lists its training photos with their
// sources and licences. Throws cm::Error(FileNotFound) when the run has no checkpoint.
void export_run(const std::filesystem::path& run_dir, const std::filesystem::path& model_dir, const ExportOptions& options);

}  // namespace cm::train
