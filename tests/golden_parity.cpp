// golden_parity [--device cpu|cuda] DIR [CHECKPOINT...] — checks cmedit's UNet, f, EDM denoiser and samplers against a
// golden set made with the official code (format: tests/data/golden/README.md). The config comes from
// DIR/manifest.json; checkpoints default to every one the manifest lists. Prints one line per
// check and exits 0 only when every check passes, 1 when one fails, 2 when the set cannot be read.
//
// Required in a set: x, raw_timesteps, raw_unet_out and the f1_*/f2_* files. The debug files
// (raw_temb_sinusoid, raw_emb, raw_middle_out) and the samples are checked when the set has them
// (listed in the manifest and present); a line says which checks a set lacked.
//
// --device cuda runs the network on the GPU in float32 (TF32 off) under the same rule, and exits 77
// (ctest's skip) with a line saying why when this LibTorch or machine has no CUDA device.
#include "core/base/error.h"
#include "core/engine/device.h"
#include "core/model/torch_checkpoint.h"
#include "core/model/unet.h"
#include "core/model/unet_function.h"
#include "core/sampling/multistep.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace {

namespace fs = std::filesystem;
using namespace cm::model;

struct GoldenSet {
  fs::path dir;
  nlohmann::json manifest;

  bool has(const std::string& name) const { return manifest.at("files").contains(name) && fs::exists(dir / name); }
  // True when the set has every file of an optional check; else notes the check as skipped.
  bool has_all(const std::vector<std::string>& names, const std::string& check, std::vector<std::string>& skipped) const {
    for (const std::string& n : names)
      if (!has(n)) {
        if (std::find(skipped.begin(), skipped.end(), check) == skipped.end()) skipped.push_back(check);
        return false;
      }
    return true;
  }

