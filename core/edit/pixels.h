// A photo as stored pixels (core/base/pixel_format.h: uint8 for 8-bit files, offset int16 for
// 16-bit ones) or as float in [−1, 1]. Region edits (region.h) take either: they read windows of
// the photo as float and write their results back in the photo's own form, so a 50-megapixel photo
// never exists as floats.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// One [B,C,H,W] float image of finite values; cm::Error otherwise, naming `what` ("the colorization
// image holds NaN ...").
void require_image(const at::Tensor& image, const char* what);

// uint8 or int16: integers as a file holds them.
bool is_stored(const at::Tensor& photo);

// Float in [−1, 1]: stored pixels are scaled (v·2/max − 1); a float tensor comes back as it is.
at::Tensor to_unit(const at::Tensor& photo);

// `unit` (float in [−1, 1]) in the form of `like`: rounded to the nearest stored value and clamped
// for uint8 and int16 (a band of rows at a time), only converted to the float type of `like`
// otherwise.
at::Tensor to_form_of(const at::Tensor& unit, const at::Tensor& like);

}  // namespace cm::edit
