#include "core/train/losses.h"

#include "core/base/error.h"

#include <ATen/ATen.h>

#include <cmath>

namespace cm::train {

const char* to_string(Metric m) {
  switch (m) {
    case Metric::L2: return "l2";
    case Metric::L1: return "l1";
    case Metric::PseudoHuber: return "pseudo-huber";
  }
  return "?";
}

Metric parse_metric(const std::string& name) {
  if (name == "l2") return Metric::L2;
  if (name == "l1") return Metric::L1;
  if (name == "pseudo-huber" || name == "huber") return Metric::PseudoHuber;
  throw Error(ErrorCode::BadArgument, "unknown loss metric '" + name + "' (expected l2, l1 or pseudo-huber)");
}

double pseudo_huber_c(int64_t values_per_image) { return 0.00054 * std::sqrt(double(values_per_image)); }

at::Tensor distance(const at::Tensor& a, const at::Tensor& b, Metric metric, double c) {
  if (!a.sizes().equals(b.sizes())) throw Error(ErrorCode::ShapeMismatch, "distance between tensors of different shapes");
  const at::Tensor diff = (a.to(at::kFloat) - b.to(at::kFloat)).flatten(1);
  switch (metric) {
    case Metric::L2: return diff.pow(2).mean(1);
    case Metric::L1: return diff.abs().mean(1);
    case Metric::PseudoHuber: return (diff.pow(2).sum(1) + c * c).sqrt() - c;
  }
  throw Error(ErrorCode::Internal, "unknown metric");
}

}  // namespace cm::train
