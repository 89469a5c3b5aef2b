// quality — how well a model edits held-out photos, through the editor's real pipeline
// (core/edit/region.h), side by side with classical baselines. Results go to docs/QUALITY.md.
//
//   quality --model DIR --pack PACK [--photos 100] [--size 192] [--samples 256] [--steps 1,2]
//           [--sample-steps 1,2,4] [--seed 0] [--threads 2] [--out DIR]
//
// --steps: the edits' step counts (the editor's preview and refinement); --sample-steps: the
// unconditional samples'.
//
// On the pack's held-out (test) photos, each centre-cropped to a size×size square:
//   inpaint   free-form brush masks: PSNR / SSIM inside the mask; CM vs OpenCV Telea and Navier-Stokes
//   superres  ×4 from the 4×4 box mean: PSNR / SSIM vs bicubic, and the largest deviation of the
//             result's 4×4 means from the input (0 up to rounding: the edit keeps them)
//   colorize  from the luma: chroma RMSE vs the truth, and colourfulness (Hasler–Süsstrunk) of
//             result and truth; the baseline is the grey input
//   generate  sliced Wasserstein distance of 7×7 Laplacian-pyramid patches (Karras et al. 2018)
//             between samples and held-out crops (the same crop sampler as training), per step count
// --out writes sample grids as PNG.
#include "core/edit/linear_operator.h"
#include "core/edit/region.h"
#include "core/edit/resample.h"
#include "core/imageio/image_file.h"
#include "core/model/model_loader.h"
#include "core/sampling/multistep.h"
#include "core/train/data_source.h"
#include "core/train/image_pack.h"
#include "core/train/sample_grid.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cm::edit::EditSettings;

// --- metrics (images in [−1, 1], [1, 3, H, W]) --------------------------------------------------

double psnr(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {
  const at::Tensor m = mask.expand_as(a).to(at::kBool);
  const double mse = ((a - b) / 2).pow(2).masked_select(m).mean().item<double>();
  return 10 * std::log10(1.0 / std::max(mse, 1e-12));
}

// Mean SSIM (Gaussian window 11, σ 1.5, per channel, on [0, 1]) over the mask's pixels.
double ssim(const at::Tensor& a_in, const at::Tensor& b_in, const at::Tensor& mask) {
  const at::Tensor a = (a_in + 1) / 2, b = (b_in + 1) / 2;
  const at::Tensor g = at::exp(-at::pow(at::arange(-5, 6, at::kFloat), 2) / (2 * 1.5 * 1.5));
  const at::Tensor k1 = (g / g.sum());
  const at::Tensor kernel = (k1.view({11, 1}) * k1.view({1, 11})).view({1, 1, 11, 11}).repeat({3, 1, 1, 1});
  const auto blur = [&](const at::Tensor& x) { return at::conv2d(at::reflection_pad2d(x, {5, 5, 5, 5}), kernel, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, 3); };
  const at::Tensor mu_a = blur(a), mu_b = blur(b);
  const at::Tensor var_a = blur(a * a) - mu_a * mu_a;
  const at::Tensor var_b = blur(b * b) - mu_b * mu_b;
  const at::Tensor cov = blur(a * b) - mu_a * mu_b;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const at::Tensor map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
  return map.masked_select(mask.expand_as(map).to(at::kBool)).mean().item<double>();
}

// Hasler & Süsstrunk (2003) colourfulness, on 0..255 RGB.
double colorfulness(const at::Tensor& image) {
  const at::Tensor x = (image[0] + 1) * 127.5;
  const at::Tensor rg = x[0] - x[1], yb = 0.5 * (x[0] + x[1]) - x[2];
  const double s = std::sqrt(rg.var(false).item<double>() + yb.var(false).item<double>());
  const double m = std::sqrt(std::pow(rg.mean().item<double>(), 2) + std::pow(yb.mean().item<double>(), 2));
  return s + 0.3 * m;
}

double chroma_rmse(const at::Tensor& a, const at::Tensor& b) {
  const cm::edit::LumaChromaOperator op;
  return (op.forward(a).narrow(1, 1, 2) - op.forward(b).narrow(1, 1, 2)).pow(2).mean().sqrt().item<double>();
}

// --- sliced Wasserstein distance of Laplacian-pyramid patches -------------------------------------

std::vector<at::Tensor> laplacian_pyramid(const at::Tensor& images, int levels) {
  std::vector<at::Tensor> out;
  at::Tensor g = images;
  for (int l = 0; l + 1 < levels; ++l) {
    const at::Tensor down = at::avg_pool2d(g, {2, 2});
    out.push_back(g - at::upsample_bilinear2d(down, {g.size(2), g.size(3)}, false));
    g = down;
  }
  out.push_back(g);
  return out;
}

at::Tensor random_patches(const at::Tensor& level, int per_image, at::Generator gen) {
  const int64_t n = level.size(0), h = level.size(2), w = level.size(3), k = 7;
  const at::Tensor ys = at::randint(h - k + 1, {n, per_image}, gen, at::kLong), xs = at::randint(w - k + 1, {n, per_image}, gen, at::kLong);
  std::vector<at::Tensor> patches;
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0; p < per_image; ++p) {
      const int64_t y = ys[i][p].item<int64_t>(), x = xs[i][p].item<int64_t>();
      patches.push_back(level[i].slice(1, y, y + k).slice(2, x, x + k).reshape({-1}));
    }
  return at::stack(patches);
}

