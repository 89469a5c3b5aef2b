#include "core/train/trainer.h"

#include "core/base/error.h"
#include "core/sampling/edm_heun.h"
#include "core/sampling/multistep.h"
#include "core/sampling/schedule.h"
#include "core/train/ema.h"
#include "core/train/network.h"
#include "core/train/noise_schedule.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <mutex>

namespace cm::train {
namespace {

// bfloat16 autocast for the network's forward passes on CUDA; does nothing elsewhere.
class AutocastScope {
 public:
  explicit AutocastScope(bool enable) : enabled_(enable) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    previous_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

// Dropout draws from the device's default generator; reseeding it before each of two passes
// gives both the same masks (iCT's shared dropout RNG).
void reseed_dropout(c10::Device device, std::uint64_t seed) {
  at::Generator gen = at::globalContext().defaultGenerator(device.is_cuda() ? device : c10::Device(at::kCPU));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
}

at::Generator cpu_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

at::Tensor per_image(const at::Tensor& v) { return v.view({-1, 1, 1, 1}); }

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : ts) out.push_back(t.detach().clone());
  return out;
}

model::StateDict named(const model::UNet& unet, const std::vector<at::Tensor>& tensors) {
  model::StateDict out;
  const model::StateDict names = unet.state_dict();
  for (std::size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i].first, tensors[i].detach().to(at::kCPU, at::kFloat));
  return out;
}

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
  }
  return "?";
}

TrainMode parse_train_mode(const std::string& name) {
  if (name == "ct") return TrainMode::Ct;
  if (name == "cd") return TrainMode::Cd;
  if (name == "edm") return TrainMode::Edm;
  throw Error(ErrorCode::BadArgument, "unknown training mode '" + name + "' (expected ct, cd or edm)");
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
  c.data = get<std::string>(j, "data", "");
  c.min_crop = get(j, "min_crop", c.min_crop);
  return c;
}

Trainer::Trainer(TrainConfig config, std::shared_ptr<const DataSource> data, c10::Device device,
                 std::shared_ptr<const model::ConsistencyFunction> teacher, const model::StateDict* initial_weights)
    : config_(std::move(config)), data_(std::move(data)), device_(device), teacher_(std::move(teacher)) {
  config_.validate();
  if (!data_) throw Error(ErrorCode::BadArgument, "training needs a data source");
  if (data_->image_size() != config_.architecture.image_size)
    throw Error(ErrorCode::ShapeMismatch, fmt::format("the data gives {}×{} images but the model is {}×{}", data_->image_size(),
                                                      data_->image_size(), config_.architecture.image_size, config_.architecture.image_size));
  if (config_.mode == TrainMode::Cd && !teacher_) throw Error(ErrorCode::BadArgument, "consistency distillation needs an EDM teacher");
  if (teacher_ && teacher_->spec().image_size != config_.architecture.image_size)
    throw Error(ErrorCode::ShapeMismatch, fmt::format("the teacher works at {}×{} but the student at {}×{}", teacher_->spec().image_size,
                                                      teacher_->spec().image_size, config_.architecture.image_size, config_.architecture.image_size));

  const model::StateDict weights = initial_weights ? *initial_weights : init_unet_weights(config_.architecture, config_.seed);
  model::StateDict fresh;  // the network owns its weights: never alias the caller's tensors
  for (const auto& [name, t] : weights) fresh.emplace_back(name, t.detach().to(at::kFloat).clone());
  online_ = std::make_shared<model::UNet>(config_.architecture, fresh);
  online_->to(device_, at::kFloat);
  for (at::Tensor& p : parameters()) p.requires_grad_(true);
  ema_ = copies(parameters());
  if (config_.mode == TrainMode::Cd) {
    model::StateDict target;  // its own copy: θ⁻ moves toward θ only through the EMA
    for (const auto& [name, t] : online_weights()) target.emplace_back(name, t.clone());
    target_ = std::make_shared<model::UNet>(config_.architecture, target);
    target_->to(device_, at::kFloat);
  }
  optimizer_ = std::make_unique<Optimizer>(config_.optimizer, parameters());
}

