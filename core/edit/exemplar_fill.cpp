#include "core/edit/exemplar_fill.h"

#include "core/base/cancel.h"
#include "core/base/error.h"

#include "core/edit/estimates.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace cm::edit {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

struct Level {
  at::Tensor image;   // [1,C,H,W]; what hole pixels hold is never read as a source
  at::Tensor hole;    // [1,1,H,W] bool
  at::Tensor layout;  // [1,C,H,W], the colours the hole should take (exemplar_fill's layout), or undefined
};

// Half the size: each 2×2 block's mean over its known pixels; a block is hole when any pixel is,
// so no coarse source patch ever carries what the hole held.
Level coarser(const Level& l) {
  const auto mean = [](const at::Tensor& x) { return at::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, false); };
  const at::Tensor known = (~l.hole).to(at::kFloat);
  const at::Tensor weight = mean(known);
  const at::Tensor image = mean(l.image * known) / weight.clamp_min(1e-12);
  const at::Tensor hole = at::max_pool2d(l.hole.to(at::kFloat), {2, 2}, {2, 2}, {0, 0}, {1, 1}, true) > 0;
  return {image, hole, l.layout.defined() ? mean(l.layout) : at::Tensor()};
}

// One pyramid level's search: the patches that touch the hole (targets, by their centres) and
// their matches among the patches that do not (sources), as flat pixel indices y·W + x.
class Matcher {
 public:
  Matcher(const Level& level, int patch, at::Generator& gen) : gen_(gen), patch_(patch) {
    const int64_t r = patch / 2;
    channels_ = level.image.size(1), height_ = level.image.size(2), width_ = level.image.size(3);
    source_ = level.image[0].permute({1, 2, 0}).reshape({-1, channels_}).contiguous();
    hole_ = level.hole.reshape({-1});
    const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(source_.device());
    const at::Tensor touches = at::max_pool2d(level.hole.to(at::kFloat), {patch, patch}, {1, 1}, {r, r}) > 0;
    at::Tensor inner = at::zeros({height_, width_}, touches.options().dtype(at::kBool));
    if (height_ > 2 * r && width_ > 2 * r) inner.narrow(0, r, height_ - 2 * r).narrow(1, r, width_ - 2 * r).fill_(true);
    valid_ = (inner & ~touches.reshape({height_, width_})).reshape({-1});
    sources_ = valid_.nonzero().reshape({-1});
    targets_ = (inner & touches.reshape({height_, width_})).reshape({-1}).nonzero().reshape({-1});
    ty_ = targets_.div(width_, "floor"), tx_ = targets_.remainder(width_);
    const at::Tensor d = at::arange(-r, r + 1, longs);
    offsets_ = (d.view({-1, 1}) * width_ + d.view({1, -1})).reshape({-1});
    grid_y_ = at::arange(height_, longs).view({-1, 1}).expand({height_, width_}).reshape({-1}).clone();
    grid_x_ = at::arange(width_, longs).view({1, -1}).expand({height_, width_}).reshape({-1}).clone();
  }

  // A patch's colour is also held against the hole's membrane fill there (ExemplarOptions::guide),
  // or against the level's layout where there is one: `weight` times the squared distance of the
  // source patch's mean colour from the guide's mean over the target patch, per pixel of the
  // patch, so the term stays in proportion to the patch distance it is added to. (Means over three
  // patches' width were gentler on clouds but let 32 % of the test's hole go dark: around a thin
  // strip of cloth such a mean is the surroundings'.)
  void set_guide(const Level& level, double weight) {
    guide_weight_ = weight;
    if (weight <= 0) return;
    const int64_t r = patch_ / 2;
    const auto patch_means = [&](const at::Tensor& image) {  // [H·W, C]
      return at::avg_pool2d(image, {patch_, patch_}, {1, 1}, {r, r}, false, false)[0].permute({1, 2, 0}).reshape({-1, channels_});
    };
    source_means_ = patch_means(level.image).contiguous();  // exact where it is read: sources are whole known patches
    const at::Tensor guide = level.layout.defined() ? level.layout : fill_holes(level.image, (~level.hole).to(at::kFloat));
    target_guide_ = patch_means(guide).index_select(0, targets_);
  }

