// train_step — training throughput of cmedit-train's objectives, one table row per way of stepping.
//
//   train_step [--mode ct|ect|cd|edm] [--channels 96] [--res-blocks 2] [--mult 1,2,2,2]
//              [--attention 16,8] [--head-channels 32] [--size 64] [--arch FILE.json]
//              [--batch 64[,128…]] [--crops 64[,64,64,128]] [--step plain[,fused,graph,graph-nhwc…]]
//              [--steps 20] [--read-every 0] [--device auto|cpu|cuda] [--no-bf16] [--cudnn-benchmark]
//              [--threads N] [--profile]
//
// --arch: a model card or its "architecture" flags, instead of the flags before it.
// --step: Trainer::set_speed's kinds (plain, fused, graph), "-nhwc" for channels-last.
// --crops: the crop sides steps take in turn, as a campaign's crop_sizes (batch·(size/s)² images).
// --read-every N: read the loss back every N steps (0: once, at the end), as a log line does.
// --profile: profiles three steps of the last kind and prints the ops and device kernels that took
//   the most time (Kineto; device kernels where this LibTorch traces CUDA).
//
// Each row: after warm-up (every crop size stepped four times: the fused step captures its graphs
// at the third), the wall time of --steps steps between two reads of the device, so a step that
// queues its work without waiting is timed by what the device did. Synthetic images live on the
// device (no data cost). CD distils from an untrained EDM network of the same architecture.
// Results go to docs/BENCHMARKS.md with the command and machine.
#include "bench/bench_models.h"
#include "core/engine/device.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"
#include "core/train/network.h"
#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Uniform noise images made once per crop side on the training device, two batches of each.
class DeviceNoise final : public cm::train::DataSource {
 public:
  DeviceNoise(int size, c10::Device device) : size_(size), device_(device) {}
  at::Tensor batch(std::uint64_t key, int64_t n) const override { return batch_at(key, n, size_); }
  at::Tensor batch_at(std::uint64_t key, int64_t n, int size) const override {
    std::vector<at::Tensor>& made = made_[size];
    if (made.empty() || made[0].size(0) < n)
      made = {at::rand({n, 3, size, size}, at::TensorOptions().device(device_)) * 2 - 1,
              at::rand({n, 3, size, size}, at::TensorOptions().device(device_)) * 2 - 1};
    return made[key % 2].narrow(0, 0, n);
  }
  int image_size() const override { return size_; }

 private:
  int size_;
  c10::Device device_;
  mutable std::map<int, std::vector<at::Tensor>> made_;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Network passes per training image: forward and backward (≈ 3 forwards), plus the target's
// forward for ct and ect, the teacher's Heun step (2) and the target for cd.
double passes(cm::train::TrainMode mode) {
  switch (mode) {
    case cm::train::TrainMode::Edm: return 3;
    case cm::train::TrainMode::Cd: return 6;
    default: return 4;
  }
}

double event_ms(const torch::autograd::profiler::KinetoEvent& e) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return double(e.durationNs()) / 1e6;
#else
  return double(e.durationUs()) / 1e3;
#endif
}