std::vector<at::Tensor> Trainer::parameters() const { return online_->parameters(); }

int Trainer::grid_points(int64_t key) const {
  switch (config_.mode) {
    case TrainMode::Ct: return ict_discretization(key, config_.iterations, config_.ct_s0, config_.ct_s1);
    case TrainMode::Cd: return config_.cd_points;
    case TrainMode::Edm: return 0;
  }
  return 0;
}

at::Tensor Trainer::loss_for(int64_t key, const DataSource& source, int64_t batch_size, bool training) const {
  const Parameterized p{config_.parameterization(), config_.noise};
  const at::Tensor x0 = source.batch(std::uint64_t(key), batch_size).to(device_);
  at::Generator gen = cpu_generator(mix_seed(config_.seed, std::uint64_t(key), 1));
  const std::uint64_t dropout_seed = mix_seed(config_.seed, std::uint64_t(key), 2);
  const bool autocast = config_.bf16 && device_.is_cuda();
  const auto f = [&](const model::UNet& net, const at::Tensor& x, const at::Tensor& sigma) {
    reseed_dropout(device_, dropout_seed);
    AutocastScope scope(autocast);
    return evaluate(net, p, x, sigma.to(device_), at::Tensor(), training);
  };

  if (config_.mode == TrainMode::Edm) {
    const at::Tensor sigma = at::exp(config_.edm_p_mean + config_.edm_p_std * at::randn({batch_size}, gen)).to(device_);
    const at::Tensor noise = at::randn(x0.sizes(), gen).to(device_);
    const at::Tensor denoised = f(*online_, x0 + per_image(sigma) * noise, sigma);
    const double sd2 = config_.noise.sigma_data * config_.noise.sigma_data;
    const at::Tensor weight = (sigma.pow(2) + sd2) / (sigma.pow(2) * sd2);
    return (weight * distance(denoised, x0, Metric::L2)).mean();
  }

  const std::vector<double> sigmas = increasing_karras_sigmas(grid_points(key), config_.noise);
  const NoisePairs pairs = config_.mode == TrainMode::Ct
                               ? sample_pairs(sigmas, lognormal_pair_probabilities(sigmas, config_.ct_p_mean, config_.ct_p_std), batch_size, gen)
                               : sample_uniform_pairs(sigmas, batch_size, gen);
  const at::Tensor z = at::randn(x0.sizes(), gen).to(device_);
  const at::Tensor high = pairs.sigma_high.to(device_), low = pairs.sigma_low.to(device_);
  const at::Tensor x_high = x0 + per_image(high) * z;
  const double c = pseudo_huber_c(x0[0].numel());

  if (config_.mode == TrainMode::Ct) {
    const at::Tensor online = f(*online_, x_high, high);
    at::Tensor target;
    {
      c10::NoGradGuard no_grad;  // iCT: the target is the online network, stop-grad (μ = 0)
      target = f(*online_, x0 + per_image(low) * z, low);
    }
    return (ict_weight(pairs).to(device_) * distance(online, target, config_.ct_metric, c)).mean();
  }

  at::Tensor x_low, target;
  {
    c10::NoGradGuard no_grad;
    // One Heun step of the probability-flow ODE from σ_high to σ_low with the teacher (spec §5.1).
    x_low = sampling::heun_step(*teacher_, x_high, high, low);
    target = f(*target_, x_low, low);
  }
  const at::Tensor online = f(*online_, x_high, high);
  return distance(online, target, config_.cd_metric, c).mean();
}

StepStats Trainer::step() {
  const at::Tensor loss = loss_for(step_, *data_, config_.batch, /*training=*/true);
  StepStats stats;
  stats.loss = loss.item<double>();
  if (std::isfinite(stats.loss)) loss.backward();
  const StepReport report = optimizer_->step();
  stats.grad_norm = report.grad_norm;
  stats.lr = report.lr;
  stats.skipped = report.skipped || !std::isfinite(stats.loss);
  stats.discretization = grid_points(step_);

  if (!stats.skipped) {
    const std::vector<at::Tensor> online = parameters();
    if (target_) {
      std::vector<at::Tensor> target = target_->parameters();
      ema_update(target, online, config_.cd_target_ema);
    }
    const double k = double(step_);
    ema_update(ema_, online, std::min(config_.ema_rate, (1 + k) / (10 + k)));
  }
  ++step_;
  stats.step = step_;
  return stats;
}

