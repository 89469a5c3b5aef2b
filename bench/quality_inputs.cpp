#include "bench/quality_inputs.h"

#include "core/edit/linear_operator.h"
#include "core/edit/resample.h"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace cm::bench {
namespace {

at::Tensor square_photo(const at::Tensor& rgb8, int size) {
  const int64_t h = rgb8.size(0), w = rgb8.size(1), s = std::min(h, w);
  const at::Tensor crop = rgb8.slice(0, (h - s) / 2, (h - s) / 2 + s).slice(1, (w - s) / 2, (w - s) / 2 + s);
  const at::Tensor x = crop.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
  return edit::resize_image(x, size, size);
}

std::uniform_real_distribution<double> unit(0, 1);

at::Tensor to_mask(const cv::Mat& m) {
  return (at::from_blob(m.data, {1, 1, m.rows, m.cols}, at::kByte) > 127).to(at::kFloat);  // a copy: m dies after
}

// Free-form brush strokes, as a user paints them: a few random walks with thick round brushes.
at::Tensor strokes_mask(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto& u = unit;
  cv::Mat m = cv::Mat::zeros(size, size, CV_8U);
  const int strokes = 2 + int(u(rng) * 3);
  for (int s = 0; s < strokes; ++s) {
    cv::Point p(int(size * (0.2 + 0.6 * u(rng))), int(size * (0.2 + 0.6 * u(rng))));
    const int width = int(size * (0.04 + 0.06 * u(rng)));
    const int vertices = 3 + int(u(rng) * 5);
    double angle = u(rng) * 2 * M_PI;
    for (int v = 0; v < vertices; ++v) {
      angle += (u(rng) - 0.5) * 2.0;
      const double length = size * (0.08 + 0.12 * u(rng));
      cv::Point q(std::clamp(int(p.x + length * std::cos(angle)), 0, size - 1), std::clamp(int(p.y + length * std::sin(angle)), 0, size - 1));
      cv::line(m, p, q, 255, width, cv::LINE_AA);
      p = q;
    }
  }
  return to_mask(m);
}

at::Tensor box_mask(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int side = size / 2;
  std::uniform_int_distribution<int> at_(size / 8, size - side - size / 8);  // inside, with context around it
  at::Tensor m = at::zeros({1, 1, size, size});
  m.narrow(2, at_(rng), side).narrow(3, at_(rng), side).fill_(1);
  return m;
}

// One hand-drawn stroke `thinnest`–`widest` px wide: a walk in 4-px steps whose heading turns
// smoothly, kept off the edges.
at::Tensor brush_mask(int64_t height, int64_t width, std::uint64_t seed, double length, int thinnest, int widest) {
  std::mt19937_64 rng(seed);
  const int brush = thinnest + int(unit(rng) * (widest - thinnest + 1));
  if (!(length > 0)) length = 0.4 * double(std::max(height, width));
  const double margin = brush;
  cv::Point2d p(width * (0.2 + 0.6 * unit(rng)), height * (0.2 + 0.6 * unit(rng)));
  double heading = unit(rng) * 2 * M_PI, turn = 0;
  std::vector<cv::Point> points{p};
  for (double walked = 0; walked < length; walked += 4) {
    turn = 0.9 * turn + 0.1 * (unit(rng) - 0.5) * 0.6;
    heading += turn;
    cv::Point2d q(p.x + 4 * std::cos(heading), p.y + 4 * std::sin(heading));
    if (q.x < margin || q.x > double(width) - margin || q.y < margin || q.y > double(height) - margin) {
      heading += M_PI / 2;  // turn away from the edge
      continue;
    }
    p = q;
    points.push_back(p);
  }
  cv::Mat m = cv::Mat::zeros(int(height), int(width), CV_8U);
  cv::polylines(m, points, false, 255, brush, cv::LINE_AA);
  return to_mask(m);
}

// A cable or wire across the whole photo, drawn into m: edge to opposite edge, a shallow sag and a
// slow wiggle.
void draw_cable(cv::Mat& m, std::mt19937_64& rng, int thickness) {
  const int64_t height = m.rows, width = m.cols;
  const bool across = unit(rng) < 0.7;  // most cables run left to right
  const double along = double(across ? width : height), side = double(across ? height : width);
  const double start = side * (0.2 + 0.6 * unit(rng)), end = side * (0.2 + 0.6 * unit(rng));
  const double sag = side * (0.05 + 0.15 * unit(rng)), wiggle = side * 0.01 * unit(rng), phase = unit(rng) * 2 * M_PI;
  std::vector<cv::Point> points;
  for (double t = 0; t <= 1.0001; t += 4.0 / along) {
    const double c = start + (end - start) * t + sag * 4 * t * (1 - t) + wiggle * std::sin(phase + 12 * t);
    const double a = t * along;
    points.push_back(across ? cv::Point(int(a), int(c)) : cv::Point(int(c), int(a)));
  }
  cv::polylines(m, points, false, 255, thickness, cv::LINE_AA);
}

at::Tensor cable_mask(int64_t height, int64_t width, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int thickness = 6 + int(unit(rng) * 19);
  cv::Mat m = cv::Mat::zeros(int(height), int(width), CV_8U);
  draw_cable(m, rng, thickness);
  return to_mask(m);
}

// Power or telephone lines: 2–3 wires 2–6 px wide across the photo, the thinnest mask people
// paint (a scratch on a scanned print is as thin).
at::Tensor wires_mask(int64_t height, int64_t width, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  cv::Mat m = cv::Mat::zeros(int(height), int(width), CV_8U);
  const int wires = 2 + int(unit(rng) * 2);
  for (int i = 0; i < wires; ++i) draw_cable(m, rng, 2 + int(unit(rng) * 5));
  return to_mask(m);
}

// A star-shaped blob around (cy, cx): its radius wanders around the circle by `wobbles` sines,
// each of an amplitude drawn within ±spread/2, at `corners` points.
std::vector<cv::Point> star_blob(std::mt19937_64& rng, double cy, double cx, double radius, int wobbles, double spread, int corners) {
  std::vector<double> wobble(static_cast<std::size_t>(wobbles));
  for (double& w : wobble) w = (unit(rng) - 0.5) * spread;
  std::vector<cv::Point> points;
  for (int i = 0; i < corners; ++i) {
    const double a = 2 * M_PI * i / corners;
    double r = radius;
    for (std::size_t k = 0; k < wobble.size(); ++k) r += radius * wobble[k] * std::sin(double(k + 2) * a + double(k));
    points.push_back(cv::Point(int(cx + r * std::cos(a)), int(cy + r * std::sin(a))));
  }
  return points;
}

// An object to remove: a star-shaped blob whose radius wanders ±25 % around the circle.
at::Tensor object_mask(int64_t height, int64_t width, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double shorter = double(std::min(height, width)), radius = shorter * (0.08 + 0.07 * unit(rng));
  const double cy = radius * 1.5 + (double(height) - 3 * radius) * unit(rng), cx = radius * 1.5 + (double(width) - 3 * radius) * unit(rng);
  cv::Mat m = cv::Mat::zeros(int(height), int(width), CV_8U);
  cv::fillPoly(m, std::vector<std::vector<cv::Point>>{star_blob(rng, cy, cx, radius, 4, 0.25, 48)}, 255, cv::LINE_AA);
  return to_mask(m);
}

// Spots to heal: 3–6 small blobs 16–64 px across at the photo's own pixels, whatever its size (dust
// on the sensor, a blemish, a bird in the sky, a sign on a wall), each a star-shaped blob as an
// object is, anywhere in the photo.
at::Tensor spots_mask(int64_t height, int64_t width, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  cv::Mat m = cv::Mat::zeros(int(height), int(width), CV_8U);
  const int spots = 3 + int(unit(rng) * 4);
  for (int s = 0; s < spots; ++s) {
    const double radius = 8 + 24 * unit(rng);
    const double cy = radius * 2 + (double(height) - 4 * radius) * unit(rng), cx = radius * 2 + (double(width) - 4 * radius) * unit(rng);
    cv::fillPoly(m, std::vector<std::vector<cv::Point>>{star_blob(rng, cy, cx, radius, 3, 0.3, 32)}, 255, cv::LINE_AA);
  }
  return to_mask(m);
}

}  // namespace

