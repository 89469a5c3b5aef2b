// region_overhead [WIDTH] [HEIGHT] [MODEL_SIZE] [THREADS] — the cost of everything around the
// network when editing a photo: windows, resampling, compositing, chroma carry-up with the guided
// filter, tiling. The model is the analytic Gaussian one (≈ free), so the times are the overhead
// cmedit adds to N network evaluations. Prints the median of 3 runs per edit, in ms.
#include "bench/median_time.h"
#include "core/edit/geodesic_distance.h"
#include "core/edit/region.h"
#include "core/model/gaussian_consistency.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace {

using cm::bench::median_ms;

}  // namespace

int main(int argc, char** argv) {
  using namespace cm;
  const int64_t width = argc > 1 ? std::atoll(argv[1]) : 4000, height = argc > 2 ? std::atoll(argv[2]) : 3000;
  const int size = argc > 3 ? std::atoi(argv[3]) : 256, threads = argc > 4 ? std::atoi(argv[4]) : 2;
  if (width < 16 || height < 16 || size < 16 || threads < 1) {
    std::fprintf(stderr, "usage: region_overhead [WIDTH] [HEIGHT] [MODEL_SIZE] [THREADS]\n");
    return 2;
  }
  at::set_num_threads(threads);
  model::ModelSpec spec;
  spec.image_size = size;
  const model::GaussianConsistency f(0.0, 0.5, spec);
  const at::Tensor photo = at::rand({1, 3, height, width}) * 2 - 1;
  at::Tensor mask = at::zeros({1, 1, height, width});
  mask.narrow(2, height / 3, height / 10).narrow(3, width / 3, width / 8).fill_(1);
  edit::EditSettings one_step;
  const at::Tensor low = photo.narrow(2, 0, height / 4).narrow(3, 0, width / 4).contiguous();

  std::printf("photo %lld×%lld, model %d px, %d threads\n", (long long)width, (long long)height, size, threads);
  std::printf("inpaint (mask %lld×%lld)  %8.1f ms\n", (long long)(width / 8), (long long)(height / 10),
              median_ms([&] { edit::region::inpaint_photo(f, photo, mask, one_step); }));
  // The warm starts (the defaults): the membrane fill, and the exemplar fill that large holes get.
  edit::EditSettings warm = one_step;
  warm.warm_start = true;
  edit::region::RegionOptions smooth, exemplar;
  smooth.fill = edit::region::HoleFill::Smooth;
  exemplar.fill = edit::region::HoleFill::Exemplar;
  std::printf("  from the membrane fill %8.1f ms\n", median_ms([&] { edit::region::inpaint_photo(f, photo, mask, warm, smooth); }));
  std::printf("  from the exemplar fill %8.1f ms\n", median_ms([&] { edit::region::inpaint_photo(f, photo, mask, warm, exemplar); }));
  std::printf("colorize                 %8.1f ms\n", median_ms([&] { edit::region::colorize_photo(f, photo, one_step); }));
  // With a hint: its colour spread on the photo pooled to at most 1024 px, and how far it reaches
  // (estimates.h: spread_hints, the geodesic distance along the luma and its texture).
  const at::Tensor red = at::tensor({0.8f, -0.4f, -0.4f}).view({1, 3, 1, 1}).expand({1, 3, height, width}).contiguous();
  at::Tensor dab = at::zeros({1, 1, height, width});
  dab.narrow(2, height / 2, height / 50 + 1).narrow(3, width / 2, width / 20 + 1).fill_(1);
  std::printf("colorize with a hint     %8.1f ms\n", median_ms([&] { edit::region::colorize_photo(f, photo, one_step, red, dab); }));
  // Of that, the reach alone at the spread's size: the luma and its texture, four passes.
  const int64_t side = 1024, across = std::max<int64_t>(1, side * std::min(width, height) / std::max(width, height));
  const at::Tensor guide = at::rand({1, 2, across, side}) * 0.3;
  at::Tensor seed = at::zeros({1, 1, across, side});
  seed[0][0][across / 2][side / 2] = 1;
  std::printf("  its reach, %lld×%lld     %8.1f ms\n", (long long)side, (long long)across,
              median_ms([&] { edit::geodesic_distance(guide, seed, 0.075, double(side), 0.19, 4); }));
  std::printf("super-resolve ×4 of %lld×%lld %6.1f ms\n", (long long)low.size(3), (long long)low.size(2),
              median_ms([&] { edit::region::super_resolve_photo(f, low, 4, one_step); }));
  return 0;
}
