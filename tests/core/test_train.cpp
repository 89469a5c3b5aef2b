#include "core/expect_error.h"
#include "core/train/ema.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using cm::train::ema_update;

TEST(Ema, MovesTowardTheModelByOneMinusMu) {
  std::vector<at::Tensor> avg = {at::zeros({4}), at::full({2, 2}, 10.0)};
  const std::vector<at::Tensor> cur = {at::ones({4}), at::zeros({2, 2})};
  ema_update(avg, cur, 0.9);
  EXPECT_TRUE(at::allclose(avg[0], at::full({4}, 0.1)));
  EXPECT_TRUE(at::allclose(avg[1], at::full({2, 2}, 9.0)));
}

TEST(Ema, RepeatedUpdatesFollowTheGeometricSeries) {
  // After k updates toward a constant 1 from 0: 1 − μᵏ.
  std::vector<at::Tensor> avg = {at::zeros({3})};
  const std::vector<at::Tensor> cur = {at::ones({3})};
  for (int k = 0; k < 20; ++k) ema_update(avg, cur, 0.95);
  EXPECT_NEAR(avg[0][0].item<double>(), 1.0 - std::pow(0.95, 20), 1e-6);
}

TEST(Ema, LeavesTheModelUntouchedAndWorksOnParameters) {
  at::Tensor param = at::ones({3}).requires_grad_(true);
  std::vector<at::Tensor> avg = {at::zeros({3})};
  ema_update(avg, {param}, 0.5);
  EXPECT_TRUE(at::allclose(param.detach(), at::ones({3})));
  EXPECT_FALSE(avg[0].requires_grad());
}

TEST(Ema, RejectsMismatchesAndBadRates) {
  std::vector<at::Tensor> avg = {at::zeros({3})};
  EXPECT_CM_ERROR(ema_update(avg, {at::zeros({4})}, 0.9), cm::ErrorCode::ShapeMismatch, "tensor 0");
  EXPECT_CM_ERROR(ema_update(avg, {}, 0.9), cm::ErrorCode::ShapeMismatch, "EMA has 1 tensors but the model has 0");
  EXPECT_CM_ERROR(ema_update(avg, {at::zeros({3})}, 1.5), cm::ErrorCode::BadArgument, "[0, 1]");
}

}  // namespace

// --- the pieces of cm_train ---------------------------------------------------------------------

#include "core/temp_dir.h"
#include "core/train/data_source.h"
#include "core/train/image_pack.h"
#include "core/train/jpeg_decode.h"
#include "core/train/losses.h"
#include "core/train/network.h"
#include "core/train/noise_schedule.h"
#include "core/train/optimizer.h"
#include "core/train/sample_grid.h"
#include "core/train/sharded_checkpoint.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "core/imageio/image_file.h"
#endif

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adam.h>

#include <fstream>
#include <set>

