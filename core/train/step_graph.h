// A recorded piece of a training step, replayed without the host: a CUDA graph on CUDA
// (step_graph_cuda.cpp, built with a CUDA LibTorch 2.x), or, for tests on the CPU, a stand-in
// that runs the recorded function again.
//
// What a body may do: read and write tensors that outlive the graph (the fused step's static
// inputs, outputs and flat buffers), and nothing that depends on the host at replay time. A CUDA
// graph keeps the addresses, shapes and host scalars of its capture, and runs none of the host
// code again.
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

namespace cm::train {

class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // Records `body`. Graphs that are never replayed at the same time may share memory: pass one
  // already captured as `same_pool_as` (or null). Throws (c10::Error, cm::Error) when the body
  // cannot be recorded; the graph is then unusable.
  virtual void capture(const std::function<void()>& body, StepGraph* same_pool_as) = 0;
  // Runs the recorded work on the current stream, in order with what was queued before.
  virtual void replay() = 0;
};

using StepGraphMaker = std::function<std::unique_ptr<StepGraph>()>;

// CUDA graphs on `device`, or an empty maker with the reason in `why_not` where this build or
// device has none (a CPU device, LibTorch 1.x, a LibTorch without CUDA).
StepGraphMaker cuda_step_graphs(c10::Device device, std::string* why_not);

// The stand-in: capture keeps the function (and runs nothing, as a capture does), replay runs it.
StepGraphMaker rerun_step_graphs();

}  // namespace cm::train
