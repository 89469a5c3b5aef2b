#include "ui/mask_outline.h"

#include <vector>

namespace cm::ui {

QVector<QLineF> mask_outline(const QImage& mask, QRect area) {
  QVector<QLineF> lines;
  area &= mask.rect();
  if (area.isEmpty() || (mask.format() != QImage::Format_Grayscale8 && mask.format() != QImage::Format_Alpha8)) return lines;
  const int x0 = area.left(), w = area.width();
  const auto inside = [&](int y) {  // row y of the area as 0/1, with a pixel of nothing either side
    std::vector<char> row(size_t(w) + 2, 0);
    if (y < area.top() || y > area.bottom()) return row;
    const uchar* p = mask.constScanLine(y) + x0;
    for (int x = 0; x < w; ++x) row[size_t(x) + 1] = p[x] >= 128;
    return row;
  };
  // Vertical edges are gathered row by row: `open[i]` is the row where the edge left of column
  // x0 + i - 1 began, or -1. Horizontal ones lie between rows and are joined along the row.
  std::vector<int> open(size_t(w) + 1, -1);
  std::vector<char> above = inside(area.top() - 1);
  for (int y = area.top(); y <= area.bottom() + 1; ++y) {
    const std::vector<char> here = inside(y);
    int run = -1;
    for (int i = 1; i <= w + 1; ++i) {
      const bool edge = i <= w && above[size_t(i)] != here[size_t(i)];
      if (edge && run < 0) run = i;
      if (!edge && run >= 0) {
        lines.append(QLineF(x0 + run - 1, y, x0 + i - 1, y));
        run = -1;
      }
    }
    for (int i = 0; i <= w; ++i) {
      const bool edge = y <= area.bottom() && here[size_t(i)] != here[size_t(i) + 1];
      int& start = open[size_t(i)];
      if (edge && start < 0) start = y;
      if (!edge && start >= 0) {
        lines.append(QLineF(x0 + i, start, x0 + i, y));
        start = -1;
      }
    }
    above = here;
  }
  return lines;
}

}  // namespace cm::ui
