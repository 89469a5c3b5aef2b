#include "core/edit/patch_match.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace cm::edit::detail {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();
constexpr int64_t kGrain = 512;       // targets or pixels per task of the fused loops
constexpr int64_t kMaxChannels = 8;   // the fused vote's per-pixel sums
constexpr int64_t kLanes = 4;         // the fused distance's running sums (distance)

}  // namespace

PatchMatcher::PatchMatcher(const PyramidLevel& level, int patch, at::Generator& gen, bool fused) : gen_(gen), patch_(patch) {
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
  fused_ = fused && source_.is_cpu();
  valid_ = valid_.contiguous(), targets_ = targets_.contiguous(), hole_ = hole_.contiguous();
  point_fused();
}

// Means over one patch: means over three patches' width were gentler on clouds but let 32 % of
// the test's hole go dark; around a thin strip of cloth such a mean is the surroundings'.
void PatchMatcher::set_guide(const at::Tensor& guided, const at::Tensor& guide, double weight) {
  guide_weight_ = weight;
  if (weight <= 0) return;
  guided_ = guided.size(1);
  const int64_t r = patch_ / 2;
  const auto patch_means = [&](const at::Tensor& image) {  // [H·W, G]
    return at::avg_pool2d(image, {patch_, patch_}, {1, 1}, {r, r}, false, false)[0].permute({1, 2, 0}).reshape({-1, guided_});
  };
  source_means_ = patch_means(guided).contiguous();  // exact where it is read: sources are whole known patches
  target_guide_ = patch_means(guide).index_select(0, targets_).contiguous();
  point_fused();
}

bool PatchMatcher::usable() const { return targets_.numel() > 0 && sources_.numel() >= std::max<int64_t>(16, patch_ * patch_); }

void PatchMatcher::start(const PatchMatcher* coarse) {
  active_ = at::Tensor(), searched_ = at::Tensor(), patch_weights_ = at::Tensor(), searched_since_start_ = false;
  match_ = random_sources(), distance_ = at::zeros({targets_.numel()}, source_.options());
  if (coarse) {
    const at::Tensor cy = ty_.div(2, "floor").clamp_max(coarse->height_ - 1), cx = tx_.div(2, "floor").clamp_max(coarse->width_ - 1);
    const at::Tensor c = cy * coarse->width_ + cx;
    const at::Tensor y = coarse->grid_y_.index_select(0, c) * 2 + ty_.remainder(2), x = coarse->grid_x_.index_select(0, c) * 2 + tx_.remainder(2);
    const at::Tensor inside = (y < height_) & (x < width_);
    const at::Tensor at_ = at::where(inside, y * width_ + x, match_);
    match_ = at::where(inside & valid_.index_select(0, at_), at_, match_);
  }
  // The grid holds every target's match from the start: propagation reads a neighbour's there,
  // and a target that a search leaves out (an onion peel's) never writes it.
  grid_y_.index_put_({targets_}, match_.div(width_, "floor"));
  grid_x_.index_put_({targets_}, match_.remainder(width_));
}

