// quality's inputs: one held-out photo and what every method, baseline or model, gets from it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cm::bench {

// Images [1, 3, size, size] in [−1, 1], masks [1, 1, size, size].
struct Photo {
  at::Tensor truth;  // the photo, centre-cropped to a square
  at::Tensor mask;   // inpainting: free-form brush strokes, 1 = fill
  at::Tensor holed;  // inpainting's input: the truth with the masked pixels grey (0)
  at::Tensor low;    // super-resolution's input: the exact 4×4 means, [1, 3, size/4, size/4]
  at::Tensor grey;   // colorization's input: r = g = b = the truth's luma (q₀·rgb, a weighted mean)
};

enum class Hole { Strokes, Box };

// rgb8: [H, W, 3] bytes as the pack stores them; mask_seed picks the brush strokes, or the place of
// the box: a square of half the photo's side (a quarter of its area), an object to remove.
Photo make_photo(const at::Tensor& rgb8, int size, std::uint64_t mask_seed, Hole hole = Hole::Strokes);

}  // namespace cm::bench
