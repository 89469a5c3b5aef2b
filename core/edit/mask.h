// Masks: which pixels an edit may change. A mask is [1,1,H,W] (or [B,1,H,W]) float, 1 = edit,
// 0 = keep; soft values in between are allowed (feathered edges) but never outside [0, 1]. A
// mask of a large photo may be uint8 or bool (0 and 1), a quarter of the float's memory.
#pragma once

#include <ATen/core/Tensor.h>

namespace cm::edit {

// Throws cm::Error(ShapeMismatch) when the mask's size differs from the image's (the message
// gives both sizes as W×H), and cm::Error(BadArgument) for a mask that is not one channel, holds
// NaN/Inf, or leaves [0, 1]. image: [B,C,H,W]; mask: [B,1,H,W] or [1,1,H,W].
void validate_mask(const at::Tensor& image, const at::Tensor& mask);

}  // namespace cm::edit
