// A hole filled along the isophotes of its edge: coherence transport (Bornemann & März 2007,
// "Fast image inpainting based on coherence transport", J. Math. Imaging Vis.). The membrane fill
// (fill_holes) of a straight edge that crosses a hole off its centre bends: its level lines are
// arcs between the two points where the edge meets the hole, so a treeline across a spot in the
// sky comes back as a hump. Transport carries each colour on along the edge's direction.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

struct TransportOptions {
  double radius = 4;       // ε: the pixels a hole pixel averages lie within this distance
  double sharpness = 12;   // μ: how strongly they are held to the isophote through it
  double smoothing = 1;    // σ of the blur before the image's gradients are taken
  double structure = 3;    // ρ: the structure tensor's Gaussian over the known pixels
};

// image: [1,C,H,W] float; known: [1,1,H,W], > 0 known. Hole pixels are filled from the edge
// inwards (by their distance to the nearest known pixel), each as the weighted mean of the known
// or already filled pixels q within ε: w = exp(−μ²/(2ε²)·⟨g, q − p⟩²·coherence)/|q − p|, g the
// unit gradient direction of the structure tensor (of all channels, on the known pixels, then
// carried into the hole as a membrane) and coherence ((λ₁ − λ₂)/(λ₁ + λ₂))² how sure that direction
// is: where the edge has no direction it is an isotropic average, as Telea's. Known pixels are
// kept bit for bit. On the CPU (a coarse level's guide: a few thousand hole pixels).
at::Tensor coherence_transport(const at::Tensor& image, const at::Tensor& known, const TransportOptions& options = {});

}  // namespace cm::edit
