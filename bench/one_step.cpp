// one_step — the speed of one-step generation and one-step inpainting (issue: speed), with the
// physical limit beside it; --task tiles: a photo's denoise, its tiles --batch at a time.
//
//   one_step [--arch lsun256,imagenet64,tiny,FILE.json] [--task generate,inpaint,tiles] [--batch 1,8,64]
//            [--precision fp32,fp16,bf16] [--layout nchw,nhwc] [--attention explicit,fused]
//            [--norm plain,fused] [--graph no,yes] [--device auto|cpu|cuda] [--cudnn-benchmark]
//            [--runs 10] [--warmup 3] [--threads N]
//
// Every combination of the comma lists is timed with random weights (speed does not depend on
// them; FILE.json is a model card or its "architecture" flags): the median latency of one
// evaluation over --runs runs after --warmup, images per second, the FLOP rate reached (unet_flops
// per image) and that rate as a share of this device's measured
// matrix-multiply rate in the same precision — the physical limit. "tiny" is a 32-px, 32-channel
// network for trying the program on a CPU. The levers: --layout (UNet::set_channels_last),
// --attention (set_fused_attention), --norm (set_fused_norm: GroupNorm + SiLU in half precision;
// float32 always takes the plain one; the engine's default on CUDA), --graph yes (f replayed from a CUDA graph per shape,
// model::GraphedFunction, as the engine's previews are). Combinations the device cannot run (fp16
// on the CPU, fused attention on LibTorch 1.13, graphs without CUDA) are skipped with a line saying
// why. Output is a Markdown table for docs/BENCHMARKS.md, each row as soon as it is measured.
#include "bench/bench_models.h"
#include "core/base/text.h"
#include "core/edit/edits.h"
#include "core/edit/region.h"
#include "core/engine/device.h"
#include "core/model/graphed_function.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace cm::model;
using Clock = std::chrono::steady_clock;

using cm::bench::architecture;
using cm::split_list;

c10::ScalarType precision(const std::string& name) {
  if (name == "fp32") return at::kFloat;
  if (name == "fp16") return at::kHalf;
  if (name == "bf16") return at::kBFloat16;
  throw std::runtime_error("unknown precision '" + name + "'");
}

// Waits for the device: a host copy of one element is queued behind all earlier work.
void synchronize(const at::Tensor& t) { (void)t.flatten()[0].item<float>(); }

double median_ms(const std::function<at::Tensor()>& run, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) synchronize(run());
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    synchronize(run());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// FLOP/s of a square matrix product in `dtype`: what this device can do at best (the limit).
double matmul_rate(c10::Device device, c10::ScalarType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const auto options = at::TensorOptions().device(device).dtype(dtype);
  const at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  const double ms = median_ms([&] { return at::mm(a, b); }, 3, device.is_cuda() ? 20 : 5);
  return 2.0 * double(n) * double(n) * double(n) / (ms / 1000.0);
}

struct Case {
  std::string arch, task, precision, layout, attention, norm, graph;
  int batch;
};

// Why this device and LibTorch cannot run the case, or empty.
std::string unsupported(const Case& c, c10::Device device) {
  if (c.precision == "fp16" && !device.is_cuda()) return "fp16 convolutions need CUDA";
  if (c.attention == "fused" && !UNet::has_fused_attention()) return "fused attention needs LibTorch 2.x";
  if (c.norm == "fused" && c.precision == "fp32") return "the fused norm is for half precision";
  std::string why;
  if (c.graph == "yes" && !cuda_device_graphs(device, &why)) return why;
  return {};
}

// The next pick of one entry per list, the last list changing fastest; false after the last.
bool next_combination(std::vector<std::size_t>& pick, const std::vector<std::vector<std::string>>& lists) {
  for (std::size_t i = pick.size(); i-- > 0;) {
    if (++pick[i] < lists[i].size()) return true;
    pick[i] = 0;
  }
  return false;
}

