// Caps what CUDA's caching allocator may hold on a device, so that a test can make an edit that
// does not fit without filling a 140 GB card. Only a CUDA LibTorch has that allocator; elsewhere
// can_cap_cuda_memory() is false and the others throw.
#pragma once

#include <cstdint>

namespace cm::testing {

bool can_cap_cuda_memory();
// Frees the allocator's unused cache, then allows what it still holds plus `headroom` bytes.
void cap_cuda_memory(std::int64_t headroom, int device = 0);
void uncap_cuda_memory(int device = 0);

}  // namespace cm::testing
