#include "core/edit/exemplar_fill.h"

#include "core/base/cancel.h"
#include "core/base/error.h"

#include "core/edit/coherence_transport.h"
#include "core/edit/estimates.h"
#include "core/edit/gradient_domain.h"
#include "core/edit/mask_windows.h"
#include "core/edit/patch_match.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <vector>

namespace cm::edit {
namespace {

using Level = detail::PyramidLevel;
using Matcher = detail::PatchMatcher;

constexpr int64_t kSeamRadius = 4;  // seamless's local means: over 9×9 pixels
constexpr int64_t kEnlargeRows = 256;  // enlarge_fill's band of rows
// enlarge_fill cross-fades the copies of neighbouring small pixels over this many small pixels
// each side (a tent's half-width; 1 would be bilinear), so it reads kEnlargeTaps = 2·kSeamBlend
// small pixels along each axis. On 19 photos of 8–20 MP with an object removed (docs/QUALITY.md,
// "Seams") 1, 1.5 and 2 gave 21.75, 21.78 and 21.80 dB (one copy each: 21.71) and gradient ratios
// of 1.12, 1.05 and 1.01 (1.28); no photo lost PSNR.
constexpr double kSeamBlend = 2;
constexpr int64_t kEnlargeTaps = 4;
// The pyramid stops at the first level where the hole is less than this many patches deep, so
// the coarsest is 1.5 to 3 deep. Its peel lays out the whole hole from the whole known patches
// around it; where the hole is about one patch deep, they are the few patches of a thin band, and
// whatever that band holds most of fills the hole. A sundial removed from a 12 MP photo's grass
// (docs/QUALITY.md, "The coarsest level") came back as the dark treeline above it from a level
// where it was 1.1 patches deep (1.3 such patches a target); from the level above, 2.3 deep (2.2
// a target), as grass and snow. Under a layout the painting lays the hole out, and two patches
// deep kept more of the photo's texture in sketched objects (SWD 56.7 against 69.4).
constexpr int kCoarsestDepth = 3, kCoarsestDepthUnderLayout = 2;

// Half the size: each 2×2 block's mean over its known pixels; a block is hole when any pixel is,
// so no coarse source patch ever carries what the hole held.
Level coarser(const Level& l) {
  const auto mean = [](const at::Tensor& x) { return at::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, false); };
  const at::Tensor known = (~l.hole).to(at::kFloat);
  const at::Tensor weight = mean(known);
  const at::Tensor image = mean(l.image * known) / weight.clamp_min(1e-12);
  const at::Tensor hole = at::max_pool2d(l.hole.to(at::kFloat), {2, 2}, {2, 2}, {0, 0}, {1, 1}, true) > 0;
  return {image, hole, l.layout.defined() ? mean(l.layout) : at::Tensor(), l.colours};
}

// What a level is matched on: its colours and, as a texture feature, `weight` times the spread
// (standard deviation) of the photo's luminance over each pixel's 3×3 neighbourhood at this
// level, its footprint on the photo included: the texture that averaging down to this level hid,
// and what the level still shows. The level's last channel carries the mean squared luminance
// for it (L² on the photo; coarser averages it as it averages the colours).
// By colour alone a flat patch matches a texture better than the texture itself does (two
// textures out of step differ twice as much as either differs from its flat mean), and at a
// coarse level, where the texture has averaged away, grass and a dark sky of its mean colour look
// the same. Texture features in the patch distance (Newson, Almansa, Gousseau & Pérez 2017,
// "Non-local patch-based image inpainting", IPOL) keep them apart; theirs are mean gradients,
// which a grass of large light and dark tufts hardly has (0.046 against a treeline's 0.010 on
// pool photo 00005), while its spread is high (0.27 against 0.07). Without the 3×3 neighbourhood
// (the footprint alone) the photo's own pixels had no feature, and its finest level went back
// to flat patches.
Level for_matching(const Level& l, double weight) {
  const int64_t c = l.colours;
  const at::Tensor known = (~l.hole).to(at::kFloat);
  const auto near = [&](const at::Tensor& x) {  // the mean over the 3×3 known pixels around
    const auto box = [](const at::Tensor& y) { return at::avg_pool2d(y, {3, 3}, {1, 1}, {1, 1}, false, true); };
    return box(x * known) / box(known).clamp_min(1e-6);
  };
  const at::Tensor luminance = near(l.image.narrow(1, 0, c).mean(1, true));
  const at::Tensor spread = (near(l.image.narrow(1, c, 1)) - luminance.pow(2)).clamp_min(0).sqrt();
  return {at::cat({l.image.narrow(1, 0, c), spread * weight}, 1).contiguous(), l.hole, l.layout, c};
}

// Sets what each source patch is held to at this level (PatchMatcher::set_guide): under a layout,
// its mean colour against the painting's (`weight`); else its mean colour and texture feature
// against the hole's fill of both from its edge, which carries the edge's colour and texture in
// (ExemplarOptions::guide, texture_guide): along the edge's isophotes (coherence_transport.h), or
// as a membrane (ExemplarOptions::transport_guide).
void guide(Matcher& m, const Level& level, const ExemplarOptions& o, double weight) {
  if (level.layout.defined()) return m.set_guide(level.image.narrow(1, 0, level.colours), level.layout, weight);
  const at::Tensor guided = for_matching(level, o.texture_weight * o.texture_guide).image;
  const at::Tensor known = (~level.hole).to(at::kFloat);
  if (o.transport_guide) return m.set_guide(guided, coherence_transport(guided, known).to(guided.device()), weight);
  m.set_guide(guided, fill_holes(guided, known), weight);
}

at::Tensor to_image(const at::Tensor& flat, int64_t channels, int64_t height, int64_t width) {
  return flat.view({height, width, channels}).permute({2, 0, 1}).unsqueeze(0).contiguous();
}

// The coarsest level's start: the hole filled from its edge inwards, one ring of pixels at a
// time, each ring matched on the pixels already known or filled (Criminisi, Pérez & Toyama
// 2004's order, with Wexler's vote). A smooth start would pull every match toward flat patches.
// One PatchMatch round a ring, the matches carrying over from ring to ring: a hole too thin to
// coarsen is peeled at full resolution, where more rounds cost seconds. Each ring searches only
// the targets centred on it or behind it whose patches reach into it, and only they vote there:
// the patches on the fill's front, Criminisi's order, at least half known or filled. Searching
// again every target that a ring before had reached made two long strokes' peels 15.0 s instead
// of 3.6; the patches centred ahead of the front as well, 5.2 s, and objects' texture distance 4 %
// further from the photo's (docs/QUALITY.md, "The onion peel searches only its ring"). The
// search-and-vote rounds after the peel refine them all.
at::Tensor onion_peel(Matcher& m, const Level& level) {
  const int64_t height = m.height(), width = m.width(), p = m.patch(), r = p / 2;
  // Ring k is what the k-th 3×3 dilation of the known pixels reaches: the hole pixels k from
  // them in Chebyshev distance, worked out once rather than a dilation of the level a ring.
  const at::Tensor ring_of = region::hole_depths(level.hole, {0, 0, height, width}, int(height + width), /*outside_is_hole=*/true)
                                 .to(m.known_estimate().device(), at::kFloat).view({1, 1, height, width});
  // The farthest ring under the patch centred at each pixel: the patch reaches every ring from its
  // centre's to that one (neighbours' rings differ by at most one).
  const at::Tensor farthest = at::max_pool2d(at::max_pool2d(ring_of, {1, p}, {1, 1}, {0, r}), {p, 1}, {1, 1}, {r, 0}).reshape({-1});
  const at::Tensor rings = ring_of.reshape({-1});
  const int deepest = rings.max().item<int>();
  at::Tensor estimate = at::where(m.hole().view({-1, 1}), at::zeros({}, m.known_estimate().options()), m.known_estimate());
  for (int k = 1; k <= deepest; ++k) {
    throw_if_cancelled();  // the fill takes seconds on a CPU: a superseded preview must not wait for it
    m.search(estimate, 1, (rings < k).to(at::kFloat), (rings <= k) & (farthest >= k));
    estimate = m.vote(estimate, false, rings == k);
  }
  return estimate;
}

// The copy's colour made to agree with the photo's where they meet: along the hole's edge, the
// difference between the photo's local mean (over its known pixels) and the copy's (over the
// hole's), spread into the hole as a membrane and added (seamless cloning's correction, Pérez,
// Gangnet & Blake 2003, "Poisson Image Editing", with local means on both sides so that only the
// colour is carried in, not the photo's texture at the edge). The copy's own texture stays.
at::Tensor seamless(const at::Tensor& image, const at::Tensor& filled, const at::Tensor& known) {
  // On the hole's bounding box grown by the means' reach: the membrane inside the hole depends only
  // on its edge, and a long stroke's box is a fraction of its fill's context.
  const int64_t r = kSeamRadius, height = image.size(2), width = image.size(3);
  const region::Box hole_box = region::bounding_box(known <= 0);
  if (hole_box.empty()) return filled;
  const int64_t y0 = std::max<int64_t>(0, hole_box.y0 - r - 1), y1 = std::min(height, hole_box.y1 + r + 1);
  const int64_t x0 = std::max<int64_t>(0, hole_box.x0 - r - 1), x1 = std::min(width, hole_box.x1 + r + 1);
  const auto crop = [&](const at::Tensor& x) { return x.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0); };
  const at::Tensor photo = crop(image), copy = crop(filled), k = crop(known), hole = 1 - k;

