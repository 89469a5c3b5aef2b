// unet_forward [imagenet64|lsun256|ARCH.json] [BATCH] [RUNS] [THREADS] [SIZE] — time one UNet
// evaluation (f(x, σ) at batch BATCH) of an official architecture, or of the one a JSON file of
// official flags (a model card's "architecture") describes, with random weights, on the CPU, on
// SIZE² pixels (default: the architecture's image size; edit windows run the 64-px model at up to
// 256). Prints the median.
// Timing belongs here, not in tests; results go to docs/BENCHMARKS.md with the command and machine.
#include "core/model/unet.h"
#include "core/model/unet_function.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  using namespace cm::model;
  const std::string arch = argc > 1 ? argv[1] : "imagenet64";
  const int batch = argc > 2 ? std::atoi(argv[2]) : 1;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int size_arg = argc > 5 ? std::atoi(argv[5]) : 0;
  const bool json = arch.size() > 5 && arch.substr(arch.size() - 5) == ".json";
  if ((arch != "imagenet64" && arch != "lsun256" && !json) || batch < 1 || runs < 1 || threads < 1 || size_arg < 0) {
    std::fprintf(stderr, "usage: unet_forward [imagenet64|lsun256|ARCH.json] [BATCH] [RUNS] [THREADS] [SIZE]\n");
    return 2;
  }
  at::set_num_threads(threads);
  UNetConfig config;
  if (json) {
    std::ifstream in(arch);
    config = unet_config_from_json(nlohmann::json::parse(in));
  } else {
    config = arch == "imagenet64" ? imagenet64_config() : lsun256_config();
  }
  StateDict weights;
  for (const ParameterSpec& spec : unet_parameter_specs(config)) weights.emplace_back(spec.name, at::randn(spec.shape) * 0.02);
  auto unet = std::make_shared<const UNet>(config, weights);
  weights.clear();
  const UNetFunction f(unet, Parameterization::Consistency, {});
  const int size = size_arg > 0 ? size_arg : config.image_size;
  const at::Tensor x = at::randn({batch, 3, size, size});
  const at::Tensor sigma = at::full({batch}, 2.5f);
  const at::Tensor labels = config.num_classes ? at::zeros({batch}, at::kLong) : at::Tensor();

  at::InferenceMode inference;
  f(x, sigma, labels);  // warm-up: oneDNN primitive creation, allocations
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f(x, sigma, labels);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s at %d px, batch %d, %d threads, fp32 CPU: median %.0f ms, min %.0f ms over %d runs (%lld parameters)\n",
              arch.c_str(), size, batch, threads, ms[ms.size() / 2], ms.front(), runs,
              static_cast<long long>(unet->parameter_count()));
  return 0;
}
