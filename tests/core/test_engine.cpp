#include "core/engine/device.h"
#include "core/expect_error.h"

#include <gtest/gtest.h>
#include <torch/version.h>

namespace {

using cm::ErrorCode;
using cm::engine::choose_device;
using cm::engine::cuda_status;

TEST(Device, CpuIsAlwaysAvailable) { EXPECT_TRUE(choose_device("cpu").is_cpu()); }

TEST(Device, AutoPicksCudaExactlyWhenItIsUsable) {
  EXPECT_EQ(choose_device("auto").is_cuda(), cuda_status().usable());
}

TEST(Device, CudaWithoutAUsableGpuSaysWhy) {
  if (cuda_status().usable()) GTEST_SKIP() << "a CUDA device is present";
  const std::string why = cuda_status().built_in ? "no CUDA device found" : "built without CUDA";
  EXPECT_CM_ERROR(choose_device("cuda"), ErrorCode::Device, why);
  EXPECT_CM_ERROR(choose_device("cuda:0"), ErrorCode::Device, why);
}

TEST(Device, CudaIndexBeyondTheDevicesIsRefused) {
  if (!cuda_status().usable()) GTEST_SKIP() << "needs a CUDA device";
  EXPECT_TRUE(choose_device("cuda:0").is_cuda());
  EXPECT_CM_ERROR(choose_device("cuda:" + std::to_string(cuda_status().device_count)), ErrorCode::Device,
                  "CUDA device(s) found");
}

TEST(Device, UnknownNamesAreBadArguments) {
  EXPECT_CM_ERROR(choose_device("gpu"), ErrorCode::BadArgument, "unknown device 'gpu'");
  EXPECT_CM_ERROR(choose_device("cuda:x"), ErrorCode::BadArgument, "bad device 'cuda:x'");
  EXPECT_CM_ERROR(choose_device("cuda:"), ErrorCode::BadArgument, "bad device");
  EXPECT_CM_ERROR(choose_device("cuda:-1"), ErrorCode::BadArgument, "bad device");
}

TEST(Device, TorchComponentReportsVersionAndCuda) {
  const cm::Component c = cm::engine::torch_component();
  EXPECT_EQ(c.name, "LibTorch");
  EXPECT_EQ(c.version, TORCH_VERSION);
  EXPECT_NE(c.note.find("CUDA"), std::string::npos) << c.note;
}

}  // namespace
