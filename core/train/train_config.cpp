// TrainConfig: names, checks and its JSON form (run.json, campaign.json); the names of the step kinds.
#include "core/train/trainer.h"

#include "core/base/error.h"
#include "core/train/noise_schedule.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace cm::train {
namespace {

template <typename T>
T get(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::CorruptFile, std::string("training config: field '") + key + "' has the wrong type");
  }
}

}  // namespace

const char* to_string(TrainMode m) {
  switch (m) {
    case TrainMode::Ct: return "ct";
    case TrainMode::Cd: return "cd";
    case TrainMode::Edm: return "edm";
    case TrainMode::Ect: return "ect";
  }
  return "?";
}

StepSpeed parse_step_kind(const std::string& name) {
  StepSpeed s;
  if (name == "fused" || name == "graph") s.fused = true;
  if (name == "graph") s.cuda_graphs = true;
  if (name != "plain" && !s.fused) throw Error(ErrorCode::BadArgument, "unknown step '" + name + "' (expected plain, fused or graph)");
  return s;
}

std::string describe(const StepSpeed& s) {
  return std::string(s.cuda_graphs ? "graph" : s.fused ? "fused" : "plain") + (s.channels_last ? ", channels-last" : "");
}

TrainMode parse_train_mode(const std::string& name) {
  if (name == "ct") return TrainMode::Ct;
  if (name == "cd") return TrainMode::Cd;
  if (name == "edm") return TrainMode::Edm;
  if (name == "ect") return TrainMode::Ect;
  throw Error(ErrorCode::BadArgument, "unknown training mode '" + name + "' (expected ct, ect, cd or edm)");
}

void TrainConfig::validate() const {
  const auto bad = [](const std::string& what) { throw Error(ErrorCode::BadArgument, what); };
  architecture.validate();
  optimizer.validate();
  if (iterations < 1) bad("iterations must be ≥ 1");
  if (batch < 1) bad("batch size must be ≥ 1");
  if (!(ema_rate >= 0 && ema_rate < 1)) bad(fmt::format("EMA rate must lie in [0, 1), got {}", ema_rate));
  if (!(noise.sigma_min > 0 && noise.sigma_max > noise.sigma_min && noise.sigma_data > 0)) bad("needs 0 < σ_min < σ_max and σ_data > 0");
  if (mode == TrainMode::Ct) ict_discretization(0, iterations, ct_s0, ct_s1);
  if (mode == TrainMode::Cd && cd_points < 2) bad("CD needs a grid of at least 2 points");
  if (mode == TrainMode::Cd && !(cd_target_ema >= 0 && cd_target_ema < 1)) bad("CD target EMA μ must lie in [0, 1)");
  if (architecture.num_classes > 0) bad("training class-conditional models is not supported yet");
  if (mode == TrainMode::Ect) {
    ect_stage(0, ect_pretrain_steps, ect_stage_steps, ect_max_stage);
    if (!(ect_q > 1) || !(ect_k >= 0) || !(ect_b > 0)) bad(fmt::format("ECT needs q > 1, k ≥ 0 and b > 0, got {}, {}, {}", ect_q, ect_k, ect_b));
    if (!(ct_p_std > 0)) bad("ECT needs P_std > 0");
  }
  // The UNet halves the image once per level after the first.
  const int multiple = 1 << std::max<int>(0, int(architecture.channel_mult.size()) - 1);
  for (int s : crop_sizes)
    if (s < 8 || s % multiple != 0) bad(fmt::format("crop size {} must be ≥ 8 and a multiple of {} for this network", s, multiple));
}

int TrainConfig::crop_size_at(int64_t step) const {
  return crop_sizes.empty() ? architecture.image_size : crop_sizes[std::size_t(step % int64_t(crop_sizes.size()))];
}

