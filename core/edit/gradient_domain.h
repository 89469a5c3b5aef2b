// The gradient domain: an image rebuilt from the differences between neighbouring pixels, by
// solving a Poisson equation inside a hole, its edge held. Seamless cloning works there (Pérez,
// Gangnet & Blake 2003, "Poisson Image Editing"), and so does the fusion of a photomontage's
// pieces (Agarwala et al. 2004, "Interactive Digital Photomontage"): the pieces keep their own
// differences, and where two meet the step between them is replaced by one each piece has.
// Torch ops on the input's device. Images are [1,C,H,W] float.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// The x that is 0 outside `hole` ([1,1,H,W] bool) and inside it solves
//     Σ_q (x_p − x_q) = f_p        (q: p's four neighbours; at the image's edge, p itself),
// the 5-point Poisson equation −Δx = f, by multigrid V-cycles (cell-centred: the residual summed
// over 2×2 blocks, the correction enlarged bilinearly, damped Jacobi on every level). f: [1,C,H,W].
at::Tensor solve_poisson(const at::Tensor& f, const at::Tensor& hole, int cycles = 6);

// What to add to `copied` (a copy of patches into the hole of `image`, `source` [H·W] int64 the
// pixel each hole pixel was copied from as y·W + x, −1 where none) so that where neighbouring
// hole pixels came from places that are not neighbours (a seam), the two differ as the photo
// does beside their sources, and elsewhere as they did: the least-squares fusion of the copy's
// pieces, 0 outside the hole and on its edge. Each piece keeps its texture; the steps between
// pieces, which a blurred photo has nowhere, become the photo's own slopes.
at::Tensor stitch_correction(const at::Tensor& image, const at::Tensor& copied, const at::Tensor& source,
                             const at::Tensor& hole);

}  // namespace cm::edit
