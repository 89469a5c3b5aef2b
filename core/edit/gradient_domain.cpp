#include "core/edit/gradient_domain.h"

#include "core/edit/mask_windows.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace cm::edit {
namespace {

// Σ_q (x_p − x_q) over the four neighbours, the image's edge repeated (so no term across it).
at::Tensor laplacian(const at::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  const at::Tensor p = at::replication_pad2d(x, {1, 1, 1, 1});
  return 4 * x - p.narrow(2, 0, h).narrow(3, 1, w) - p.narrow(2, 2, h).narrow(3, 1, w) -
         p.narrow(2, 1, h).narrow(3, 0, w) - p.narrow(2, 1, h).narrow(3, 2, w);
}

// The diagonal of that operator: each pixel's neighbours inside the image.
at::Tensor diagonal(int64_t h, int64_t w, const at::TensorOptions& options) {
  const at::Tensor p = at::constant_pad_nd(at::ones({1, 1, h, w}, options), {1, 1, 1, 1}, 0);
  return p.narrow(2, 0, h).narrow(3, 1, w) + p.narrow(2, 2, h).narrow(3, 1, w) + p.narrow(2, 1, h).narrow(3, 0, w) +
         p.narrow(2, 1, h).narrow(3, 2, w);
}

// Damped Jacobi, ω = 4/5: the weight that damps the 5-point Laplacian's high frequencies most, so
// the coarser levels are left only what they can represent.
void relax(at::Tensor& x, const at::Tensor& f, const at::Tensor& free, const at::Tensor& diag, int sweeps) {
  for (int s = 0; s < sweeps; ++s) x = x + 0.8f * (f - laplacian(x)) / diag * free;
}

// One V-cycle for A·x = f from x = 0, A the operator above with x = 0 where `free` is 0.
at::Tensor v_cycle(const at::Tensor& f, const at::Tensor& free) {
  const int64_t h = f.size(2), w = f.size(3);
  const at::Tensor diag = diagonal(h, w, f.options());
  at::Tensor x = at::zeros_like(f);
  relax(x, f, free, diag, 3);
  if (std::min(h, w) >= 4) {
    // Cell-centred: a coarse cell's equation is its four fine cells' summed (the stencil at twice
    // the spacing), and it is free when all of them are (a coarse cell over the edge would pull on
    // pixels that are held).
    const int64_t he = h + h % 2, we = w + w % 2;
    const at::Tensor r = at::constant_pad_nd((f - laplacian(x)) * free, {0, we - w, 0, he - h}, 0);
    const at::Tensor coarse_f = at::avg_pool2d(r, {2, 2}) * 4;
    const at::Tensor coarse_free = -at::max_pool2d(-at::constant_pad_nd(free, {0, we - w, 0, he - h}, 0), {2, 2});
    if (coarse_free.gt(0).any().item<bool>()) {
      const at::Tensor e = at::upsample_bilinear2d(v_cycle(coarse_f, coarse_free), {he, we}, false);
      x = x + e.narrow(2, 0, h).narrow(3, 0, w) * free;
    }
  }
  relax(x, f, free, diag, 3);
  return x;
}

}  // namespace

at::Tensor solve_poisson(const at::Tensor& f_in, const at::Tensor& hole, int cycles) {
  const at::Tensor f = f_in.to(at::kFloat);
  const at::Tensor free = hole.to(f.device(), at::kFloat);
  at::Tensor x = at::zeros_like(f);
  for (int c = 0; c < cycles; ++c) x = x + v_cycle((f - laplacian(x)) * free, free);
  return x;
}

