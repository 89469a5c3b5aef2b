#include "core/engine/device.h"

#include "core/base/error.h"

#include <ATen/Context.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/version.h>

#include <fmt/format.h>

#include <charconv>

namespace cm::engine {

CudaStatus cuda_status() {
  CudaStatus status;
  // libtorch_cuda registers CUDA's device guard when it loads, whether or not a GPU is present.
  status.built_in = c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA);
  status.device_count = status.built_in ? int(at::getNumGPUs()) : 0;
  return status;
}

namespace {

int parse_cuda_index(std::string_view preference) {
  const std::string_view digits = preference.substr(5);  // after "cuda:"
  int index = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
    throw Error(ErrorCode::BadArgument, "bad device '" + std::string(preference) + "' (expected cuda:0, cuda:1, …)");
  return index;
}

c10::Device cuda_device(std::string_view preference, int index) {
  const CudaStatus cuda = cuda_status();
  if (!cuda.built_in)
    throw Error(ErrorCode::Device, "device '" + std::string(preference) +
                                       "' is not available: this LibTorch was built without CUDA, so only the CPU can run models");
  if (cuda.device_count == 0)
    throw Error(ErrorCode::Device, "device '" + std::string(preference) + "' is not available: no CUDA device found");
  if (index >= cuda.device_count)
    throw Error(ErrorCode::Device, fmt::format("device '{}' is not available: only {} CUDA device(s) found", preference,
                                               cuda.device_count));
  return c10::Device(c10::DeviceType::CUDA, c10::DeviceIndex(index));
}

}  // namespace

c10::Device choose_device(std::string_view preference) {
  if (preference == "auto") return cuda_status().usable() ? c10::Device(c10::DeviceType::CUDA, 0) : c10::Device(c10::kCPU);
  if (preference == "cpu") return c10::Device(c10::kCPU);
  if (preference == "cuda") return cuda_device(preference, 0);
  if (preference.substr(0, 5) == "cuda:") return cuda_device(preference, parse_cuda_index(preference));
  throw Error(ErrorCode::BadArgument, "unknown device '" + std::string(preference) + "' (expected auto, cpu, cuda or cuda:N)");
}

Component torch_component() {
  const CudaStatus cuda = cuda_status();
  std::string note;
  if (!cuda.built_in) note = "CUDA not built in";
  else if (cuda.device_count == 0) note = "CUDA built in, no usable device";
  else note = fmt::format("CUDA usable, {} device(s)", cuda.device_count);
  return {"LibTorch", TORCH_VERSION, note};
}

}  // namespace cm::engine
