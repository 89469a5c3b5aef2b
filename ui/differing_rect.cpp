#include "ui/differing_rect.h"

#include <algorithm>
#include <cstring>

namespace cm::ui {

QRect differing_rect(const QImage& a, const QImage& b) {
  if (a.size() != b.size() || a.format() != b.format()) return a.rect();
  const int bytes_per_pixel = a.depth() / 8;
  const std::size_t row_bytes = std::size_t(a.width()) * bytes_per_pixel;
  int top = -1, bottom = -1, left = a.width(), right = -1;
  for (int y = 0; y < a.height(); ++y) {
    const uchar *p = a.constScanLine(y), *q = b.constScanLine(y);
    if (std::memcmp(p, q, row_bytes) == 0) continue;
    if (top < 0) top = y;
    bottom = y;
    int x = 0;
    while (x < left && std::memcmp(p + x * bytes_per_pixel, q + x * bytes_per_pixel, bytes_per_pixel) == 0) ++x;
    left = std::min(left, x);
    x = a.width() - 1;
    while (x > right && std::memcmp(p + x * bytes_per_pixel, q + x * bytes_per_pixel, bytes_per_pixel) == 0) --x;
    right = std::max(right, x);
  }
  return top < 0 ? QRect() : QRect(QPoint(left, top), QPoint(right, bottom));
}

}  // namespace cm::ui