namespace {

namespace fs = std::filesystem;
using namespace cm::train;
using cm::ErrorCode;

TEST(IctCurriculum, DoublesNInEqualStagesFrom11To1281) {
  // K = 800: K' = ⌊800/8⌋ = 100 steps per stage.
  const std::vector<int> expected = {11, 21, 41, 81, 161, 321, 641, 1281, 1281};
  for (int stage = 0; stage < 9; ++stage) {
    EXPECT_EQ(ict_discretization(stage * 100, 800), expected[stage]) << "stage " << stage;
    if (stage > 0) {
      EXPECT_EQ(ict_discretization(stage * 100 - 1, 800), expected[stage - 1]);
    }
  }
  EXPECT_EQ(ict_discretization(5000, 800), 1281);  // past K it stays at s1 + 1
  EXPECT_EQ(ict_discretization(0, 3), 11);        // runs shorter than the stages still work
  EXPECT_CM_ERROR(ict_discretization(0, 100, 20, 10), ErrorCode::BadArgument, "1 ≤ s0 ≤ s1");
  EXPECT_CM_ERROR(ict_discretization(0, 0), ErrorCode::BadArgument, "at least one training step");
}

TEST(IctNoise, LogNormalPairProbabilitiesSumToOneAndPeakNearExpPMean) {
  const std::vector<double> sigmas = increasing_karras_sigmas(1281, {});
  EXPECT_NEAR(sigmas.front(), 0.002, 1e-15);
  EXPECT_NEAR(sigmas.back(), 80.0, 1e-12);
  const std::vector<double> p = lognormal_pair_probabilities(sigmas, -1.1, 2.0);
  ASSERT_EQ(p.size(), 1280u);
  double total = 0, below_median = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    total += p[i];
    if (sigmas[i + 1] <= std::exp(-1.1)) below_median += p[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Half of the mass lies below σ = e^{P_mean} (up to the truncation at ε and T and one pair).
  EXPECT_NEAR(below_median, 0.5, 0.03);
}

TEST(IctNoise, SampledPairsAreAdjacentGridPointsWeightedByTheirGap) {
  const std::vector<double> sigmas = increasing_karras_sigmas(41, {});
  const std::vector<double> p = lognormal_pair_probabilities(sigmas);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const NoisePairs pairs = sample_pairs(sigmas, p, 256, gen);
  const at::Tensor weight = ict_weight(pairs);
  for (int64_t b = 0; b < 256; ++b) {
    const double hi = pairs.sigma_high[b].item<double>(), lo = pairs.sigma_low[b].item<double>();
    const auto it = std::find_if(sigmas.begin(), sigmas.end(), [&](double s) { return std::abs(s - lo) <= 1e-6 * s; });
    ASSERT_NE(it, sigmas.end());
    ASSERT_NE(it + 1, sigmas.end());
    EXPECT_NEAR(hi, *(it + 1), 1e-5 * hi);
    EXPECT_NEAR(weight[b].item<double>(), 1.0 / (hi - lo), 1e-3 / (hi - lo));
  }
  const NoisePairs uniform = sample_uniform_pairs(sigmas, 512, gen);
  EXPECT_TRUE((uniform.sigma_high > uniform.sigma_low).all().item<bool>());
  EXPECT_NEAR(uniform.sigma_low.min().item<double>(), 0.002, 1e-6);  // 512 draws of 40 pairs reach both ends
  EXPECT_NEAR(uniform.sigma_high.max().item<double>(), 80.0, 1e-4);
  EXPECT_CM_ERROR(sample_pairs(sigmas, {0.5, 0.5}, 4, gen), ErrorCode::ShapeMismatch, "2 pair probabilities for a grid of 41 points");
}

TEST(Losses, PseudoHuberIsQuadraticForSmallAndLinearForLargeDifferences) {
  EXPECT_NEAR(pseudo_huber_c(64 * 64 * 3), 0.0598, 1e-4);  // iCT's c for 64² images
  const at::Tensor zero = at::zeros({2, 3, 4, 4});
  const double c = 0.06;
  const at::Tensor small = at::full({2, 3, 4, 4}, 1e-3), large = at::full({2, 3, 4, 4}, 10.0);
  const double small_sq = 48 * 1e-6, large_norm = std::sqrt(48.0) * 10;  // 48 values per image
  EXPECT_NEAR(distance(small, zero, Metric::PseudoHuber, c)[0].item<double>(), small_sq / (2 * c), 1e-2 * small_sq / (2 * c));
  EXPECT_NEAR(distance(large, zero, Metric::PseudoHuber, c)[1].item<double>(), large_norm - c, 1e-3);
  EXPECT_NEAR(distance(large, zero, Metric::PseudoHuber, 0.0)[0].item<double>(), large_norm, 1e-3);
  EXPECT_NEAR(distance(large, zero, Metric::L2)[0].item<double>(), 100.0, 1e-4);
  EXPECT_NEAR(distance(-large, zero, Metric::L1)[0].item<double>(), 10.0, 1e-5);
  EXPECT_CM_ERROR(distance(zero, at::zeros({2, 3}), Metric::L2), ErrorCode::ShapeMismatch, "different shapes");
  EXPECT_CM_ERROR(parse_metric("lpips"), ErrorCode::BadArgument, "l2, l1 or pseudo-huber");
}

// --- optimizer --------------------------------------------------------------------------------

// A small least-squares problem: gradients that change every step.
at::Tensor quadratic_loss(const at::Tensor& w, int step) {
  const at::Tensor target = at::arange(6, at::kFloat).view({2, 3}) * (1 + 0.1 * step);
  return (w * w.sum() - target).pow(2).sum();
}

TEST(Optimizer, AdamMatchesTorchAdamStepForStep) {
  at::Tensor ours = (at::ones({2, 3}) * 0.3).requires_grad_(true);
  at::Tensor theirs = ours.detach().clone().requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.lr = 0.01;
  c.grad_clip = 0;
  Optimizer mine(c, {ours});
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(0.01));
  for (int step = 0; step < 20; ++step) {
    quadratic_loss(ours, step).backward();
    mine.step();
    reference.zero_grad();
    quadratic_loss(theirs, step).backward();
    reference.step();
    ASSERT_TRUE(at::allclose(ours, theirs, 1e-6, 1e-7)) << "step " << step;
  }
}

TEST(Optimizer, RAdamTakesMomentumStepsUntilTheVarianceIsTractableThenRectifiedOnes) {
  at::Tensor w = at::zeros({1}).requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::RAdam;
  c.lr = 0.1;
  c.grad_clip = 0;
  Optimizer opt(c, {w});
  // Constant gradient 1: m̂ = 1 and v̂ = 1 at every step. ρ_t ≤ 5 for t ≤ 5 (β₂ = 0.999): plain
  // momentum steps of lr·m̂; from t = 6 on, steps of lr·r_t·m̂/(√v̂ + ε′).
  double expected = 0;
  for (int t = 1; t <= 12; ++t) {
    w.mutable_grad() = at::ones({1});
    opt.step();
    const double b2 = 0.999, rho_inf = 2 / (1 - b2) - 1, bias2 = 1 - std::pow(b2, t);
    const double rho = rho_inf - 2 * t * std::pow(b2, t) / bias2;
    if (rho > 5) {
      const double r = std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
      expected -= 0.1 * r * std::sqrt(bias2) / (std::sqrt(bias2) + 1e-8);
    } else {
      expected -= 0.1;
    }
    ASSERT_NEAR(w.item<double>(), expected, 1e-6) << "t = " << t;
  }
}

TEST(Optimizer, ClipsTheGlobalNormWarmsUpAndSkipsNonFiniteGradients) {
  at::Tensor a = at::zeros({3}).requires_grad_(true), b = at::zeros({4}).requires_grad_(true);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.lr = 1.0;
  c.warmup_steps = 4;
  c.grad_clip = 1.0;
  Optimizer opt(c, {a, b});
  EXPECT_DOUBLE_EQ(opt.learning_rate(0), 0.25);
  EXPECT_DOUBLE_EQ(opt.learning_rate(3), 1.0);
  EXPECT_DOUBLE_EQ(opt.learning_rate(100), 1.0);
  a.mutable_grad() = at::full({3}, 3.0);
  b.mutable_grad() = at::full({4}, 4.0);
  const StepReport r = opt.step();
  EXPECT_NEAR(r.grad_norm, std::sqrt(9 * 3 + 16 * 4.0), 1e-9);
  EXPECT_DOUBLE_EQ(r.lr, 0.25);
  EXPECT_FALSE(r.skipped);
  EXPECT_FALSE(a.grad().defined() && a.grad().abs().sum().item<double>() != 0);  // grads are zeroed
  // Adam's first step moves every coordinate by lr whatever the (clipped) gradient's size.
  EXPECT_TRUE(at::allclose(a, at::full({3}, -0.25), 1e-5));

  const at::Tensor before = a.detach().clone();
  a.mutable_grad() = at::full({3}, NAN);
  const StepReport bad = opt.step();
  EXPECT_TRUE(bad.skipped);
  EXPECT_TRUE(at::equal(a.detach(), before));
  EXPECT_EQ(opt.steps_taken(), 1);
}

TEST(Optimizer, StateRoundTripsAndBadConfigsAreRefused) {
  at::Tensor w = at::zeros({2}).requires_grad_(true);
  Optimizer opt({}, {w});
  w.mutable_grad() = at::ones({2});
  opt.step();
  at::Tensor w2 = w.detach().clone().requires_grad_(true);
  Optimizer copy({}, {w2});
  copy.load_state(opt.state(), opt.steps_taken());
  w.mutable_grad() = at::full({2}, 0.5);
  w2.mutable_grad() = at::full({2}, 0.5);
  opt.step();
  copy.step();
  EXPECT_TRUE(at::equal(w, w2));
  EXPECT_CM_ERROR(copy.load_state({}, 1), ErrorCode::CorruptFile, "missing 'exp_avg.0'");

  OptimizerConfig c;
  c.lr = 0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "learning rate must be > 0");
  c = {};
  c.beta2 = 1.0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "beta2");
  EXPECT_CM_ERROR(parse_optimizer("sgd"), ErrorCode::BadArgument, "adam or radam");
}