// Per level, ×10³ as Karras et al. report it.
// Pyramid levels down to 16 px (at most 3: 64, 32, 16 for the 64-px models).
int swd_levels(int64_t size) {
  int levels = 1;
  while (levels < 3 && (size >> levels) >= 16) ++levels;
  return levels;
}

std::vector<double> swd(const at::Tensor& a, const at::Tensor& b, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int levels = swd_levels(a.size(2));
  const auto pa = laplacian_pyramid(a, levels), pb = laplacian_pyramid(b, levels);
  std::vector<double> out;
  for (std::size_t l = 0; l < pa.size(); ++l) {
    at::Tensor x = random_patches(pa[l], 64, gen), y = random_patches(pb[l], 64, gen);
    // Normalise each channel over both sets, so levels of different contrast weigh alike.
    const at::Tensor all = at::cat({x, y}).view({-1, 3, 49});
    const at::Tensor per_channel = all.transpose(0, 1).reshape({3, -1});
    const at::Tensor mean = per_channel.mean(at::IntArrayRef{1}).view({1, 3, 1});
    const at::Tensor spread = per_channel.std(at::IntArrayRef{1}).view({1, 3, 1}) + 1e-8;
    x = ((x.view({-1, 3, 49}) - mean) / spread).view({x.size(0), -1});
    y = ((y.view({-1, 3, 49}) - mean) / spread).view({y.size(0), -1});
    double total = 0;
    const int repeats = 4;
    for (int r = 0; r < repeats; ++r) {
      at::Tensor dirs = at::randn({x.size(1), 128}, gen);
      dirs = dirs / dirs.norm(2, 0, true);
      const at::Tensor px = std::get<0>(at::sort(x.matmul(dirs), 0)), py = std::get<0>(at::sort(y.matmul(dirs), 0));
      total += (px - py).abs().mean().item<double>();
    }
    out.push_back(1e3 * total / repeats);
  }
  return out;
}

// --- inputs ---------------------------------------------------------------------------------------

at::Tensor square_photo(const at::Tensor& rgb8, int size) {
  const int64_t h = rgb8.size(0), w = rgb8.size(1), s = std::min(h, w);
  const at::Tensor crop = rgb8.slice(0, (h - s) / 2, (h - s) / 2 + s).slice(1, (w - s) / 2, (w - s) / 2 + s);
  const at::Tensor x = crop.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
  return cm::edit::resize_image(x, size, size);
}

// Free-form brush strokes, as a user paints them: a few random walks with thick round brushes.
at::Tensor brush_mask(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  cv::Mat m = cv::Mat::zeros(size, size, CV_8U);
  const int strokes = 2 + int(u(rng) * 3);
  for (int s = 0; s < strokes; ++s) {
    cv::Point p(int(size * (0.2 + 0.6 * u(rng))), int(size * (0.2 + 0.6 * u(rng))));
    const int width = int(size * (0.04 + 0.06 * u(rng)));
    const int vertices = 3 + int(u(rng) * 5);
    double angle = u(rng) * 2 * M_PI;
    for (int v = 0; v < vertices; ++v) {
      angle += (u(rng) - 0.5) * 2.0;
      const double length = size * (0.08 + 0.12 * u(rng));
      cv::Point q(std::clamp(int(p.x + length * std::cos(angle)), 0, size - 1), std::clamp(int(p.y + length * std::sin(angle)), 0, size - 1));
      cv::line(m, p, q, 255, width, cv::LINE_AA);
      p = q;
    }
  }
  return (at::from_blob(m.data, {1, 1, size, size}, at::kByte) > 127).to(at::kFloat);  // a copy: m dies here
}

