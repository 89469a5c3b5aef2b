// Distances between the online and target outputs, one value per image: CM's l2 and l1, iCT's
// pseudo-Huber (docs/MATH.md §6).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace cm::train {

enum class Metric {
  L2,           // mean over pixels of (a − b)²
  L1,           // mean over pixels of |a − b|
  PseudoHuber,  // iCT: sqrt(‖a − b‖² + c²) − c, ‖·‖ over all pixels of the image
};

// "l2", "l1", "pseudo-huber"; parse throws cm::Error(BadArgument) listing the choices.
const char* to_string(Metric m);
Metric parse_metric(const std::string& name);

// iCT's c = 0.00054·√d for images of d = C·H·W values (≈ 0.060 for 64×64×3).
double pseudo_huber_c(int64_t values_per_image);

// [B] distances between a and b ([B, …], same shape). c is used by PseudoHuber only; c = 0
// there gives the plain L2 norm. Computed in float32.
at::Tensor distance(const at::Tensor& a, const at::Tensor& b, Metric metric, double c = 0.0);

}  // namespace cm::train
