// QImage ↔ tensor conversions for the UI's .cpp files (this header includes torch; widget
// headers must not include it). RGBA64 keeps 16 bits per channel, exact for 8-bit sources.
#pragma once

#include <ATen/core/Tensor.h>
#include <QImage>

namespace cm::ui {

// Any QImage → [1,3,H,W] float in [−1, 1].
at::Tensor rgb_tensor(const QImage& image);
// A photo as the edits take it without a float copy: its 16-bit levels as stored pixels
// (core/base/pixel_format.h: int16 holding v − 32768), [1,3,H,W]. A 12-megapixel photo is 72 MB,
// and made with one pass over it.
at::Tensor photo_tensor(const QImage& image);
// Its alpha → [1,1,H,W] in [0, 1].
at::Tensor alpha_tensor(const QImage& image);
// Grayscale8 → [1,1,H,W] uint8, 1 where at least half white.
at::Tensor mask_tensor(const QImage& grey);
// [1,3,H,W] float in [−1, 1] or stored pixels (uint8, offset int16), with an optional [1,1,H,W]
// alpha (float in [0, 1] or stored) → Format_RGBA64.
QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha = at::Tensor());
// The same, keeping the alpha of `like` (same size).
QImage rgba64_like(const at::Tensor& rgb, const QImage& like);

}  // namespace cm::ui
