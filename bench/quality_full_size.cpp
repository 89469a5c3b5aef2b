// quality_full_size — an edit at the photo's own pixels, as a user runs it: cmedit-cli on a photo of
// 12 megapixels or more, timed and measured from outside (wall time and the child's peak resident
// memory, from wait4), then scored inside the mask against the photo and against OpenCV's Telea.
// Results go to docs/QUALITY.md ("Edit quality at the photo's own pixels") and docs/BENCHMARKS.md.
//
//   quality_full_size --cli build/bin/cmedit-cli --photo PHOTO[,PHOTO…] [--megapixels 0] [--holes cable,brush]
//                     [--length 0] [--seed 0] [--model DIR] [--work DIR] [--keep yes]
//
// Several photos (a comma list) are run one after the other, each with its own masks (seed + its
// index), and each mask's mean over them is the last rows.
// --megapixels M enlarges the photo (bicubic) until it has at least M megapixels, for sizes the
// pool has no photo of. --holes: the masks (quality_inputs.h: cable, brush, wide, object, spots, wires); --length: a
// brush (or wide) stroke's length in pixels (0: 40 % of the side). --work: where the photo, masks and
// results are written (default: a folder in /tmp, removed unless --keep yes).
#include "bench/options.h"
#include "bench/quality_baselines.h"
#include "bench/quality_inputs.h"
#include "bench/quality_metrics.h"
#include "core/base/text.h"
#include "core/edit/pixels.h"
#include "core/edit/mask_windows.h"
#include "core/imageio/image_file.h"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace cm::bench;

struct ChildRun {
  double seconds = 0;
  double peak_mb = 0;
  int status = -1;
};

