// The device a test in tests/cuda runs on. Every test runs twice: on the CPU, where CI checks the
// test's own logic (with bf16 as the reduced precision), and on CUDA, where it skips with the
// reason when this LibTorch or machine has no CUDA device. The GPU windows run them with
// `ctest -L cuda` (scripts/gpu/campaign).
#pragma once

#include "core/engine/device.h"
#include "core/model/model_loader.h"
#include "core/model/unet.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

namespace cm::testing {

class OnDevice : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (on_cuda() && !engine::cuda_status().usable())
      GTEST_SKIP() << (engine::cuda_status().built_in ? "no CUDA device found" : "this LibTorch was built without CUDA");
    // Float32 means float32 here, as in the engine (cuDNN would otherwise use TF32 tensor cores).
    if (on_cuda()) at::globalContext().setAllowTF32CuDNN(false);
  }
  bool on_cuda() const { return GetParam() == "cuda"; }
  c10::Device device() const { return engine::choose_device(GetParam()); }
  // What the device computes in when speed matters: fp16 on CUDA (the engine's default), bf16 on
  // the CPU (fp16 convolutions need CUDA).
  c10::ScalarType reduced() const { return on_cuda() ? at::kHalf : at::kBFloat16; }
  // Whether the reduced precision rounds as the tests' tight bounds were measured: fp16 on CUDA, or
  // bf16 through oneDNN, which LibTorch 1.13 uses on CPUs with AVX-512. Without it (an AVX2-only AMD
  // EPYC, this project's cpp machine on 2026-12-06) its fallback kernels round more: bf16's error
  // was 4-5 times the one measured with AVX-512 (each test's bounds say by how much).
  bool reduced_rounds_tightly() const {
#if defined(__x86_64__) && defined(__GNUC__)
    if (!on_cuda())
      return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    return true;
  }
};

// A measured number, in the test's output (the GPU window's log) and in ctest's XML.
inline void report(const std::string& what, double value) {
  std::printf("measured: %s = %.3g\n", what.c_str(), value);
  ::testing::Test::RecordProperty(what, std::to_string(value));
}

inline double relative_l2(const at::Tensor& a, const at::Tensor& reference) {
  const at::Tensor r = reference.cpu().to(at::kDouble);
  return ((a.cpu().to(at::kDouble) - r).norm() / r.norm()).item<double>();
}

// The network of a model folder, on `device` in `dtype`, not yet wrapped (so that a test may
// switch its layout or attention).
inline std::shared_ptr<model::UNet> load_unet(const std::filesystem::path& dir, c10::Device device, c10::ScalarType dtype) {
  const model::ModelSource source = model::locate_model(dir);
  auto unet = std::make_shared<model::UNet>(source.card->architecture, model::read_weights(source.weights));
  unet->to(device, dtype);
  return unet;
}

}  // namespace cm::testing

#define CMEDIT_ON_CPU_AND_CUDA(Suite)                                                                        \
  INSTANTIATE_TEST_SUITE_P(Device, Suite, ::testing::Values(std::string("cpu"), std::string("cuda")), \
                           [](const ::testing::TestParamInfo<std::string>& info) { return info.param; })
