#include "core/train/step_graph.h"

namespace cm::train {
namespace {

class RerunGraph final : public StepGraph {
 public:
  void capture(const std::function<void()>& body, StepGraph*) override { body_ = body; }
  void replay() override { body_(); }

 private:
  std::function<void()> body_;
};

}  // namespace

StepGraphMaker rerun_step_graphs() {
  return [] { return std::make_unique<RerunGraph>(); };
}

#ifndef CMEDIT_HAS_CUDA_GRAPHS
StepGraphMaker cuda_step_graphs(c10::Device device, std::string* why_not) {
  if (why_not)
    *why_not = device.is_cuda() ? "this build has no CUDA graphs (it needs a CUDA LibTorch 2.x and CUDA's headers)"
                                : "CUDA graphs need a CUDA device";
  return {};
}
#endif

}  // namespace cm::train