  const auto box = [&](const at::Tensor& x) { return at::avg_pool2d(x, {2 * r + 1, 2 * r + 1}, {1, 1}, {r, r}, false, true); };
  const at::Tensor photo_mean = box(photo * k) / box(k).clamp_min(1e-6);
  const at::Tensor copy_mean = box(copy * hole) / box(hole).clamp_min(1e-6);
  const at::Tensor edge = k * at::max_pool2d(hole, {3, 3}, {1, 1}, {1, 1});  // known pixels beside the hole
  if (!edge.any().item<bool>()) return filled;
  // Within the photo's own range per channel, as the copy was: the shift must not push a bright
  // copy past the brightest pixel the photo has.
  const at::Tensor is_known = known.expand_as(image) > 0;
  const at::Tensor low = at::where(is_known, image, at::full({}, 2.0f, image.options())).amin({2, 3}, true);
  const at::Tensor high = at::where(is_known, image, at::full({}, -2.0f, image.options())).amax({2, 3}, true);
  at::Tensor out = filled.clone();
  crop(out).copy_(at::clamp(copy + fill_holes((photo_mean - copy_mean) * edge, edge) * hole, low, high));
  return out;
}

}  // namespace

ExemplarCopy exemplar_copy(const at::Tensor& image_in, const at::Tensor& known_in, const ExemplarOptions& o, const at::Tensor& layout) {
  const at::Tensor image = image_in.to(at::kFloat).contiguous();
  if (layout.defined() && layout.sizes() != image.sizes())
    throw Error(ErrorCode::BadArgument, "the exemplar fill's layout must be the image's size");
  const at::Tensor known = (known_in.to(image.device()) > 0).to(at::kFloat).expand({1, 1, image.size(2), image.size(3)});
  const int64_t channels = image.size(1);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);

  // The pyramid's images carry the mean squared luminance after their colours (for_matching).
  const at::Tensor augmented = at::cat({image, image.mean(1, true).pow(2)}, 1).contiguous();
  std::vector<Level> levels{{augmented, known <= 0, layout.defined() ? layout.to(image.device(), at::kFloat) : at::Tensor(), channels}};
  std::vector<Matcher> matchers;
  matchers.emplace_back(for_matching(levels[0], o.texture_weight), o.patch, gen, !o.tensor_ops);
  if (!matchers[0].usable()) {
    const at::Tensor smooth = fill_holes(image, known);
    return {smooth, smooth, at::full({image.size(2) * image.size(3)}, -1, at::TensorOptions().dtype(at::kLong).device(image.device()))};
  }
  // The pyramid: down while the hole is at least kCoarsestDepth patches deep (under a layout,
  // kCoarsestDepthUnderLayout), the level at least eight patches wide, and the coarser level still
  // has sources.
  for (;;) {
    const Level& fine = levels.back();
    if (std::min(fine.image.size(2), fine.image.size(3)) < 8 * o.patch) break;
    const int deep = (layout.defined() ? kCoarsestDepthUnderLayout : kCoarsestDepth) * o.patch;
    if (hole_depth((~fine.hole).to(at::kFloat), deep) < deep) break;
    Level next = coarser(fine);
    Matcher m(for_matching(next, o.texture_weight), o.patch, gen, !o.tensor_ops);
    if (!m.usable()) break;
    levels.push_back(std::move(next));
    matchers.push_back(std::move(m));
  }

  // Coarsest: peeled from the hole's edge; every finer level: from the coarser matches, voted.
  at::Tensor estimate;
  for (std::size_t i = levels.size(); i-- > 0;) {
    Matcher& m = matchers[i];
    m.start(i + 1 < levels.size() ? &matchers[i + 1] : nullptr);
    // A layout guides every level but the finest, where a patch's mean is its texture: held to a
    // painting's flat colour there, a strawberry's seeds were left out (docs/QUALITY.md, "Sketch").
    // The coarsest level's peel from the hole's edge holds it harder (layout_guide).
    const bool coarsest = i + 1 == levels.size();
    if (coarsest || (layout.defined() && i > 0)) guide(m, levels[i], o, coarsest && layout.defined() ? o.layout_guide : o.guide);
    if (coarsest) {
      estimate = onion_peel(m, levels[i]);
    } else {  // the coarse matches voted with this level's own pixels: its detail, not a blur of the coarser estimate
      estimate = m.vote(m.known_estimate());
    }
    const int rounds = i == 0 ? std::max(1, o.em_iterations - 1) : o.em_iterations;
    for (int round = 0; round < rounds; ++round) {
      throw_if_cancelled();
      m.search(estimate, i == 0 ? o.finest_search_iterations : o.search_iterations);
      estimate = m.vote(estimate, o.sharp && i == 0 && round + 1 == rounds);
    }
  }
  const at::Tensor is_known = known.expand_as(image) > 0;
  const at::Tensor copied = at::where(is_known, image, to_image(estimate, augmented.size(1), image.size(2), image.size(3)).narrow(1, 0, channels));
  const at::Tensor source = matchers[0].copied_from();
  // Neither under a layout: a painted stroke's colour is the painting's, not its surroundings',
  // and a step between two pieces of its copy may be one the painting has.
  if (layout.defined()) return {copied, copied, source};
  const at::Tensor stitched = o.stitch ? copied + stitch_correction(image, copied, source, known <= 0) : copied;
  const at::Tensor filled = o.seamless ? seamless(image, stitched, known) : stitched.clamp(-1, 1);
  return {at::where(is_known, image, filled), copied, source};
}

