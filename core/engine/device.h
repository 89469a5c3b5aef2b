// Which compute device cmedit runs on, and what this build's LibTorch can do.
#pragma once

#include "core/base/build_info.h"

#include <c10/core/Device.h>

#include <string>
#include <string_view>

namespace cm::engine {

struct CudaStatus {
  bool built_in = false;  // this LibTorch was built with CUDA
  int device_count = 0;   // devices it can use now (0 without driver/GPU)
  bool usable() const { return built_in && device_count > 0; }
};

CudaStatus cuda_status();

// Resolves a user's device choice: "auto" (CUDA when usable, else CPU), "cpu", "cuda", "cuda:N".
// Throws cm::Error(BadArgument) for an unknown name and cm::Error(Device) for a CUDA device this
// machine cannot use, with a message that says why (not built in / no device / index too large).
c10::Device choose_device(std::string_view preference);

// "LibTorch 1.13.0 (CUDA not built in)" as a Component for --version and the log.
Component torch_component();

}  // namespace cm::engine
