// PatchMatch on one level of the exemplar fill's pyramid (exemplar_fill.h): every patch that
// touches the hole (a target) finds the known patch most like it (its source), by random start,
// propagation of good offsets from neighbours and random search at shrinking radii (Barnes,
// Shechtman, Finkelstein & Goldman 2009); then each hole pixel is voted from the matches that
// cover it (Wexler, Shechtman & Irani 2007). Internal to exemplar_fill.cpp.
//
// Two implementations of the same steps:
//  - tensor ops over all targets at once, for a GPU (propagation in parallel, Jacobi-like);
//  - on the CPU, fused loops over the targets with the same candidates in the same order, whose
//    distance stops summing once it reaches the match it would have to beat. The tensor ops made
//    [targets, p², C] temporaries for every candidate, and a CPU spent most of its time faulting
//    them in and freeing them: a 79,000-pixel hole took 10 s, fused 1 s (docs/BENCHMARKS.md,
//    "The inpainting starts").
// Both draw their random numbers from the same generator in the same order, so a fill is the same
// on every run; the two differ only in the order of a sum's terms.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cm::edit::detail {

struct PyramidLevel {
  at::Tensor image;   // [1,C,H,W]; what hole pixels hold is never read as a source
  at::Tensor hole;    // [1,1,H,W] bool
  at::Tensor layout;  // [1,colours,H,W], the colours the hole should take (exemplar_fill's layout), or undefined
  // The image's first `colours` channels are its colours; any after them are features that the
  // patch distance weighs and the vote rebuilds (exemplar_fill's texture feature).
  int64_t colours = 0;
};

// One pyramid level's search: the targets (by their centres) and their matches among the patches
// that do not touch the hole (sources), as flat pixel indices y·W + x.
class PatchMatcher {
 public:
  // `fused`: the CPU's fused loops when the level is on the CPU (else tensor ops).
  PatchMatcher(const PyramidLevel& level, int patch, at::Generator& gen, bool fused);

  // Each patch is also held against a guide: `weight` times the squared distance of the source
  // patch's mean of `guided` ([1,G,H,W], this level's pixels) from the mean of `guide` ([1,G,H,W])
  // over the target patch, per pixel of the patch, so the term stays in proportion to the patch
  // distance it is added to. exemplar_fill chooses both: a painting's colours, or the hole's
  // fill from its edge of the colours and the texture feature (ExemplarOptions::guide,
  // transport_guide).
  void set_guide(const at::Tensor& guided, const at::Tensor& guide, double weight);

  // Enough sources to copy from: otherwise the caller falls back to a smooth fill.
  bool usable() const;
  int patch() const { return patch_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

  // Every target at a random source or, from a coarser level, at its coarse match scaled up (a
  // random source where that is no whole patch here). All weigh the same until the first search
  // measures them, so a vote right after this is the plain mean.
  void start(const PatchMatcher* coarse);

  // PatchMatch against the current estimate ([H·W, C], channels last). With a confidence ([H·W],
  // in [0, 1]) only the pixels it trusts count, as a weighted mean over the patch, and a target
  // that trusts none of its pixels keeps its match (it does not vote either). With `near` too
  // ([H·W] bool) only the targets centred there are searched; the others keep their matches,
  // distances and trust from their last search (an onion peel's rings: exemplar_fill.cpp).
  void search(const at::Tensor& estimate, int rounds, const at::Tensor& confidence = at::Tensor(),
              const at::Tensor& near = at::Tensor());

  // Every hole pixel becomes the mean of what the overlapping matches put there, each match
  // weighted by exp(−d / 2·median d), so poor matches count for less. With `best`, each pixel
  // instead takes what its best-matching overlapping patch puts there: no averaging, so the texture
  // stays as sharp as the source's (seams are left for the model to harmonize). Matches that
  // trusted none of their pixels (search's confidence) do not vote. With `only` ([H·W] bool), only
  // the hole pixels there change.
  at::Tensor vote(const at::Tensor& estimate, bool best = false, const at::Tensor& only = at::Tensor()) const;

  // [H·W] int64: for each hole pixel the pixel that vote(…, best = true) copies into it, its best
  // covering patch's; −1 where no trusted patch covers it and on known pixels.
  at::Tensor copied_from() const;

  at::Tensor known_estimate() const { return source_; }  // [H·W, C]: the level's pixels
  const at::Tensor& hole() const { return hole_; }       // [H·W] bool

 private:
  at::Tensor patches(const at::Tensor& flat, const at::Tensor& centres) const;
  at::Tensor copied_from(const at::Tensor& trusted) const;
  at::Tensor trusted_targets() const;
  void measure();
  int64_t searching() const;
  at::Tensor of_searched(const at::Tensor& all) const;
  at::Tensor distances(const at::Tensor& sources) const;
  at::Tensor random_sources() const;
  void try_sources(const at::Tensor& y_searched, const at::Tensor& x_searched);
  void propagate(int64_t jump);
  void random_step(int64_t radius);

  // The fused CPU path.
  float distance(int64_t target, int64_t source, float bound) const;
  template <typename Candidate>
  void try_sources_fused(const Candidate& candidate);
  at::Tensor vote_fused(const at::Tensor& weights, const at::Tensor& estimate, const at::Tensor& changed) const;
  void point_fused();

  at::Generator& gen_;
  int patch_;
  int64_t channels_ = 0, guided_ = 0, height_ = 0, width_ = 0;
  at::Tensor source_, hole_, valid_, sources_, targets_, ty_, tx_, offsets_, grid_y_, grid_x_;
  at::Tensor match_, distance_, target_patches_, patch_weights_;
  // With a confidence: the targets searched (near, and trusting some of their pixels), as a mask
  // [N] and as indices (undefined: all are).
  at::Tensor searched_, active_;
  bool searched_since_start_ = false;
  double guide_weight_ = 0;
  at::Tensor source_means_, target_guide_;
  bool fused_ = false;
  mutable at::Tensor target_at_;  // the fused vote's target index at each pixel, −1 where none is centred
  // What the fused loops read, set by point_fused after each tensor they point into changes.
  const float *source_data_ = nullptr, *target_ = nullptr, *weights_ = nullptr, *means_ = nullptr, *guide_ = nullptr;
  const int64_t* offset_data_ = nullptr;
};

}  // namespace cm::edit::detail
