// How a photo's pixels are held when they are not floats (core/edit/pixels.h). Edits compute on
// float images in [−1, 1], the model's scale; a photo of tens of megapixels is held as its file's
// integers instead (3 or 6 bytes a pixel instead of 12), and only the windows an edit works on
// become float. Shared by imageio, which makes such tensors from files, and edit, which reads them.
#pragma once

namespace cm::pixels {

// 8-bit files: uint8, v ∈ 0…255. 16-bit files: int16 holding v − kOffset16 for v ∈ 0…65535
// (LibTorch 1.13 has no uint16).
constexpr int kMax8 = 255;
constexpr int kMax16 = 65535;
constexpr int kOffset16 = 32768;

}  // namespace cm::pixels
