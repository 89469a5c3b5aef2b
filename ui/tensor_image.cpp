#include "ui/tensor_image.h"

#include "core/base/pixel_format.h"

#include <ATen/ATen.h>

#include <cstring>

namespace cm::ui {
namespace {

// [H, W, 4]: the bits of an RGBA64 copy of the image's uint16 levels, as int16.
at::Tensor level_bits(const QImage& any) {
  const QImage image = any.convertToFormat(QImage::Format_RGBA64);
  const int64_t h = image.height(), w = image.width();
  at::Tensor out = at::empty({h, w, 4}, at::kShort);
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  for (int64_t y = 0; y < h; ++y) std::memcpy(dst + y * w * 8, image.constScanLine(int(y)), std::size_t(w) * 8);
  return out;
}

// [H, W, 4] uint16 levels of an RGBA64 copy of the image (as int32).
at::Tensor levels(const QImage& any) { return level_bits(any).to(at::kInt).bitwise_and(0xFFFF); }

// [1,C,H,W] stored pixels or floats in [lo, hi] → 16-bit levels (as int32).
at::Tensor to_levels(const at::Tensor& x, double lo, double hi) {
  const at::Tensor c = x.to(at::kCPU);
  if (c.scalar_type() == at::kShort) return c.to(at::kInt) + pixels::kOffset16;
  if (c.scalar_type() == at::kByte) return c.to(at::kInt) * 257;
  return ((c.to(at::kFloat).clamp(lo, hi) - lo) * float(65535.0 / (hi - lo))).round().to(at::kInt);
}

}  // namespace

at::Tensor photo_tensor(const QImage& image) {
  // A uint16 level v as int16 bits, XOR the sign bit, is v − 32768.
  return level_bits(image).bitwise_xor_(int16_t(-32768)).narrow(2, 0, 3).permute({2, 0, 1}).unsqueeze(0).contiguous();
}

at::Tensor rgb_tensor(const QImage& image) {
  return (levels(image).narrow(2, 0, 3).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) * float(2.0 / 65535.0) - 1.0f)
      .contiguous();
}

at::Tensor alpha_tensor(const QImage& image) {
  return (levels(image).narrow(2, 3, 1).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 65535.0f).contiguous();
}

at::Tensor mask_tensor(const QImage& grey_in) {
  const QImage grey = grey_in.convertToFormat(QImage::Format_Grayscale8);
  const int64_t h = grey.height(), w = grey.width();
  at::Tensor out = at::empty({1, 1, h, w}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t y = 0; y < h; ++y) {
    const uchar* row = grey.constScanLine(int(y));
    for (int64_t x = 0; x < w; ++x) dst[y * w + x] = row[x] >= 128;
  }
  return out;
}

std::pair<at::Tensor, at::Tensor> hint_tensors(const QImage& layer, const QRect& area_in) {
  const QRect area = area_in & layer.rect();
  at::Tensor colours = at::zeros({1, 3, layer.height(), layer.width()}, at::kByte);
  at::Tensor where = at::zeros({1, 1, layer.height(), layer.width()}, at::kByte);
  if (area.isEmpty()) return {colours, where};
  const QImage part = layer.copy(area).convertToFormat(QImage::Format_RGBA8888);  // un-premultiplied
  at::Tensor rgba = at::empty({area.height(), area.width(), 4}, at::kByte);
  auto* dst = rgba.data_ptr<uint8_t>();
  for (int y = 0; y < part.height(); ++y) std::memcpy(dst + std::size_t(y) * std::size_t(part.width()) * 4, part.constScanLine(y), std::size_t(part.width()) * 4);
  const at::Tensor planes = rgba.permute({2, 0, 1}).unsqueeze(0);
  colours.narrow(2, area.y(), area.height()).narrow(3, area.x(), area.width()).copy_(planes.narrow(1, 0, 3));
  where.narrow(2, area.y(), area.height()).narrow(3, area.x(), area.width()).copy_((planes.narrow(1, 3, 1) >= 128).to(at::kByte));
  return {colours, where};
}

QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha) {
  const at::Tensor a = alpha.defined() ? to_levels(alpha, 0.0, 1.0) : at::full({1, 1, rgb.size(2), rgb.size(3)}, 65535, at::kInt);
  const at::Tensor rgba = at::cat({to_levels(rgb, -1.0, 1.0), a}, 1);
  const at::Tensor packed = rgba.squeeze(0).permute({1, 2, 0}).to(at::kShort).contiguous();
  const int h = int(packed.size(0)), w = int(packed.size(1));
  QImage out(w, h, QImage::Format_RGBA64);
  for (int y = 0; y < h; ++y) std::memcpy(out.scanLine(y), packed[y].data_ptr(), std::size_t(w) * 8);
  return out;
}

QImage rgba8888_image(const at::Tensor& rgb) {
  const at::Tensor levels8 = (to_levels(rgb, -1.0, 1.0).squeeze(0).permute({1, 2, 0}) + 128) / 257;  // rounded to 8 bits
  const at::Tensor rgba = at::cat({levels8, at::full({levels8.size(0), levels8.size(1), 1}, 255, levels8.options())}, 2)
                              .to(at::kByte)
                              .contiguous();
  const int h = int(rgba.size(0)), w = int(rgba.size(1));
  QImage out(w, h, QImage::Format_RGBA8888);
  for (int y = 0; y < h; ++y) std::memcpy(out.scanLine(y), rgba[y].data_ptr(), std::size_t(w) * 4);
  return out;
}

QImage rgba64_like(const at::Tensor& rgb, const QImage& like) {
  const bool same = like.width() == rgb.size(3) && like.height() == rgb.size(2);
  return rgba64_image(rgb, same ? alpha_tensor(like) : at::Tensor());
}

}  // namespace cm::ui
