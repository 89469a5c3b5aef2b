// The edit engine: one worker thread that owns the device and the loaded model. The editor and
// cmedit-cli both talk to it; the UI thread never waits on the model, so the editor stays responsive.
//
// - submit() returns at once with a future; callbacks run on the worker thread (the GUI posts
//   them to its own thread).
// - Latest wins: a preview request cancels every queued preview and stops the running preview at
//   its next step. Non-preview requests (apply, export, batch) only stop when cancelled by id.
// - A failing job is a failed EditResult with a message; the worker keeps serving.
#pragma once

#include "core/engine/edit_request.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

namespace cm::engine {

struct EngineOptions {
  std::string device = "auto";     // "auto", "cpu", "cuda", "cuda:N" (choose_device)
  std::string precision = "auto";  // "auto" (fp16 on CUDA, fp32 on CPU), "fp32", "fp16", "bf16"
  int cpu_threads = 0;             // 0: leave a core to the UI (see choose_cpu_threads)
  bool warm_up = true;             // one evaluation after loading on CUDA (kernel selection, allocator)
  // On CUDA, f replays a recorded graph per input shape (model::GraphedFunction); the warm-up
  // records the model's size. Off: every evaluation queues its kernels one by one.
  bool cuda_graphs = true;
  bool channels_last = false;      // the network's activations channels-last (UNet::set_channels_last)
  // Keeps the last exemplar fills for the next job on the same photo and mask (a new seed,
  // strength or step count; edit::ExemplarCache). Off where every job is another photo
  // (cmedit-cli): each kept fill is a copy of the fill's image and result, 690 MB for an object on
  // a 50 MP photo, which only adds to the peak memory there.
  bool keep_exemplar_fills = true;
};

struct ModelInfo {
  std::string name;
  std::string path;
  std::string device;     // "cpu", "cuda:0"
  std::string precision;  // "fp32", "fp16", "bf16"
  int image_size = 0;
  int num_classes = 0;
  int64_t parameters = 0;
  double load_ms = 0;
  double warm_up_ms = 0;
  bool graphs = false;  // f replays device graphs (EngineOptions::cuda_graphs on a CUDA device that has them)
  std::string no_graphs_because;  // when not: why
};

struct EngineStats {
  int queue_depth = 0;
  bool busy = false;
  double last_step_ms = 0;    // latency of the most recent evaluation step
  double mean_step_ms = 0;    // over the last job
  int64_t memory_bytes = -1;  // resident memory of the process (CPU); −1 when unknown
  std::string model;          // name, or empty before a model is loaded
  std::string device;
  int jobs_done = 0, jobs_failed = 0, jobs_cancelled = 0;
  int graph_recordings = 0, graph_replays = 0;  // of the loaded model's f (GraphedFunction)
};

struct JobCallbacks {
  std::function<void(const Progress&)> on_progress;  // worker thread
  // Progress::estimate filled in: a copy to the host after every step, which on a GPU also waits
  // for the step to finish, so that queuing the next one cannot overlap it. Nothing in the editor
  // shows intermediate images, so it is off unless asked for (docs/BENCHMARKS.md, "progress").
  bool estimates = false;
  // Once, also for failures; on the worker thread, or on the submitting thread for a preview
  // superseded while still queued.
  std::function<void(const EditResult&)> on_result;
};

// Threads for CPU inference: 1 on a 2-core machine (OpenMP with 2 threads collapses 3× when the
// other core is busy with the UI, docs/BENCHMARKS.md), else all cores but one.
int choose_cpu_threads(unsigned hardware_threads);

// "fp32"/"fp16"/"bf16" → dtype for `device`; "auto" is fp16 on CUDA and fp32 on CPU. Throws
// cm::Error(BadArgument) for an unknown name and (Unsupported) for fp16 on the CPU.
c10::ScalarType choose_precision(const std::string& name, c10::Device device);

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();  // cancels what is queued and running, then joins the worker
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads a model (folder, model.json, .safetensors or .pt) on the worker, replacing the current
  // one once loaded; on failure the current model stays. The future throws cm::Error.
  std::future<ModelInfo> load_model(const std::filesystem::path& path);

  // Queues a job. The id is in the result; the future never throws.
  std::future<EditResult> submit(EditRequest request, JobCallbacks callbacks = {}, std::uint64_t* id = nullptr);

  void cancel(std::uint64_t id);
  void cancel_all();

  EngineStats stats() const;
  const EngineOptions& options() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cm::engine