// --- the network under training ---------------------------------------------------------------

TEST(TrainNetwork, FreshWeightsFollowTheOfficialInitialisation) {
  const cm::model::UNetConfig config = cm::testing::tiny_unet();
  const cm::model::StateDict w = init_unet_weights(config, 1);
  const cm::model::StateDict again = init_unet_weights(config, 1);
  const cm::model::StateDict other = init_unet_weights(config, 2);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const auto& [name, t] = w[i];
    EXPECT_TRUE(at::equal(t, again[i].second)) << name;
    if (name.find(".out_layers.3.") != std::string::npos || name.find("proj_out") != std::string::npos || name.rfind("out.2.", 0) == 0) {
      EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
    }
    if (name == "time_embed.0.weight") {
      EXPECT_LE(t.abs().max().item<double>(), 1 / std::sqrt(32.0));
      EXPECT_GT(t.abs().max().item<double>(), 0.9 / std::sqrt(32.0));
      EXPECT_FALSE(at::equal(t, other[i].second));
    }
    if (name == "out.0.weight") {
      EXPECT_TRUE(at::equal(t, at::ones_like(t)));
    }
  }
  // The output conv starts at zero, so an untrained consistency function is c_skip·x exactly.
  const cm::model::UNet unet(config, w);
  const at::Tensor x = at::randn({2, 3, 8, 8});
  const at::Tensor sigma = at::full({2}, 1.5);
  const at::Tensor f = evaluate(unet, {}, x, sigma, at::Tensor(), false);
  const double c_skip = 0.25 / ((1.5 - 0.002) * (1.5 - 0.002) + 0.25);
  EXPECT_TRUE(at::allclose(f, x * c_skip, 1e-5, 1e-6));
}

