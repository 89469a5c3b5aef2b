#include "ui/tensor_image.h"

#include <ATen/ATen.h>

#include <cstring>

namespace cm::ui {
namespace {

// [H, W, 4] uint16 levels of an RGBA64 copy of the image (as int32).
at::Tensor levels(const QImage& any) {
  const QImage image = any.convertToFormat(QImage::Format_RGBA64);
  const int64_t h = image.height(), w = image.width();
  at::Tensor out = at::empty({h, w, 4}, at::kShort);
  for (int64_t y = 0; y < h; ++y) std::memcpy(out[y].data_ptr(), image.constScanLine(int(y)), std::size_t(w) * 8);
  return out.to(at::kInt).bitwise_and(0xFFFF);  // the bits were uint16
}

}  // namespace

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
  at::Tensor out = at::empty({1, 1, h, w}, at::kFloat);
  float* dst = out.data_ptr<float>();
  for (int64_t y = 0; y < h; ++y) {
    const uchar* row = grey.constScanLine(int(y));
    for (int64_t x = 0; x < w; ++x) dst[y * w + x] = row[x] >= 128 ? 1.f : 0.f;
  }
  return out;
}

QImage rgba64_image(const at::Tensor& rgb, const at::Tensor& alpha) {
  const at::Tensor a = alpha.defined() ? alpha.to(at::kFloat).cpu() : at::ones({1, 1, rgb.size(2), rgb.size(3)});
  const at::Tensor rgba = at::cat({(rgb.to(at::kFloat).cpu().clamp(-1, 1) + 1) * 32767.5f, a.clamp(0, 1) * 65535.0f}, 1);
  const at::Tensor packed = rgba.round().to(at::kInt).squeeze(0).permute({1, 2, 0}).to(at::kShort).contiguous();
  const int h = int(packed.size(0)), w = int(packed.size(1));
  QImage out(w, h, QImage::Format_RGBA64);
  for (int y = 0; y < h; ++y) std::memcpy(out.scanLine(y), packed[y].data_ptr(), std::size_t(w) * 8);
  return out;
}

QImage rgba64_like(const at::Tensor& rgb, const QImage& like) {
  const bool same = like.width() == rgb.size(3) && like.height() == rgb.size(2);
  return rgba64_image(rgb, same ? alpha_tensor(like) : at::Tensor());
}

}  // namespace cm::ui