// Runs `argv` as a child process and waits for it: wall time, peak resident memory, exit status.
ChildRun run_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    execv(args[0], args.data());
    std::perror("execv");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) < 0) throw std::runtime_error("wait4 failed");
  ChildRun r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.peak_mb = double(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// [1,3,H,W] float of the part of a stored photo inside `box`.
at::Tensor unit_crop(const at::Tensor& stored, const cm::edit::region::Box& box) {
  return cm::edit::to_unit(stored.narrow(2, box.y0, box.height()).narrow(3, box.x0, box.width())).to(at::kFloat);
}

// The texture distance (SWD ×10³, quality_metrics.h) between a result and the truth, of 7×7
// Laplacian-pyramid patches drawn in the mask's box: whether the fill has the photo's texture,
// which PSNR, rewarding blur, does not say. One hole of a camera's photo holds many patches.
constexpr int kPatchesPerLevel = 1024;

void print_row(const std::string& photo, const std::string& mask, const std::vector<double>& r) {
  std::printf("| %s | %s | %.2f M | %.1f MP | %.1f | %.0f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %.2g %% |\n", photo.c_str(),
              mask.c_str(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  if (!a.count("--cli") || !a.count("--photo")) {
    std::fprintf(stderr, "usage: quality_full_size --cli build/bin/cmedit-cli --photo PHOTO[,PHOTO...] [--megapixels 0] [--holes cable,brush] "
                         "[--length 0] [--seed 0] [--model DIR] [--work DIR] [--keep yes]\n");
    return 2;
  }
  try {
    const std::string cli = fs::absolute(a["--cli"]).string();
    const fs::path work = option(a, "--work", (fs::temp_directory_path() / ("cmedit-full-size-" + std::to_string(getpid()))).string());
    fs::create_directories(work);
    const std::uint64_t seed = std::stoull(option(a, "--seed", "0"));
    const double megapixels = std::stod(option(a, "--megapixels", "0")), length = std::stod(option(a, "--length", "0"));

    std::printf("\n| photo | mask | mask pixels | photo size | wall (s) | peak memory (MB) | PSNR in the mask (dB) | Telea (dB) | grad ratio | Telea's | SWD ×10³ | Telea's | chroma HF | changed outside |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::map<std::string, std::vector<std::vector<double>>> scores;  // per mask, per photo: the columns averaged below
    const std::vector<std::string> photos = cm::split_list(a["--photo"]);
    for (std::size_t index = 0; index < photos.size(); ++index) {
      // The photo at its own pixels, enlarged when asked for a size the pool does not have.
      cm::imageio::Image photo = cm::imageio::load_image(photos[index], cm::imageio::Pixels::Stored);
      if (photo.rgb.scalar_type() != at::kByte) throw std::runtime_error("the photo must be 8-bit");
      const double scale = std::sqrt(std::max(1.0, megapixels * 1e6 / (double(photo.width()) * double(photo.height()))));
      if (scale > 1) {
        const at::Tensor hwc = photo.rgb[0].permute({1, 2, 0}).contiguous();
        const cv::Mat in(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr<uint8_t>());
        cv::Mat big;
        cv::resize(in, big, cv::Size(int(std::ceil(in.cols * scale)), int(std::ceil(in.rows * scale))), 0, 0, cv::INTER_CUBIC);
        photo.rgb = at::from_blob(big.data, {1, big.rows, big.cols, 3}, at::kByte).permute({0, 3, 1, 2}).contiguous();
        photo.alpha = at::Tensor();
      }
      const int64_t height = photo.height(), width = photo.width();
      const fs::path truth_file = work / "photo.png";
      cm::imageio::save_image(truth_file, photo);
      const std::string photo_name = fs::path(photos[index]).stem().string() + (scale > 1 ? " (enlarged)" : "");

      for (const std::string& name : cm::split_list(option(a, "--holes", "cable,brush"))) {
        const std::optional<Hole> hole = hole_named(name);
        if (!hole || *hole == Hole::Strokes || *hole == Hole::Box) throw std::runtime_error("--holes: cable, brush, wide, object, spots or wires, not " + name);
        // Each photo its own mask: another seed for each.
        const at::Tensor mask = make_mask(height, width, seed + index, *hole, length).to(at::kByte);
        const fs::path mask_file = work / (name + "-mask.png"), out_file = work / (name + "-cmedit.png");
        cm::imageio::Image mask_image;
        mask_image.rgb = (mask * 255).expand({1, 3, height, width}).contiguous();
        cm::imageio::save_image(mask_file, mask_image);
        std::vector<std::string> args{cli, "inpaint", truth_file.string(), "--mask", mask_file.string(), "-o", out_file.string(), "--no-progress"};
        if (a.count("--model")) args.insert(args.end(), {"--model", a["--model"]});
        const ChildRun run = run_child(args);
        if (run.status != 0) throw std::runtime_error("cmedit-cli exited with " + std::to_string(run.status));

        // Scored on the mask's box and a margin (the chroma's blur reaches 6 px): floats of that only.
        const cm::edit::region::Box box = cm::edit::region::grown(cm::edit::region::bounding_box(mask), 8, height, width);
        const at::Tensor result = cm::imageio::load_image(out_file, cm::imageio::Pixels::Stored).rgb;
        const at::Tensor keep = (mask == 0).expand_as(photo.rgb);
        const double changed = double((result != photo.rgb).logical_and(keep).sum().item<int64_t>()) / double(keep.sum().item<int64_t>());
        const at::Tensor truth = unit_crop(photo.rgb, box), edited = unit_crop(result, box);
        const at::Tensor m = mask.narrow(2, box.y0, box.height()).narrow(3, box.x0, box.width()).to(at::kFloat);
        const at::Tensor holed = at::where(m.expand_as(truth) > 0, at::zeros_like(truth), truth);
        const at::Tensor telea = opencv_inpaint(holed, m, cv::INPAINT_TELEA);
        const std::vector<int64_t> patch_box = bounding_box(m);
        const auto patches = [&](const at::Tensor& image) {
          return patches_centred_in_mask(*hole) ? mask_patches(image, m, kPatchesPerLevel, seed)
                                                : region_patches(image, patch_box, kPatchesPerLevel, seed);
        };
        const PatchSet truth_patches = patches(truth);
        const auto texture_distance = [&](const at::Tensor& result) { return swd_pooled({patches(result)}, {truth_patches}, seed); };
        const std::vector<double> row{m.sum().item<double>() / 1e6, double(width) * double(height) / 1e6, run.seconds, run.peak_mb,
                                      psnr(edited, truth, m), psnr(telea, truth, m), gradient_ratio(edited, truth, m),
                                      gradient_ratio(telea, truth, m), texture_distance(edited),
                                      texture_distance(telea), chroma_hf_ratio(edited, truth, m), 100 * changed};
        print_row(photo_name, name, row);
        scores[name].push_back(row);
      }
    }
    if (photos.size() > 1)
      for (const auto& [name, rows] : scores) {
        std::vector<double> mean(rows[0].size(), 0.0);
        for (const auto& r : rows)
          for (std::size_t i = 0; i < r.size(); ++i) mean[i] += r[i] / double(rows.size());
        print_row("mean of " + std::to_string(rows.size()), name, mean);
      }
    if (option(a, "--keep", "no") != "yes" && !a.count("--work")) fs::remove_all(work);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quality_full_size: %s\n", e.what());
    return 1;
  }
}
