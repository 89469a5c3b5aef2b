#include "core/engine/engine.h"

#include "core/base/cancel.h"
#include "core/base/log.h"
#include "core/engine/device.h"
#include "core/edit/exemplar_fill.h"
#include "core/engine/execute.h"
#include "core/model/graphed_function.h"
#include "core/model/model_loader.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace cm::engine {

const char* to_string(JobStatus status) {
  switch (status) {
    case JobStatus::Done: return "done";
    case JobStatus::Failed: return "failed";
    case JobStatus::Cancelled: return "cancelled";
  }
  return "unknown";
}

int choose_cpu_threads(unsigned hardware_threads) {
  if (hardware_threads <= 2) return 1;
  return int(hardware_threads) - 1;
}

c10::ScalarType choose_precision(const std::string& name, c10::Device device) {
  if (name == "auto") return device.is_cuda() ? at::kHalf : at::kFloat;
  if (name == "fp32") return at::kFloat;
  if (name == "bf16") return at::kBFloat16;
  if (name == "fp16") {
    if (!device.is_cuda()) throw Error(ErrorCode::Unsupported, "fp16 needs a CUDA device; on the CPU use fp32 or bf16");
    return at::kHalf;
  }
  throw Error(ErrorCode::BadArgument, "unknown precision '" + name + "' (expected auto, fp32, fp16 or bf16)");
}

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

const char* precision_name(c10::ScalarType t) {
  return t == at::kHalf ? "fp16" : t == at::kBFloat16 ? "bf16" : "fp32";
}

// The log's word for what a request is for (EditRequest::Use).
const char* use_name(EditRequest::Use use) {
  switch (use) {
    case EditRequest::Use::Draft: return "draft";
    case EditRequest::Use::Interactive: return "interactive";
    case EditRequest::Use::Final: return "final";
  }
  return "?";
}

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return -1;
  return resident * int64_t(sysconf(_SC_PAGESIZE));
}

bool is_out_of_memory(const std::exception& e) {
  const std::string what = e.what();
  // The caching allocator's "CUDA out of memory", c10's CPU allocator ("can't allocate memory" in
  // LibTorch 1.13, "not enough memory" in 2.x); cuBLAS and cuDNN report a failed workspace
  // allocation in their own words.
  for (const char* words : {"out of memory", "can't allocate memory", "not enough memory", "CUBLAS_STATUS_ALLOC_FAILED",
                            "CUDNN_STATUS_ALLOC_FAILED"})
    if (what.find(words) != std::string::npos) return true;
  return false;
}

// Said in the editor's status bar and by cmedit-cli alike: what ran out, and what to do instead.
std::string out_of_memory_message(const std::string& device) {
  const bool gpu = device.rfind("cuda", 0) == 0;
  return fmt::format("{} ran out of memory for this edit: select a smaller region or ask for fewer images{}", device,
                     gpu ? ", or run it on the CPU (Settings ▸ Device, or --device cpu)" : "");
}

struct Job {
  std::uint64_t id = 0;
  std::string group;  // empty: never superseded
  bool is_load = false;
  EditRequest request;
  JobCallbacks callbacks;
  std::filesystem::path load_path;
  std::promise<EditResult> result;
  std::promise<ModelInfo> loaded;
  std::atomic<bool> cancelled{false};
};

}  // namespace

struct Engine::State {
  EngineOptions options;
  c10::Device device{c10::kCPU};
  c10::ScalarType dtype = at::kFloat;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  std::shared_ptr<Job> running;
  bool stopping = false;
  std::uint64_t next_id = 1;
  EngineStats stats;

  std::shared_ptr<const model::LoadedModel> model;  // worker thread only
  std::shared_ptr<const model::GraphedFunction> f;  // the model's f as jobs run it; read by stats()
  // Exemplar fills of recent photos and masks: a new seed, strength or step count for the same
  // hole (variations, refine, apply) reuses the fill instead of searching again.
  // One fill per window along a mask (region.h): room for a long thick stroke's windows, within
  // the cache's byte budget (ExemplarCache::kDefaultBytes).
  edit::ExemplarCache exemplar_cache{32};
  std::thread worker;

