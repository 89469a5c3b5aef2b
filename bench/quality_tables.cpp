#include "bench/quality_tables.h"

#include "bench/quality_crops.h"
#include "bench/quality_plot.h"
#include "core/engine/edit_registry.h"
#include "core/imageio/image_file.h"
#include "core/sampling/schedule.h"
#include "core/train/sample_grid.h"

#include <ATen/ATen.h>

#include <cstdio>

namespace cm::bench {

using edit::EditKind;

namespace {

constexpr int kGridRows = 10;  // methods in an image grid

}  // namespace

bool masked(EditKind kind) { return kind == EditKind::Inpaint || kind == EditKind::Sketch; }

std::string table_name(const EditTable& t) {
  const std::string edit(edit::to_string(t.kind));
  return masked(t.kind) ? edit + "-" + name_of(t.hole) : edit;
}

std::string fixed(double v, const char* format) {
  if (std::isnan(v)) return "—";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

const char* csv_header() {
  return "edit,holes,method,steps,strength,default_strength,sigma_start,fresh,work,shrink,psnr,ssim,grad_ratio,swd,ms,changed_outside,"
         "chroma_hf,mean_deviation,chroma_rmse,colorfulness\n";
}

void print_table(EditTable& t, const model::ModelCard& card, int model_size, std::size_t photos, const Varied& varied,
                 std::ostream* csv, const std::filesystem::path& plot_dir) {
  const engine::EditSetting& fill_setting = *engine::find_setting(engine::spec_of(EditKind::Inpaint), "fill");
  const std::string name = table_name(t);
  // One table per edit (and kind of mask): the common columns, then the edit's own.
  const char* extra = masked(t.kind) ? " chroma HF | changed outside |" : t.kind == EditKind::SuperResolve ? " max 4×4 mean deviation |" : " chroma RMSE | colourfulness |";
  const char* swd_where = patches_centred_in_mask(t.hole) ? "patches centred in the mask" : "its bounding box";
  if (t.kind == EditKind::Inpaint)
    std::printf("\nInpainting, %s (%.0f %% of the photo on average), inside the mask (SWD: %s):\n\n",
                description_of(t.hole), 100 * t.coverage.value(), swd_where);
  if (t.kind == EditKind::Sketch)
    std::printf("\nSketch, %s painted over (%.0f %% of the photo on average), inside the mask (SWD: %s):\n\n",
                description_of(t.hole), 100 * t.coverage.value(), swd_where);
  if (t.kind == EditKind::SuperResolve) std::printf("\nSuper-resolution ×4 (from the 4×4 means), whole photo:\n\n");
  if (t.kind == EditKind::Colorize)
    std::printf("\nColorization from the luma%s, whole photo (colourfulness of the truth %.1f; grad ratio: of the colour, the photo minus its grey):\n\n",
                t.hints > 0 ? (" and " + std::to_string(t.hints) + " colour hints of the truth's").c_str() : "", t.truth_colorfulness.value());
  std::printf("| method | steps | strength | σ_start | fresh | work | PSNR (dB) | SSIM | grad ratio | SWD ×10³ | ms |%s\n|---|---|---|---|---|---|---|---|---|---|---|%s\n",
              extra, t.kind == EditKind::SuperResolve ? "---|" : "---|---|");
  Scatter plot{name + ": PSNR against gradient ratio, " + std::to_string(photos) + " photos", "gradient ratio (result / truth)",
               "PSNR (dB)", {}, {1.0}, "as sharp as the truth"};
  for (Row& row : t.rows) {
    const bool cm_row = !row.baseline;
    // Along a mask the default may be chosen window by window (engine::window_strength): no one level.
    const bool per_window = cm_row && row.default_strength && masked(t.kind) && engine::spec_of(t.kind).native_strength >= 0;
    const double sigma = cm_row && !per_window ? sampling::sigma_for_strength(row.strength, card.noise) : NAN;
    const int declared = row.work < 0 ? engine::spec_of(t.kind).work_size : row.work;  // what runs
    const int work = cm_row ? (declared > 0 ? declared : model_size) : 0;
    const std::string strength = per_window ? "per window (default)" : fixed(row.strength, "%.2f") + (row.default_strength ? " (default)" : "");
    const auto v = [&](const char* k) { return row.m.count(k) ? row.m[k].value() : NAN; };
    std::printf("| %s | %s | %s | %s | %s | %s | %.2f | %.3f | %.3f | %.1f | %.0f |", row.method.c_str(), cm_row ? std::to_string(row.steps).c_str() : "—",
                strength.c_str(), fixed(sigma, "%.3g").c_str(), fixed(row.fresh, "%.2g").c_str(), cm_row ? std::to_string(work).c_str() : "—",
                v("psnr"), v("ssim"), v("grad"), row.swd, v("ms"));
    if (masked(t.kind)) std::printf(" %.2f | %.2g %% |\n", v("chroma_hf"), 100 * v("changed"));
    if (t.kind == EditKind::SuperResolve) std::printf(" %.2g |\n", v("deviation"));
    if (t.kind == EditKind::Colorize) std::printf(" %.4f | %.1f |\n", v("chroma"), v("colorfulness"));
    if (csv) {
      const auto cell = [](double x) { return std::isnan(x) ? std::string() : fixed(x, "%.6g"); };
      *csv << edit::to_string(t.kind) << ',' << (masked(t.kind) ? name_of(t.hole) : "") << ',' << row.method << ','
          << (cm_row ? std::to_string(row.steps) : "") << ',' << cell(row.strength) << ',' << (row.default_strength ? 1 : 0) << ','
          << cell(sigma) << ',' << cell(row.fresh) << ',' << (cm_row ? std::to_string(work) : "") << ',' << (cm_row ? cell(row.shrink) : "")
          << ',' << cell(v("psnr")) << ',' << cell(v("ssim")) << ',' << cell(v("grad")) << ',' << cell(row.swd) << ',' << cell(v("ms")) << ','
          << cell(v("changed")) << ',' << cell(v("chroma_hf")) << ',' << cell(v("deviation")) << ',' << cell(v("chroma")) << ',' << cell(v("colorfulness")) << '\n';
    }
    // Labels name only what the sweep varies, so they stay short enough to read.
    std::string label = row.method;
    if (cm_row) {
      label = std::to_string(row.steps) + (row.steps > 1 ? " steps, " : " step, ") + fixed(row.strength, "%.2f");
      if (varied.fills) label = engine::choice_name(fill_setting, row.fill) + ", " + label;
      if (varied.fresh) label += ", fresh " + fixed(row.fresh, "%.2g");
      if (varied.work) label += ", work " + std::to_string(work);
      if (masked(t.kind) && varied.shrinks) label += ", shrink " + fixed(row.shrink, "%g");
    }
    plot.points.push_back({label, v("grad"), v("psnr"), !cm_row});
}
if (!plot_dir.empty()) write_scatter_svg(plot_dir / (name + ".svg"), plot);

}

void write_grid_png(const std::filesystem::path& path, const at::Tensor& grid) {
  imageio::Image image;
  image.rgb = grid.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
  imageio::save_image(path, image);
}

void write_grids(const std::vector<EditTable>& tables, const std::filesystem::path& out, int crop_side) {
  // Rows: the holed photo (inpaint; colorize's input is its grey baseline), the first methods and
  // configurations, the truth.
  for (const EditTable& t : tables) {
    std::vector<at::Tensor> all;
    if (masked(t.kind)) all.insert(all.end(), t.input_grid.begin(), t.input_grid.end());
    for (std::size_t r = 0; r < t.rows.size() && int(r) < kGridRows; ++r) all.insert(all.end(), t.rows[r].grid.begin(), t.rows[r].grid.end());
    all.insert(all.end(), t.truth_grid.begin(), t.truth_grid.end());
    write_grid_png(out / (table_name(t) + ".png"), train::image_grid(at::cat(all).clamp(-1, 1), int(t.truth_grid.size())));
    if (!masked(t.kind) || crop_side <= 0) continue;
    // At the photo's own pixels around the hole: the input, the first baseline (Telea, the
    // painting), the first cmedit row, the truth.
    std::size_t first_model = 0;
    while (first_model < t.rows.size() && t.rows[first_model].baseline) ++first_model;
    if (first_model == t.rows.size()) continue;
    std::vector<std::vector<at::Tensor>> per_photo;
    for (std::size_t i = 0; i < t.truth_grid.size(); ++i)
      per_photo.push_back({t.input_grid[i], t.rows[0].grid[i], t.rows[first_model].grid[i], t.truth_grid[i]});
    const at::Tensor crops = hole_crops(t.mask_grid, per_photo, crop_side);
    imageio::Image image;
    image.rgb = crops.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
    imageio::SaveOptions jpeg;
    jpeg.jpeg_quality = 90;
    imageio::save_image(out / (table_name(t) + "-crops.jpg"), image, jpeg);
  }
}

}  // namespace cm::bench
