#include "core/model/graphed_function.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <vector>

namespace cm::model {

struct GraphedFunction::Entry {
  std::vector<int64_t> shape;  // x's [B, C, H, W]
  bool labels = false;
  bool failed = false;  // its recording failed: eager from now on
  std::unique_ptr<DeviceGraph> graph;
  at::Tensor x, sigma, class_labels, out;  // the graph's fixed inputs and output, on the device
};

namespace {

class RerunningGraph final : public DeviceGraph {
 public:
  void record(const std::function<void()>& body) override { body_ = body; }
  void run() override { body_(); }

 private:
  std::function<void()> body_;
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

DeviceGraphs rerunning_device_graphs() {
  return [] { return std::make_unique<RerunningGraph>(); };
}

#ifndef CMEDIT_HAS_CUDA_GRAPHS
DeviceGraphs cuda_device_graphs(c10::Device device, std::string* why_not) {
  if (why_not)
    *why_not = device.is_cuda() ? "this build has no CUDA graphs (it needs a CUDA LibTorch 2.x, CUDA's headers and CMEDIT_CUDA_GRAPHS)"
                                : "device graphs need a CUDA device";
  return {};
}
#endif

GraphedFunction::GraphedFunction(std::shared_ptr<const UNetFunction> f, DeviceGraphs graphs, int max_shapes)
    : f_(std::move(f)), graphs_(std::move(graphs)), max_shapes_(std::max(1, max_shapes)) {
  if (!f_) throw Error(ErrorCode::Internal, "GraphedFunction without a function");
}

GraphedFunction::~GraphedFunction() = default;

std::string GraphedFunction::why_not() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return why_not_;
}

at::Tensor GraphedFunction::operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  validate_call(spec(), x, sigma, labels);
  if (!graphs_) return f_->unchecked(x, sigma, labels);
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  // Recorded when the shape repeats at once: shapes that take turns (windows of several sizes
  // along a stroke) would each pay a recording and be dropped before it paid off.
  const bool repeated = shape == last_shape_ && labels.defined() == last_labels_;
  last_shape_ = shape, last_labels_ = labels.defined();
  auto it = entries_.begin();
  while (it != entries_.end() && !((*it)->shape == shape && (*it)->labels == labels.defined())) ++it;
  if (it == entries_.end()) {
    entries_.push_front(std::make_unique<Entry>());
    entries_.front()->shape = shape;
    entries_.front()->labels = labels.defined();
    if (entries_.size() > 16) entries_.pop_back();  // shapes seen once long ago
  } else {
    entries_.splice(entries_.begin(), entries_, it);
  }
  Entry& e = *entries_.front();
  if (e.failed || (!e.graph && (!recording_allowed_ || !repeated))) return f_->unchecked(x, sigma, labels);
  if (!e.graph) return record(e, x, sigma, labels);
  load(e, x, sigma, labels);
  e.graph->run();
  ++replays_;
  return e.out.clone();  // the next replay overwrites e.out
}

void GraphedFunction::prepare(int64_t batch, int64_t height, int64_t width) const {
  const ModelSpec& s = spec();
  const at::Tensor x = at::zeros({batch, s.channels, height, width});
  const at::Tensor sigma = at::full({batch}, s.noise.sigma_max, at::kFloat);
  const at::Tensor labels = s.num_classes > 0 ? at::zeros({batch}, at::kLong) : at::Tensor();
  const bool allowed = recording_allowed_.exchange(true);
  try {
    for (int i = 0; i < (graphs_ ? 2 : 1); ++i) (void)(*this)(x, sigma, labels);  // eagerly, then recorded and run
  } catch (...) {
    recording_allowed_ = allowed;
    throw;
  }
  recording_allowed_ = allowed;
}

void GraphedFunction::load(Entry& e, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) {
  e.x.copy_(x);
  e.sigma.copy_(sigma);
  if (labels.defined()) e.class_labels.copy_(labels);
}

at::Tensor GraphedFunction::record(Entry& e, const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const {
  // Keep at most max_shapes graphs: the least recently used gives its memory back.
  int kept = 0;
  for (auto& other : entries_) {
    if (!other->graph || ++kept < max_shapes_) continue;
    other->graph.reset();
    other->x = other->sigma = other->class_labels = other->out = at::Tensor();
  }
  const c10::Device device = f_->device();
  e.x = x.to(device, at::kFloat).clone();
  e.sigma = sigma.to(device, at::kFloat).clone();
  e.class_labels = labels.defined() ? labels.to(device, at::kLong).clone() : at::Tensor();
  std::unique_ptr<DeviceGraph> graph = graphs_();
  try {
    // The output is one fixed tensor too, written by every run (a graph's own output would be).
    graph->record([this, &e] {
      const at::Tensor out = f_->unchecked(e.x, e.sigma, e.class_labels);
      if (e.out.defined()) e.out.copy_(out);
      else e.out = out;
    });
  } catch (const std::exception& error) {
    e.x = e.sigma = e.class_labels = e.out = at::Tensor();
    const auto* cm_error = dynamic_cast<const Error*>(&error);
    if (cm_error && cm_error->code() == ErrorCode::Cancelled) throw;  // stopped, not failed: recorded next time
    why_not_ = first_line(error.what());
    if (why_not_.find("out of memory") != std::string::npos) {  // not for good: recorded again when memory allows
      spdlog::info("f at {}x{}x{}x{} is not replayed as a device graph for now: {}", e.shape[0], e.shape[1], e.shape[2],
                   e.shape[3], why_not_);
      return f_->unchecked(x, sigma, labels);
    }
    e.failed = true;
    spdlog::warn("f at {}x{}x{}x{} cannot be replayed as a device graph, so it runs as before: {}", e.shape[0],
                 e.shape[1], e.shape[2], e.shape[3], why_not_);
    return f_->unchecked(x, sigma, labels);
  }
  e.graph = std::move(graph);
  ++recordings_;
  e.graph->run();  // recording ran nothing: this is the evaluation asked for
  ++replays_;
  return e.out.clone();
}

}  // namespace cm::model