  void finish_cancelled(const std::shared_ptr<Job>& job, const std::string& why) {
    if (job->is_load) {
      job->loaded.set_exception(std::make_exception_ptr(Error(ErrorCode::Cancelled, why)));
      return;
    }
    EditResult r;
    r.id = job->id;
    r.status = JobStatus::Cancelled;
    r.error_code = ErrorCode::Cancelled;
    r.error = why;
    deliver(*job, r);
  }

  void deliver(Job& job, const EditResult& r) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      (r.status == JobStatus::Done ? stats.jobs_done : r.status == JobStatus::Failed ? stats.jobs_failed : stats.jobs_cancelled)++;
    }
    if (job.callbacks.on_result) {
      try {
        job.callbacks.on_result(r);
      } catch (const std::exception& e) {
        spdlog::error("a result callback failed: {}", e.what());
      }
    }
    job.result.set_value(r);
  }

  void run() {
    at::set_num_threads(options.cpu_threads > 0 ? options.cpu_threads
                                                : choose_cpu_threads(std::thread::hardware_concurrency()));
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping) break;
        job = queue.front();
        queue.pop_front();
        running = job;
        stats.queue_depth = int(queue.size());
        stats.busy = true;
      }
      if (job->is_load) {
        load(*job);
      } else if (job->cancelled) {
        finish_cancelled(job, "cancelled");
      } else {
        edit(job);
      }
      std::lock_guard<std::mutex> lock(mutex);
      running.reset();
      stats.busy = false;
    }
    std::deque<std::shared_ptr<Job>> left;
    {
      std::lock_guard<std::mutex> lock(mutex);
      left.swap(queue);
    }
    for (auto& job : left) finish_cancelled(job, "the engine shut down");
  }

  void load(Job& job) {
    try {
      const Clock::time_point start = Clock::now();
      auto loaded = std::make_shared<model::LoadedModel>(model::load_model(job.load_path, device, dtype));
      if (options.channels_last) {  // a copy of the network (its tensors shared until converted), channels-last
        const model::UNetFunction& plain = *loaded->function;
        auto unet = std::make_shared<model::UNet>(plain.unet());
        unet->set_channels_last(true);
        loaded->function = std::make_shared<model::UNetFunction>(unet, plain.parameterization(), plain.spec());
      }
      std::string no_graphs;
      const model::DeviceGraphs graphs = options.cuda_graphs ? model::cuda_device_graphs(device, &no_graphs) : model::DeviceGraphs();
      if (!options.cuda_graphs) no_graphs = "off (EngineOptions::cuda_graphs)";
      auto graphed = std::make_shared<model::GraphedFunction>(loaded->function, graphs);
      ModelInfo info;
      info.name = loaded->card.name;
      info.path = job.load_path.string();
      info.device = device.str();
      info.precision = precision_name(dtype);
      info.image_size = loaded->card.spec().image_size;
      info.num_classes = loaded->card.spec().num_classes;
      info.parameters = loaded->function->unet().parameter_count();
      info.load_ms = ms_since(start);
      if (options.warm_up && device.is_cuda()) info.warm_up_ms = warm_up(*graphed);
      info.graphs = graphed->enabled() && graphed->why_not().empty();
      info.no_graphs_because = graphed->enabled() ? graphed->why_not() : no_graphs;
      model = loaded;
      {
        std::lock_guard<std::mutex> lock(mutex);
        f = graphed;
        stats.model = info.name;
        stats.device = info.device + " (" + info.precision + ")";
      }
      spdlog::info("loaded model '{}' on {} ({}) in {:.0f} ms", info.name, info.device, info.precision, info.load_ms);
      job.loaded.set_value(info);
    } catch (const std::exception& e) {
      job.loaded.set_exception(std::current_exception());
    }
  }

  // Evaluations at the model's size, one image: selects kernels, fills the allocator and records
  // the graph a preview at that size replays, so that the first real preview is not the slow one.
  static double warm_up(const model::GraphedFunction& f) {
    const Clock::time_point start = Clock::now();
    const int64_t size = f.spec().image_size;
    f.prepare(1, size, size);
    (void)at::zeros({1}, at::TensorOptions().device(f.device())).sum().item<float>();  // until the device is done
    return ms_since(start);
  }

  void edit(const std::shared_ptr<Job>& job) {
    EditResult r;
    r.id = job->id;
    r.device = stats_device();
    const Clock::time_point start = Clock::now();
    Clock::time_point last_step = start;
    double step_sum = 0;
    int step_count = 0;
    sampling::LoopControl control;
    control.on_step = [&](const sampling::StepInfo& s) {
      const double step_ms = std::chrono::duration<double, std::milli>(Clock::now() - last_step).count();
      last_step = Clock::now();
      step_sum += step_ms;
      ++step_count;
      {
        std::lock_guard<std::mutex> lock(mutex);
        stats.last_step_ms = step_ms;
        stats.mean_step_ms = step_sum / step_count;
      }
      if (job->callbacks.on_progress)
        job->callbacks.on_progress(Progress{job->id, s.step, s.total, s.sigma,
                                            job->callbacks.estimates ? s.estimate.cpu() : at::Tensor(), ms_since(start)});
    };
    try {
      if (!model) throw Error(ErrorCode::BadArgument, "no model is loaded");
      // The one way a job is stopped part-way (core/base/cancel.h): every layer below asks this.
      const CancelScope stop([job] { return job->cancelled.load(); });
      r.image = run_with_memory_retry(job->request, {control, options.keep_exemplar_fills ? &exemplar_cache : nullptr}, r.timings, &r.sigmas);
      r.status = JobStatus::Done;
    } catch (const Error& e) {
      r.status = e.code() == ErrorCode::Cancelled ? JobStatus::Cancelled : JobStatus::Failed;
      r.error_code = e.code();
      r.error = e.what();
    } catch (const std::exception& e) {
      const bool memory = dynamic_cast<const std::bad_alloc*>(&e) || is_out_of_memory(e);
      r.error_code = memory ? ErrorCode::Device : ErrorCode::Internal;
      r.error = memory ? out_of_memory_message(r.device) : fmt::format("unexpected failure: {}", first_line(e.what()));
    }
    // Info, not warn: whoever submitted the job shows its error (the CLI prints it once).
    if (r.status == JobStatus::Failed) spdlog::info("job {} failed: {}", r.id, r.error);
    // Every edit's cost in the log file, so a report of a slow edit says where its time went.
    if (r.status == JobStatus::Done)
      spdlog::debug("job {} ({}, {}) done in {:.0f} ms: {} evaluation{}, the model {:.0f} ms, before the first {:.0f} ms", r.id,
                    edit::to_string(job->request.kind), use_name(job->request.use), r.timings.total_ms, r.timings.evaluations,
                    r.timings.evaluations == 1 ? "" : "s", r.timings.model_ms, r.timings.prepare_ms);
    // Its inputs go before the result is handed over, not when the worker takes its next job: the
    // editor writes into the photo the moment an Apply's result comes, and an input still held
    // (the photo's tensor, a callback keeping the photo) made that write copy all of it first.
    { const EditRequest spent = std::move(job->request); }
    deliver(*job, r);
  }

  // A batch that does not fit is split in halves (the images do not change: the noise of image b
  // is keyed by b). A single image that does not fit is reported.
  at::Tensor run_with_memory_retry(const EditRequest& request, const RunContext& context, Timings& t,
                                   std::vector<double>* sigmas = nullptr) {
    try {
      const auto f_now = f_of_jobs();
      f_now->allow_recording(request.preview);  // graphs for what repeats: the live preview's shape
      return execute(*f_now, model->card, request, context, t, sigmas);
    } catch (const c10::Error& e) {
      if (!is_out_of_memory(e) || request.kind != edit::EditKind::Generate || request.batch < 2) throw;
      spdlog::warn("out of memory for {} images at once; retrying in two halves", request.batch);
    }
    EditRequest first = request, second = request;
    first.batch = request.batch / 2;
    second.batch = request.batch - first.batch;
    second.first_image = request.first_image + first.batch;
    Timings t1, t2;
    const at::Tensor a = run_with_memory_retry(first, context, t1, sigmas), b = run_with_memory_retry(second, context, t2);
    t = t1;
    t += t2;
    return at::cat({a, b});
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  std::shared_ptr<const model::GraphedFunction> f_of_jobs() {
    std::lock_guard<std::mutex> lock(mutex);
    return f;
  }

  std::string stats_device() {
    std::lock_guard<std::mutex> lock(mutex);
    return stats.device;
  }
};

