// JPEG decoding for image packs, with stb_image (header-only, so it travels to a machine that has
// LibTorch and nothing else). Builds without stb_image.h read rgb8 packs only.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace cm::train {

bool can_decode_jpeg();

// [H, W, 3] uint8. Throws cm::Error: CorruptFile (not a decodable JPEG; `what` names it),
// Unsupported (this build has no JPEG decoder).
at::Tensor decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& what);

}  // namespace cm::train
