#include "core/edit/region_common.h"

#include "core/base/error.h"
#include "core/edit/pixels.h"
#include "core/edit/resample.h"
#include "core/model/state_dict.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace cm::edit::region::detail {

at::Tensor slice(const at::Tensor& x, const Box& b) { return x.narrow(2, b.y0, b.height()).narrow(3, b.x0, b.width()); }

at::Tensor crop_replicate(const at::Tensor& x, const Box& area) {
  const int64_t height = x.size(2), width = x.size(3);
  if (area.y0 >= 0 && area.x0 >= 0 && area.y1 <= height && area.x1 <= width) return slice(x, area);
  const auto opts = at::TensorOptions().dtype(at::kLong).device(x.device());
  const at::Tensor rows = (at::arange(area.height(), opts) + area.y0).clamp(0, height - 1);
  const at::Tensor cols = (at::arange(area.width(), opts) + area.x0).clamp(0, width - 1);
  return x.index_select(2, rows).index_select(3, cols);
}

int64_t place(int64_t lo, int64_t hi, int64_t side, int64_t n) {
  if (side >= n) return (n - side) / 2;
  return std::clamp((lo + hi) / 2 - side / 2, int64_t(0), n - side);
}

std::pair<Box, Box> visible_part(const Box& area, int64_t height, int64_t width) {
  const Box in_photo = intersection(area, Box{0, 0, height, width});
  return {in_photo, relative(in_photo, area)};
}

void require_photo(const at::Tensor& photo, const char* what) {
  if (!photo.defined() || photo.dim() != 4 || photo.size(0) != 1 || !(photo.is_floating_point() || is_stored(photo)))
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} works on one [1,C,H,W] photo, got {}", what,
                                                      photo.defined() ? model::shape_string(photo.sizes()) : "nothing"));
  if (photo.size(2) < 1 || photo.size(3) < 1) throw Error(ErrorCode::BadArgument, "the photo is empty");
}

int64_t model_size(const model::ConsistencyFunction& f) { return f.spec().image_size; }

int64_t work_size(const model::ConsistencyFunction& f, const RegionOptions& o, int64_t side) {
  const int64_t model = model_size(f);
  if (o.max_work_size <= model) return model;
  const int64_t cap = (o.max_work_size + 7) / 8 * 8;
  return std::clamp((side + 7) / 8 * 8, model, cap);
}

at::Tensor compositing_weights(const at::Tensor& mask, const Box& area, const RegionOptions& o) {
  const int64_t reach = o.grow + 2 * o.feather + 1;
  const Box seen = intersection(Box{area.y0 - reach, area.x0 - reach, area.y1 + reach, area.x1 + reach},
                                Box{0, 0, mask.size(2), mask.size(3)});
  at::Tensor m = slice(mask, seen);
  m = m.is_floating_point() ? m.to(at::kFloat) : (m > 0).to(at::kFloat);
  const at::Tensor w = feather_weights(m, o.grow, o.feather);
  return crop_replicate(w, relative(area, seen));
}

sampling::LoopControl part_control(const sampling::LoopControl& job, int index, int steps_per_part, int parts) {
  sampling::LoopControl c = job;
  c.step_offset = job.step_offset + index * steps_per_part;
  c.total_steps = job.total_steps > 0 ? job.total_steps : parts * steps_per_part;
  return c;
}

}  // namespace cm::edit::region::detail