Engine::Engine(EngineOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  state_->device = choose_device(state_->options.device);
  state_->dtype = choose_precision(state_->options.precision, state_->device);
  // cuDNN runs float32 convolutions on TF32 tensor cores by default (a 10-bit mantissa, errors of
  // ~1e-3): whoever asks for fp32 on a GPU asks for the golden parity that fp32 has on the CPU.
  if (state_->device.is_cuda() && state_->dtype == at::kFloat) at::globalContext().setAllowTF32CuDNN(false);
  state_->stats.device = state_->device.str() + " (" + precision_name(state_->dtype) + ")";
  state_->worker = std::thread([s = state_] { s->run(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
    if (state_->running) state_->running->cancelled = true;
  }
  state_->wake.notify_all();
  if (state_->worker.joinable()) state_->worker.join();
}

std::future<ModelInfo> Engine::load_model(const std::filesystem::path& path) {
  auto job = std::make_shared<Job>();
  job->is_load = true;
  job->load_path = path;
  std::future<ModelInfo> future = job->loaded.get_future();
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    job->id = state_->next_id++;
    state_->queue.push_back(job);
    state_->stats.queue_depth = int(state_->queue.size());
  }
  state_->wake.notify_one();
  return future;
}

std::future<EditResult> Engine::submit(EditRequest request, JobCallbacks callbacks, std::uint64_t* id) {
  auto job = std::make_shared<Job>();
  job->group = !request.group.empty() ? request.group : request.preview ? std::string("preview") : std::string();
  job->request = std::move(request);
  job->callbacks = std::move(callbacks);
  std::future<EditResult> future = job->result.get_future();
  std::vector<std::shared_ptr<Job>> superseded;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    job->id = state_->next_id++;
    if (id) *id = job->id;
    if (!job->group.empty()) {  // latest wins within the group
      for (auto it = state_->queue.begin(); it != state_->queue.end();) {
        if ((*it)->group == job->group && !(*it)->is_load) {
          superseded.push_back(*it);
          it = state_->queue.erase(it);
        } else {
          ++it;
        }
      }
      if (state_->running && state_->running->group == job->group) state_->running->cancelled = true;
    }
    state_->queue.push_back(job);
    state_->stats.queue_depth = int(state_->queue.size());
  }
  for (auto& old : superseded) state_->finish_cancelled(old, "superseded by a newer " + job->group + " request");
  state_->wake.notify_one();
  return future;
}

void Engine::cancel(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->running && state_->running->id == id) state_->running->cancelled = true;
  for (auto& job : state_->queue)
    if (job->id == id) job->cancelled = true;  // delivered as cancelled when its turn comes
}

void Engine::cancel_all() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->running) state_->running->cancelled = true;
  for (auto& job : state_->queue) job->cancelled = true;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  EngineStats s = state_->stats;
  s.memory_bytes = resident_bytes();
  if (state_->f) s.graph_recordings = state_->f->recordings(), s.graph_replays = state_->f->replays();
  return s;
}

const EngineOptions& Engine::options() const { return state_->options; }

}  // namespace cm::engine
