// Exemplar fill: a hole filled with patches copied from the rest of the photo, the classical
// object removal (Content-Aware Fill). Coarse to fine, each level alternates
//  - nearest-neighbour search: every patch that touches the hole finds the known patch most like
//    it, by PatchMatch (Barnes, Shechtman, Finkelstein & Goldman 2009): random start,
//    propagation of good offsets from neighbours, random search at shrinking radii;
//  - voting: each hole pixel becomes the weighted mean of what the overlapping patches' matches
//    put there (Wexler, Shechtman & Irani 2007, "Space-time completion of video").
// The search and vote of one level are patch_match.h: tensor ops over all targets at once on a
// GPU, fused loops on the CPU; randomness is drawn on the host from `seed`, so the fill is the same
// on every run. Images are [1,C,H,W] float in [−1, 1].
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>

namespace cm::edit {

struct ExemplarOptions {
  int patch = 7;             // patch side in pixels (odd)
  int em_iterations = 3;     // search + vote rounds per level (finest level: one fewer)
  int search_iterations = 3; // PatchMatch rounds per search
  // At the finest level, where the search starts from the coarser level's matches and costs the
  // most: one round there. On 30 held-out photos with box holes, 3 → 1 made the fill 36 % faster
  // (771 → 491 ms a photo) with the same PSNR and SSIM (±0.01 dB, ±0.001) and slightly sharper
  // texture (gradient ratio 0.839 → 0.854, SWD 128.1 → 124.1).
  int finest_search_iterations = 1;
  // The finest level's last vote takes each pixel from its best-matching patch instead of the
  // mean of all: as sharp as the source, with seams where neighbours disagree (the model's polish
  // softens them). On 10 held-out photos with box holes it raised the gradient ratio 0.36 → 0.46.
  bool sharp = true;
  // The coarsest level's search also weighs each source patch's mean colour against the hole's
  // fill from its edge there (transport_guide), by this weight (0: off). Where the coarsest level keeps few
  // whole patches of the hole's surroundings, the peel from the hole's edge otherwise copies what
  // matches best from elsewhere: a white towel between hair and bread got both. At the coarsest
  // level the mean colour is the hole's layout, not its texture, so finer levels still copy
  // texture freely. On the 17 held-out 768-px photos with object holes (docs/QUALITY.md,
  // "Objects"; the windows' fills then made at ≤ 256 px) 0.5 raised inpainting from 20.76 to
  // 22.88 dB, its gradient ratio from 30.7 (one photo's copied hair) to 0.71 and cut its colour
  // speckle (chroma HF 4.21 → 1.82). The price, on 192-px photos with a quarter removed: less
  // texture (SWD 135 → 159; +0.13 dB).
  double guide = 0.5;
  // With a layout (exemplar_fill), the coarsest level's weight. The peel from the hole's edge
  // continues the photo around it, which a painted stroke of another colour is not: at 0.5 and
  // 1.5 the rim of a red stroke across a dragonfly took pieces of its wings, in patches of
  // in-between colour; at 3 it stayed red. On the 17 held-out 768-px photos with painted objects
  // (docs/QUALITY.md, "Sketch") 3 kept most of the texture (SWD 96.6; 84.9 at 0.5, 112.3 from
  // the painting without a peel, where a strawberry lost its seeds).
  double layout_guide = 3.0;
  // The weight of the texture feature (exemplar_fill.cpp, for_matching) in the patch distance,
  // beside the colours (0: colours alone). By colour alone a flat patch matches a texture better
  // than the texture itself does: a sundial removed from a 12 MP photo's grass came back as a
  // smooth dark blob. On the 17 held-out 768-px photos (docs/QUALITY.md, "One fill for an object") 2
  // took the texture distance (SWD) of objects from 65.1 to 59.4 and of half-side boxes from 92.1
  // to 62.5 (16.45 → 16.78 dB). 3 and 4 mend more of the sundial but let 5–9 % of
  // TheHoleKeepsTheColourAroundItWhereLittleOfItIsLeftToCopy's hole go dark.
  double texture_weight = 2.0;
  // The coarsest level's guide (without a layout) also holds each source patch's mean texture
  // feature against the fill of the hole edge's (transport_guide), at this many times the feature's
  // weight in the patch distance (0: colours alone). By its colour the peel fills a hole from
  // anything of the edge's mean colour, flat or not: the sundial's top came back as a flat dark
  // patch under a band of dark trees. On 19 photos of 8–20 MP at their own pixels with an object
  // of 350–1000 px removed (docs/QUALITY.md, "The coarsest level"), 3 (with exemplar_fill.cpp's
  // kCoarsestDepth) raised inpainting from 21.11 to 21.51 dB and took its texture distance (SWD)
  // from 145.4 to 132.2; half-side boxes on 768-px photos lost 0.36 dB.
  double texture_guide = 3.0;
  // The guide of the hole's colour and texture is carried in from its edge along the edge's
  // isophotes (coherence_transport.h), else as a membrane (fill_holes). A membrane's level lines
  // bend between the two points where an edge meets the hole: a treeline across a spot in the sky
  // came back as a hump of in-between colour, and leaves around an object as a pale blob. On 19
  // photos of 8–20 MP at their own pixels (docs/QUALITY.md, "The guide carries the edge on")
  // objects went from 21.51 to 21.71 dB and their texture distance (SWD) from 132.2 to 111.3,
  // spots from 28.92 to 29.49 dB; on the 17 held-out 768-px photos half-side boxes gained
  // 0.52 dB, and objects lost 0.32 dB for an SWD of 53.8 against 62.3.
  bool transport_guide = true;
  std::uint64_t seed = 0;
  // Every step as tensor ops, as on a GPU, also on the CPU (where a fused loop is the default):
  // for tests that hold the two to the same fill.
  bool tensor_ops = false;
  // The copy's colour made to agree with the photo's along the hole's edge (exemplar_fill.cpp,
  // seamless), without a layout. Patches copied from elsewhere keep their own brightness, and
  // PatchMatch's sharp vote joins them with steps: a 92-px stroke across a 13.4 MP photo's
  // blurred leaves came back as a band with straight edges. On the 17 held-out 768-px photos with
  // object holes (docs/QUALITY.md, "Objects") it raised inpainting from 22.61 to 22.92 dB and cut
  // its colour speckle (chroma HF 2.13 → 1.96), for an SWD of 65.1 against 64.4.
  bool seamless = true;
  // Where neighbouring hole pixels were copied from places that are not neighbours (a seam), the
  // copy's pieces are stitched in the gradient domain (gradient_domain.h, stitch_correction): the
  // step between them becomes a difference the photo has beside their sources. Without a layout,
  // before `seamless`. A person removed from pool photo 00000's bokeh came back as a pale slab
  // with hard edges, pieces of the blur copied side by side. On 19 photos of 8–20 MP with an
  // object removed (docs/QUALITY.md, "Stitched") it raised inpainting from 21.80 to 22.29 dB and its
  // colour speckle from 1.16 to 0.95 of the photo's; where seams are dense (holes in 192-px photos)
  // it costs fine texture.
  bool stitch = true;
};

// Fills the pixels where known ≤ 0 with the known photo's patches; known pixels are kept bit for
// bit. Where no patch fits outside the hole (a tiny photo, a hole almost everywhere) it falls
// back to fill_holes (estimates.h). known: [1,1,H,W].
// `layout` ([1,C,H,W], optional): the colours the hole should take, as a person painted them. At
// every level but the finest, not only the coarsest, each source patch's mean colour is then held
// against the layout's mean there instead of the edge's fill (weight `guide`): the photo's own
// texture, laid out as painted ("texture by numbers", Hertzmann et al. 2001, "Image Analogies").
at::Tensor exemplar_fill(const at::Tensor& image, const at::Tensor& known, const ExemplarOptions& options = {},
                         const at::Tensor& layout = at::Tensor());

// An exemplar fill, with what enlarge_fill needs to carry it to a larger copy of the photo.
struct ExemplarCopy {
  at::Tensor filled;  // exemplar_fill's result
  at::Tensor copied;  // the same before stitching and the seamless correction (filled − copied is both)
  // [H·W] int64: the pixel each hole pixel was copied from (its best covering patch's, as the
  // finest level's sharp vote takes it), as y·W + x; −1 on known pixels and where nothing was
  // copied (the smooth fallback).
  at::Tensor source;
};
ExemplarCopy exemplar_copy(const at::Tensor& image, const at::Tensor& known, const ExemplarOptions& options = {},
                           const at::Tensor& layout = at::Tensor());

// The fill of `image` (known ≤ 0: the hole) from `small`, an exemplar_copy of the same photo
// made smaller: every hole pixel copies the photo's own pixel as far away as its small pixel's
// source was, scaled (the small fill's matches enlarged), plus the small fill's correction
// (filled − copied: the stitching and the seamless colour), cross-faded as its copies are.
// A fill made smaller and enlarged is a blur of the photo's texture; this keeps it at the photo's
// own pixels, for a few gathers' cost. Where neighbouring small pixels were copied from different
// places, their copies are cross-faded (exemplar_fill.cpp, kSeamBlend): taken from one
// small pixel each, they met in a step, along a staircase of the small pixels' size (a cut-out
// collage at 100 %, docs/QUALITY.md "Seams"). Where no copy lands on a known pixel, the small
// fill's own pixel. Known pixels are kept bit for bit.
at::Tensor enlarge_fill(const at::Tensor& image, const at::Tensor& known, const ExemplarCopy& small);

// The radius of the largest disc inside the hole (known ≤ 0), in pixels, up to `cap`: the
// Chebyshev distance from the hole's deepest pixel to the nearest known one. Thin strokes are
// 1–3; an object to remove is tens. known: [1,1,H,W].
int hole_depth(const at::Tensor& known, int cap = 64);

// The last few exemplar fills, so a new seed or strength on the same photo and mask does not
// search again (seconds on a CPU). A hit needs the very same pixels and hole, compared exactly.
// Shared by the engine's jobs; safe to use from several threads.
// An entry keeps its image, hole and fill as given: the sundial of docs/QUALITY.md enlarged to a
// 50 MP photo is filled on its box and half its side around, 5,600 × 4,940 float pixels, 690 MB
// an entry. So the cache also keeps within a byte budget, the oldest entries going first, and
// never keeps a fill larger than all of it: by count alone the engine's 32 entries could hold
// 20 GB after a few dozen masks on such a photo.
class ExemplarCache {
 public:
  static constexpr std::size_t kDefaultBytes = std::size_t(1) << 30;
  explicit ExemplarCache(std::size_t capacity = 4, std::size_t max_bytes = kDefaultBytes)
      : capacity_(capacity), max_bytes_(max_bytes) {}
  // fill(image, known) if this image and known are not cached, else the cached result.
  at::Tensor get_or_fill(const at::Tensor& image, const at::Tensor& known, std::uint64_t seed,
                         const std::function<at::Tensor()>& fill);
  std::size_t hits() const;
  std::size_t fills() const;  // how many times it called `fill`
  std::size_t bytes() const;  // what the entries hold now

 private:
  struct Entry {
    at::Tensor image, known, filled;
    std::uint64_t seed;
    std::size_t bytes;
  };
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // most recent first
  std::size_t capacity_, max_bytes_, bytes_ = 0, hits_ = 0, fills_ = 0;
};

}  // namespace cm::edit
