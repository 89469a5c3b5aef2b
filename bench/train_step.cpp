// train_step — training throughput of cmedit-train's objectives on synthetic 64² data.
//
//   train_step [--mode ct|ect|cd|edm] [--channels 96] [--res-blocks 2] [--mult 1,2,2,2]
//              [--attention 16,8] [--head-channels 32] [--size 64] [--arch FILE.json]
//              [--batch 64] [--steps 20] [--device auto|cpu|cuda] [--no-bf16] [--cudnn-benchmark]
//              [--threads N]
//
// --arch: a model card or its "architecture" flags, instead of the flags before it.
//
// Prints the parameter count, the median seconds per step after two warm-up steps, steps/s and
// images/s. CD distils from an untrained EDM network of the same architecture (the cost is the
// same as with a trained one). Results go to docs/BENCHMARKS.md with the command and machine.
#include "bench/bench_models.h"
#include "core/engine/device.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"
#include "core/train/network.h"
#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

class NoiseImages final : public cm::train::DataSource {
 public:
  explicit NoiseImages(int size) : size_(size) {}
  at::Tensor batch(std::uint64_t key, int64_t n) const override {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(key);
    return (0.5 * at::randn({n, 3, size_, size_}, gen)).clamp(-1, 1);
  }
  int image_size() const override { return size_; }

 private:
  int size_;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {{"--mode", "ct"}, {"--channels", "96"}, {"--res-blocks", "2"}, {"--mult", "1,2,2,2"},
                                          {"--attention", "16,8"}, {"--head-channels", "32"}, {"--size", "64"}, {"--batch", "64"},
                                          {"--steps", "20"}, {"--device", "auto"}, {"--threads", "0"}, {"--arch", ""}};
  bool bf16 = true, cudnn_benchmark = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--no-bf16") {
      bf16 = false;
    } else if (k == "--cudnn-benchmark") {
      cudnn_benchmark = true;
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
    c.batch = std::stoi(a["--batch"]);
    c.iterations = 100000;
    c.bf16 = bf16;
    const int steps = std::stoi(a["--steps"]);
    const c10::Device device = cm::engine::choose_device(a["--device"]);
    at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);

    std::shared_ptr<const cm::model::ConsistencyFunction> teacher;
    if (c.mode == cm::train::TrainMode::Cd) {
      auto unet = std::make_shared<cm::model::UNet>(c.architecture, cm::train::init_unet_weights(c.architecture, 1));
      unet->to(device, at::kFloat);
      teacher = std::make_shared<cm::model::UNetFunction>(unet, cm::model::Parameterization::Edm, cm::model::ModelSpec{});
    }
    cm::train::Trainer trainer(c, std::make_shared<NoiseImages>(c.architecture.image_size), device, teacher);
    const int64_t params = trainer.parameter_count();

    const auto sync = [&] {
      if (device.is_cuda()) trainer.online_weights();  // a device→host copy waits for the queue
    };
    for (int i = 0; i < 2; ++i) trainer.step();
    sync();
    std::vector<double> seconds;
    for (int i = 0; i < steps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      trainer.step();  // reads the loss back: a sync point every step
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    std::printf("%s  %.1f M parameters  %dx%d  batch %lld  %s%s%s  threads %d\n", a["--mode"].c_str(), double(params) / 1e6,
                c.architecture.image_size, c.architecture.image_size, static_cast<long long>(c.batch), device.str().c_str(),
                device.is_cuda() ? (bf16 ? " bf16" : " fp32") : " fp32", cudnn_benchmark ? "  cuDNN benchmark" : "", at::get_num_threads());
    std::printf("median %.4f s/step  %.2f steps/s  %.1f images/s  (%d steps)\n", median, 1 / median, double(c.batch) / median, steps);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_step: %s\n", e.what());
    return 1;
  }
}