void PatchMatcher::search(const at::Tensor& estimate, int rounds, const at::Tensor& confidence, const at::Tensor& near) {
  TORCH_CHECK(!near.defined() || confidence.defined(), "PatchMatcher::search: `near` needs a confidence");
  const int64_t n = targets_.numel();
  active_ = near.defined() ? near.reshape({-1}).index_select(0, targets_).nonzero().reshape({-1}) : at::Tensor();
  const at::Tensor centres = of_searched(targets_);
  // The searched targets' rows are measured again; the others keep theirs from their last search,
  // `before` where that left none (a search without a confidence, or none since start).
  const auto renew = [&](at::Tensor& all, const at::Tensor& fresh, double before) {
    if (!active_.defined()) return void(all = fresh);
    std::vector<int64_t> shape = fresh.sizes().vec();
    shape[0] = n;
    if (!all.defined() || all.sizes() != at::IntArrayRef(shape)) all = at::full(shape, before, fresh.options());
    all.index_copy_(0, active_, fresh);
  };
  renew(target_patches_, patches(estimate, centres), 0);
  if (confidence.defined()) {
    const at::Tensor c = patches(confidence.view({-1, 1}), centres);  // [centres, p², 1]
    // A search without a confidence trusted every pixel alike; before any search, none is trusted.
    renew(patch_weights_, c / c.sum(1, true).clamp_min(1e-6), searched_since_start_ ? 1.0 / double(offsets_.numel()) : 0.0);
    // A target that trusts none of its pixels (deep in an onion peel's unfilled part) neither
    // votes nor learns anything from a search but the guide's term: it keeps its match until a
    // ring reaches it. Searching it too made a thin stroke's peel, one search a ring, search the
    // whole hole each time.
    const at::Tensor trusts = c.sum({1, 2}) > 0;
    active_ = active_.defined() ? active_.masked_select(trusts) : trusts.nonzero().reshape({-1});
    searched_ = at::zeros({n}, trusts.options()).index_fill_(0, active_, true);
  } else {
    patch_weights_ = at::Tensor(), searched_ = at::Tensor();
  }
  point_fused();
  measure();
  for (int round = 0; round < rounds; ++round) {
    for (int64_t jump : {8, 4, 2, 1}) propagate(jump);
    for (int64_t radius = std::max(height_, width_); radius >= 1; radius /= 2) random_step(radius);
    const at::Tensor s = random_sources();
    try_sources(s.div(width_, "floor"), s.remainder(width_));
  }
  searched_since_start_ = true;
}

at::Tensor PatchMatcher::vote(const at::Tensor& estimate, bool best, const at::Tensor& only) const {
  const int64_t n = targets_.numel(), p2 = offsets_.numel();
  const at::Tensor trusted = trusted_targets();
  if (!trusted.any().item<bool>()) return estimate;
  const at::Tensor changed = only.defined() ? hole_ & only.reshape({-1}) : hole_;
  if (best) {
    const at::Tensor from = copied_from(trusted), covered = (from >= 0) & changed;
    return at::where(covered.view({-1, 1}), source_.index_select(0, from.clamp_min(0)), estimate);
  }
  const at::Tensor scale = distance_.masked_select(trusted).median().clamp_min(1e-6);
  const at::Tensor match_weight = at::exp(-distance_ / (2 * scale)) * trusted;  // [N]
  if (fused_ && channels_ <= kMaxChannels) return vote_fused(match_weight.contiguous(), estimate, changed.contiguous());
  const at::Tensor where = (targets_.view({-1, 1}) + offsets_.view({1, -1})).reshape({-1});
  const at::Tensor values = patches(source_, match_).reshape({n * p2, channels_});
  const at::Tensor w = match_weight.repeat_interleave(p2);
  const at::Tensor sum = at::zeros_like(source_).index_add_(0, where, values * w.view({-1, 1}));
  const at::Tensor weight = at::zeros({source_.size(0)}, source_.options()).index_add_(0, where, w);
  return at::where((changed & (weight > 0)).view({-1, 1}), sum / weight.clamp_min(1e-12).view({-1, 1}), estimate);
}

at::Tensor PatchMatcher::copied_from() const { return copied_from(trusted_targets()); }
// The targets whose last search trusted some of their pixels (all, without a confidence).
at::Tensor PatchMatcher::trusted_targets() const {
  return patch_weights_.defined() ? patch_weights_.sum({1, 2}) > 0 : at::ones({targets_.numel()}, distance_.options().dtype(at::kBool));
}
// Per pixel, the covering centre of least distance (a min-pool over a patch of centres), and the
// pixel its match puts there.
at::Tensor PatchMatcher::copied_from(const at::Tensor& trusted) const {
  at::Tensor d = at::full({height_ * width_}, kInfinity, distance_.options());
  d.index_put_({targets_}, at::where(trusted, distance_, at::full({}, kInfinity, distance_.options())));
  const int64_t r = patch_ / 2;
  const auto [negated, centre] = at::max_pool2d_with_indices(-d.view({1, 1, height_, width_}), {patch_, patch_}, {1, 1}, {r, r});
  const at::Tensor c = centre.reshape({-1}), pixel = at::arange(height_ * width_, c.options());
  const at::Tensor covered = negated.reshape({-1}).isfinite() & hole_;
  return at::where(covered, grid_y_.index_select(0, c) * width_ + grid_x_.index_select(0, c) + pixel - c, at::full({}, -1, c.options()));
}

