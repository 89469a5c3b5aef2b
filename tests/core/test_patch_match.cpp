// PatchMatch on one level of the exemplar fill (core/edit/patch_match.h, internal to it): a search
// can be held to the targets near some pixels, as an onion peel holds it to those near its ring,
// and a vote to some pixels, without changing what the rest of the level has found.
#include "core/analytic_model.h"
#include "core/edit/patch_match.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

namespace cm {
namespace {

using edit::detail::PatchMatcher;
using edit::detail::PyramidLevel;

constexpr int64_t kSide = 48;
constexpr int kPatch = 7;

// [H·W] bool: the pixels of a box.
at::Tensor box_pixels(int64_t y0, int64_t x0, int64_t height, int64_t width) {
  return cm::testing::box_mask(kSide, y0, x0, height, width).reshape({-1}) > 0;
}

// [H·W] bool: the pixels more than `reach` (Chebyshev) from every pixel of `m`.
at::Tensor beyond(const at::Tensor& m, int64_t reach) {
  const int64_t k = 2 * reach + 1;
  const at::Tensor image = m.to(at::kFloat).view({1, 1, kSide, kSide});
  return (at::max_pool2d(image, {k, k}, {1, 1}, {reach, reach}) == 0).reshape({-1});
}

// A search near a few pixels measures and moves only the targets centred there: every pixel
// whose covering patches are all centred elsewhere keeps the source it was copied from, while the
// pixels searched find new ones for an estimate that changed under them. A vote held to some
// pixels changes no other. Both the fused CPU loops and the tensor ops.
TEST(PatchMatch, ASearchNearSomePixelsLeavesEveryOtherTargetAsItWas) {
  for (const bool fused : {true, false}) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
    const at::Tensor image = at::rand({1, 4, kSide, kSide}, gen);
    const at::Tensor hole_image = box_pixels(12, 10, 20, 28).view({1, 1, kSide, kSide});
    PatchMatcher m(PyramidLevel{image, hole_image, at::Tensor(), 3}, kPatch, gen, fused);
    ASSERT_TRUE(m.usable());
    m.start(nullptr);
    m.search(m.known_estimate(), 2);
    const at::Tensor before = m.copied_from().clone();

    // The hole's pixels changed, and a search near a block at its left end.
    const at::Tensor hole = m.hole();
    const at::Tensor estimate = at::where(hole.view({-1, 1}), at::rand({kSide * kSide, 4}, gen), m.known_estimate());
    const at::Tensor near = box_pixels(18, 14, 5, 5);
    m.search(estimate, 2, at::ones({kSide * kSide}), near);
    const at::Tensor after = m.copied_from();

    // A pixel's copy is its best covering patch's: the patches centred within kPatch / 2 of it.
    const at::Tensor untouched = beyond(near, kPatch / 2) & hole;
    ASSERT_GT(untouched.sum().item<int64_t>(), 200);
    EXPECT_TRUE(at::equal(after.masked_select(untouched), before.masked_select(untouched))) << (fused ? "fused" : "tensor ops");
    const at::Tensor searched = near & hole;
    EXPECT_GT((after.masked_select(searched) != before.masked_select(searched)).sum().item<int64_t>(), 0)
        << "the targets near the block were searched again (" << (fused ? "fused" : "tensor ops") << ")";

    const at::Tensor only = box_pixels(12, 10, 3, 28);
    const at::Tensor voted = m.vote(estimate, false, only);
    const at::Tensor changed = (voted != estimate).any(1);
    EXPECT_GT(changed.sum().item<int64_t>(), 0);
    EXPECT_FALSE((changed & ~(only & hole)).any().item<bool>()) << "a vote held to three rows changed another pixel";
  }
}

// The first search of an onion peel, right after start and near its first ring, trusts only the
// targets it searched: the rest hold random matches that were never measured, and must not vote.
TEST(PatchMatch, TargetsNeverSearchedSinceTheStartDoNotVote) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor image = at::rand({1, 4, kSide, kSide}, gen);
  const at::Tensor hole_image = box_pixels(12, 10, 20, 28).view({1, 1, kSide, kSide});
  PatchMatcher m(PyramidLevel{image, hole_image, at::Tensor(), 3}, kPatch, gen, true);
  m.start(nullptr);
  const at::Tensor known = (~m.hole()).to(at::kFloat);
  m.search(m.known_estimate(), 1, known, box_pixels(9, 7, 3, 34));  // the targets along the hole's top edge
  const at::Tensor copied = m.copied_from() >= 0;
  EXPECT_TRUE(copied.masked_select(box_pixels(12, 10, 2, 28)).all().item<bool>()) << "the top rows are covered by searched targets";
  EXPECT_FALSE(copied.masked_select(box_pixels(24, 10, 8, 28)).any().item<bool>()) << "the bottom rows by none";
}

}  // namespace
}  // namespace cm