  // Enough sources to copy from: otherwise the caller falls back to a smooth fill.
  bool usable() const { return targets_.numel() > 0 && sources_.numel() >= std::max<int64_t>(16, patch_ * patch_); }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

  // The start: every target at a random source or, from a coarser level, at its coarse match
  // scaled up (a random source where that is no whole patch here). All weigh the same until the
  // first search measures them, so a vote right after this is the plain mean.
  void start(const Matcher* coarse) {
    match_ = random_sources(), distance_ = at::zeros({targets_.numel()}, source_.options());
    if (!coarse) return;
    const at::Tensor cy = ty_.div(2, "floor").clamp_max(coarse->height_ - 1), cx = tx_.div(2, "floor").clamp_max(coarse->width_ - 1);
    const at::Tensor c = cy * coarse->width_ + cx;
    const at::Tensor y = coarse->grid_y_.index_select(0, c) * 2 + ty_.remainder(2), x = coarse->grid_x_.index_select(0, c) * 2 + tx_.remainder(2);
    const at::Tensor inside = (y < height_) & (x < width_);
    const at::Tensor at_ = at::where(inside, y * width_ + x, match_);
    match_ = at::where(inside & valid_.index_select(0, at_), at_, match_);
  }

  // PatchMatch against the current estimate ([H·W, C], channels last). With a confidence
  // ([H·W], in [0, 1]) only the pixels it trusts count, as a weighted mean over the patch.
  void search(const at::Tensor& estimate, int rounds, const at::Tensor& confidence = at::Tensor()) {
    target_patches_ = patches(estimate, targets_);
    if (confidence.defined()) {
      const at::Tensor c = patches(confidence.view({-1, 1}), targets_);  // [N, p², 1]
      patch_weights_ = c / c.sum(1, true).clamp_min(1e-6);
    } else {
      patch_weights_ = at::Tensor();
    }
    distance_ = distances(match_);
    for (int round = 0; round < rounds; ++round) {
      for (int64_t jump : {8, 4, 2, 1}) propagate(jump);
      for (int64_t radius = std::max(height_, width_); radius >= 1; radius /= 2) random_step(radius);
      const at::Tensor s = random_sources();
      try_sources(s.div(width_, "floor"), s.remainder(width_));
    }
  }

  // Voting: every hole pixel becomes the mean of what the overlapping matches put there, each
  // match weighted by exp(−d / 2·median d), so poor matches count for less. With `best`, each
  // pixel instead takes what its best-matching overlapping patch puts there: no averaging, so the
  // texture stays as sharp as the source's (seams are left for the model to harmonize).
  // Matches that trusted none of their pixels (search's confidence) do not vote.
  at::Tensor vote(const at::Tensor& estimate, bool best = false) const {
    const int64_t n = targets_.numel(), p2 = offsets_.numel();
    const at::Tensor trusted = patch_weights_.defined() ? patch_weights_.sum({1, 2}) > 0 : at::ones({n}, distance_.options().dtype(at::kBool));
    if (!trusted.any().item<bool>()) return estimate;
    if (best) {  // per pixel, the covering centre of least distance: a min-pool over a patch of centres
      at::Tensor d = at::full({height_ * width_}, kInfinity, distance_.options());
      d.index_put_({targets_}, at::where(trusted, distance_, at::full({}, kInfinity, distance_.options())));
      const int64_t r = patch_ / 2;
      const auto [negated, centre] = at::max_pool2d_with_indices(-d.view({1, 1, height_, width_}), {patch_, patch_}, {1, 1}, {r, r});
      const at::Tensor c = centre.reshape({-1}), pixel = at::arange(height_ * width_, c.options());
      const at::Tensor covered = negated.reshape({-1}).isfinite() & hole_;
      const at::Tensor from = at::where(covered, grid_y_.index_select(0, c) * width_ + grid_x_.index_select(0, c) + pixel - c, pixel);
      return at::where(covered.view({-1, 1}), source_.index_select(0, from), estimate);
    }
    const at::Tensor scale = distance_.masked_select(trusted).median().clamp_min(1e-6);
    const at::Tensor where = (targets_.view({-1, 1}) + offsets_.view({1, -1})).reshape({-1});
    const at::Tensor values = patches(source_, match_).reshape({n * p2, channels_});
    const at::Tensor w = (at::exp(-distance_ / (2 * scale)) * trusted).repeat_interleave(p2);
    const at::Tensor sum = at::zeros_like(source_).index_add_(0, where, values * w.view({-1, 1}));
    const at::Tensor weight = at::zeros({source_.size(0)}, source_.options()).index_add_(0, where, w);
    return at::where((hole_ & (weight > 0)).view({-1, 1}), sum / weight.clamp_min(1e-12).view({-1, 1}), estimate);
  }

