// quality's inputs: one held-out photo and what every method, baseline or model, gets from it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

namespace cm::bench {

// Images [1, 3, size, size] in [−1, 1], masks [1, 1, size, size].
struct Photo {
  at::Tensor truth;  // the photo, centre-cropped to a square
  at::Tensor mask;   // inpainting: free-form brush strokes, 1 = fill
  at::Tensor holed;  // inpainting's input: the truth with the masked pixels grey (0)
  at::Tensor low;    // super-resolution's input: the exact 4×4 means, [1, 3, size/4, size/4]
  at::Tensor grey;   // colorization's input: r = g = b = the truth's luma (q₀·rgb, a weighted mean)
  // sketch's input: the truth with the masked pixels painted over as a person sketches what should
  // be there (stroke_painting)
  at::Tensor painting;
  // colorize's colour hints when asked for (add_hints): the truth's colours in dabs, and where.
  at::Tensor hints, hint_mask;
};

// A painting of `image` as a person paints it over: a median filter over `radius` pixels, so it
// keeps the colours and the large shapes with their edges, and loses the texture. (SDEdit, Meng
// et al. 2022, also reduces the colours to a few; here their contours in smooth skies would be
// edges and colour detail that the scores count against every method alike.)
at::Tensor stroke_painting(const at::Tensor& image, int radius);

// What a user paints, in a photo's own pixels:
//  - Strokes: 2–4 free-form strokes 4–10 % of the side wide (the first benchmark's masks);
//  - Box: a square of half the side (a quarter of the area), an object to remove;
//  - Brush: one stroke 10–40 px wide and 40 % of the longer side long, curving as a hand does;
//  - Wide: the same stroke 80–200 px wide, a path or a shadow painted out of a camera's photo;
//  - Cable: a line 6–24 px wide from one edge of the photo to the opposite one, sagging a little;
//  - Object: an irregular blob 16–30 % of the shorter side across, with context around it;
//  - Spots: 3–6 small blobs 16–64 px across, whatever the photo's size (dust, blemishes);
//  - Wires: 2–3 lines 2–6 px wide across the photo, as cables are (power lines, scratches).
enum class Hole { Strokes, Box, Brush, Wide, Cable, Object, Spots, Wires };

// Whether the texture distance of these masks is measured on patches centred in the mask
// (mask_patches) rather than drawn in its bounding box: spots lie all over the photo, and their
// box is most of it.
bool patches_centred_in_mask(Hole hole);

// "strokes", "box", "brush", "wide", "cable", "object", "spots", "wires"; std::nullopt for anything else.
std::optional<Hole> hole_named(const std::string& name);
const char* name_of(Hole hole);
// What the inpainting table's title says of the masks.
const char* description_of(Hole hole);

// [1, 1, height, width] float of 0 and 1; the seed picks the shape and place. `length` > 0 sets a
// brush stroke's (or a wide one's) length in pixels (a short retouch on a large photo) instead of 40 % of the side.
at::Tensor make_mask(int64_t height, int64_t width, std::uint64_t seed, Hole hole, double length = 0);

// `count` colour hints as a person gives them and as user-guided colorization is measured (Zhang
// et al. 2017 reveal the truth's colour in small patches at random): square dabs of 1/64 of the
// side (12 px at 768, 3 at 192), each the truth's mean colour over it, at random places.
void add_hints(Photo& p, int count, std::uint64_t seed);

// rgb8: [H, W, 3] bytes as the pack stores them, centre-cropped to a square and resized to `size`.
Photo make_photo(const at::Tensor& rgb8, int size, std::uint64_t mask_seed, Hole hole = Hole::Strokes);

}  // namespace cm::bench