// [N, p², C]: the patches centred at `centres` of a channels-last image.
at::Tensor PatchMatcher::patches(const at::Tensor& flat, const at::Tensor& centres) const {
  const at::Tensor where = (centres.view({-1, 1}) + offsets_.view({1, -1})).reshape({-1});
  return flat.index_select(0, where).view({centres.numel(), offsets_.numel(), flat.size(1)});
}
// Each searched target's distance from its match, measured again on the estimate of this search.
void PatchMatcher::measure() {
  if (!fused_) {
    const at::Tensor d = distances(match_);
    distance_ = searched_.defined() ? at::where(searched_, d, distance_) : d;
    return;
  }
  const int64_t* active = active_.defined() ? active_.data_ptr<int64_t>() : nullptr;
  const int64_t* match = match_.data_ptr<int64_t>();
  float* d = distance_.data_ptr<float>();
  at::parallel_for(0, searching(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t i = active ? active[k] : k;
      d[i] = distance(i, match[i], kInfinity);
    }
  });
}
// The targets searched (all without an `active_` list), and values of all targets narrowed to them.
int64_t PatchMatcher::searching() const { return active_.defined() ? active_.numel() : targets_.numel(); }
at::Tensor PatchMatcher::of_searched(const at::Tensor& all) const { return active_.defined() ? all.index_select(0, active_) : all; }
// The tensor ops' patch distances of all targets from `sources`.
at::Tensor PatchMatcher::distances(const at::Tensor& sources) const {
  const at::Tensor d = (patches(source_, sources) - target_patches_).pow(2);
  at::Tensor total = patch_weights_.defined() ? (d * patch_weights_).sum({1, 2}) * double(offsets_.numel()) : d.sum({1, 2});
  if (guide_weight_ > 0)
    total = total + (source_means_.index_select(0, sources) - target_guide_).pow(2).sum(1) * (guide_weight_ * double(offsets_.numel()));
  return total;
}
// The fused CPU path (patch_match.h says why): target i's distance from the patch at source s,
// summed only until it reaches `bound`, the distance it would have to beat; beyond that the sum's
// value no longer matters, only that it lost.
float PatchMatcher::distance(int64_t i, int64_t s, float bound) const {
  const int64_t p2 = offsets_.numel(), c = channels_;
  float total = 0;
  if (guide_weight_ > 0) {
    const float* mean = means_ + s * guided_;
    const float* guide = guide_ + i * guided_;
    for (int64_t k = 0; k < guided_; ++k) total += (mean[k] - guide[k]) * (mean[k] - guide[k]);
    total *= float(guide_weight_ * double(p2));
  }
  // Row by row: a patch row is `patch` pixels × c channels, contiguous in the image (channels
  // last) and in the target's patch alike.
  const int64_t row = patch_ * c;
  const float* target = target_ + i * p2 * c;
  const float* weight = weights_ ? weights_ + i * p2 : nullptr;
  // Sums in kLanes running parts, a row's every kLanes-th value in each: a single running sum
  // is a chain the compiler may not reorder, and it made this loop a third of a stroke's fill.
  // With the weights, a pixel's c channels share its weight, so the parts are per channel where
  // c is kLanes (a pyramid level's three colours and texture feature).
  for (int64_t r = 0; r < patch_ && total < bound; ++r, target += row) {
    const float* source = source_data_ + (s + offset_data_[r * patch_]) * c;
    float part[kLanes] = {};
    if (!weight) {
      int64_t j = 0;
      for (; j + kLanes <= row; j += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) part[l] += (source[j + l] - target[j + l]) * (source[j + l] - target[j + l]);
      for (; j < row; ++j) part[0] += (source[j] - target[j]) * (source[j] - target[j]);
      total += (part[0] + part[1]) + (part[2] + part[3]);
      continue;
    }
    const float* w = weight + r * patch_;
    if (c == kLanes) {
      for (int64_t k = 0; k < patch_; ++k)
        for (int64_t l = 0; l < kLanes; ++l) part[l] += w[k] * (source[k * c + l] - target[k * c + l]) * (source[k * c + l] - target[k * c + l]);
    } else {
      for (int64_t k = 0; k < patch_; ++k)
        for (int64_t j = k * c; j < (k + 1) * c; ++j) part[0] += w[k] * (source[j] - target[j]) * (source[j] - target[j]);
    }
    total += ((part[0] + part[1]) + (part[2] + part[3])) * float(p2);
  }
  return total;
}
// Tries the candidate (y, x) = candidate(k, i) for the k-th searched target, target i. The grid
// of matches is written after all are tried, so a candidate read from a neighbour's match sees it
// as it was before this call, as the tensor ops do (Jacobi-like: the same result on any number of
// threads).
template <typename Candidate>
void PatchMatcher::try_sources_fused(const Candidate& candidate) {
  const int64_t* target = targets_.data_ptr<int64_t>();
  const int64_t* active = active_.defined() ? active_.data_ptr<int64_t>() : nullptr;
  const bool* valid = valid_.data_ptr<bool>();
  int64_t* match = match_.data_ptr<int64_t>();
  float* distance_to = distance_.data_ptr<float>();
  at::parallel_for(0, searching(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t i = active ? active[k] : k;
      const auto [cy, cx] = candidate(k, i);
      if (cy < 0 || cy >= height_ || cx < 0 || cx >= width_ || !valid[cy * width_ + cx]) continue;
      const float d = distance(i, cy * width_ + cx, distance_to[i]);
      if (d < distance_to[i]) match[i] = cy * width_ + cx, distance_to[i] = d;
    }
  });
  int64_t* gy = grid_y_.data_ptr<int64_t>();
  int64_t* gx = grid_x_.data_ptr<int64_t>();
  at::parallel_for(0, searching(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t i = active ? active[k] : k;
      gy[target[i]] = match[i] / width_, gx[target[i]] = match[i] % width_;
    }
  });
}
// The mean vote as a gather: each hole pixel sums what the patches covering it put there (the
// targets centred at it minus each offset), in the order the tensor ops add them.
at::Tensor PatchMatcher::vote_fused(const at::Tensor& w, const at::Tensor& estimate_in, const at::Tensor& changed) const {
  if (!target_at_.defined()) {
    target_at_ = at::full({height_ * width_}, -1, targets_.options());
    target_at_.index_put_({targets_}, at::arange(targets_.numel(), targets_.options()));
  }
  const at::Tensor estimate = estimate_in.contiguous();
  at::Tensor out = estimate.clone();
  const int64_t pixels = height_ * width_, p2 = offsets_.numel(), c = channels_;
  const float* weight = w.data_ptr<float>();
  const int64_t* at_centre = target_at_.data_ptr<int64_t>();
  const int64_t* match = match_.data_ptr<int64_t>();
  const bool* hole = changed.data_ptr<bool>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, pixels, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q) {
      if (!hole[q]) continue;
      float sum[kMaxChannels] = {}, total = 0;
      for (int64_t k = p2; k-- > 0;) {  // the covering centres in increasing order
        const int64_t centre = q - offset_data_[k];
        const int64_t i = centre >= 0 && centre < pixels ? at_centre[centre] : -1;
        if (i < 0) continue;
        const float* value = source_data_ + (match[i] + offset_data_[k]) * c;
        for (int64_t j = 0; j < c; ++j) sum[j] += value[j] * weight[i];
        total += weight[i];
      }
      if (total > 0)
        for (int64_t j = 0; j < c; ++j) o[q * c + j] = sum[j] / std::max(total, 1e-12f);
    }
  });
  return out;
}

