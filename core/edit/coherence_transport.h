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

// The structure tensor (J₁₁, J₁₂, J₂₂: [1,3,H,W], CPU) of every channel's gradient after a blur
// of σ `smoothing`, on the known pixels whose neighbours are known, averaged over ρ `structure`
// and carried into the hole as a membrane: the edges around the hole and their directions.
at::Tensor structure_field(const at::Tensor& image, const at::Tensor& known, const TransportOptions& options = {});

// image: [1,C,H,W] float; known: [1,1,H,W], > 0 known. Hole pixels are filled from the edge
// inwards (by their distance to the nearest known pixel), each as the weighted mean of the known
// or already filled pixels q within ε: w = exp(−μ²/(2ε²)·⟨g, q − p⟩²·coherence)/|q − p|, g the
// unit gradient direction of the structure tensor (of all channels, on the known pixels, then
// carried into the hole as a membrane) and coherence ((λ₁ − λ₂)/(λ₁ + λ₂))² how sure that direction
// is: where the edge has no direction it is an isotropic average, as Telea's. Known pixels are
// kept bit for bit. On the CPU (a coarse level's guide, a thin hole). `field`: structure_field's,
// when the caller has it.
at::Tensor coherence_transport(const at::Tensor& image, const at::Tensor& known, const TransportOptions& options = {},
                               const at::Tensor& field = at::Tensor());

// A thin hole's smooth fill with the edges that cross it carried on. The membrane (fill_holes)
// blurs an edge across the hole's width; the transport carries it on, but where the isophotes run
// along the hole (a sky's gradient under a wire) its fronts from the two sides meet in a line
// down the hole's middle, as Telea's do. So each hole pixel takes `membrane` plus g times
// (transport − membrane), g = coherence · (1 − ⟨edge, normal⟩²) · λ₁ / (λ₁ + kCrossingEdgeStrength):
// the edge's coherence and strength (structure_field), and how much it crosses the hole rather
// than runs along it (its gradient against the hole's normal, from the gradients of `distance`,
// each hole pixel's distance to the nearest known one, as mirror_fill gives it). hole: [1,1,H,W], > 0.
at::Tensor transport_crossing_edges(const at::Tensor& image, const at::Tensor& hole, const at::Tensor& membrane,
                                    const at::Tensor& distance, const TransportOptions& options = {});

// λ₁ (squared gradients in [−1, 1] units, averaged over ρ) at which an edge takes half the
// transport, so a faint one stays nearer the membrane. On the 17 held-out 768-px photos
// (docs/QUALITY.md, "Crossing edges") 10⁻², 10⁻³, 10⁻⁴ and 10⁻⁵ gave brush strokes 26.10, 26.26,
// 26.37 and 26.42 dB and cables 24.77, 24.84, 24.86 and 24.87 (wires 27.62–27.68); at the editor's
// grow and feather brush strokes 24.97, 25.14 and 25.23 for 10⁻³ to 10⁻⁵, and the 192-px strokes
// 20.87, 20.89 and 20.89. 10⁻⁵ is a gradient of under half an 8-bit level a pixel: only a flat
// region's noise stays on the membrane.
constexpr double kCrossingEdgeStrength = 1e-5;

}  // namespace cm::edit