  at::Tensor load(const std::string& name) const {
    const auto& files = manifest.at("files");
    if (!files.contains(name)) throw cm::Error(cm::ErrorCode::CorruptFile, "manifest lists no file '" + name + "'");
    std::vector<int64_t> shape = files.at(name).at("shape").get<std::vector<int64_t>>();
    std::ifstream in(dir / name, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    at::Tensor t = at::empty(shape, at::kFloat);
    if (!in.eof() && !in.good()) throw cm::Error(cm::ErrorCode::FileNotFound, "cannot read " + (dir / name).string());
    if (bytes.size() != std::size_t(t.numel()) * sizeof(float))
      throw cm::Error(cm::ErrorCode::CorruptFile, fmt::format("{}: {} bytes, expected {}", name, bytes.size(), t.numel() * 4));
    std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
    return t;
  }
};

class Checker {
 public:
  // The README's rule: max|out − ref| ≤ 1e-5 + 1e-4·max|ref|.
  void check(const std::string& what, const at::Tensor& out, const at::Tensor& ref) {
    const double err = (out.cpu().to(at::kDouble) - ref.to(at::kDouble)).abs().max().item<double>();
    const double tol = 1e-5 + 1e-4 * ref.abs().max().item<double>();
    const bool ok = out.sizes() == ref.sizes() && err <= tol;
    std::printf("%-4s %-44s max|err| %.3e  (tolerance %.3e)\n", ok ? "ok" : "FAIL", what.c_str(), err, tol);
    failures_ += !ok;
  }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

void check_checkpoint(const GoldenSet& g, const UNetConfig& config, const std::string& checkpoint, c10::Device device,
                      Checker& c, std::vector<std::string>& skipped) {
  std::printf("== %s on %s\n", checkpoint.c_str(), device.str().c_str());
  auto network = std::make_shared<UNet>(config, read_torch_checkpoint(g.dir / checkpoint));
  network->to(device, at::kFloat);
  std::shared_ptr<const UNet> unet = network;
  const at::Tensor labels = config.num_classes > 0
                                ? at::tensor(g.manifest.at("labels").get<std::vector<int64_t>>()).to(device)
                                : at::Tensor();
  ModelSpec spec;
  spec.name = checkpoint;
  const auto& s = g.manifest.at("scalings");
  spec.noise = {s.at("sigma_min").get<double>(), s.at("sigma_max").get<double>(), s.at("sigma_data").get<double>()};
  const UNetFunction f(unet, Parameterization::Consistency, spec);
  const UNetFunction edm(unet, Parameterization::Edm, spec);
  const std::string tag = checkpoint + ": ";

  UNetTrace trace;
  const at::Tensor raw = unet->forward(g.load("x.bin").to(device), g.load("raw_timesteps.bin").to(device), labels, &trace);
  if (g.has_all({"raw_temb_sinusoid.bin"}, "timestep embedding (debug)", skipped))
    c.check(tag + "timestep embedding", trace.temb_sinusoid, g.load("raw_temb_sinusoid.bin"));
  if (g.has_all({"raw_emb.bin"}, "embedding (debug)", skipped)) c.check(tag + "embedding (+ label)", trace.emb, g.load("raw_emb.bin"));
  if (g.has_all({"raw_middle_out.bin"}, "middle block (debug)", skipped))
    c.check(tag + "middle block", trace.middle_out, g.load("raw_middle_out.bin"));
  c.check(tag + "raw UNet", raw, g.load("raw_unet_out.bin"));

  for (const char* set : {"f1", "f2"}) {
    const std::string p = set;
    const at::Tensor xt = g.load(p + "_xt.bin"), sigma = g.load(p + "_sigmas.bin");
    c.check(tag + "UNet inside f (" + p + ")", f.network_output(xt, sigma, labels), g.load(p + "_unet_out.bin"));
    c.check(tag + "consistency f (" + p + ")", f(xt, sigma, labels), g.load(p + "_f.bin"));
  }
  c.check(tag + "EDM denoiser (f1)", edm(g.load("f1_xt.bin"), g.load("f1_sigmas.bin"), labels),
          g.load("f1_edm_denoised.bin"));

  if (g.has_all({"sample_z0.bin", "sample_onestep.bin"}, "one-step sample", skipped))
    c.check(tag + "one-step sample", cm::sampling::sample_onestep(f, g.load("sample_z0.bin"), labels), g.load("sample_onestep.bin"));
  if (g.has_all({"sample_z0.bin", "sample_z1.bin", "sample_z2.bin", "sample_twostep.bin"}, "two-step sample", skipped)) {
    const std::vector<at::Tensor> noises = {g.load("sample_z0.bin"), g.load("sample_z1.bin"), g.load("sample_z2.bin")};
    c.check(tag + "two-step sample, ts 0,22,39 of 40",
            cm::sampling::sample_multistep(f, noises, {0, 22, 39}, 40, labels), g.load("sample_twostep.bin"));
  }
}

int run(int argc, char** argv) {
  std::string device_name = "cpu";
  if (argc >= 3 && std::string(argv[1]) == "--device") {
    device_name = argv[2];
    argc -= 2;
    argv += 2;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: golden_parity [--device cpu|cuda] DIR [CHECKPOINT...]\n");
    return 2;
  }
  if (device_name != "cpu" && !cm::engine::cuda_status().usable()) {
    std::printf("golden_parity: skipped: %s\n", cm::engine::cuda_status().built_in ? "no CUDA device found"
                                                                                  : "this LibTorch was built without CUDA");
    return 77;
  }
  const c10::Device device = cm::engine::choose_device(device_name);
  // cuDNN's default TF32 convolutions would miss the rule by an order of magnitude.
  if (device.is_cuda()) at::globalContext().setAllowTF32CuDNN(false);
  GoldenSet g{argv[1], {}};
  std::ifstream in(g.dir / "manifest.json");
  if (!in) throw cm::Error(cm::ErrorCode::FileNotFound, "no manifest.json in " + g.dir.string());
  g.manifest = nlohmann::json::parse(in);
  const UNetConfig config = unet_config_from_json(g.manifest.at("config"));

  std::vector<std::string> checkpoints(argv + 2, argv + argc);
  if (checkpoints.empty())
    for (const auto& [name, description] : g.manifest.at("checkpoints").items()) checkpoints.push_back(name);

  at::InferenceMode inference;
  Checker c;
  std::vector<std::string> skipped;
  for (const std::string& checkpoint : checkpoints) check_checkpoint(g, config, checkpoint, device, c, skipped);
  if (!skipped.empty()) {
    std::string list;
    for (const std::string& s : skipped) list += (list.empty() ? "" : ", ") + s;
    std::printf("skipped (not in this set): %s\n", list.c_str());
  }
  std::printf("%s: %d failed\n", c.failures() ? "FAILED" : "PASSED", c.failures());
  return c.failures() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "golden_parity: %s\n", e.what());
    return 2;
  }
}