at::Tensor stroke_painting(const at::Tensor& image, int radius) {
  const at::Tensor bytes = ((image[0].permute({1, 2, 0}) + 1) * 127.5).round().clamp(0, 255).to(at::kByte).contiguous();
  const cv::Mat rgb(int(bytes.size(0)), int(bytes.size(1)), CV_8UC3, bytes.data_ptr());
  cv::Mat median;
  cv::medianBlur(rgb, median, 2 * radius + 1);
  const at::Tensor painted = at::from_blob(median.data, {median.rows, median.cols, 3}, at::kByte).to(at::kFloat);
  return painted.permute({2, 0, 1}).unsqueeze(0) / 127.5 - 1;
}

std::optional<Hole> hole_named(const std::string& name) {
  for (Hole h : {Hole::Strokes, Hole::Box, Hole::Brush, Hole::Wide, Hole::Cable, Hole::Object, Hole::Spots, Hole::Wires})
    if (name == name_of(h)) return h;
  return std::nullopt;
}

bool patches_centred_in_mask(Hole hole) { return hole == Hole::Spots; }

const char* name_of(Hole hole) {
  switch (hole) {
    case Hole::Strokes: return "strokes";
    case Hole::Box: return "box";
    case Hole::Brush: return "brush";
    case Hole::Wide: return "wide";
    case Hole::Cable: return "cable";
    case Hole::Object: return "object";
    case Hole::Spots: return "spots";
    case Hole::Wires: return "wires";
  }
  return "?";
}

