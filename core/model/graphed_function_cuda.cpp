// CUDA graphs for GraphedFunction (graphed_function.h). Built only against a CUDA LibTorch 2.x with
// CUDA's headers and CMEDIT_CUDA_GRAPHS (core/model/CMakeLists.txt defines CMEDIT_HAS_CUDA_GRAPHS
// then); every other build compiles graphed_function.cpp's fallback. Written against the public
// at::cuda::CUDAGraph API (capture_begin / capture_end / replay), as core/train/step_graph_cuda.cpp.
#include "core/model/graphed_function.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

namespace cm::model {
namespace {

class CudaDeviceGraph final : public DeviceGraph {
 public:
  explicit CudaDeviceGraph(c10::Device device)
      : device_(device), side_stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}

  void record(const std::function<void()>& body) override {
    c10::cuda::CUDAGuard device_guard(device_);
    // What the worker's stream queued (the inputs) comes first; the blocks eager evaluations left
    // in the cache go back to the driver, so that the graph's own pool can have them.
    c10::cuda::device_synchronize();
    c10::cuda::CUDACachingAllocator::emptyCache();
    {
      // A capture cannot be made on the default stream. One eager run on the side stream first,
      // so that what cuBLAS and cuDNN set up per stream (handles, workspaces) is not made inside it.
      c10::cuda::CUDAStreamGuard on_side(side_stream_);
      body();
      c10::cuda::device_synchronize();
      // Thread-local: CUDA calls of other threads (the editor's, an engine being replaced) neither
      // break this capture nor are refused because of it.
      graph_.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        body();
      } catch (...) {
        try {
          graph_.capture_end();  // leaves capture mode; the half-made graph goes with this object
        } catch (...) {
        }
        (void)cudaGetLastError();  // an invalidated capture's error must not be blamed on the next launch
        throw;
      }
      graph_.capture_end();
    }
    c10::cuda::device_synchronize();
  }

  // On the current stream (the worker's), in order with what it queued before and after.
  void run() override {
    c10::cuda::CUDAGuard device_guard(device_);
    graph_.replay();
  }

 private:
  c10::Device device_;
  c10::cuda::CUDAStream side_stream_;
  at::cuda::CUDAGraph graph_;
};

}  // namespace

DeviceGraphs cuda_device_graphs(c10::Device device, std::string* why_not) {
  if (!device.is_cuda()) {
    if (why_not) *why_not = "device graphs need a CUDA device";
    return {};
  }
  return [device] { return std::make_unique<CudaDeviceGraph>(device); };
}

}  // namespace cm::model
