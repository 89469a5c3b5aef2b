#include "bench/quality_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace cm::bench {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string number(double v, const char* format = "%.4g") {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// A step of 1, 2 or 5 × 10^k that cuts [lo, hi] into about five parts.
double tick_step(double lo, double hi) {
  const double raw = (hi - lo) / 5, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  // Margins, so no point sits on the frame, and some width when all values agree.
  void pad() {
    const double margin = hi > lo ? 0.08 * (hi - lo) : std::max(0.05 * std::abs(lo), 0.1);
    lo -= margin, hi += margin;
  }
};

}  // namespace

void write_scatter_svg(const std::filesystem::path& path, const Scatter& plot) {
  std::vector<PlotPoint> points;
  for (const PlotPoint& p : plot.points)
    if (std::isfinite(p.x) && std::isfinite(p.y)) points.push_back(p);
  Range rx, ry;
  for (const PlotPoint& p : points) rx.add(p.x), ry.add(p.y);
  for (double m : plot.x_marks) rx.add(m);
  if (!(rx.lo <= rx.hi)) rx = {0, 2};
  if (!(ry.lo <= ry.hi)) ry = {0, 1};
  rx.pad(), ry.pad();

  // Plot area inside a frame with room for the axes' labels on the left and below, and for the
  // points' labels on the right.
  const double width = 900, height = 560, left = 70, right = 220, top = 40, bottom = 60;
  const double pw = width - left - right, ph = height - top - bottom;
  const auto sx = [&](double x) { return left + (x - rx.lo) / (rx.hi - rx.lo) * pw; };
  const auto sy = [&](double y) { return top + (ry.hi - y) / (ry.hi - ry.lo) * ph; };

  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
      << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"24\" font-size=\"15\">" << escape(plot.title) << "</text>\n"
      << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"black\"/>\n";
  // Ticks and light grid lines.
  const double step_x = tick_step(rx.lo, rx.hi), step_y = tick_step(ry.lo, ry.hi);
  for (double t = std::ceil(rx.lo / step_x) * step_x; t <= rx.hi; t += step_x) {
    out << "<line x1=\"" << sx(t) << "\" y1=\"" << top << "\" x2=\"" << sx(t) << "\" y2=\"" << top + ph
        << "\" stroke=\"#e4e4e4\"/>\n<text x=\"" << sx(t) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">"
        << number(std::abs(t) < 1e-9 * step_x ? 0 : t) << "</text>\n";
  }
  for (double t = std::ceil(ry.lo / step_y) * step_y; t <= ry.hi; t += step_y) {
    out << "<line x1=\"" << left << "\" y1=\"" << sy(t) << "\" x2=\"" << left + pw << "\" y2=\"" << sy(t)
        << "\" stroke=\"#e4e4e4\"/>\n<text x=\"" << left - 6 << "\" y=\"" << sy(t) + 4 << "\" text-anchor=\"end\">"
        << number(std::abs(t) < 1e-9 * step_y ? 0 : t) << "</text>\n";
  }
  out << "<text x=\"" << left + pw / 2 << "\" y=\"" << height - 18 << "\" text-anchor=\"middle\">" << escape(plot.x_label)
      << "</text>\n<text transform=\"translate(18 " << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << escape(plot.y_label) << "</text>\n";
  for (double m : plot.x_marks)
    out << "<line x1=\"" << sx(m) << "\" y1=\"" << top << "\" x2=\"" << sx(m) << "\" y2=\"" << top + ph
        << "\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>\n<text x=\"" << sx(m) + 4 << "\" y=\"" << top + 14
        << "\" fill=\"#666\">" << escape(plot.x_mark_label) << "</text>\n";
  for (const PlotPoint& p : points) {
    const double x = sx(p.x), y = sy(p.y);
    if (p.baseline)
      out << "<rect x=\"" << x - 4 << "\" y=\"" << y - 4 << "\" width=\"8\" height=\"8\" fill=\"#d95f02\"/>\n";
    else
      out << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"4\" fill=\"#1b9e77\"/>\n";
    out << "<text x=\"" << x + 7 << "\" y=\"" << y + 4 << "\">" << escape(p.label) << "</text>\n";
  }
  out << "</svg>\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace cm::bench