TEST(TrainNetwork, DropoutActsOnlyInTrainingAndReseedingRepeatsItsMasks) {
  cm::model::UNetConfig config = cm::testing::tiny_unet();
  config.dropout = 0.3;
  cm::model::StateDict w = init_unet_weights(config, 1);
  for (auto& [name, t] : w) t = t + 0.05 * at::randn_like(t);  // no zero layers, so dropout shows
  const cm::model::UNet unet(config, w);
  const at::Tensor x = at::randn({2, 3, 8, 8}), t = at::full({2}, 100.0);
  EXPECT_TRUE(at::equal(unet.forward(x, t), unet.forward(x, t)));
  at::manual_seed(11);
  const at::Tensor a = unet.forward_training(x, t);
  at::manual_seed(11);
  const at::Tensor b = unet.forward_training(x, t);
  const at::Tensor c = unet.forward_training(x, t);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::allclose(a, c));
  EXPECT_FALSE(at::allclose(a, unet.forward(x, t)));
}

TEST(TrainConfigJson, RoundTripsAndRefusesNonsense) {
  TrainConfig c = cm::testing::tiny_config(TrainMode::Cd, 123);
  c.teacher = "/models/edm";
  c.cd_metric = Metric::L1;
  c.optimizer.warmup_steps = 7;
  const TrainConfig back = train_config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.mode, TrainMode::Cd);
  EXPECT_EQ(back.cd_metric, Metric::L1);
  EXPECT_CM_ERROR(train_config_from_json(nlohmann::json::object()), ErrorCode::CorruptFile, "needs at least 'mode'");
  nlohmann::json j = to_json(c);
  j["batch"] = "many";
  EXPECT_CM_ERROR(train_config_from_json(j), ErrorCode::CorruptFile, "'batch' has the wrong type");
  c.batch = 0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "batch size");
  EXPECT_CM_ERROR(parse_train_mode("dpm"), ErrorCode::BadArgument, "ct, ect, cd or edm");
}