double time_case(const Case& c, c10::Device device, int warmup_runs, int runs) {
  const int warmup = c.graph == "yes" ? std::max(warmup_runs, 2) : warmup_runs;  // the second records the graph
  const UNetConfig config = architecture(c.arch);
  StateDict weights = cm::bench::random_weights(config);
  auto unet = std::make_shared<UNet>(config, weights);
  weights.clear();
  unet->to(device, precision(c.precision));
  unet->set_channels_last(c.layout == "nhwc");
  unet->set_fused_attention(c.attention == "fused");
  unet->set_fused_norm(c.norm == "fused");
  const auto plain = std::make_shared<UNetFunction>(unet, Parameterization::Consistency, ModelSpec{});
  // Graphs are recorded at the warm-up's second evaluation: each timed run replays one.
  const GraphedFunction f(plain, c.graph == "yes" ? cuda_device_graphs(device) : DeviceGraphs());

  const int64_t s = config.image_size;
  const auto options = at::TensorOptions().device(device);
  const at::Tensor labels = config.num_classes ? at::zeros({c.batch}, options.dtype(at::kLong)) : at::Tensor();
  at::InferenceMode inference;
  if (c.task == "generate") {
    const at::Tensor x = 80.0 * at::randn({c.batch, 3, s, s}, options);
    const at::Tensor sigma = at::full({c.batch}, 80.0f, options);
    return median_ms([&] { return f(x, sigma, labels); }, warmup, runs);
  }
  if (c.task == "tiles") {
    // A denoise of a photo 16 tiles a side (324 tiles of the architecture's size, overlapping by an
    // eighth, as a denoise's do), --batch 64² pixels' worth of tiles at a time
    // (RegionOptions::tile_batch; one tile of a 64-px architecture each). A row is one evaluation
    // of --batch such tiles: images/s is 64-px tiles a second, blending included.
    const int64_t side = 16 * s;
    const at::Tensor photo = at::rand({1, 3, side, side}, options) * 2 - 1;
    cm::edit::region::RegionOptions o;
    o.tile_size = int(s);
    o.tile_batch = c.batch;
    cm::edit::EditSettings settings;
    if (config.num_classes) settings.labels = at::zeros({1}, options.dtype(at::kLong));
    const double tiles = std::pow(double(cm::edit::region::tile_starts(side, s, s / 8).size()), 2);
    const double ms = median_ms([&] { return cm::edit::region::denoise_photo(f, photo, 0.1, settings, o); }, warmup,
                                std::min(runs, 3));
    return ms / (tiles * double(s * s) / (64.0 * 64.0)) * c.batch;
  }
  if (c.task != "inpaint") throw std::runtime_error("unknown task '" + c.task + "' (generate, inpaint or tiles)");
  const at::Tensor image = at::rand({c.batch, 3, s, s}, options) * 2 - 1;
  at::Tensor mask = at::zeros({1, 1, s, s}, options);
  mask.slice(2, s / 4, 3 * s / 4).slice(3, s / 4, 3 * s / 4).fill_(1);
  cm::edit::EditSettings settings;  // one step from T: the live preview
  settings.labels = labels;
  return median_ms([&] { return cm::edit::inpaint(f, image, mask, settings); }, warmup, runs);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a run cut short keeps its rows
  std::map<std::string, std::string> a = {{"--arch", "imagenet64"}, {"--task", "generate,inpaint"}, {"--batch", "1,8,64"},
                                          {"--precision", "fp32,fp16,bf16"}, {"--layout", "nchw,nhwc"},
                                          {"--attention", "explicit,fused"}, {"--norm", "plain,fused"}, {"--graph", "no"},
                                          {"--device", "auto"}, {"--runs", "10"}, {"--warmup", "3"}, {"--threads", "0"}};
  bool cudnn_benchmark = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--cudnn-benchmark") {
      cudnn_benchmark = true;
    } else if (a.count(k) && i + 1 < argc) {
      a[k] = argv[++i];
    } else {
      std::fprintf(stderr, "usage: see the comment at the top of bench/one_step.cpp\n");
      return 2;
    }
  }
  try {
    if (std::stoi(a["--threads"]) > 0) at::set_num_threads(std::stoi(a["--threads"]));
    at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);
    const c10::Device device = cm::engine::choose_device(a["--device"]);
    const int runs = std::max(1, std::stoi(a["--runs"])), warmup = std::max(0, std::stoi(a["--warmup"]));
    std::printf("device %s, LibTorch %s, %d CPU threads, cuDNN benchmark %s, median of %d runs after %d warm-up\n\n",
                device.str().c_str(), TORCH_VERSION, at::get_num_threads(), cudnn_benchmark ? "on" : "off", runs, warmup);

    std::map<std::string, double> peak;  // precision → measured matrix FLOP/s
    std::map<std::string, int> skipped;  // why → how many cases
    std::printf("| arch | task | batch | precision | layout | attention | norm | graph | ms/eval | images/s | GFLOP/s | of matmul peak |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    // Every combination of the lists, the batch changing fastest.
    const std::vector<std::string> keys = {"--arch", "--task", "--precision", "--layout", "--attention", "--norm", "--graph", "--batch"};
    std::vector<std::vector<std::string>> lists;
    for (const std::string& k : keys) lists.push_back(split_list(a[k]));
    std::vector<std::size_t> pick(keys.size(), 0);
    for (bool more = true; more; more = next_combination(pick, lists)) {
      const auto v = [&](std::size_t i) { return lists[i][pick[i]]; };
      const Case c{v(0), v(1), v(2), v(3), v(4), v(5), v(6), std::stoi(v(7))};
      if (const std::string why = unsupported(c, device); !why.empty()) {
        skipped[why + " (" + c.precision + ", " + c.attention + " attention, " + c.norm + " norm, graph " + c.graph + ")"]++;
        continue;
      }
      if (!peak.count(c.precision)) peak[c.precision] = matmul_rate(device, precision(c.precision));
      const double ms = time_case(c, device, warmup, runs);
      const double flops = unet_flops(architecture(c.arch)) * c.batch / (ms / 1000.0);
      std::printf("| %s | %s | %d | %s | %s | %s | %s | %s | %.2f | %.1f | %.0f | %.0f%% |\n", c.arch.c_str(), c.task.c_str(),
                  c.batch, c.precision.c_str(), c.layout.c_str(), c.attention.c_str(), c.norm.c_str(), c.graph.c_str(), ms,
                  c.batch / (ms / 1000.0), flops / 1e9, 100.0 * flops / peak[c.precision]);
    }
    for (const auto& [why, n] : skipped) std::printf("\nskipped %d case(s): %s", n, why.c_str());
    std::printf("\nmatrix-multiply rate (the limit):");
    for (const auto& [p, rate] : peak) std::printf("  %s %.0f GFLOP/s", p.c_str(), rate / 1e9);
    std::printf("\nFLOP per image:");
    for (const std::string& arch : split_list(a["--arch"])) std::printf("  %s %.3g", arch.c_str(), unet_flops(architecture(arch)));
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "one_step: %s\n", e.what());
    return 1;
  }
}