at::Tensor exemplar_fill(const at::Tensor& image, const at::Tensor& known, const ExemplarOptions& o, const at::Tensor& layout) {
  return exemplar_copy(image, known, o, layout).filled;
}

at::Tensor enlarge_fill(const at::Tensor& image_in, const at::Tensor& known_in, const ExemplarCopy& small) {
  const at::Tensor image = image_in.to(at::kFloat).contiguous();
  const int64_t channels = image.size(1), height = image.size(2), width = image.size(3);
  const int64_t h = small.filled.size(2), w = small.filled.size(3);
  const at::Tensor hole = (known_in.to(image.device()) <= 0).reshape({height, width});
  // Over the hole's bounding box only: a whole mask's context can be most of a 50 MP photo.
  const region::Box hole_box = region::bounding_box(hole);
  if (hole_box.empty()) return image.clone();
  const int64_t y0 = hole_box.y0, y1 = hole_box.y1, x0 = hole_box.x0, x1 = hole_box.x1;
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(image.device());
  const at::Tensor x = at::arange(x0, x1, longs);
  const at::Tensor cx = ((x.to(at::kDouble) + 0.5) * (double(w) / double(width))).floor().to(at::kLong).clamp(0, w - 1);
  const at::Tensor small_source = small.source.to(image.device()).view({h, w});
  const at::Tensor small_filled = small.filled.to(image.device());
  const at::Tensor correction = (small_filled - small.copied.to(image.device()))[0].reshape({channels, -1});
  const at::Tensor known_flat = hole.logical_not().reshape({-1});
  const auto scaled = [](const at::Tensor& d, double by) { return (d.to(at::kFloat) * float(by)).round().to(at::kLong); };
  at::Tensor out = image.clone();
  // Where each full-size pixel lies among the small pixels' centres, and the tent weights of the
  // kEnlargeTaps small pixels around it along one axis (0 beyond the small image).
  const auto taps = [](const at::Tensor& full, int64_t full_size, int64_t small_size) {
    const at::Tensor at_small = (full.to(at::kDouble) + 0.5) * (double(small_size) / double(full_size)) - 0.5;
    const at::Tensor first = at_small.floor().to(at::kLong) - (kEnlargeTaps / 2 - 1);
    std::vector<std::pair<at::Tensor, at::Tensor>> per_tap;  // (small index, weight)
    for (int64_t k = 0; k < kEnlargeTaps; ++k) {
      const at::Tensor index = first + k;
      const at::Tensor weight = (1 - (index.to(at::kDouble) - at_small).abs() / kSeamBlend).clamp_min(0) *
                                ((index >= 0) & (index < small_size)).to(at::kDouble);
      per_tap.emplace_back(index.clamp(0, small_size - 1), weight.to(at::kFloat));
    }
    return per_tap;
  };
  const auto column_taps = taps(x, width, w);
  // A band of rows at a time: a 6 MP object's temporaries are about 90 bytes a pixel a tap.
  for (int64_t r0 = y0; r0 < y1; r0 += kEnlargeRows) {
    const int64_t r1 = std::min(y1, r0 + kEnlargeRows), rows_here = r1 - r0, columns = x1 - x0;
    const at::Tensor y = at::arange(r0, r1, longs);
    const auto band = [&](const at::Tensor& flat) { return flat.view({1, channels, rows_here, columns}); };
    // Each pixel copied from as far away as the small pixels around it were, scaled: the pixels
    // of small pixels copied from one place stay together, and where neighbours were copied from
    // different places the copies are cross-faded over kSeamBlend small pixels (tent weights)
    // instead of meeting in a step, in blocks of the small pixels' size.
    at::Tensor sum = at::zeros({1, channels, rows_here, columns}, image.options());
    at::Tensor weights = at::zeros({1, 1, rows_here, columns}, image.options());
    at::Tensor correction_sum = at::zeros({1, channels, rows_here, columns}, image.options());
    for (const auto& [ty, wy] : taps(y, height, h))
      for (const auto& [tx, wx] : column_taps) {
        const at::Tensor weight = wy.view({-1, 1}) * wx.view({1, -1});
        const at::Tensor source = small_source.index_select(0, ty).index_select(1, tx);
        const at::Tensor from_y = y.view({-1, 1}) + scaled(source.div(w, "floor") - ty.view({-1, 1}), double(height) / double(h));
        const at::Tensor from_x = x.view({1, -1}) + scaled(source.remainder(w) - tx.view({1, -1}), double(width) / double(w));
        const at::Tensor inside = (weight > 0) & (source >= 0) & (from_y >= 0) & (from_y < height) & (from_x >= 0) & (from_x < width);
        const at::Tensor from = at::where(inside, from_y * width + from_x, at::zeros({}, longs)).reshape({-1});
        const at::Tensor copies = (inside & known_flat.index_select(0, from).view(inside.sizes())).view({1, 1, rows_here, columns});
        const at::Tensor w_here = weight.view({1, 1, rows_here, columns}) * copies.to(at::kFloat);
        sum += w_here * band(image.view({channels, -1}).index_select(1, from));
        correction_sum += w_here * band(correction.index_select(1, (ty.view({-1, 1}) * w + tx.view({1, -1})).reshape({-1})));
        weights += w_here;
      }
    // Where no copy lands, the small pixel under the centre itself. The small fill's correction
    // (its seams stitched, its colour made seamless) is cross-faded with the same weights as the
    // copies it corrects: it steps where they do, at the seams between pieces, and enlarged
    // bilinearly its step would not fall where theirs does. On 19 photos of 8–20 MP with an
    // object removed (docs/QUALITY.md, "Stitched"; the stitch without its far-side fallback),
    // bilinear gave 22.29 dB and an SWD of 107.0, the copies' weights 22.32 dB and 104.8.
    const at::Tensor cy = ((y.to(at::kDouble) + 0.5) * (double(h) / double(height))).floor().to(at::kLong).clamp(0, h - 1);
    const at::Tensor nearest = band(small_filled[0].reshape({channels, -1}).index_select(1, (cy.view({-1, 1}) * w + cx.view({1, -1})).reshape({-1})));
    const at::Tensor filled = at::where(weights > 0, ((sum + correction_sum) / weights.clamp_min(1e-12)).clamp(-1, 1), nearest);
    at::Tensor in_band = out.narrow(2, r0, rows_here).narrow(3, x0, columns);
    in_band.copy_(at::where(hole.narrow(0, r0, rows_here).narrow(1, x0, columns).view({1, 1, rows_here, columns}), filled, in_band));
  }
  return out;
}

