// QImage ↔ tensor conversions for the UI's .cpp files (this header includes torch; widget
// headers must not include it). RGBA64 keeps 16 bits per channel, exact for 8-bit sources.
#pragma once

#include <ATen/core/Tensor.h>
#include <QImage>
#include <QRect>

#include <utility>

namespace cm::ui {

// A photo as the edits take it without a float copy: its 16-bit levels as stored pixels
// (core/base/pixel_format.h: int16 holding v − 32768), [1,3,H,W]. A 12-megapixel photo is 72 MB,
// and made with one pass over it.
at::Tensor photo_tensor(const QImage& image);
// Its alpha → [1,1,H,W] in [0, 1].
at::Tensor alpha_tensor(const QImage& image);
// Grayscale8 → [1,1,H,W] uint8, 1 where at least half white; read inside `area` only (where it is
// painted, Document::inkRect), zero elsewhere.
at::Tensor mask_tensor(const QImage& grey, QRect area);
// Colour hints painted on a premultiplied layer, in its part `box`: their colours
// (un-premultiplied) as stored pixels, uint8 [1,3,h,w], and where they are (alpha at least half),
// uint8 [1,1,h,w]. A request sends that box (engine::EditRequest::hints_y), so a 50 MP layer costs
// its painted part.
std::pair<at::Tensor, at::Tensor> hint_tensors(const QImage& layer, const QRect& box);
// [1,3,H,W] float in [−1, 1] or stored pixels (uint8, offset int16), with an optional [1,1,H,W]
// alpha (float in [0, 1] or stored) → Format_RGBA64.
QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha = at::Tensor());
// The same in 8 bits, opaque: what a preview still being computed is drawn in (the canvas's format).
QImage rgba8888_image(const at::Tensor& rgb);
// The same, keeping the alpha of `like` (same size).
QImage rgba64_like(const at::Tensor& rgb, const QImage& like);
// `like` (the same size as rgb) with rgb's colours inside `area` and its own pixels outside, its
// alpha everywhere, bit for bit: an edit's result where the edit says it may differ from its input.
// A masked edit of 50 MP converts its windows' box, not 50 MP (1.3-1.7 s, with the alpha's pass).
QImage rgba64_over(const at::Tensor& rgb, const QImage& like, QRect area);

}  // namespace cm::ui
