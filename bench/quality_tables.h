// quality's tables (bench/quality.cpp): one per edit, and per kind of mask for the edits along a
// mask, with a row per baseline and per configuration of the model; their means over the photos,
// and how they are reported: a markdown table on stdout, CSV rows, an SVG plot, image grids and
// crops at the photo's own pixels (docs/QUALITY.md).
#pragma once

#include "bench/quality_inputs.h"
#include "bench/quality_metrics.h"
#include "core/edit/edit_kind.h"
#include "core/edit/region.h"
#include "core/model/model_card.h"

#include <ATen/core/Tensor.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace cm::bench {

struct Mean {
  double sum = 0;
  int n = 0;
  void add(double v) { sum += v, ++n; }
  double value() const { return n ? sum / n : NAN; }
};

// One line of an edit's table: a baseline, or the model at one configuration.
struct Row {
  std::string method;
  std::function<at::Tensor(const Photo&)> baseline{};  // empty: the model, through the engine
  int steps = 0;
  double strength = NAN, fresh = NAN;
  bool default_strength = false;
  int work = -1;  // region.max_work_size; 0 = the model's size, −1 = the edit's default
  double shrink = 2;  // region.window_shrink
  double texture = edit::region::RegionOptions{}.texture;
  int colour_blur = edit::region::RegionOptions{}.colour_blur;
  int exemplar_depth = edit::region::RegionOptions{}.exemplar_depth;
  int fill = 0;   // inpaint's start (edit::region::HoleFill): auto, smooth, exemplar
  std::map<std::string, Mean> m{};
  std::vector<PatchSet> patches{};  // per photo, pooled for the SWD at the end
  std::vector<at::Tensor> grid{};   // the first photos' results, for --out
  double swd = NAN;                // mean over levels, ×10³
};

struct EditTable {
  edit::EditKind kind;
  Hole hole = Hole::Strokes;  // inpaint's masks
  int hints = 0;              // colorize's colour hints a photo
  std::vector<Row> rows;
  std::vector<PatchSet> truth_patches;
  std::vector<at::Tensor> input_grid, truth_grid, mask_grid;
  Mean coverage, truth_colorfulness;
};

constexpr int kGridPhotos = 6;  // photos in an image grid

// Inpainting and sketching change only the mask: their tables are per kind of mask, scored inside it.
bool masked(edit::EditKind kind);
// The table's file names: the edit, and for inpainting and sketching the kind of mask ("inpaint-cable").
std::string table_name(const EditTable& t);
// printf's `format` of v; "—" for NaN (a column a row does not have).
std::string fixed(double v, const char* format);

// What a sweep varies, so the plot's labels name only that.
struct Varied {
  bool fills = false, fresh = false, work = false, shrinks = false;
};

// The CSV's first line.
const char* csv_header();
// The table as markdown on stdout, its rows to `csv` (when not null), and its plot of PSNR against
// the gradient ratio into plot_dir (when not empty). Row::swd must be set.
void print_table(EditTable& t, const model::ModelCard& card, int model_size, std::size_t photos, const Varied& varied,
                 std::ostream* csv, const std::filesystem::path& plot_dir);
// An image grid ([H, W, 3] bytes, train::image_grid) as a compressed PNG, unlike write_png.
void write_grid_png(const std::filesystem::path& path, const at::Tensor& grid);
// Per table a PNG grid (rows: the input along a mask, the first methods, the truth) and, along a
// mask with crop_side > 0, a JPEG of crops around each hole at the photo's own pixels (the
// input, the first baseline, the first cmedit row, the truth).
void write_grids(const std::vector<EditTable>& tables, const std::filesystem::path& out, int crop_side);

}  // namespace cm::bench