cv::Mat to_bgr8(const at::Tensor& image) {
  const at::Tensor hwc = ((image[0].permute({1, 2, 0}) + 1) * 127.5).round().clamp(0, 255).to(at::kByte).contiguous();
  cv::Mat rgb(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr<uint8_t>()), bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

at::Tensor from_bgr8(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const at::Tensor hwc = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
}

at::Tensor opencv_inpaint(const at::Tensor& photo, const at::Tensor& mask, int method) {
  const at::Tensor m8 = (mask[0][0] > 0).to(at::kByte).mul(255).contiguous();
  const cv::Mat m(int(m8.size(0)), int(m8.size(1)), CV_8U, m8.data_ptr<uint8_t>());
  cv::Mat out;
  cv::inpaint(to_bgr8(photo), m, out, 3, method);
  return from_bgr8(out);
}

at::Tensor bicubic_up(const at::Tensor& low, int factor) {
  cv::Mat out;
  cv::resize(to_bgr8(low), out, cv::Size(), factor, factor, cv::INTER_CUBIC);
  return from_bgr8(out);
}

// --- report -----------------------------------------------------------------------------------------

struct Mean {
  double sum = 0;
  int n = 0;
  void add(double v) { sum += v, ++n; }
  double value() const { return n ? sum / n : NAN; }
};

std::string option(std::map<std::string, std::string>& a, const std::string& k, const std::string& fallback) {
  return a.count(k) ? a[k] : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  if (!a.count("--model") || !a.count("--pack")) {
    std::fprintf(stderr, "usage: quality --model DIR --pack PACK [--photos 100] [--size 192] [--samples 256] [--steps 1,2] [--sample-steps 1,2,4] [--seed 0] [--threads 2] [--out DIR]\n");
    return 2;
  }
  try {
    at::set_num_threads(std::stoi(option(a, "--threads", "2")));
    const int photos = std::stoi(option(a, "--photos", "100")), size = std::stoi(option(a, "--size", "192"));
    const int samples = std::stoi(option(a, "--samples", "256"));
    const std::uint64_t seed = std::stoull(option(a, "--seed", "0"));
    const auto int_list = [](const std::string& text) {
      std::vector<int> out;
      std::stringstream ss(text);
      for (std::string t; std::getline(ss, t, ',');) out.push_back(std::stoi(t));
      return out;
    };
    const std::vector<int> step_counts = int_list(option(a, "--steps", "1,2"));
    const std::vector<int> sample_step_counts = int_list(option(a, "--sample-steps", "1,2,4"));
    const fs::path out = option(a, "--out", "");
    if (!out.empty()) fs::create_directories(out);
    const cm::model::LoadedModel model = cm::model::load_model(cm::model::find_model(a["--model"]));
    const cm::model::ConsistencyFunction& f = *model.function;
    const cm::train::ImagePack pack = cm::train::read_image_pack(a["--pack"]);
    std::vector<at::Tensor> test = pack.pixels(cm::train::Split::Test);
    if (test.empty()) throw std::runtime_error("the pack has no held-out photos");
    if (int(test.size()) > photos) test.resize(std::size_t(photos));
    at::InferenceMode inference;
    const auto t0 = std::chrono::steady_clock::now();

    std::map<std::string, Mean> m;
    std::map<int, std::vector<at::Tensor>> grid_inpaint, grid_sr, grid_col;
    for (std::size_t i = 0; i < test.size(); ++i) {
      const at::Tensor truth = square_photo(test[i], size);
      // Inpainting: the mask, then the photo with the masked pixels grey as every method gets it.
      const at::Tensor mask = brush_mask(size, seed * 1000 + i);
      const at::Tensor holed = at::where(mask.expand_as(truth) > 0, at::zeros_like(truth), truth);
      m["mask coverage"].add(mask.mean().item<double>());
      const at::Tensor telea = opencv_inpaint(holed, mask, cv::INPAINT_TELEA), ns = opencv_inpaint(holed, mask, cv::INPAINT_NS);
      m["inpaint psnr telea"].add(psnr(telea, truth, mask));
      m["inpaint ssim telea"].add(ssim(telea, truth, mask));
      m["inpaint psnr ns"].add(psnr(ns, truth, mask));
      m["inpaint ssim ns"].add(ssim(ns, truth, mask));
      // Super-resolution ×4 from the exact 4×4 means.
      const at::Tensor low = at::avg_pool2d(truth, {4, 4});
      const at::Tensor bicubic = bicubic_up(low, 4).clamp(-1, 1);
      const at::Tensor all = at::ones({1, 1, size, size});
      m["sr psnr bicubic"].add(psnr(bicubic, truth, all));
      m["sr ssim bicubic"].add(ssim(bicubic, truth, all));
      // Colorization from the luma: the grey photo of the same luma q₀·rgb (a weighted mean).
      const cm::edit::LumaChromaOperator op;
      const double q_sum = op.basis().select(1, 0).sum().item<double>();
      const at::Tensor grey = (op.forward(truth).narrow(1, 0, 1) / q_sum).expand_as(truth).contiguous();
      m["col chroma rmse grey"].add(chroma_rmse(grey, truth));
      m["col colorfulness truth"].add(colorfulness(truth));
      m["col colorfulness grey"].add(colorfulness(grey));
      if (i < 6) {
        grid_inpaint[0].push_back(holed), grid_inpaint[1].push_back(telea), grid_inpaint[2].push_back(ns);
        grid_sr[0].push_back(bicubic), grid_col[0].push_back(grey);
      }
      for (int steps : step_counts) {
        EditSettings s;
        s.schedule = cm::sampling::karras_schedule(steps, model.card.noise.sigma_max, model.card.noise);
        s.seed = seed + i;
        const std::string k = std::to_string(steps);
        const at::Tensor filled = cm::edit::region::inpaint(f, truth, mask, s);
        m["inpaint psnr cm" + k].add(psnr(filled, truth, mask));
        m["inpaint ssim cm" + k].add(ssim(filled, truth, mask));
        const at::Tensor sr = cm::edit::region::super_resolve(f, low, 4, s);
        m["sr psnr cm" + k].add(psnr(sr, truth, all));
        m["sr ssim cm" + k].add(ssim(sr, truth, all));
        m["sr mean deviation cm" + k].add((at::avg_pool2d(sr, {4, 4}) - low).abs().max().item<double>());
        const at::Tensor col = cm::edit::region::colorize(f, grey, s);
        m["col chroma rmse cm" + k].add(chroma_rmse(col, truth));
        m["col colorfulness cm" + k].add(colorfulness(col));
        if (i < 6) grid_inpaint[2 + steps].push_back(filled), grid_sr[steps].push_back(sr), grid_col[steps].push_back(col);
      }
      if (i < 6) grid_inpaint[99].push_back(truth), grid_sr[99].push_back(truth), grid_col[99].push_back(truth);
      std::fprintf(stderr, "\rphoto %zu/%zu", i + 1, test.size());
    }
    std::fprintf(stderr, "\n");

    // Unconditional samples vs held-out crops from the training crop sampler.
    cm::train::CropOptions crop;
    crop.size = model.card.architecture.image_size;
    const cm::train::CropSampler held_out(pack.pixels(cm::train::Split::Test), crop, 4242);
    const at::Tensor reference = held_out.batch(0, samples);
    const at::Tensor reference2 = held_out.batch(1, samples);
    const std::vector<double> floor = swd(reference2, reference, seed);
    std::map<int, std::vector<double>> swd_steps;
    std::map<int, at::Tensor> generated;
    for (int steps : sample_step_counts) {
      std::vector<at::Tensor> chunks;
      for (int b = 0; b < samples; b += 32)
        chunks.push_back(cm::sampling::generate(f, std::min(32, samples - b), seed + 7, cm::sampling::karras_schedule(steps, model.card.noise.sigma_max, model.card.noise), {}, {}, b));
      generated[steps] = at::cat(chunks).to(at::kCPU);
      swd_steps[steps] = swd(generated[steps], reference, seed);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("model %s (%s), %zu held-out photos at %d×%d, seed %llu, %.0f s\n\n", model.card.name.c_str(), a["--model"].c_str(),
                test.size(), size, size, static_cast<unsigned long long>(seed), seconds);
    std::printf("Inpainting, free-form brush masks (%.0f %% of the photo on average), inside the mask:\n\n", 100 * m["mask coverage"].value());
    std::printf("| method | PSNR (dB) | SSIM |\n|---|---|---|\n");
    std::printf("| OpenCV Telea | %.2f | %.3f |\n| OpenCV Navier-Stokes | %.2f | %.3f |\n", m["inpaint psnr telea"].value(),
                m["inpaint ssim telea"].value(), m["inpaint psnr ns"].value(), m["inpaint ssim ns"].value());
    for (int k : step_counts)
      std::printf("| cmedit, %d step%s | %.2f | %.3f |\n", k, k > 1 ? "s" : "", m["inpaint psnr cm" + std::to_string(k)].value(),
                  m["inpaint ssim cm" + std::to_string(k)].value());
    std::printf("\nSuper-resolution ×4 (from the 4×4 means), whole photo:\n\n| method | PSNR (dB) | SSIM | max deviation of a 4×4 mean from its input pixel |\n|---|---|---|---|\n");
    std::printf("| bicubic | %.2f | %.3f | — |\n", m["sr psnr bicubic"].value(), m["sr ssim bicubic"].value());
    for (int k : step_counts) {
      const std::string s = std::to_string(k);
      std::printf("| cmedit, %d step%s | %.2f | %.3f | %.2g |\n", k, k > 1 ? "s" : "", m["sr psnr cm" + s].value(), m["sr ssim cm" + s].value(),
                  m["sr mean deviation cm" + s].value());
    }
    std::printf("\nColorization from the luma:\n\n| method | chroma RMSE | colourfulness (truth %.1f) |\n|---|---|---|\n",
                m["col colorfulness truth"].value());
    std::printf("| grey input | %.4f | %.1f |\n", m["col chroma rmse grey"].value(), m["col colorfulness grey"].value());
    for (int k : step_counts)
      std::printf("| cmedit, %d step%s | %.4f | %.1f |\n", k, k > 1 ? "s" : "", m["col chroma rmse cm" + std::to_string(k)].value(),
                  m["col colorfulness cm" + std::to_string(k)].value());
    std::printf("\nUnconditional samples vs %d held-out crops: SWD ×10³ of 7×7 Laplacian-pyramid patches (lower is better):\n\n| samples |", samples);
    for (int l = 0; l < swd_levels(crop.size); ++l) std::printf(" %d px |", crop.size >> l);
    std::printf(" mean |\n|---|");
    for (int l = 0; l <= swd_levels(crop.size); ++l) std::printf("---|");
    std::printf("\n");
    const auto row = [](const std::string& name, const std::vector<double>& v) {
      double total = 0;
      std::printf("| %s |", name.c_str());
      for (double x : v) std::printf(" %.1f |", x), total += x;
      std::printf(" %.1f |\n", total / double(v.size()));
    };
    row("held-out crops (floor)", floor);
    for (int k : sample_step_counts) row(std::to_string(k) + (k > 1 ? " steps" : " step"), swd_steps[k]);

    if (!out.empty()) {
      const auto write = [&](const fs::path& path, const at::Tensor& grid) {  // compressed PNG, unlike write_png
        cm::imageio::Image image;
        image.rgb = grid.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
        cm::imageio::save_image(path, image);
      };
      const auto save = [&](const std::map<int, std::vector<at::Tensor>>& rows, const std::string& name) {
        std::vector<at::Tensor> all;
        for (const auto& [k, images] : rows) all.insert(all.end(), images.begin(), images.end());
        write(out / name, cm::train::image_grid(at::cat(all), int(rows.begin()->second.size())));
      };
      save(grid_inpaint, "inpaint.png");
      save(grid_sr, "superres.png");
      save(grid_col, "colorize.png");
      for (const auto& [k, images] : generated)
        write(out / ("samples-" + std::to_string(k) + "step.png"), cm::train::image_grid(images.slice(0, 0, 32), 8));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quality: %s\n", e.what());
    return 1;
  }
}
