// A mask's pixels on the host, a row at a time: what mask_windows.cpp and mask_spots.cpp read.
#pragma once

#include "core/base/error.h"
#include "core/edit/mask_windows.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <utility>

namespace cm::edit::region {

// The mask's pixels on the host, read a row at a time whatever their dtype: tensor reductions cost
// ~100 instructions a pixel here (callgrind), and a float copy of a 50-megapixel mask is 200 MB.
class MaskRows {
 public:
  explicit MaskRows(const at::Tensor& mask) {
    at::Tensor m = mask;
    if (m.dim() == 4) m = m.size(0) == 1 ? m[0][0] : m.amax({0, 1});
    if (m.dim() != 2) throw Error(ErrorCode::BadArgument, "a mask is [1,1,H,W] or [H,W]");
    if (m.scalar_type() != at::kByte && m.scalar_type() != at::kBool && m.scalar_type() != at::kFloat)
      m = m.to(at::kFloat);
    m_ = m.to(at::kCPU).contiguous();
    height_ = m_.size(0), width_ = m_.size(1);
  }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  // hole[x − x0] = 1 where mask > 0, for x in [x0, x1) of row y (inside the photo).
  void row(int64_t y, int64_t x0, int64_t x1, uint8_t* hole) const {
    if (m_.scalar_type() == at::kFloat) {
      const float* p = m_.data_ptr<float>() + y * width_;
      for (int64_t x = x0; x < x1; ++x) hole[x - x0] = p[x] > 0.f;
    } else {  // uint8 and bool are bytes
      const uint8_t* p = static_cast<const uint8_t*>(m_.data_ptr()) + y * width_;
      for (int64_t x = x0; x < x1; ++x) hole[x - x0] = p[x] != 0;
    }
  }
  // The columns [first, last) of row y's first and last hole pixels; first == last when it has
  // none. A mask's bytes are read eight at a time: a dab on a 50 MP photo leaves almost every row
  // empty, and its scans (bounding box, parts) were 30-50 ms each, several a job.
  std::pair<int64_t, int64_t> span(int64_t y) const {
    int64_t first = 0, last = width_;
    if (m_.scalar_type() == at::kFloat) {
      const float* p = m_.data_ptr<float>() + y * width_;
      while (first < last && !(p[first] > 0.f)) ++first;
      while (last > first && !(p[last - 1] > 0.f)) --last;
      return {first, last};
    }
    const uint8_t* p = static_cast<const uint8_t*>(m_.data_ptr()) + y * width_;
    const auto any = [p](int64_t at) {
      uint64_t word;
      std::memcpy(&word, p + at, sizeof word);
      return word != 0;
    };
    while (first + 8 <= last && !any(first)) first += 8;
    while (first < last && !p[first]) ++first;
    while (last - 8 >= first && !any(last - 8)) last -= 8;
    while (last > first && !p[last - 1]) --last;
    return {first, last};
  }

 private:
  at::Tensor m_;
  int64_t height_ = 0, width_ = 0;
};

// hole_depths (mask_windows.h) of a mask already read: a caller that asks for many areas of one
// mask reads it once.
at::Tensor hole_depths(const MaskRows& mask, const Box& area, int cap, bool outside_is_hole);

}  // namespace cm::edit::region