at::Tensor stitch_correction(const at::Tensor& image_in, const at::Tensor& copied_in, const at::Tensor& source,
                             const at::Tensor& hole) {
  const at::Tensor image = image_in.to(at::kFloat), copied = copied_in.to(at::kFloat);
  const int64_t channels = image.size(1), height = image.size(2), width = image.size(3);
  const at::Tensor photo = image[0].reshape({channels, -1});
  const at::Tensor in_hole = hole.to(image.device()).view({1, 1, height, width});
  const at::Tensor known = in_hole.reshape({-1}).logical_not();
  at::Tensor out = at::zeros_like(copied);
  // Solved on the hole's bounding box and a ring of held pixels: outside it the correction is 0,
  // and a whole mask's fill is made on three to four times the box.
  const region::Box box = region::grown(region::bounding_box(in_hole), 1, height, width);
  if (box.empty()) return out;
  const auto crop = [&](const at::Tensor& x) { return x.narrow(-2, box.y0, box.height()).narrow(-1, box.x0, box.width()); };
  const at::Tensor from = crop(source.to(image.device()).view({height, width})), copy = crop(copied[0]);
  at::Tensor f = at::zeros_like(copy).unsqueeze(0);
  bool any_seam = false;
  // Pairs of neighbours p, q = p + (dy, dx), right and down.
  for (const auto [dy, dx] : {std::pair<int64_t, int64_t>{0, 1}, {1, 0}}) {
    const int64_t rows = box.height() - dy, cols = box.width() - dx, step = dy * width + dx;
    if (rows <= 0 || cols <= 0) continue;
    const at::Tensor sp = from.narrow(0, 0, rows).narrow(1, 0, cols), sq = from.narrow(0, dy, rows).narrow(1, dx, cols);
    const at::Tensor both = (sp >= 0) & (sq >= 0);
    // The photo's own difference beside p's source (from it one step on) or beside q's (to it
    // from one step back), where those pixels are in the photo and known: a source lies in a patch
    // outside the hole, but the pixel beside it may be the hole's, and what the hole held is never
    // read. Failing both, the difference on the far side of either source, one pixel away (a
    // source next to the hole's edge, as where a copy continues the edge, has only that).
    // An index where `valid`, pixel 0 elsewhere (gathered, then masked out).
    const auto safe = [](const at::Tensor& index, const at::Tensor& valid) { return at::where(valid, index, at::zeros_like(index)); };
    const auto is_known = [&](const at::Tensor& index, const at::Tensor& valid) {
      return valid & known.index_select(0, safe(index, valid).reshape({-1})).view(index.sizes());
    };
    const auto before_edge = [&](const at::Tensor& s) { return dy ? s.div(width, "floor") < height - 1 : s.remainder(width) < width - 1; };
    const auto after_edge = [&](const at::Tensor& s) { return dy ? s.div(width, "floor") > 0 : s.remainder(width) > 0; };
    const at::Tensor p_on = is_known(sp + step, both & before_edge(sp)), q_back = is_known(sq - step, both & after_edge(sq));
    const at::Tensor p_back = is_known(sp - step, both & after_edge(sp)), q_on = is_known(sq + step, both & before_edge(sq));
    const at::Tensor seam = both & ~(p_on & (sq == sp + step));
    // One side's difference, not the mean of two: where seams are dense (a fine texture copied
    // from many places) a mean of two differences has half their spread, and the texture with it.
    const at::Tensor from_pixel = at::where(p_on, sp, at::where(q_back, sq - step, at::where(p_back, sp - step, sq)));
    const at::Tensor valid = p_on | q_back | p_back | q_on;
    const auto pixels = [&](const at::Tensor& index) {
      return photo.index_select(1, safe(index, valid).reshape({-1})).view({channels, rows, cols});
    };
    const at::Tensor wanted = (pixels(from_pixel + step) - pixels(from_pixel)) * valid;
    const at::Tensor has = copy.narrow(1, dy, rows).narrow(2, dx, cols) - copy.narrow(1, 0, rows).narrow(2, 0, cols);
    // The correction x wants x_q − x_p = wanted − has across a seam: its least-squares equations
    // put that difference on p with one sign and on q with the other.
    const at::Tensor r = (wanted - has) * seam;
    f[0].narrow(1, 0, rows).narrow(2, 0, cols) -= r;
    f[0].narrow(1, dy, rows).narrow(2, dx, cols) += r;
    any_seam = any_seam || seam.any().item<bool>();
  }
  if (!any_seam) return out;
  crop(out).copy_(solve_poisson(f, crop(in_hole)));
  return out;
}

}  // namespace cm::edit