  at::Tensor known_estimate() const { return source_; }
  const at::Tensor& hole() const { return hole_; }

 private:
  // [N, p², C]: the patches centred at `centres` of a channels-last image.
  at::Tensor patches(const at::Tensor& flat, const at::Tensor& centres) const {
    const at::Tensor where = (centres.view({-1, 1}) + offsets_.view({1, -1})).reshape({-1});
    return flat.index_select(0, where).view({centres.numel(), offsets_.numel(), flat.size(1)});
  }
  at::Tensor distances(const at::Tensor& sources) const {
    const at::Tensor d = (patches(source_, sources) - target_patches_).pow(2);
    at::Tensor total = patch_weights_.defined() ? (d * patch_weights_).sum({1, 2}) * double(offsets_.numel()) : d.sum({1, 2});
    if (guide_weight_ > 0)
      total = total + (source_means_.index_select(0, sources) - target_guide_).pow(2).sum(1) * (guide_weight_ * double(offsets_.numel()));
    return total;
  }
  at::Tensor random_sources() const {
    const at::Tensor u = at::rand({targets_.numel()}, gen_).to(source_.device());
    return sources_.index_select(0, (u * double(sources_.numel())).to(at::kLong).clamp_max(sources_.numel() - 1));
  }
  // Keeps each candidate (y, x) that is a valid source and matches its target better.
  void try_sources(const at::Tensor& y, const at::Tensor& x) {
    const at::Tensor inside = (y >= 0) & (y < height_) & (x >= 0) & (x < width_);
    const at::Tensor inside_at = at::where(inside, y * width_ + x, match_);
    const at::Tensor ok = inside & valid_.index_select(0, inside_at);
    const at::Tensor s = at::where(ok, inside_at, match_);  // only whole patches are ever read
    const at::Tensor d = at::where(ok, distances(s), at::full({}, kInfinity, distance_.options()));
    const at::Tensor better = d < distance_;
    match_ = at::where(better, s, match_), distance_ = at::where(better, d, distance_);
    grid_y_.index_put_({targets_}, match_.div(width_, "floor"));
    grid_x_.index_put_({targets_}, match_.remainder(width_));
  }
  // Each target tries its neighbour's offset, `jump` pixels away in the four directions.
  void propagate(int64_t jump) {
    const int64_t steps[4][2] = {{0, 1}, {0, -1}, {1, 0}, {-1, 0}};
    for (const auto& s : steps) {
      const at::Tensor ny = (ty_ + s[0] * jump).clamp(0, height_ - 1), nx = (tx_ + s[1] * jump).clamp(0, width_ - 1);
      const at::Tensor n = ny * width_ + nx;
      try_sources(grid_y_.index_select(0, n) - (ny - ty_), grid_x_.index_select(0, n) - (nx - tx_));
    }
  }
  void random_step(int64_t radius) {
    const at::Tensor u = (at::rand({2, targets_.numel()}, gen_) * 2 - 1).to(source_.device());
    const at::Tensor dy = (u[0] * double(radius)).round().to(at::kLong), dx = (u[1] * double(radius)).round().to(at::kLong);
    try_sources(match_.div(width_, "floor") + dy, match_.remainder(width_) + dx);
  }

  at::Generator& gen_;
  int patch_;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  at::Tensor source_, hole_, valid_, sources_, targets_, ty_, tx_, offsets_, grid_y_, grid_x_;
  at::Tensor match_, distance_, target_patches_, patch_weights_;
  double guide_weight_ = 0;
  at::Tensor source_means_, target_guide_;
};