// The raw pointers the fused path reads; set after each tensor they point into changes.
void PatchMatcher::point_fused() {
  if (!fused_) return;
  source_data_ = source_.data_ptr<float>(), offset_data_ = offsets_.data_ptr<int64_t>();
  target_ = target_patches_.defined() ? target_patches_.data_ptr<float>() : nullptr;
  weights_ = patch_weights_.defined() ? patch_weights_.data_ptr<float>() : nullptr;
  means_ = source_means_.defined() ? source_means_.data_ptr<float>() : nullptr;
  guide_ = target_guide_.defined() ? target_guide_.data_ptr<float>() : nullptr;
}

// One random source for each searched target.
at::Tensor PatchMatcher::random_sources() const {
  const at::Tensor u = at::rand({searching()}, gen_).to(source_.device());
  return sources_.index_select(0, (u * double(sources_.numel())).to(at::kLong).clamp_max(sources_.numel() - 1));
}
// Keeps each candidate (y, x), one for each searched target, that is a valid source and matches
// its target better.
void PatchMatcher::try_sources(const at::Tensor& y_searched, const at::Tensor& x_searched) {
  if (fused_) {
    const at::Tensor yc = y_searched.contiguous(), xc = x_searched.contiguous();
    const int64_t *yp = yc.data_ptr<int64_t>(), *xp = xc.data_ptr<int64_t>();
    return try_sources_fused([&](int64_t k, int64_t) { return std::pair{yp[k], xp[k]}; });
  }
  // Every target gets a candidate; those not searched one outside the image, which none takes.
  const auto all = [&](const at::Tensor& v) {
    return active_.defined() ? at::full({targets_.numel()}, -1, v.options()).index_copy_(0, active_, v) : v;
  };
  const at::Tensor y = all(y_searched), x = all(x_searched);
  const at::Tensor inside = (y >= 0) & (y < height_) & (x >= 0) & (x < width_);
  const at::Tensor inside_at = at::where(inside, y * width_ + x, match_);
  const at::Tensor ok = inside & valid_.index_select(0, inside_at);
  const at::Tensor s = at::where(ok, inside_at, match_);  // only whole patches are ever read
  const at::Tensor d = at::where(ok, distances(s), at::full({}, kInfinity, distance_.options()));
  const at::Tensor better = searched_.defined() ? (d < distance_) & searched_ : d < distance_;
  match_ = at::where(better, s, match_), distance_ = at::where(better, d, distance_);
  grid_y_.index_put_({targets_}, match_.div(width_, "floor"));
  grid_x_.index_put_({targets_}, match_.remainder(width_));
}
// Each target tries its neighbour's offset, `jump` pixels away in the four directions.
void PatchMatcher::propagate(int64_t jump) {
  const int64_t steps[4][2] = {{0, 1}, {0, -1}, {1, 0}, {-1, 0}};
  for (const auto& s : steps) {
    if (fused_) {
      const int64_t *ty = ty_.data_ptr<int64_t>(), *tx = tx_.data_ptr<int64_t>();
      const int64_t *gy = grid_y_.data_ptr<int64_t>(), *gx = grid_x_.data_ptr<int64_t>();
      try_sources_fused([&](int64_t, int64_t i) {
        const int64_t ny = std::clamp<int64_t>(ty[i] + s[0] * jump, 0, height_ - 1), nx = std::clamp<int64_t>(tx[i] + s[1] * jump, 0, width_ - 1);
        const int64_t n = ny * width_ + nx;
        return std::pair{gy[n] - (ny - ty[i]), gx[n] - (nx - tx[i])};
      });
      continue;
    }
    const at::Tensor ny = (ty_ + s[0] * jump).clamp(0, height_ - 1), nx = (tx_ + s[1] * jump).clamp(0, width_ - 1);
    const at::Tensor n = ny * width_ + nx;
    try_sources(of_searched(grid_y_.index_select(0, n) - (ny - ty_)), of_searched(grid_x_.index_select(0, n) - (nx - tx_)));
  }
}
void PatchMatcher::random_step(int64_t radius) {
  const at::Tensor u = (at::rand({2, searching()}, gen_) * 2 - 1).to(source_.device());
  if (fused_) {
    const float *uy = u[0].data_ptr<float>(), *ux = u[1].data_ptr<float>();
    const int64_t* match = match_.data_ptr<int64_t>();
    const float r = float(radius);
    return try_sources_fused([&](int64_t k, int64_t i) {
      return std::pair{match[i] / width_ + int64_t(std::nearbyint(uy[k] * r)), match[i] % width_ + int64_t(std::nearbyint(ux[k] * r))};
    });
  }
  const at::Tensor dy = (u[0] * double(radius)).round().to(at::kLong), dx = (u[1] * double(radius)).round().to(at::kLong);
  const at::Tensor match = of_searched(match_);
  try_sources(match.div(width_, "floor") + dy, match.remainder(width_) + dx);
}

}  // namespace cm::edit::detail
