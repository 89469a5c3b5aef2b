#include "core/edit/edit_kind.h"
#include "core/edit/mask.h"
#include "core/expect_error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

using cm::ErrorCode;
using namespace cm::edit;

TEST(EditKind, NamesRoundTrip) {
  for (EditKind kind : all_edit_kinds()) EXPECT_EQ(parse_edit_kind(to_string(kind)), kind);
  EXPECT_EQ(parse_edit_kind("superres"), EditKind::SuperResolve);
}

TEST(EditKind, UnknownNameListsTheValidOnes) {
  EXPECT_CM_ERROR(parse_edit_kind("blur"), ErrorCode::BadArgument,
                  "unknown edit 'blur' (expected one of: generate, inpaint, colorize, superres, sketch, denoise, interpolate)");
}

TEST(Mask, AcceptsAMaskOfTheImagesSize) {
  const at::Tensor image = at::zeros({1, 3, 48, 64});
  EXPECT_NO_THROW(validate_mask(image, at::ones({1, 1, 48, 64})));
  EXPECT_NO_THROW(validate_mask(image, at::full({1, 1, 48, 64}, 0.5)));  // feathered
}

TEST(Mask, SizeMismatchNamesBothSizes) {
  const at::Tensor image = at::zeros({1, 3, 48, 64});
  EXPECT_CM_ERROR(validate_mask(image, at::ones({1, 1, 64, 48})), ErrorCode::ShapeMismatch,
                  "the mask is 48×64 pixels but the image is 64×48");
}

TEST(Mask, RejectsMasksThatAreNotMasks) {
  const at::Tensor image = at::zeros({2, 3, 8, 8});
  EXPECT_CM_ERROR(validate_mask(image, at::ones({1, 3, 8, 8})), ErrorCode::BadArgument, "single-channel");
  EXPECT_CM_ERROR(validate_mask(image, at::full({1, 1, 8, 8}, 2.0)), ErrorCode::BadArgument, "[0, 1]");
  EXPECT_CM_ERROR(validate_mask(image, at::full({1, 1, 8, 8}, NAN)), ErrorCode::BadArgument, "NaN");
  EXPECT_CM_ERROR(validate_mask(image, at::ones({3, 1, 8, 8})), ErrorCode::ShapeMismatch, "3 masks were given for 2 images");
  EXPECT_NO_THROW(validate_mask(image, at::ones({2, 1, 8, 8})));
}

}  // namespace
