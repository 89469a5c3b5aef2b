#include "cuda/cuda_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#ifdef CMEDIT_TEST_CUDA_MEMORY
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>

namespace cm::testing {

namespace allocator = c10::cuda::CUDACachingAllocator;

bool can_cap_cuda_memory() { return true; }

void cap_cuda_memory(std::int64_t headroom, int device) {
  allocator::emptyCache();
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess || total_bytes == 0)
    throw std::runtime_error("cudaMemGetInfo failed");
  // reserved_bytes[0] is StatType::AGGREGATE, whose namespace moved between LibTorch 1.13 and 2.x.
  const std::int64_t reserved = allocator::getDeviceStats(device).reserved_bytes[0].current;
  allocator::setMemoryFraction(std::clamp(double(reserved + headroom) / double(total_bytes), 0.0, 1.0), device);
}

void uncap_cuda_memory(int device) {
  allocator::setMemoryFraction(1.0, device);
  allocator::emptyCache();
}

std::int64_t cuda_allocated_bytes(int device) { return allocator::getDeviceStats(device).allocated_bytes[0].current; }

}  // namespace cm::testing

#else

namespace cm::testing {

bool can_cap_cuda_memory() { return false; }
void cap_cuda_memory(std::int64_t, int) { throw std::logic_error("this LibTorch has no CUDA caching allocator"); }
void uncap_cuda_memory(int) { throw std::logic_error("this LibTorch has no CUDA caching allocator"); }
std::int64_t cuda_allocated_bytes(int) { return -1; }

}  // namespace cm::testing

#endif

namespace cm::testing {

namespace {
rlimit saved_address_space{RLIM_INFINITY, RLIM_INFINITY};
}

void cap_cpu_memory(std::int64_t headroom) {
  std::ifstream statm("/proc/self/statm");
  std::int64_t mapped_pages = 0;
  if (!(statm >> mapped_pages) || getrlimit(RLIMIT_AS, &saved_address_space) != 0)
    throw std::runtime_error("cannot read this process's address space or its limit");
  rlimit capped = saved_address_space;
  capped.rlim_cur = rlim_t(mapped_pages * sysconf(_SC_PAGESIZE) + headroom);
  if (setrlimit(RLIMIT_AS, &capped) != 0) throw std::runtime_error("setrlimit(RLIMIT_AS) failed");
}

void uncap_cpu_memory() {
  if (setrlimit(RLIMIT_AS, &saved_address_space) != 0) throw std::runtime_error("setrlimit(RLIMIT_AS) failed");
}

}  // namespace cm::testing
