// QImage ↔ tensor conversions for the UI's .cpp files (this header includes torch; widget
// headers must not include it). RGBA64 keeps 16 bits per channel, exact for 8-bit sources.
#pragma once

#include <ATen/core/Tensor.h>
#include <QImage>

namespace cm::ui {

// Any QImage → [1,3,H,W] float in [−1, 1].
at::Tensor rgb_tensor(const QImage& image);
// Its alpha → [1,1,H,W] in [0, 1].
at::Tensor alpha_tensor(const QImage& image);
// Grayscale8 → [1,1,H,W], 1 where at least half white.
at::Tensor mask_tensor(const QImage& grey);
// [1,3,H,W] in [−1, 1] (and optional [1,1,H,W] alpha in [0, 1]) → Format_RGBA64.
QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha = at::Tensor());
// The same, keeping the alpha of `like` (same size).
QImage rgba64_like(const at::Tensor& rgb, const QImage& like);

}  // namespace cm::ui