int64_t TrainConfig::batch_for(int crop_size) const {
  const double ratio = double(architecture.image_size) / double(crop_size);
  return std::max<int64_t>(1, std::llround(double(batch) * ratio * ratio));
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"mode", to_string(c.mode)},
          {"architecture", model::unet_config_to_json(c.architecture)},
          {"sigma_min", c.noise.sigma_min},
          {"sigma_max", c.noise.sigma_max},
          {"sigma_data", c.noise.sigma_data},
          {"iterations", c.iterations},
          {"batch", c.batch},
          {"seed", c.seed},
          {"optimizer", to_string(c.optimizer.kind)},
          {"lr", c.optimizer.lr},
          {"beta1", c.optimizer.beta1},
          {"beta2", c.optimizer.beta2},
          {"eps", c.optimizer.eps},
          {"warmup_steps", c.optimizer.warmup_steps},
          {"grad_clip", c.optimizer.grad_clip},
          {"ema_rate", c.ema_rate},
          {"bf16", c.bf16},
          {"ct_s0", c.ct_s0},
          {"ct_s1", c.ct_s1},
          {"ct_p_mean", c.ct_p_mean},
          {"ct_p_std", c.ct_p_std},
          {"ct_metric", to_string(c.ct_metric)},
          {"teacher", c.teacher},
          {"cd_points", c.cd_points},
          {"cd_target_ema", c.cd_target_ema},
          {"cd_metric", to_string(c.cd_metric)},
          {"edm_p_mean", c.edm_p_mean},
          {"edm_p_std", c.edm_p_std},
          {"ect_pretrain_steps", c.ect_pretrain_steps},
          {"ect_stage_steps", c.ect_stage_steps},
          {"ect_max_stage", c.ect_max_stage},
          {"ect_q", c.ect_q},
          {"ect_k", c.ect_k},
          {"ect_b", c.ect_b},
          {"crop_sizes", c.crop_sizes},
          {"data", c.data},
          {"min_crop", c.min_crop}};
}

TrainConfig train_config_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("mode") || !j.contains("architecture"))
    throw Error(ErrorCode::CorruptFile, "training config: needs at least 'mode' and 'architecture'");
  TrainConfig c;
  c.mode = parse_train_mode(get<std::string>(j, "mode", "ct"));
  c.architecture = model::unet_config_from_json(j.at("architecture"));
  c.noise = {get(j, "sigma_min", c.noise.sigma_min), get(j, "sigma_max", c.noise.sigma_max), get(j, "sigma_data", c.noise.sigma_data)};
  c.iterations = get(j, "iterations", c.iterations);
  c.batch = get(j, "batch", c.batch);
  c.seed = get(j, "seed", c.seed);
  c.optimizer.kind = parse_optimizer(get<std::string>(j, "optimizer", "radam"));
  c.optimizer.lr = get(j, "lr", c.optimizer.lr);
  c.optimizer.beta1 = get(j, "beta1", c.optimizer.beta1);
  c.optimizer.beta2 = get(j, "beta2", c.optimizer.beta2);
  c.optimizer.eps = get(j, "eps", c.optimizer.eps);
  c.optimizer.warmup_steps = get(j, "warmup_steps", c.optimizer.warmup_steps);
  c.optimizer.grad_clip = get(j, "grad_clip", c.optimizer.grad_clip);
  c.ema_rate = get(j, "ema_rate", c.ema_rate);
  c.bf16 = get(j, "bf16", c.bf16);
  c.ct_s0 = get(j, "ct_s0", c.ct_s0);
  c.ct_s1 = get(j, "ct_s1", c.ct_s1);
  c.ct_p_mean = get(j, "ct_p_mean", c.ct_p_mean);
  c.ct_p_std = get(j, "ct_p_std", c.ct_p_std);
  c.ct_metric = parse_metric(get<std::string>(j, "ct_metric", "pseudo-huber"));
  c.teacher = get<std::string>(j, "teacher", "");
  c.cd_points = get(j, "cd_points", c.cd_points);
  c.cd_target_ema = get(j, "cd_target_ema", c.cd_target_ema);
  c.cd_metric = parse_metric(get<std::string>(j, "cd_metric", "l2"));
  c.edm_p_mean = get(j, "edm_p_mean", c.edm_p_mean);
  c.edm_p_std = get(j, "edm_p_std", c.edm_p_std);
  c.ect_pretrain_steps = get(j, "ect_pretrain_steps", c.ect_pretrain_steps);
  c.ect_stage_steps = get(j, "ect_stage_steps", c.ect_stage_steps);
  c.ect_max_stage = get(j, "ect_max_stage", c.ect_max_stage);
  c.ect_q = get(j, "ect_q", c.ect_q);
  c.ect_k = get(j, "ect_k", c.ect_k);
  c.ect_b = get(j, "ect_b", c.ect_b);
  c.crop_sizes = get(j, "crop_sizes", c.crop_sizes);
  c.data = get<std::string>(j, "data", "");
  c.min_crop = get(j, "min_crop", c.min_crop);
  return c;
}

}  // namespace cm::train
