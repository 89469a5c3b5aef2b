// denoise_quality — how well and how fast cmedit denoises photos at their own pixels, for each tile
// size and overlap, beside OpenCV's non-local means (fastNlMeansDenoisingColored, told the true
// level: an oracle the editor does not have). No other benchmark scores a denoise.
//
//   denoise_quality --model DIR --pool POOL [--photos 8] [--crop 384] [--levels 5,10,20]
//                   [--tiles 64:8,64:8:2,64:8:4] [--threads 2] [--save DIR] [--blur R] [--two-scales]
//                   [--per-crop]
//
// POOL is scripts/data/build_photo_pool.py's folder (photos/ and licences.tsv); the first --photos
// photos of its "test" split whose short side is at least twice --crop give each one crop of
// --crop² at their own pixels, from their centre. Each crop is made noisy with white Gaussian
// noise of each level (8-bit levels, a fixed seed) and rounded to 8 bits, as a file holds it;
// with --blur R the noise is first blurred by a Gaussian of R pixels (correlated, as a camera's
// demosaicing and compression leave it) and brought back to the level's standard deviation.
// --two-scales adds the first tile entry with the half-resolution photo denoised first (an
// experiment: docs/QUALITY.md, "Correlated noise"); --per-crop prints, after each level's rows,
// every crop's noise estimate at three scales and the strided one, and its PSNR by each method.
// cmedit estimates the level itself (the editor's default). A tile entry is SIZE:OVERLAP in
// pixels, then :MIRRORS (RegionOptions::mirrors: 1, 2 or 4; 1 when left out) and :PASSES
// (RegionOptions::denoise_passes: 1, 2, or 0 to choose by the level, the default). Prints one
// Markdown row per method and level: mean PSNR (dB) over the crops, and the time per megapixel. --save DIR writes every crop's noisy input and results there as PNG
// (CROP-LEVEL-clean.png, -noisy.png, -METHOD.png, METHOD its place in the table), to look at.
#include "bench/options.h"
#include "bench/quality_baselines.h"
#include "bench/quality_metrics.h"
#include "core/base/text.h"
#include "core/edit/edits.h"
#include "core/edit/region.h"
#include "core/imageio/image_file.h"
#include "core/model/model_loader.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/photo.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cm::bench::option;

// The centre crop of each held-out photo large enough, in [−1, 1].
std::vector<at::Tensor> crops(const fs::path& pool, int count, int64_t side) {
  std::ifstream list(pool / "licences.tsv");
  std::vector<at::Tensor> out;
  std::string line;
  while (int(out.size()) < count && std::getline(list, line)) {
    std::istringstream fields(line);
    std::string name, licence, source, split;
    std::getline(fields, name, '\t');
    std::getline(fields, licence, '\t');
    std::getline(fields, source, '\t');
    std::getline(fields, split, '\t');
    if (name.empty() || name[0] == '#' || split != "test") continue;
    const cm::imageio::Image image = cm::imageio::load_image(pool / "photos" / name);
    const int64_t h = image.height(), w = image.width();
    if (std::min(h, w) < 2 * side) continue;
    out.push_back(image.rgb.narrow(2, (h - side) / 2, side).narrow(3, (w - side) / 2, side).contiguous());
  }
  return out;
}