const char* description_of(Hole hole) {
  switch (hole) {
    case Hole::Strokes: return "free-form brush masks";
    case Hole::Box: return "a square hole of half the photo's side";
    case Hole::Brush: return "one brush stroke 10–40 px wide, 40 % of the side long";
    case Hole::Wide: return "one brush stroke 80–200 px wide, 40 % of the side long";
    case Hole::Cable: return "a cable 6–24 px wide across the whole photo";
    case Hole::Object: return "an object 16–30 % of the side across";
    case Hole::Spots: return "3–6 spots 16–64 px across";
    case Hole::Wires: return "2–3 wires 2–6 px wide across the whole photo";
  }
  return "?";
}

at::Tensor make_mask(int64_t height, int64_t width, std::uint64_t seed, Hole hole, double length) {
  if ((hole == Hole::Strokes || hole == Hole::Box) && height != width)
    throw std::runtime_error(std::string(name_of(hole)) + " masks are drawn on square photos only");
  switch (hole) {
    case Hole::Strokes: return strokes_mask(int(std::min(height, width)), seed);
    case Hole::Box: return box_mask(int(std::min(height, width)), seed);
    case Hole::Brush: return brush_mask(height, width, seed, length, 10, 40);
    case Hole::Wide: return brush_mask(height, width, seed, length, 80, 200);
    case Hole::Cable: return cable_mask(height, width, seed);
    case Hole::Object: return object_mask(height, width, seed);
    case Hole::Spots: return spots_mask(height, width, seed);
    case Hole::Wires: return wires_mask(height, width, seed);
  }
  return {};
}

Photo make_photo(const at::Tensor& rgb8, int size, std::uint64_t mask_seed, Hole hole) {
  Photo p;
  p.truth = square_photo(rgb8, size);
  p.mask = make_mask(size, size, mask_seed, hole);
  p.holed = at::where(p.mask.expand_as(p.truth) > 0, at::zeros_like(p.truth), p.truth);
  p.low = at::avg_pool2d(p.truth, {4, 4});
  p.grey = edit::grey_of(p.truth).contiguous();
  // A median over 1/32 of the side: 24 px on 768-px photos, 6 px on 192-px ones.
  p.painting = at::where(p.mask.expand_as(p.truth) > 0, stroke_painting(p.truth, std::max(1, size / 32)), p.truth);
  return p;
}

void add_hints(Photo& p, int count, std::uint64_t seed) {
  const int64_t size = p.truth.size(2), side = std::max<int64_t>(3, size / 64);
  p.hints = at::zeros_like(p.truth);
  p.hint_mask = at::zeros_like(p.mask);
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int64_t> place(0, size - side);
  for (int i = 0; i < count; ++i) {
    const int64_t y = place(random), x = place(random);
    const at::Tensor dab = p.truth.narrow(2, y, side).narrow(3, x, side);
    p.hints.narrow(2, y, side).narrow(3, x, side).copy_(dab.mean(std::vector<int64_t>{2, 3}, true).expand_as(dab));
    p.hint_mask.narrow(2, y, side).narrow(3, x, side).fill_(1);
  }
}

}  // namespace cm::bench
