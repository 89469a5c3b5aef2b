#include "ui/image_rows.h"

#include <algorithm>
#include <cstring>

namespace cm::ui {

QRect differing_rect(const QImage& a, const QImage& b, QRect within) {
  if (a.size() != b.size() || a.format() != b.format()) return a.rect();
  within &= a.rect();
  if (within.isEmpty()) return QRect();
  const int bytes_per_pixel = a.depth() / 8;
  const std::size_t row_bytes = std::size_t(within.width()) * bytes_per_pixel;
  int top = -1, bottom = -1, left = within.right() + 1, right = within.left() - 1;
  for (int y = within.top(); y <= within.bottom(); ++y) {
    const uchar *p = a.constScanLine(y), *q = b.constScanLine(y);
    if (std::memcmp(p + within.left() * bytes_per_pixel, q + within.left() * bytes_per_pixel, row_bytes) == 0) continue;
    if (top < 0) top = y;
    bottom = y;
    int x = within.left();
    while (x < left && std::memcmp(p + x * bytes_per_pixel, q + x * bytes_per_pixel, bytes_per_pixel) == 0) ++x;
    left = std::min(left, x);
    x = within.right();
    while (x > right && std::memcmp(p + x * bytes_per_pixel, q + x * bytes_per_pixel, bytes_per_pixel) == 0) --x;
    right = std::max(right, x);
  }
  return top < 0 ? QRect() : QRect(QPoint(left, top), QPoint(right, bottom));
}

void copy_block(const QImage& source, QPoint from, QImage& target, QRect area) {
  const int bytes_per_pixel = target.depth() / 8;
  for (int y = 0; y < area.height(); ++y)
    std::memcpy(target.scanLine(area.top() + y) + area.left() * bytes_per_pixel,
                source.constScanLine(from.y() + y) + from.x() * bytes_per_pixel, std::size_t(area.width()) * bytes_per_pixel);
}

}  // namespace cm::ui
