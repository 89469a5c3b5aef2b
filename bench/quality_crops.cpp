#include "bench/quality_crops.h"

#include "core/train/sample_grid.h"

#include <algorithm>

namespace cm::bench {

at::Tensor hole_crops(const std::vector<at::Tensor>& masks, const std::vector<std::vector<at::Tensor>>& images, int side) {
  std::vector<at::Tensor> cells;
  std::size_t columns = 0;
  for (std::size_t i = 0; i < masks.size() && i < images.size(); ++i) {
    const at::Tensor where = at::nonzero(masks[i][0][0] > 0);  // [n, 2], in raster order
    const int64_t h = masks[i].size(2), w = masks[i].size(3);
    int64_t cy = h / 2, cx = w / 2;
    if (where.size(0) > 0) {
      const at::Tensor middle = where[where.size(0) / 2];
      cy = middle[0].item<int64_t>(), cx = middle[1].item<int64_t>();
    }
    const int64_t s = std::min<int64_t>(side, std::min(h, w));
    const int64_t y0 = std::clamp<int64_t>(cy - s / 2, 0, h - s), x0 = std::clamp<int64_t>(cx - s / 2, 0, w - s);
    for (const at::Tensor& image : images[i]) cells.push_back(image.narrow(2, y0, s).narrow(3, x0, s).to(at::kFloat));
    columns = images[i].size();
  }
  if (cells.empty()) return at::Tensor();
  return train::image_grid(at::cat(cells).clamp(-1, 1), int(columns));
}

}  // namespace cm::bench