// --- data -------------------------------------------------------------------------------------

at::Tensor gradient_photo(int64_t h, int64_t w, int seed) {
  return ((at::arange(h * w * 3, at::kLong) * (seed + 1)) % 256).to(at::kByte).view({h, w, 3});
}

TEST(ImagePack, RoundTripsPixelsSplitsAndAttribution) {
  cm::testing::TempDir dir;
  ImagePack pack;
  pack.metadata["weights_license"] = "CC-BY-SA-4.0";
  pack.images.push_back({"a/beach.jpg", Split::Train, "CC0-1.0", "endless-sky", gradient_photo(30, 40, 1), {}});
  pack.images.push_back({"b.png", Split::Test, "GPL-2+", "scratch", gradient_photo(17, 9, 2), {}});
  write_image_pack(dir / "p.cmpack", pack);
  const ImagePack back = read_image_pack(dir / "p.cmpack");
  ASSERT_EQ(back.images.size(), 2u);
  EXPECT_EQ(back.metadata.at("weights_license"), "CC-BY-SA-4.0");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.images[i].name, pack.images[i].name);
    EXPECT_EQ(back.images[i].split, pack.images[i].split);
    EXPECT_EQ(back.images[i].license, pack.images[i].license);
    EXPECT_EQ(back.images[i].source, pack.images[i].source);
    EXPECT_TRUE(at::equal(back.images[i].pixels, pack.images[i].pixels));
  }
  EXPECT_EQ(back.count(Split::Train), 1);
  const ImagePack catalogue = read_image_pack(dir / "p.cmpack", PackRead::Catalogue);
  ASSERT_EQ(catalogue.images.size(), 2u);
  EXPECT_EQ(catalogue.images[1].name, "b.png");
  EXPECT_EQ(catalogue.images[1].license, "GPL-2+");
  EXPECT_EQ(catalogue.images[1].split, Split::Test);
  EXPECT_EQ(catalogue.images[0].height, 30);
  EXPECT_EQ(catalogue.images[0].width, 40);
  EXPECT_FALSE(catalogue.images[0].pixels.defined());
  EXPECT_EQ(catalogue.metadata.at("weights_license"), "CC-BY-SA-4.0");
  ASSERT_EQ(back.pixels(Split::Test).size(), 1u);
  EXPECT_TRUE(at::equal(back.pixels(Split::Test)[0], pack.images[1].pixels));

  pack.images.push_back(pack.images[0]);
  EXPECT_CM_ERROR(write_image_pack(dir / "q.cmpack", pack), ErrorCode::BadArgument, "'a/beach.jpg' appears twice");
  pack.images.back() = {"gray", Split::Train, "", "", at::zeros({4, 4}, at::kByte), {}};
  EXPECT_CM_ERROR(write_image_pack(dir / "q.cmpack", pack), ErrorCode::BadArgument, "not [H, W, 3] uint8");
  EXPECT_FALSE(fs::exists(dir / "q.cmpack"));
}

