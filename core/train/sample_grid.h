// Sample grids: a batch of images as one PNG, for watching a run. Written without image codecs
// (deflate "stored" blocks, so no compression), because training must run where only LibTorch is.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

namespace cm::train {

// [B, 3, H, W] in [−1, 1] → [rows·(H+gap), columns·(W+gap), 3] uint8 (dark gaps between tiles).
at::Tensor image_grid(const at::Tensor& images, int columns, int gap = 2);

// Writes [H, W, 3] uint8 as an 8-bit RGB PNG, atomically. Throws cm::Error(BadArgument, Io).
void write_png(const std::filesystem::path& path, const at::Tensor& rgb);

}  // namespace cm::train
