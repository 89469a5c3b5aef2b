// The mask's outline over a preview (ui/mask_outline.h): it runs exactly along the edges between
// painted (at least half) and unpainted pixels, closes at the photo's border, and joins a straight
// run of edge into one line.
#include "ui/mask_outline.h"

#include <gtest/gtest.h>

#include <QColor>

#include <cmath>
#include <set>
#include <tuple>

namespace {

using cm::ui::mask_outline;

QImage blank(int w, int h) {
  QImage mask(w, h, QImage::Format_Grayscale8);
  mask.fill(0);
  return mask;
}

// Unit edges as (vertical?, x, y): a vertical one runs from (x, y) to (x, y + 1), a horizontal one
// from (x, y) to (x + 1, y).
using Edge = std::tuple<bool, int, int>;

std::multiset<Edge> unit_edges(const QVector<QLineF>& lines) {
  std::multiset<Edge> edges;
  for (const QLineF& l : lines) {
    const bool vertical = l.x1() == l.x2();
    EXPECT_TRUE(vertical || l.y1() == l.y2()) << "a line not along pixel edges";
    const int a = int(vertical ? std::min(l.y1(), l.y2()) : std::min(l.x1(), l.x2()));
    const int b = int(vertical ? std::max(l.y1(), l.y2()) : std::max(l.x1(), l.x2()));
    for (int t = a; t < b; ++t) edges.insert(vertical ? Edge{true, int(l.x1()), t} : Edge{false, t, int(l.y1())});
  }
  return edges;
}

// Every edge between a pixel at or above 128 and one below it or beyond the image, by brute force.
std::multiset<Edge> boundary(const QImage& mask) {
  const auto in = [&](int x, int y) { return mask.rect().contains(x, y) && mask.constScanLine(y)[x] >= 128; };
  std::multiset<Edge> edges;
  for (int y = -1; y <= mask.height(); ++y)
    for (int x = -1; x <= mask.width(); ++x) {
      if (in(x, y) != in(x + 1, y)) edges.insert(Edge{true, x + 1, y});
      if (in(x, y) != in(x, y + 1)) edges.insert(Edge{false, x, y + 1});
    }
  return edges;
}

TEST(MaskOutline, ARectangleIsFourLinesAroundIt) {
  QImage mask = blank(32, 24);
  for (int y = 3; y < 9; ++y)
    for (int x = 4; x < 14; ++x) mask.scanLine(y)[x] = 255;
  const QVector<QLineF> lines = mask_outline(mask, QRect(0, 0, 32, 24));
  ASSERT_EQ(lines.size(), 4);
  const std::set<std::tuple<double, double, double, double>> got = [&] {
    std::set<std::tuple<double, double, double, double>> s;
    for (const QLineF& l : lines) s.insert({l.x1(), l.y1(), l.x2(), l.y2()});
    return s;
  }();
  const std::set<std::tuple<double, double, double, double>> want{{4, 3, 14, 3}, {4, 9, 14, 9}, {4, 3, 4, 9}, {14, 3, 14, 9}};
  EXPECT_EQ(got, want);
  // A painted layer's coverage (its alpha, as the sketch's strokes are kept) is outlined alike.
  QImage painted(mask.size(), QImage::Format_ARGB32_Premultiplied);
  painted.fill(QColor(200, 30, 30));
  painted.setAlphaChannel(mask);
  EXPECT_EQ(mask_outline(painted.convertToFormat(QImage::Format_Alpha8), mask.rect()), lines);
}

// A soft disc with a hole, a blob cut by the photo's corner and pixels at 127 and 128: the lines
// cover each boundary edge once and nothing else, and join every straight run.
TEST(MaskOutline, FollowsEveryEdgeOfTheHalfPaintedPixelsOnceAndClosesAtTheBorder) {
  QImage mask = blank(40, 30);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      const double r = std::hypot(x - 18.3, y - 14.6);
      int v = r < 9 ? int(255 * std::min(1.0, (9 - r) / 3)) : 0;  // a soft edge: the threshold decides
      if (r < 2.5) v = 0;                                         // a hole in the middle
      if (std::hypot(x - 38, y - 1) < 5) v = 200;                 // cut by the top-right corner
      mask.scanLine(y)[x] = uchar(v);
    }
  mask.scanLine(27)[3] = 127, mask.scanLine(27)[6] = 128;
  const QVector<QLineF> lines = mask_outline(mask, mask.rect());
  EXPECT_EQ(unit_edges(lines), boundary(mask));
  // Joined: no two lines of the same direction meet end to end.
  for (const QLineF& a : lines)
    for (const QLineF& b : lines) {
      const bool same = (a.x1() == a.x2()) == (b.x1() == b.x2());
      EXPECT_FALSE(same && &a != &b && a.p2() == b.p1()) << "two lines meet end to end: one would do";
    }
}

// Only the area asked for is looked at (the mask's ink): paint outside it is not outlined, and what
// the area cuts is closed where it is cut.
TEST(MaskOutline, LooksOnlyWithinTheArea) {
  QImage mask = blank(20, 20);
  for (int y = 2; y < 6; ++y)
    for (int x = 2; x < 18; ++x) mask.scanLine(y)[x] = 255;
  const QVector<QLineF> lines = mask_outline(mask, QRect(0, 0, 10, 20));
  QImage cut = blank(20, 20);
  for (int y = 2; y < 6; ++y)
    for (int x = 2; x < 10; ++x) cut.scanLine(y)[x] = 255;
  EXPECT_EQ(unit_edges(lines), boundary(cut));
  EXPECT_TRUE(mask_outline(mask, QRect()).isEmpty());
  EXPECT_TRUE(mask_outline(blank(20, 20), QRect(0, 0, 20, 20)).isEmpty());
}

}  // namespace