TEST(ImagePack, CorruptOrHostileFilesGiveClearErrors) {
  cm::testing::TempDir dir;
  ImagePack pack;
  pack.images.push_back({"a", Split::Train, "", "", gradient_photo(8, 8, 1), {}});
  write_image_pack(dir / "p.cmpack", pack);
  std::string bytes;
  {
    std::ifstream in(dir / "p.cmpack", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return dir / name;
  };
  EXPECT_CM_ERROR(read_image_pack(dir / "missing"), ErrorCode::FileNotFound, "cannot open");
  EXPECT_CM_ERROR(read_image_pack(write("short", bytes.substr(0, 10))), ErrorCode::CorruptFile, "too short");
  EXPECT_CM_ERROR(read_image_pack(write("magic", "PNG" + bytes.substr(3))), ErrorCode::CorruptFile, "no CMPACK01 signature");
  EXPECT_CM_ERROR(read_image_pack(write("truncated", bytes.substr(0, bytes.size() - 5))), ErrorCode::CorruptFile, "runs past the end");
  EXPECT_CM_ERROR(read_image_pack(dir / "truncated", PackRead::Catalogue), ErrorCode::CorruptFile, "runs past the end");
  EXPECT_CM_ERROR(read_image_pack(write("tail", bytes + "xx")), ErrorCode::CorruptFile, "2 bytes after the last image");
  std::string huge = bytes;
  const uint64_t lie = uint64_t(1) << 60;
  std::memcpy(huge.data() + 8, &lie, 8);
  EXPECT_CM_ERROR(read_image_pack(write("huge", huge)), ErrorCode::CorruptFile, "does not fit");
  std::string sized = bytes;
  const std::size_t at = sized.find("\"height\":8");
  ASSERT_NE(at, std::string::npos);
  sized.replace(at, 10, "\"height\":9");
  EXPECT_CM_ERROR(read_image_pack(write("sized", sized)), ErrorCode::CorruptFile, "do not hold 8×9 RGB pixels");
  std::string jpeg = bytes;
  jpeg.replace(jpeg.find("\"rgb8\""), 6, "\"jpg8\"");
  EXPECT_CM_ERROR(read_image_pack(write("jpeg", jpeg)), ErrorCode::Unsupported, "encoding 'jpg8'");
}

#ifdef CMEDIT_HAS_IMAGEIO
TEST(ImagePack, JpegEntriesDecodeToTheirPixelsAndBadOnesAreCorrupt) {
  if (!can_decode_jpeg()) GTEST_SKIP() << "built without stb_image.h";
  cm::testing::TempDir dir;
  const at::Tensor smooth = ((cm::testing::smooth_photo(48, 64)[0].permute({1, 2, 0}) + 1) * 127.5).round().to(at::kByte).contiguous();
  ImagePack pack;
  pack.images.push_back({"smooth.jpg", Split::Train, "", "", smooth, cm::imageio::encode_jpeg(smooth, 95)});
  pack.images.push_back({"raw", Split::Test, "", "", gradient_photo(5, 6, 1), {}});
  write_image_pack(dir / "p.cmpack", pack);
  EXPECT_LT(fs::file_size(dir / "p.cmpack"), 48 * 64 * 3);  // smaller than the raw pixels
  const ImagePack back = read_image_pack(dir / "p.cmpack");
  ASSERT_EQ(back.images[0].pixels.sizes(), smooth.sizes());
  EXPECT_LT((back.images[0].pixels.to(at::kFloat) - smooth.to(at::kFloat)).abs().mean().item<double>(), 2.0);
  EXPECT_TRUE(at::equal(back.images[1].pixels, pack.images[1].pixels));

  pack.images[0].jpeg.assign(pack.images[0].jpeg.size(), 0x55);  // same length, not a JPEG
  write_image_pack(dir / "bad.cmpack", pack);
  EXPECT_CM_ERROR(read_image_pack(dir / "bad.cmpack"), ErrorCode::CorruptFile, "'smooth.jpg': not a decodable JPEG");
  EXPECT_EQ(read_image_pack(dir / "bad.cmpack", PackRead::Catalogue).images.size(), 2u);  // decodes nothing
  pack.images[0].jpeg = cm::imageio::encode_jpeg(smooth.slice(0, 0, 40), 90);  // header says 48 rows
  write_image_pack(dir / "lie.cmpack", pack);
  EXPECT_CM_ERROR(read_image_pack(dir / "lie.cmpack"), ErrorCode::CorruptFile, "the JPEG is 64×40, the header says 64×48");
}
#endif

TEST(ImagePack, HeldOutSplitByNameIsStableAndNearTheFraction) {
  int test = 0;
  for (int i = 0; i < 2000; ++i) test += split_for("photo-" + std::to_string(i) + ".jpg", 0.1) == Split::Test;
  EXPECT_NEAR(test, 200, 45);
  EXPECT_EQ(split_for("beach.jpg", 0.1), split_for("beach.jpg", 0.1));
  EXPECT_EQ(split_for("beach.jpg", 0.0), Split::Train);
  // A larger fraction only moves photos into the test split, never out of it.
  for (int i = 0; i < 200; ++i) {
    const std::string name = std::to_string(i);
    if (split_for(name, 0.1) == Split::Test) {
      EXPECT_EQ(split_for(name, 0.2), Split::Test);
    }
  }
}

TEST(CropSampler, BatchesAreAFunctionOfTheKeyAndCoverEveryScale) {
  std::vector<at::Tensor> photos = {gradient_photo(100, 150, 1), gradient_photo(40, 30, 2)};
  CropOptions o;
  o.size = 16;
  const CropSampler sampler(photos, o, 9);
  const at::Tensor a = sampler.batch(5, 6), b = sampler.batch(5, 6), c = sampler.batch(6, 6);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{6, 3, 16, 16}));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, c));
  EXPECT_LE(a.abs().max().item<double>(), 1.0);
  std::set<std::size_t> images;
  int64_t smallest = 1 << 30, largest = 0, flips = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const CropSampler::Crop crop = sampler.choose(1, i);
    const at::Tensor& p = photos[crop.image];
    images.insert(crop.image);
    ASSERT_GE(crop.side, 16);
    ASSERT_LE(crop.side, std::min(p.size(0), p.size(1)));
    ASSERT_LE(crop.y + crop.side, p.size(0));
    ASSERT_LE(crop.x + crop.side, p.size(1));
    if (crop.image == 0) smallest = std::min(smallest, crop.side), largest = std::max(largest, crop.side);
    flips += crop.flip;
  }
  EXPECT_EQ(images.size(), 2u);
  EXPECT_LT(smallest, 20);   // native-resolution crops …
  EXPECT_GT(largest, 85);    // … and nearly the whole photo
  EXPECT_NEAR(flips, 200, 45);
}

