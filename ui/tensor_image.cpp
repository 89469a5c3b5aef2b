#include "ui/tensor_image.h"

#include "core/base/pixel_format.h"

#include <ATen/ATen.h>

#include <QColor>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cm::ui {
namespace {

// Each is one pass over the pixels, row by row: written with tensor operations (int32 copies,
// a concatenation, a strided gather) a 50 MP photo took 2.7 s and 1.5 GB to become an image, on
// every open and every edit's result.

// An RGBA64 image of the photo (shared when it is one already); a null image when memory ran out.
QImage as_rgba64(const QImage& image) { return image.convertToFormat(QImage::Format_RGBA64); }

[[noreturn]] void out_of_memory(int64_t w, int64_t h) {
  throw std::runtime_error("not enough memory for a " + std::to_string(w) + " × " + std::to_string(h) + " image");
}

QImage new_image(int64_t w, int64_t h, QImage::Format format) {
  QImage out(int(w), int(h), format);
  if (out.isNull()) out_of_memory(w, h);
  return out;
}

// The planes of x ([1,C,H,W] stored pixels, uint8 or offset int16, or floats in [lo, hi]) as
// 16-bit levels, a row at a time: into(y, c, i, level) for each, the channels of a row together
// (a 50 MP image's row stays in the cache while its four channels are written).
template <class Into>
void each_level(const at::Tensor& x_in, double lo, double hi, Into into) {
  const at::Tensor x = x_in.to(at::kCPU).contiguous();
  const int64_t c_n = x.size(1), h = x.size(2), w = x.size(3);
  const auto rows = [&](auto level_of) {
    for (int64_t y = 0; y < h; ++y)
      for (int64_t c = 0; c < c_n; ++c) {
        const int64_t at = (c * h + y) * w;
        for (int64_t i = 0; i < w; ++i) into(y, c, i, level_of(at + i));
      }
  };
  if (x.scalar_type() == at::kByte) {
    const uint8_t* p = x.data_ptr<uint8_t>();
    rows([p](int64_t i) { return quint16(p[i] * 257); });
  } else if (x.scalar_type() == at::kShort) {
    const int16_t* p = x.data_ptr<int16_t>();
    rows([p](int64_t i) { return quint16(int(p[i]) + pixels::kOffset16); });
  } else {
    const at::Tensor f = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
    const float* p = f.data_ptr<float>();
    const float low = float(lo), high = float(hi), scale = float(65535.0 / (hi - lo));
    rows([=](int64_t i) {
      const float v = p[i] == p[i] ? std::clamp(p[i], low, high) : low;  // NaN: the darkest level
      return quint16(std::nearbyint((v - low) * scale));
    });
  }
}

}  // namespace

at::Tensor photo_tensor(const QImage& any) {
  const QImage image = as_rgba64(any);
  const int64_t h = image.height(), w = image.width();
  at::Tensor out = at::empty({1, 3, h, w}, at::kShort);
  int16_t* planes = out.data_ptr<int16_t>();
  for (int64_t y = 0; y < h; ++y) {
    const auto* row = reinterpret_cast<const quint16*>(image.constScanLine(int(y)));
    for (int c = 0; c < 3; ++c) {
      int16_t* to = planes + (c * h + y) * w;
      // A uint16 level v with its sign bit flipped is v − 32768 as int16.
      for (int64_t x = 0; x < w; ++x) to[x] = int16_t(quint16(row[4 * x + c] ^ 0x8000));
    }
  }
  return out;
}

at::Tensor alpha_tensor(const QImage& any) {
  const QImage image = as_rgba64(any);
  const int64_t h = image.height(), w = image.width();
  at::Tensor out = at::empty({1, 1, h, w}, at::kFloat);
  float* to = out.data_ptr<float>();
  for (int64_t y = 0; y < h; ++y, to += w) {
    const auto* row = reinterpret_cast<const quint16*>(image.constScanLine(int(y)));
    for (int64_t x = 0; x < w; ++x) to[x] = float(row[4 * x + 3]) / 65535.0f;
  }
  return out;
}