int hole_depth(const at::Tensor& known, int cap) {
  // The chamfer distance on the host, a tile of the hole's box at a time: eroding the hole one
  // pixel at a time (a 3×3 min over the whole image per pixel of depth) took 0.7 s of a wide
  // sketch stroke's 10 s on a 12 MP photo (docs/BENCHMARKS.md, "A wide stroke's patch search").
  return region::max_hole_depth(known <= 0, cap, /*outside_is_hole=*/true);
}

at::Tensor ExemplarCache::get_or_fill(const at::Tensor& image, const at::Tensor& known, std::uint64_t seed,
                                      const std::function<at::Tensor()>& fill) {
  const auto same = [&](const Entry& e) {
    return e.seed == seed && e.image.sizes() == image.sizes() && e.known.sizes() == known.sizes() &&
           e.image.device() == image.device() && at::equal(e.known, known) && at::equal(e.image, image);
  };
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (same(*it)) {
        entries_.splice(entries_.begin(), entries_, it);
        ++hits_;
        return entries_.front().filled;
      }
  }
  const at::Tensor filled = fill();  // outside the lock: seconds, and another job may want a hit meanwhile
  const std::size_t bytes = image.nbytes() + known.nbytes() + filled.nbytes();
  const std::lock_guard<std::mutex> lock(mutex_);
  ++fills_;
  if (bytes > max_bytes_) return filled;  // it would push out everything else, and itself
  entries_.push_front({image.clone(), known.clone(), filled, seed, bytes});
  bytes_ += bytes;
  while (entries_.size() > capacity_ || bytes_ > max_bytes_) {
    bytes_ -= entries_.back().bytes;
    entries_.pop_back();
  }
  return filled;
}

std::size_t ExemplarCache::bytes() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

std::size_t ExemplarCache::hits() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

std::size_t ExemplarCache::fills() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return fills_;
}

}  // namespace cm::edit