at::Tensor to_image(const at::Tensor& flat, int64_t channels, int64_t height, int64_t width) {
  return flat.view({height, width, channels}).permute({2, 0, 1}).unsqueeze(0).contiguous();
}

// The coarsest level's start: the hole filled from its edge inwards, one ring of pixels at a
// time, each ring matched on the pixels already known or filled (Criminisi, Pérez & Toyama
// 2004's order, with Wexler's vote). A smooth start would pull every match toward flat patches.
// One PatchMatch round a ring, the matches carrying over from ring to ring: a hole too thin to
// coarsen is peeled at full resolution, where more rounds cost seconds.
at::Tensor onion_peel(Matcher& m, const Level& level) {
  const int64_t height = m.height(), width = m.width();
  at::Tensor filled = ~level.hole.reshape({height, width});
  at::Tensor estimate = at::where(m.hole().view({-1, 1}), at::zeros({}, m.known_estimate().options()), m.known_estimate());
  while (!filled.all().item<bool>()) {
    const at::Tensor grown = at::max_pool2d(filled.to(at::kFloat).view({1, 1, height, width}), {3, 3}, {1, 1}, {1, 1}) > 0;
    const at::Tensor ring = (grown.view({height, width}) & ~filled).reshape({-1});
    if (!ring.any().item<bool>()) break;  // cannot happen while something is filled; a guard
    throw_if_cancelled();  // the fill takes seconds on a CPU: a superseded preview must not wait for it
    m.search(estimate, 1, filled.reshape({-1}).to(at::kFloat));
    estimate = at::where(ring.view({-1, 1}), m.vote(estimate), estimate);
    filled = filled | ring.view({height, width});
  }
  return estimate;
}

}  // namespace

at::Tensor exemplar_fill(const at::Tensor& image_in, const at::Tensor& known_in, const ExemplarOptions& o, const at::Tensor& layout) {
  const at::Tensor image = image_in.to(at::kFloat).contiguous();
  if (layout.defined() && layout.sizes() != image.sizes())
    throw Error(ErrorCode::BadArgument, "the exemplar fill's layout must be the image's size");
  const at::Tensor known = (known_in.to(image.device()) > 0).to(at::kFloat).expand({1, 1, image.size(2), image.size(3)});
  const int64_t channels = image.size(1);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);

  // The pyramid: down while the hole is at least four patches across (two patches deep), the
  // level at least eight patches wide, and the coarser level still has sources.
  std::vector<Level> levels{{image, known <= 0, layout.defined() ? layout.to(image.device(), at::kFloat) : at::Tensor()}};
  std::vector<Matcher> matchers;
  matchers.emplace_back(levels[0], o.patch, gen);
  if (!matchers[0].usable()) return fill_holes(image, known);
  for (;;) {
    const Level& fine = levels.back();
    if (std::min(fine.image.size(2), fine.image.size(3)) < 8 * o.patch) break;
    if (hole_depth((~fine.hole).to(at::kFloat), 2 * o.patch) < 2 * o.patch) break;
    Level next = coarser(fine);
    Matcher m(next, o.patch, gen);
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
    if (coarsest || (layout.defined() && i > 0)) m.set_guide(levels[i], coarsest && layout.defined() ? o.layout_guide : o.guide);
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
  const at::Tensor filled = to_image(estimate, channels, image.size(2), image.size(3));
  return at::where(known.expand_as(image) > 0, image, filled);  // the known pixels exactly
}

int hole_depth(const at::Tensor& known_in, int cap) {
  at::Tensor hole = (known_in > 0).logical_not().to(at::kFloat);
  if (hole.dim() == 2) hole = hole.view({1, 1, hole.size(0), hole.size(1)});
  int depth = 0;
  // Erode one pixel at a time (a 3×3 min); the depth is how many erosions the hole survives.
  while (depth < cap && hole.gt(0).any().item<bool>()) {
    hole = -at::max_pool2d(-hole, {3, 3}, {1, 1}, {1, 1});
    ++depth;
  }
  return depth;
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
  const std::lock_guard<std::mutex> lock(mutex_);
  entries_.push_front({image.clone(), known.clone(), filled, seed});
  while (entries_.size() > capacity_) entries_.pop_back();
  return filled;
}

std::size_t ExemplarCache::hits() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

}  // namespace cm::edit
