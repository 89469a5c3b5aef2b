// quality's plots: a scatter chart as plain SVG (no plotting library on the benchmark machines).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cm::bench {

struct PlotPoint {
  std::string label;
  double x, y;
  bool baseline = false;  // drawn as a square, the model's configurations as dots
};

struct Scatter {
  std::string title, x_label, y_label;
  std::vector<PlotPoint> points;  // points with a non-finite coordinate are left out
  std::vector<double> x_marks;    // dashed vertical lines, e.g. 1 for "as sharp as the truth"
  std::string x_mark_label;
};

// Throws std::runtime_error when the file cannot be written.
void write_scatter_svg(const std::filesystem::path& path, const Scatter& plot);

}  // namespace cm::bench