double Trainer::evaluate_loss(const DataSource& source, int batches, int64_t batch_size) const {
  c10::NoGradGuard no_grad;
  double total = 0;
  for (int b = 0; b < batches; ++b) {
    // Keys far from any training step's, so the held-out noise never repeats a training draw.
    const int64_t key = (int64_t(1) << 40) + b;
    total += loss_for(key, source, batch_size, /*training=*/false).item<double>();
  }
  return total / std::max(1, batches);
}

model::StateDict Trainer::ema_weights() const { return named(*online_, ema_); }
model::StateDict Trainer::online_weights() const { return named(*online_, parameters()); }

std::shared_ptr<const model::UNetFunction> Trainer::ema_function() const {
  auto unet = std::make_shared<model::UNet>(config_.architecture, ema_weights());
  unet->to(device_, at::kFloat);
  model::ModelSpec spec;
  spec.name = "ema";
  spec.noise = config_.noise;
  return std::make_shared<model::UNetFunction>(unet, config_.parameterization(), spec);
}

at::Tensor Trainer::sample(int64_t n, std::uint64_t seed, int steps) const {
  c10::NoGradGuard no_grad;
  const auto f = ema_function();
  if (config_.mode == TrainMode::Edm) {
    const at::Tensor z = at::randn({n, 3, config_.architecture.image_size, config_.architecture.image_size}, cpu_generator(seed));
    return sampling::edm_heun_sample(*f, z, 18).to(at::kCPU);
  }
  return sampling::generate(*f, n, seed, sampling::karras_schedule(steps, config_.noise.sigma_max, config_.noise)).to(at::kCPU);
}

void Trainer::save(const std::filesystem::path& dir, int64_t max_shard_bytes) const {
  model::StateDict tensors;
  for (auto& [name, t] : online_weights()) tensors.emplace_back("online/" + name, t);
  for (auto& [name, t] : ema_weights()) tensors.emplace_back("ema/" + name, t);
  if (target_)
    for (auto& [name, t] : named(*target_, target_->parameters())) tensors.emplace_back("target/" + name, t);
  for (auto& [name, t] : optimizer_->state()) tensors.emplace_back("optimizer/" + name, t.to(at::kCPU));
  const nlohmann::json state = {{"step", step_}, {"optimizer_steps", optimizer_->steps_taken()}, {"config", to_json(config_)}};
  write_checkpoint(dir, tensors, state, max_shard_bytes);
}

void Trainer::restore(const Checkpoint& checkpoint) {
  std::map<std::string, at::Tensor> by_name(checkpoint.tensors.begin(), checkpoint.tensors.end());
  const auto take = [&](const std::string& prefix, std::vector<at::Tensor> into) {
    const model::StateDict names = online_->state_dict();
    c10::NoGradGuard no_grad;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto it = by_name.find(prefix + names[i].first);
      if (it == by_name.end()) throw Error(ErrorCode::CorruptFile, "checkpoint lacks '" + prefix + names[i].first + "'");
      if (!it->second.sizes().equals(into[i].sizes()))
        throw Error(ErrorCode::ShapeMismatch, "checkpoint tensor '" + prefix + names[i].first + "' does not fit this architecture");
      into[i].copy_(it->second);
    }
  };
  take("online/", parameters());
  take("ema/", ema_);
  if (target_) take("target/", target_->parameters());
  model::StateDict opt;
  for (const auto& [name, t] : checkpoint.tensors)
    if (name.rfind("optimizer/", 0) == 0) opt.emplace_back(name.substr(10), t.to(device_));
  try {
    optimizer_->load_state(opt, checkpoint.state.at("optimizer_steps").get<int64_t>());
    step_ = checkpoint.state.at("step").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::CorruptFile, "checkpoint state lacks 'step' or 'optimizer_steps'");
  }
}

}  // namespace cm::train