TEST(CropSampler, ConstantPhotosGiveConstantCropsAndBadInputIsRefused) {
  const CropSampler sampler({at::full({50, 70, 3}, 51, at::kByte)}, {}, 1);
  const at::Tensor batch = sampler.batch(0, 3);
  EXPECT_EQ(batch.size(2), 64);  // enlarged: the photo is smaller than the model
  EXPECT_TRUE(at::allclose(batch, at::full_like(batch, 51 / 127.5 - 1), 1e-5, 1e-5));
  EXPECT_CM_ERROR(CropSampler({}, {}, 1), ErrorCode::BadArgument, "training split is empty");
  EXPECT_CM_ERROR(CropSampler({at::zeros({4, 4, 3})}, {}, 1), ErrorCode::BadArgument, "[H, W, 3] uint8");
}

// --- checkpoints and grids ----------------------------------------------------------------------

TEST(ShardedCheckpoint, RoundTripsWithEveryFileWithinTheLimit) {
  cm::testing::TempDir dir;
  const cm::model::StateDict tensors = {{"big", at::randn({300, 200})},  // 240 KB: split in pieces
                                        {"small", at::arange(5, at::kLong)},
                                        {"half", at::randn({3, 4}).to(at::kHalf)},
                                        {"scalar", at::full({}, 2.5)}};
  const int64_t limit = 64 << 10;
  write_checkpoint(dir / "step-000000007", tensors, {{"step", 7}}, limit);
  for (const auto& e : fs::directory_iterator(dir / "step-000000007")) EXPECT_LE(int64_t(fs::file_size(e.path())), limit) << e.path();
  const Checkpoint back = read_checkpoint(dir / "step-000000007");
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_TRUE(at::equal(back.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(back.state["step"], 7);
  EXPECT_CM_ERROR(write_checkpoint(dir / "step-000000007", tensors, {}, limit), ErrorCode::Io, "exists already");
  EXPECT_CM_ERROR(write_checkpoint(dir / "x", tensors, {}, 1000), ErrorCode::BadArgument, "at least 64 KiB");
  EXPECT_CM_ERROR(write_checkpoint(dir / "y", {{"a", at::ones(1)}, {"a", at::ones(1)}}, {}, limit), ErrorCode::BadArgument, "'a' appears twice");
  EXPECT_FALSE(fs::exists(dir / "y"));
}

TEST(ShardedCheckpoint, MissingPiecesAreCorruptAndPartialFoldersAreIgnored) {
  cm::testing::TempDir dir;
  write_checkpoint(checkpoint_dir(dir.path(), 3), {{"big", at::randn({300, 200})}}, {}, 64 << 10);
  write_checkpoint(checkpoint_dir(dir.path(), 12), {{"w", at::ones(3)}}, {});
  fs::create_directories(dir / "step-000000099.partial");
  std::ofstream(dir / "step-000000099.partial" / "index.json") << "{}";
  EXPECT_EQ(list_checkpoints(dir.path()).size(), 2u);
  EXPECT_EQ(latest_checkpoint(dir.path())->filename(), "step-000000012");
  EXPECT_FALSE(latest_checkpoint(dir / "nothing").has_value());
  fs::remove(checkpoint_dir(dir.path(), 3) / "shard-001.safetensors");
  EXPECT_CM_ERROR(read_checkpoint(checkpoint_dir(dir.path(), 3)), ErrorCode::FileNotFound, "shard-001");
  EXPECT_CM_ERROR(read_checkpoint(dir / "nothing"), ErrorCode::FileNotFound, "index.json missing");
  std::ofstream(checkpoint_dir(dir.path(), 12) / "index.json") << "{\"format\": \"cmedit-checkpoint\", \"tensors\": [{\"name\": \"w\"}]}";
  EXPECT_CM_ERROR(read_checkpoint(checkpoint_dir(dir.path(), 12)), ErrorCode::CorruptFile, "missing or mistyped");
}

TEST(SampleGrid, TilesImagesAndWritesAValidPng) {
  const at::Tensor images = at::stack({at::full({3, 4, 5}, -1.0), at::full({3, 4, 5}, 1.0), at::full({3, 4, 5}, 0.0)});
  const at::Tensor grid = image_grid(images, 2, 1);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{9, 11, 3}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);
  EXPECT_EQ(grid[0][6][0].item<int>(), 255);
  EXPECT_EQ(grid[5][0][0].item<int>(), 128);
  EXPECT_EQ(grid[4][0][0].item<int>(), 0);  // the gap
  cm::testing::TempDir dir;
  const at::Tensor big = gradient_photo(300, 250, 3);  // > 64 KiB: several stored deflate blocks
  write_png(dir / "g.png", big);
  std::ifstream in(dir / "g.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
#ifdef CMEDIT_HAS_IMAGEIO
  const cm::imageio::Image back = cm::imageio::load_image(dir / "g.png");
  const at::Tensor pixels = ((back.rgb[0].permute({1, 2, 0}) + 1) * 127.5).round().to(at::kByte);
  EXPECT_TRUE(at::equal(pixels, big));
#endif
  EXPECT_CM_ERROR(write_png(dir / "x.png", at::zeros({2, 2, 3})), ErrorCode::BadArgument, "uint8");
}

}  // namespace
