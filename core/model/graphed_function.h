// f(x, σ) of a UNet replayed from recorded device graphs, one per input shape: what a preview on
// a GPU waits for. One evaluation of the LSUN-256 network at batch 1 is hundreds of kernels, 2.2
// TFLOP; queued one by one from the host it took 31 ms on an H200 (docs/BENCHMARKS.md), where the
// arithmetic alone is a few ms. A CUDA graph queues them all with one call.
//
// The rule per shape (batch, channels, height, width): it runs eagerly until two evaluations in a
// row have it (the first lets cuDNN and the allocator settle for it); the second of them records
// the graph, and from then on each evaluation of that shape copies x, σ and the labels into the
// graph's fixed input tensors and replays it.
// prepare() records a shape at once (the engine's warm-up, at the model's size, so the first
// preview replays). At most `max_shapes` graphs are kept (each holds its own device memory); the
// least recently used goes first. A shape whose recording fails (out of memory, an operation the
// device cannot record) runs eagerly from then on, and why_not() says why.
#pragma once

#include "core/model/unet_function.h"

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cm::model {

// One recorded piece of device work.
class DeviceGraph {
 public:
  virtual ~DeviceGraph() = default;
  // Records `body` without running it (as a CUDA capture does). Throws when it cannot be recorded.
  virtual void record(const std::function<void()>& body) = 0;
  // Runs what was recorded, in order with the work queued before it.
  virtual void run() = 0;
};
using DeviceGraphs = std::function<std::unique_ptr<DeviceGraph>()>;

// CUDA graphs on `device` (graphed_function_cuda.cpp, built against a CUDA LibTorch 2.x with
// CMEDIT_CUDA_GRAPHS), or an empty maker with the reason in `why_not` (a CPU device, another build).
DeviceGraphs cuda_device_graphs(c10::Device device, std::string* why_not = nullptr);
// For the CPU tests of the bookkeeping: record keeps the body, run runs it again.
DeviceGraphs rerunning_device_graphs();

class GraphedFunction final : public ConsistencyFunction {
 public:
  // Without `graphs` (empty), every evaluation is the plain one.
  GraphedFunction(std::shared_ptr<const UNetFunction> f, DeviceGraphs graphs, int max_shapes = 2);
  ~GraphedFunction() override;

  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma,
                        const at::Tensor& labels = at::Tensor()) const override;
  const ModelSpec& spec() const override { return f_->spec(); }
  c10::Device device() const override { return f_->device(); }

  // Evaluates once eagerly at this shape, then records its graph: the warm-up.
  void prepare(int64_t batch, int64_t height, int64_t width) const;
  // Whether evaluations may record new shapes (on by default); graphs already made still replay.
  // The engine allows it for previews only: a batch split in halves, or an applied edit's windows,
  // would pay for recordings they do not use again.
  void allow_recording(bool allow) const { recording_allowed_ = allow; }

  const UNetFunction& function() const { return *f_; }
  bool enabled() const { return static_cast<bool>(graphs_); }
  int replays() const { return replays_; }
  int recordings() const { return recordings_; }
  // Why the last shape that could not be recorded runs eagerly; empty when none failed.
  std::string why_not() const;

 private:
  struct Entry;
  at::Tensor record(Entry& e, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const;
  static void load(Entry& e, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels);

  std::shared_ptr<const UNetFunction> f_;
  DeviceGraphs graphs_;
  int max_shapes_;
  mutable std::mutex mutex_;
  mutable std::list<std::unique_ptr<Entry>> entries_;  // most recently used first
  mutable std::string why_not_;
  mutable std::vector<int64_t> last_shape_;  // of the evaluation before
  mutable bool last_labels_ = false;
  mutable std::atomic<int> replays_{0}, recordings_{0};
  mutable std::atomic<bool> recording_allowed_{true};
};

}  // namespace cm::model