// The ops and kernels of `run` by total time, per device type: what BENCHMARKS.md's profile
// table shows.
void profile(const std::function<void()>& run, c10::Device device) {
  namespace prof = torch::profiler::impl;
  std::set<prof::ActivityType> activities = {prof::ActivityType::CPU};
  if (device.is_cuda()) activities.insert(prof::ActivityType::CUDA);
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
  std::unique_ptr<torch::autograd::profiler::ProfilerResult> result;
  try {
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
    run();
    result = torch::autograd::profiler::disableProfiler();
  } catch (const std::exception& e) {
    std::printf("(no profile: %s)\n", e.what());
    return;
  }
  std::map<c10::DeviceType, std::map<std::string, std::pair<double, int>>> by_name;
  for (const auto& e : result->events()) {
    auto& entry = by_name[e.deviceType()][e.name()];
    entry.first += event_ms(e);
    ++entry.second;
  }
  for (auto& [type, names] : by_name) {
    std::vector<std::pair<std::string, std::pair<double, int>>> rows(names.begin(), names.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    std::printf("\nprofile: %s %s by total time (inclusive), 3 steps\n\n| name | calls | ms |\n|---|---|---|\n",
                c10::DeviceTypeName(type).c_str(), type == c10::DeviceType::CPU ? "ops" : "kernels");
    for (std::size_t i = 0; i < std::min<std::size_t>(rows.size(), 15); ++i)
      std::printf("| %s | %d | %.2f |\n", rows[i].first.substr(0, 90).c_str(), rows[i].second.second, rows[i].second.first);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {{"--mode", "ct"}, {"--channels", "96"}, {"--res-blocks", "2"}, {"--mult", "1,2,2,2"},
                                          {"--attention", "16,8"}, {"--head-channels", "32"}, {"--size", "64"}, {"--batch", "64"},
                                          {"--steps", "20"}, {"--device", "auto"}, {"--threads", "0"}, {"--arch", ""},
                                          {"--crops", ""}, {"--step", "plain"}, {"--read-every", "0"}};
  bool bf16 = true, cudnn_benchmark = false, profiling = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--no-bf16") {
      bf16 = false;
    } else if (k == "--cudnn-benchmark") {
      cudnn_benchmark = true;
    } else if (k == "--profile") {
      profiling = true;
    } else if (a.count(k) && i + 1 < argc) {
      a[k] = argv[++i];
    } else {
      std::fprintf(stderr, "usage: see the comment at the top of bench/train_step.cpp\n");
      return 2;
    }
  }
  try {
    if (std::stoi(a["--threads"]) > 0) at::set_num_threads(std::stoi(a["--threads"]));
    cm::train::TrainConfig c;
    c.mode = cm::train::parse_train_mode(a["--mode"]);
    nlohmann::json flags = {{"image_size", std::stoi(a["--size"])},
                            {"num_channels", std::stoi(a["--channels"])},
                            {"num_res_blocks", std::stoi(a["--res-blocks"])},
                            {"channel_mult", a["--mult"]},
                            {"attention_resolutions", a["--attention"]},
                            {"num_head_channels", std::stoi(a["--head-channels"])},
                            {"dropout", 0.1}};
    c.architecture = cm::model::unet_config_from_json(flags);
    if (!a["--arch"].empty()) {
      c.architecture = cm::bench::architecture(a["--arch"]);
      c.architecture.dropout = 0.1;
    }
    for (const std::string& s : split(a["--crops"])) c.crop_sizes.push_back(std::stoi(s));
    c.iterations = 100000;
    c.bf16 = bf16;
    const int steps = std::stoi(a["--steps"]), read_every = std::stoi(a["--read-every"]);
    const c10::Device device = cm::engine::choose_device(a["--device"]);
    at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);
    std::shared_ptr<const cm::model::ConsistencyFunction> teacher;
    if (c.mode == cm::train::TrainMode::Cd) {
      auto unet = std::make_shared<cm::model::UNet>(c.architecture, cm::train::init_unet_weights(c.architecture, 1));
      unet->to(device, at::kFloat);
      teacher = std::make_shared<cm::model::UNetFunction>(unet, cm::model::Parameterization::Edm, cm::model::ModelSpec{});
    }
    const auto data = std::make_shared<DeviceNoise>(c.architecture.image_size, device);

    std::printf("%s, %s, LibTorch %s, %d CPU threads, %s%s; crops %s; %d timed steps after warm-up, the loss read %s\n\n",
                a["--mode"].c_str(), device.str().c_str(), TORCH_VERSION, at::get_num_threads(),
                device.is_cuda() ? (bf16 ? "bf16 autocast" : "fp32") : "fp32", cudnn_benchmark ? ", cuDNN benchmark" : "",
                c.crop_sizes.empty() ? std::to_string(c.architecture.image_size).c_str() : a["--crops"].c_str(), steps,
                read_every > 0 ? ("every " + std::to_string(read_every) + " steps").c_str() : "once");
    std::printf("| step | batch | parameters | s/step | images/s | TFLOP/s | in effect |\n|---|---|---|---|---|---|---|\n");
    std::function<void()> last_run;
    std::unique_ptr<cm::train::Trainer> last;
    for (const std::string& batch : split(a["--batch"])) {
      for (const std::string& kind : split(a["--step"])) {
        c.batch = std::stoi(batch);
        const bool nhwc = kind.size() > 5 && kind.substr(kind.size() - 5) == "-nhwc";
        cm::train::StepSpeed speed = cm::train::parse_step_kind(nhwc ? kind.substr(0, kind.size() - 5) : kind);
        speed.channels_last = nhwc;
        auto trainer = std::make_unique<cm::train::Trainer>(c, data, device, teacher);
        trainer->set_speed(speed);
        // Warm-up: each crop size four times.
        std::map<int, int> seen;
        const std::vector<int> sizes = c.crop_sizes.empty() ? std::vector<int>{c.architecture.image_size} : c.crop_sizes;
        while (std::any_of(sizes.begin(), sizes.end(), [&](int s) { return seen[s] < 4; })) seen[trainer->step().crop_size]++;
        trainer->take_window();
        int64_t images = 0;
        double flop = 0;
        const auto t0 = Clock::now();
        for (int i = 0; i < steps; ++i) {
          const cm::train::StepStats s = trainer->step();
          images += s.images;
          cm::model::UNetConfig at_size = c.architecture;
          at_size.image_size = s.crop_size;
          flop += double(s.images) * passes(c.mode) * cm::model::unet_flops(at_size);
          if (read_every > 0 && (i + 1) % read_every == 0) trainer->take_window();
        }
        const cm::train::StepWindow w = trainer->take_window();  // waits for the device
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        std::printf("| %s | %s | %.1f M | %.4f | %.4g | %.3g | %s%s |\n", kind.c_str(), batch.c_str(), double(trainer->parameter_count()) / 1e6,
                    seconds / steps, double(images) / seconds, flop / seconds / 1e12, trainer->speed_report().c_str(),
                    w.skipped ? (", " + std::to_string(w.skipped) + " steps skipped").c_str() : "");
        std::fflush(stdout);
        last = std::move(trainer);
      }
    }
    if (profiling && last) {
      cm::train::Trainer* t = last.get();
      profile([t] {
        for (int i = 0; i < 3; ++i) t->step();
        t->take_window();
      }, device);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_step: %s\n", e.what());
    return 1;
  }
}