// Rounded to 8 bits, as a file holds a photo.
at::Tensor eight_bit(const at::Tensor& x) { return ((x.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void save_png(const at::Tensor& image, const std::string& path) { cv::imwrite(path, cm::bench::to_bgr8(image)); }

struct Method {
  std::string name;
  std::function<at::Tensor(const at::Tensor& noisy, double levels)> run;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--two-scales" || k == "--per-crop") a[k] = "yes";
    else if (i + 1 < argc) a[k] = argv[++i];
  }
  if (!a.count("--model") || !a.count("--pool")) {
    std::fprintf(stderr, "usage: see the comment at the top of bench/denoise_quality.cpp\n");
    return 2;
  }
  try {
    at::set_num_threads(std::stoi(option(a, "--threads", "2")));
    const cm::model::LoadedModel model = cm::model::load_model(cm::model::find_model(a["--model"]));
    const cm::model::ConsistencyFunction& f = *model.function;
    const int64_t side = std::stoi(option(a, "--crop", "384"));
    const double blur = std::stod(option(a, "--blur", "0"));
    const std::vector<at::Tensor> clean = crops(a["--pool"], std::stoi(option(a, "--photos", "8")), side);
    if (clean.empty()) throw std::runtime_error("no test photo in the pool is large enough");

    std::vector<Method> methods;
    for (const std::string& entry : cm::split_list(option(a, "--tiles", "64:8,64:8:2,64:8:4"))) {
      std::vector<int> fields;
      for (std::size_t at = 0; at <= entry.size();) {
        const std::size_t colon = std::min(entry.find(':', at), entry.size());
        fields.push_back(std::stoi(entry.substr(at, colon - at)));
        at = colon + 1;
      }
      cm::edit::region::RegionOptions o;
      o.tile_size = fields.at(0);
      o.tile_overlap = fields.at(1);
      o.mirrors = fields.size() > 2 ? fields[2] : 1;
      o.denoise_passes = fields.size() > 3 ? fields[3] : 0;
      o.max_work_size = o.tile_size;
      methods.push_back({"cmedit, tiles " + entry, [&f, o](const at::Tensor& noisy, double) {
                           cm::edit::EditSettings s;
                           return cm::edit::region::denoise_photo(f, noisy, cm::edit::kEstimateNoiseSigma, s, o);
                         }});
    }
    if (a.count("--two-scales")) {  // an experiment: the half-resolution denoise's change first
      const auto first = methods.front().run;
      methods.push_back({methods.front().name + ", half resolution first", [first](const at::Tensor& noisy, double levels) {
                           const at::Tensor half = at::avg_pool2d(noisy, 2);
                           const at::Tensor change = first(half, levels) - half;
                           const at::Tensor up = at::upsample_bilinear2d(change, {noisy.size(2), noisy.size(3)}, false);
                           return first((noisy + up).clamp(-1, 1), levels);
                         }});
    }
    methods.push_back({"non-local means (true level)", [](const at::Tensor& noisy, double levels) {
                         cv::Mat out;
                         const float h = float(levels);
                         cv::fastNlMeansDenoisingColored(cm::bench::to_bgr8(noisy), out, h, h, 7, 21);
                         return cm::bench::from_bgr8(out);
                       }});

    std::printf("%zu crops of %lld² from the pool's test photos, %d threads\n\n", clean.size(), (long long)side,
                at::get_num_threads());
    std::printf("| method | noise (8-bit levels) | PSNR noisy | PSNR | s per megapixel |\n|---|---|---|---|---|\n");
    const at::Tensor everywhere = at::ones({1, 1, side, side});
    for (const std::string& level_text : cm::split_list(option(a, "--levels", "5,10,20"))) {
      const double levels = std::stod(level_text);
      std::vector<at::Tensor> noisy;
      double noisy_psnr = 0;
      for (std::size_t i = 0; i < clean.size(); ++i) {
        at::Tensor z = cm::sampling::NoiseField(100 + i).crop(0, {1, 3, 0, 0, side, side});
        if (blur > 0) {  // correlated, as a camera's demosaicing leaves it, then back to a unit std
          const int64_t r = int64_t(std::ceil(3 * blur));
          const at::Tensor t = at::arange(-r, r + 1, at::kFloat);
          const at::Tensor g = at::exp(-t * t / float(2 * blur * blur));
          const at::Tensor k = (g / g.sum()).view({1, 1, -1});
          z = at::conv2d(z.view({3, 1, side, side}), (k.view({1, 1, 1, -1}) * k.view({1, 1, -1, 1})), {}, 1, r).view({1, 3, side, side});
          z = z / z.std();
        }
        noisy.push_back(eight_bit(clean[i] + z * (levels * 2 / 255)));
        noisy_psnr += cm::bench::psnr(noisy.back(), clean[i], everywhere) / double(clean.size());
      }
      // --per-crop: each crop's noise estimate at the finest scale, on the photo pooled 2× and 4×
      // (scaled back), and on its flattest blocks (estimate_flat_noise, strided and finest), and
      // each method's PSNR on it: the data for the rules of a denoise's two passes.
      std::vector<std::string> per_crop(clean.size());
      if (a.count("--per-crop"))
        for (std::size_t i = 0; i < clean.size(); ++i) {
          const cm::edit::FlatNoise flat = cm::edit::estimate_flat_noise(noisy[i]).value();
          per_crop[i] = fmt::format("crop {} at {} levels: estimate {:.2f}, pooled {:.2f}, 4× pooled {:.2f}, "
                                    "flattest strided {:.2f} finest {:.2f}; PSNR", i, level_text,
                                    cm::edit::estimate_noise_sigma(noisy[i]) * 127.5,
                                    2 * cm::edit::estimate_noise_sigma(at::avg_pool2d(noisy[i], 2)) * 127.5,
                                    4 * cm::edit::estimate_noise_sigma(at::avg_pool2d(noisy[i], 4)) * 127.5,
                                    flat.strided * 127.5, flat.finest * 127.5);
        }
      for (const Method& m : methods) {
        double total = 0, seconds = 0;
        for (std::size_t i = 0; i < clean.size(); ++i) {
          const auto start = std::chrono::steady_clock::now();
          const at::Tensor out = m.run(noisy[i], levels);
          seconds += seconds_since(start);
          if (a.count("--save")) {
            const std::string stem = fmt::format("{}/{}-{}-", a["--save"], i, level_text);
            if (&m == &methods.front()) save_png(noisy[i], stem + "noisy.png"), save_png(clean[i], stem + "clean.png");
            save_png(out, stem + std::to_string(&m - methods.data()) + ".png");
          }
          const double crop_psnr = cm::bench::psnr(eight_bit(out), clean[i], everywhere);
          total += crop_psnr;
          if (a.count("--per-crop")) per_crop[i] += fmt::format(" {:.2f}", crop_psnr);
        }
        std::printf("| %s | %g | %.2f | %.2f | %.1f |\n", m.name.c_str(), levels, noisy_psnr, total / double(clean.size()),
                    seconds / (double(clean.size()) * double(side * side) / 1e6));
        std::fflush(stdout);
      }
      for (const std::string& line : per_crop)
        if (!line.empty()) std::printf("%s\n", line.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "denoise_quality: %s\n", e.what());
    return 1;
  }
  return 0;
}
