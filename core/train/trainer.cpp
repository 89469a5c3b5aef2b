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
#include <torch/version.h>  // TORCH_VERSION_*: without it the guards below always take the 1.x branch

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

// Copies the tensors named `prefix` + each of `names` from `by_name` into `into` (same order),
// refusing a missing name or a wrong shape; `lacks` and `tensor` begin the two messages.
void copy_named(const std::map<std::string, at::Tensor>& by_name, const model::StateDict& names, const std::string& prefix,
                std::vector<at::Tensor> into, const std::string& lacks, const std::string& tensor) {
  c10::NoGradGuard no_grad;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string key = prefix + names[i].first;
    const auto it = by_name.find(key);
    if (it == by_name.end()) throw Error(ErrorCode::CorruptFile, lacks + " '" + key + "'");
    if (!it->second.sizes().equals(into[i].sizes()))
      throw Error(ErrorCode::ShapeMismatch, tensor + " '" + key + "' does not fit this architecture");
    into[i].copy_(it->second);
  }
}

}  // namespace

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
    case TrainMode::Ect: return ect_stage(key, config_.ect_pretrain_steps, config_.ect_stage_steps, config_.ect_max_stage);
  }
  return 0;
}

void Trainer::continue_from(const model::StateDict& online, const model::StateDict& ema, int64_t step) {
  if (step < 0) throw Error(ErrorCode::BadArgument, "a run cannot continue from a negative step");
  const model::StateDict names = online_->state_dict();
  copy_named({online.begin(), online.end()}, names, "", parameters(), "online weights lack", "online tensor");
  copy_named({ema.begin(), ema.end()}, names, "", ema_, "EMA weights lack", "EMA tensor");
  optimizer_ = std::make_unique<Optimizer>(config_.optimizer, parameters());
  step_ = step;
}

// ECT (spec §5.3; ECMLoss in locuslab/ect): one noise direction z for both points, the target
// the same network without gradient (same dropout masks), the clean image where r reaches the
// boundary, and the weight 1/(t − r).
at::Tensor Trainer::ect_loss(const at::Tensor& x0, c10::IntArrayRef whole, at::Generator& gen, const Slice& mine,
                             const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& f) const {
  const model::NoiseRange& range = config_.noise;
  const at::Tensor t =
      mine(at::exp(config_.ct_p_mean + config_.ct_p_std * at::randn({whole[0]}, gen)).clamp(range.sigma_min, range.sigma_max));
  const at::Tensor r = ect_r(t, grid_points(step_), config_.ect_q, config_.ect_k, config_.ect_b);
  const at::Tensor z = mine(at::randn(whole, gen)).to(device_);
  const at::Tensor td = t.to(device_), rd = r.to(device_);
  const at::Tensor online = f(x0 + per_image(td) * z, td);
  at::Tensor target = x0;
  const at::Tensor inside = r > range.sigma_min;  // f(x, ε) = x: at the boundary the target is x0 itself
  if (inside.any().item<bool>()) {
    c10::NoGradGuard no_grad;
    const at::Tensor r_net = rd.clamp_min(range.sigma_min);
    target = at::where(per_image(inside.to(device_)), f(x0 + per_image(r_net) * z, r_net), x0);
  }
  const at::Tensor weight = 1.0 / (t.to(at::kDouble) - r.to(at::kDouble)).to(at::kFloat);
  return (weight.to(device_) * distance(online, target.detach(), config_.ct_metric, pseudo_huber_c(x0[0].numel()))).mean();
}

