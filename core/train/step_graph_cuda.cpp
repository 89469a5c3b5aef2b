// CUDA graphs of the fused training step (step_graph.h). Built only against a CUDA LibTorch 2.x
// with CUDA's headers (core/train/CMakeLists.txt defines CMEDIT_HAS_CUDA_GRAPHS then); the CPU
// build compiles step_graph.cpp's fallback instead. Written against the public at::cuda::CUDAGraph
// API (ATen/cuda/CUDAGraph.h): capture_begin(pool) / capture_end() / replay() / pool().
#include "core/train/step_graph.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace cm::train {
namespace {

class CudaGraph final : public StepGraph {
 public:
  explicit CudaGraph(c10::Device device)
      : device_(device), stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}

  void capture(const std::function<void()>& body, StepGraph* same_pool_as) override {
    c10::cuda::CUDAGuard device_guard(device_);
    // A capture records work without running it; what the default stream queued before must be
    // done first. Cached blocks the eager steps left behind go back to the driver, so that the
    // graph's own memory pool can have them (torch.cuda.graph does both).
    c10::cuda::device_synchronize();
    c10::cuda::CUDACachingAllocator::emptyCache();
    {
      // Graphs are captured on a side stream (the default stream cannot capture); autograd's
      // backward follows the forward's stream, so it is recorded too.
      c10::cuda::CUDAStreamGuard stream_guard(stream_);
      auto* other = dynamic_cast<CudaGraph*>(same_pool_as);
      if (other)
        graph_.capture_begin(other->graph_.pool());
      else
        graph_.capture_begin();
      try {
        body();
      } catch (...) {
        try {
          graph_.capture_end();  // ends the stream's capture mode; the graph is discarded with this object
        } catch (...) {
        }
        throw;
      }
      graph_.capture_end();
    }
    c10::cuda::device_synchronize();
  }

  void replay() override { graph_.replay(); }

 private:
  c10::Device device_;
  c10::cuda::CUDAStream stream_;
  at::cuda::CUDAGraph graph_;
};

}  // namespace

StepGraphMaker cuda_step_graphs(c10::Device device, std::string* why_not) {
  if (!device.is_cuda()) {
    if (why_not) *why_not = "CUDA graphs need a CUDA device";
    return {};
  }
  return [device] { return std::make_unique<CudaGraph>(device); };
}

}  // namespace cm::train
