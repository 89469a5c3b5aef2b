// Caps what CUDA's caching allocator may hold on a device, so that a test can make an edit that
// does not fit without filling a 140 GB card. Only a CUDA LibTorch has that allocator; elsewhere
// can_cap_cuda_memory() is false and the others throw. The CPU's twin: the process's address space
// capped (RLIMIT_AS), so that a large allocation fails as it would on a full machine.
#pragma once

#include <cstdint>

namespace cm::testing {

bool can_cap_cuda_memory();
// Frees the allocator's unused cache, then allows what it still holds plus `headroom` bytes.
void cap_cuda_memory(std::int64_t headroom, int device = 0);
void uncap_cuda_memory(int device = 0);
// Bytes the caching allocator has handed out on a device (tensors alive), or −1 without CUDA.
std::int64_t cuda_allocated_bytes(int device = 0);

// Address space: what the process has mapped now plus `headroom` bytes; uncap restores the limit.
void cap_cpu_memory(std::int64_t headroom);
void uncap_cpu_memory();

}  // namespace cm::testing
