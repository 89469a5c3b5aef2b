// Spots (core/edit/mask_spots.h): the parts of a mask that are blobs, and inpainting's start in the
// windows that hold one (region.h), with the analytic model.
#include "core/analytic_model.h"
#include "core/edit/mask_spots.h"
#include "core/edit/region.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using namespace cm::edit;
namespace region = cm::edit::region;

// [1,1,size,size] with a disc of `radius` at (cy, cx) added to `m`.
void add_disc(at::Tensor& m, double cy, double cx, double radius) {
  const int64_t h = m.size(2), w = m.size(3);
  const at::Tensor y = at::arange(h, at::kFloat).view({-1, 1}), x = at::arange(w, at::kFloat).view({1, -1});
  m[0][0].masked_fill_((y - cy).pow(2) + (x - cx).pow(2) <= radius * radius, 1);
}

// A stroke `width` px wide from (y0, x0) to (y1, x1).
void add_stroke(at::Tensor& m, double y0, double x0, double y1, double x1, double width) {
  const int64_t h = m.size(2), w = m.size(3);
  const at::Tensor y = at::arange(h, at::kFloat).view({-1, 1}), x = at::arange(w, at::kFloat).view({1, -1});
  const double dy = y1 - y0, dx = x1 - x0, length2 = dy * dy + dx * dx;
  const at::Tensor t = (((y - y0) * dy + (x - x0) * dx) / length2).clamp(0, 1);
  m[0][0].masked_fill_((y - (y0 + t * dy)).pow(2) + (x - (x0 + t * dx)).pow(2) <= width * width / 4, 1);
}

TEST(MaskSpots, BlobsAreSpotsStrokesCablesAndDotsAreNot) {
  at::Tensor m = at::zeros({1, 1, 400, 400});
  add_disc(m, 60, 60, 20);                  // a dust spot: depth 14, area 1257 (6.3 depth²)
  add_stroke(m, 300, 40, 300, 70, 24);      // a dab along a row, 54 × 24: 6.7 depth²
  add_stroke(m, 150, 150, 260, 260, 20);    // a diagonal stroke: 44 depth²
  add_stroke(m, 380, 0, 380, 399, 8);       // a cable across the photo
  add_disc(m, 200, 40, 2);                  // a dot, 2 px deep
  const std::vector<region::Box> spots = region::spots_of(m);
  ASSERT_EQ(spots.size(), 2u);
  EXPECT_TRUE(region::contains({39, 39, 82, 82}, spots[0]) && region::contains(spots[0], {41, 41, 80, 80})) << "the disc's box";
  EXPECT_TRUE(region::contains({287, 27, 313, 84}, spots[1]) && region::contains(spots[1], {289, 29, 311, 81})) << "the dab's box";

  // Grown by the compositing, the dot is deep enough, and every box grows with its hole.
  const std::vector<region::Box> grown = region::spots_of(m, 3);
  ASSERT_EQ(grown.size(), 3u);
  EXPECT_EQ(grown[0].y0, spots[0].y0 - 3);
  EXPECT_EQ(grown[0].x1, spots[0].x1 + 3);
  EXPECT_TRUE(region::contains(grown[1], {195, 35, 205, 45})) << "the dot";
}

TEST(MaskSpots, PartsJoinAtTheirCornersAndASpotCutByThePhotosEdgeIsStillOne) {
  at::Tensor m = at::zeros({1, 1, 200, 200});
  add_disc(m, 100, 0, 24);  // half a disc at the left edge: beyond the photo counts as hole
  m[0][0].narrow(0, 20, 20).narrow(1, 100, 20).fill_(1);
  m[0][0].narrow(0, 40, 20).narrow(1, 120, 20).fill_(1);  // two squares touching at a corner: one part
  const std::vector<region::Box> spots = region::spots_of(m);
  ASSERT_EQ(spots.size(), 2u);
  EXPECT_EQ(spots[0].y0, 20);
  EXPECT_EQ(spots[0].y1, 60);
  EXPECT_EQ(spots[0].x1, 140) << "the squares are one part";
  EXPECT_EQ(spots[1].x0, 0);
  EXPECT_EQ(spots[1].x1, 25);
  EXPECT_TRUE(region::spots_of(at::zeros({1, 1, 50, 50})).empty());
}

// A thin hole's start mirrors the photo across its nearest edge: along a stroke a reflection, in a
// round hole a starburst. A spot starts from the photo's patches, as HoleFill::Exemplar does,
// however shallow it is; a stroke as deep keeps its mirror.
TEST(MaskSpots, ASpotStartsFromThePhotosPatchesAStrokeAsDeepFromItsMirror) {
  const auto f = cm::testing::analytic_model(32);
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(1, 0.002);  // next to nothing: the start shows
  s.warm_start = true;
  const at::Tensor truth = cm::testing::stripes(192);
  at::Tensor spot = at::zeros({1, 1, 192, 192}), stroke = at::zeros({1, 1, 192, 192});
  add_disc(spot, 96, 96, 14);                // 10 px deep, far from kLargeHoleDepth
  add_stroke(stroke, 40, 20, 40, 170, 20);   // as deep, 150 px long
  const auto inpaint = [&](const at::Tensor& mask, region::HoleFill fill) {
    region::RegionOptions o;
    o.fill = fill;
    return region::inpaint_photo(f, truth * (1 - mask), mask, s, o);
  };
  const auto error = [&](const at::Tensor& out, const at::Tensor& mask) {
    return ((out - truth).abs() * mask).sum().item<double>() / (mask.sum().item<double>() * 3);
  };
  region::RegionOptions o;
  EXPECT_TRUE(region::uses_exemplar(spot, o));
  EXPECT_FALSE(region::uses_exemplar(stroke, o));

  const at::Tensor spot_auto = inpaint(spot, region::HoleFill::Auto);
  EXPECT_EQ(cm::testing::max_abs_diff(spot_auto, inpaint(spot, region::HoleFill::Exemplar)), 0.0);
  const double smooth = error(inpaint(spot, region::HoleFill::Smooth), spot);
  EXPECT_LT(error(spot_auto, spot), 0.05) << "the stripes continue through the spot";
  EXPECT_GT(smooth, 0.2) << "a smooth start loses them";
  EXPECT_GT(cm::testing::max_abs_diff(inpaint(stroke, region::HoleFill::Auto), inpaint(stroke, region::HoleFill::Exemplar)), 0.1)
      << "the stroke keeps the mirror";
}

}  // namespace