at::Tensor mask_tensor(const QImage& grey_in, QRect area) {
  const QImage grey = grey_in.convertToFormat(QImage::Format_Grayscale8);
  const int64_t h = grey.height(), w = grey.width();
  at::Tensor out = at::zeros({1, 1, h, w}, at::kByte);
  area &= grey.rect();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t y = area.top(); y <= area.bottom(); ++y) {
    const uchar* row = grey.constScanLine(int(y));
    for (int64_t x = area.left(); x <= area.right(); ++x) dst[y * w + x] = row[x] >= 128;
  }
  return out;
}

std::pair<at::Tensor, at::Tensor> hint_tensors(const QImage& layer, const QRect& box) {
  const QImage part = layer.copy(box).convertToFormat(QImage::Format_RGBA8888);  // un-premultiplied; transparent outside the layer
  at::Tensor rgba = at::empty({part.height(), part.width(), 4}, at::kByte);
  auto* dst = rgba.data_ptr<uint8_t>();
  for (int y = 0; y < part.height(); ++y) std::memcpy(dst + std::size_t(y) * std::size_t(part.width()) * 4, part.constScanLine(y), std::size_t(part.width()) * 4);
  const at::Tensor planes = rgba.permute({2, 0, 1}).unsqueeze(0);
  return {planes.narrow(1, 0, 3).contiguous(), (planes.narrow(1, 3, 1) >= 128).to(at::kByte)};
}

QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha) {
  QImage out = new_image(rgb.size(3), rgb.size(2), QImage::Format_RGBA64);
  uchar* bits = out.bits();  // once: scanLine() per pixel costs a detach check each
  const qsizetype line = out.bytesPerLine();
  const auto at = [bits, line](int64_t y) { return reinterpret_cast<quint16*>(bits + y * line); };
  each_level(rgb.narrow(1, 0, 3), -1.0, 1.0, [&at](int64_t y, int64_t c, int64_t i, quint16 level) { at(y)[4 * i + c] = level; });
  if (alpha.defined()) {
    each_level(alpha, 0.0, 1.0, [&at](int64_t y, int64_t, int64_t i, quint16 level) { at(y)[4 * i + 3] = level; });
  } else {
    for (int64_t y = 0; y < out.height(); ++y)
      for (int64_t i = 0; i < out.width(); ++i) at(y)[4 * i + 3] = 65535;
  }
  return out;
}

QImage rgba8888_image(const at::Tensor& rgb) {
  QImage out = new_image(rgb.size(3), rgb.size(2), QImage::Format_RGBA8888);
  out.fill(Qt::black);  // opaque
  uchar* bits = out.bits();
  const qsizetype line = out.bytesPerLine();
  each_level(rgb.narrow(1, 0, 3), -1.0, 1.0, [bits, line](int64_t y, int64_t c, int64_t i, quint16 level) {
    bits[y * line + 4 * i + c] = uchar((level + 128) / 257);  // rounded to 8 bits
  });
  return out;
}

QImage rgba64_like(const at::Tensor& rgb, const QImage& like) {
  if (like.width() != rgb.size(3) || like.height() != rgb.size(2)) return rgba64_image(rgb);
  return rgba64_over(rgb, like, like.rect());
}

QImage rgba64_over(const at::Tensor& rgb, const QImage& like, QRect area) {
  QImage out = as_rgba64(like);  // shared until written: then one copy of the rows
  area &= out.rect();
  if (area.isEmpty()) return out;
  uchar* bits = out.isNull() ? nullptr : out.bits();  // the copy of a shared image is made here
  if (!bits) out_of_memory(like.width(), like.height());
  const qsizetype line = out.bytesPerLine();
  const int64_t y0 = area.y(), x0 = area.x();
  const at::Tensor part = rgb.narrow(1, 0, 3).narrow(2, y0, area.height()).narrow(3, x0, area.width());
  each_level(part, -1.0, 1.0, [bits, line, y0, x0](int64_t y, int64_t c, int64_t i, quint16 level) {
    reinterpret_cast<quint16*>(bits + (y0 + y) * line)[4 * (x0 + i) + c] = level;
  });
  return out;
}

}  // namespace cm::ui