at::Tensor Trainer::loss_for(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const {
  const Parameterized p{config_.parameterization(), config_.noise};
  // Data parallelism: this rank's images only, and every noise draw for the whole batch, cut to
  // this rank's slice, so that the run does not depend on the number of ranks.
  const int64_t ranks = training ? world() : 1, share = batch_size / ranks, first = training ? rank() * share : 0;
  const Slice mine = [&](const at::Tensor& t) { return ranks == 1 ? t : t.narrow(0, first, share); };
  const at::Tensor x0 = source.part_at(std::uint64_t(key), batch_size, size, first, share).to(device_);
  const std::vector<int64_t> whole = {batch_size, x0.size(1), x0.size(2), x0.size(3)};  // the whole batch's shape
  at::Generator gen = cpu_generator(mix_seed(config_.seed, std::uint64_t(key), 1));
  const std::uint64_t dropout_seed = mix_seed(config_.seed, std::uint64_t(key), 2 + 16 * std::uint64_t(training ? rank() : 0));
  const bool autocast = config_.bf16 && device_.is_cuda();
  const auto f = [&](const model::UNet& net, const at::Tensor& x, const at::Tensor& sigma) {
    reseed_dropout(device_, dropout_seed);
    AutocastScope scope(autocast);
    return evaluate(net, p, x, sigma.to(device_), at::Tensor(), training);
  };

  if (config_.mode == TrainMode::Ect)
    return ect_loss(x0, whole, gen, mine, [&](const at::Tensor& x, const at::Tensor& s) { return f(*online_, x, s); });

  if (config_.mode == TrainMode::Edm) {
    const at::Tensor sigma = mine(at::exp(config_.edm_p_mean + config_.edm_p_std * at::randn({batch_size}, gen))).to(device_);
    const at::Tensor noise = mine(at::randn(whole, gen)).to(device_);
    const at::Tensor denoised = f(*online_, x0 + per_image(sigma) * noise, sigma);
    const double sd2 = config_.noise.sigma_data * config_.noise.sigma_data;
    const at::Tensor weight = (sigma.pow(2) + sd2) / (sigma.pow(2) * sd2);
    return (weight * distance(denoised, x0, Metric::L2)).mean();
  }

  const std::vector<double> sigmas = increasing_karras_sigmas(grid_points(key), config_.noise);
  const NoisePairs pairs = config_.mode == TrainMode::Ct
                               ? sample_pairs(sigmas, lognormal_pair_probabilities(sigmas, config_.ct_p_mean, config_.ct_p_std), batch_size, gen)
                               : sample_uniform_pairs(sigmas, batch_size, gen);
  const at::Tensor z = mine(at::randn(whole, gen)).to(device_);
  const at::Tensor high = mine(pairs.sigma_high).to(device_), low = mine(pairs.sigma_low).to(device_);
  const at::Tensor x_high = x0 + per_image(high) * z;
  const double c = pseudo_huber_c(x0[0].numel());

  if (config_.mode == TrainMode::Ct) {
    const at::Tensor online = f(*online_, x_high, high);
    at::Tensor target;
    {
      c10::NoGradGuard no_grad;  // iCT: the target is the online network, stop-grad (μ = 0)
      target = f(*online_, x0 + per_image(low) * z, low);
    }
    return (mine(ict_weight(pairs)).to(device_) * distance(online, target, config_.ct_metric, c)).mean();
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

void Trainer::distribute(std::shared_ptr<Collective> collective) {
  collective_ = std::move(collective);
  if (!collective_) return;
  for (int size : config_.crop_sizes.empty() ? std::vector<int>{config_.architecture.image_size} : config_.crop_sizes)
    if (config_.batch_for(size) % world() != 0)
      throw Error(ErrorCode::BadArgument, fmt::format("a batch of {} images ({} px crops) does not divide among {} processes",
                                                      config_.batch_for(size), size, world()));
  std::vector<at::Tensor> weights = parameters();
  weights.insert(weights.end(), ema_.begin(), ema_.end());
  if (target_)
    for (const at::Tensor& t : target_->parameters()) weights.push_back(t);
  broadcast_from_first(*collective_, weights);
}

StepStats Trainer::step() {
  StepStats stats;
  stats.images = config_.batch_at(step_);
  stats.crop_size = config_.crop_size_at(step_);
  const at::Tensor loss = loss_for(step_, *data_, stats.images, stats.crop_size, /*training=*/true);
  stats.loss = loss.item<double>();
  if (collective_) {  // the loss of the whole batch: the mean of the ranks' equal slices
    std::vector<at::Tensor> sum = {at::full({1}, stats.loss, at::kFloat)};
    collective_->allreduce_sum(sum);
    stats.loss = sum[0].item<double>() / world();
  }
  if (std::isfinite(stats.loss)) {  // decided on the whole batch, so every rank takes or skips the step
    loss.backward();
    if (collective_) average_gradients(*collective_, parameters());
  }
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

double Trainer::evaluate_loss(const DataSource& source, int batches, int64_t batch_size, int size) const {
  c10::NoGradGuard no_grad;
  double total = 0;
  for (int b = 0; b < batches; ++b) {
    // Keys far from any training step's, so the held-out noise never repeats a training draw.
    const int64_t key = (int64_t(1) << 40) + b;
    total += loss_for(key, source, batch_size, size > 0 ? size : config_.architecture.image_size, /*training=*/false).item<double>();
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
  const std::map<std::string, at::Tensor> by_name(checkpoint.tensors.begin(), checkpoint.tensors.end());
  const model::StateDict names = online_->state_dict();
  copy_named(by_name, names, "online/", parameters(), "checkpoint lacks", "checkpoint tensor");
  copy_named(by_name, names, "ema/", ema_, "checkpoint lacks", "checkpoint tensor");
  if (target_) copy_named(by_name, names, "target/", target_->parameters(), "checkpoint lacks", "checkpoint tensor");
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
