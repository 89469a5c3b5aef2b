#include "core/train/trainer.h"

#include "core/base/error.h"
#include "core/sampling/edm_heun.h"
#include "core/sampling/multistep.h"
#include "core/sampling/schedule.h"
#include "core/train/ema.h"
#include "core/train/fused_step.h"
#include "core/train/network.h"
#include "core/train/noise_schedule.h"
#include "core/train/objective.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>

namespace cm::train {
namespace {

at::Generator cpu_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

at::Tensor per_image(const at::Tensor& v) { return v.view({-1, 1, 1, 1}); }

double ema_rate_at(const TrainConfig& c, int64_t step) {
  const double k = double(step);
  return std::min(c.ema_rate, (1 + k) / (10 + k));
}

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : ts) out.push_back(t.detach().clone());
  return out;
}

// Copies, never views: on the CPU, to() alone would hand out the live weights.
model::StateDict named(const model::UNet& unet, const std::vector<at::Tensor>& tensors) {
  model::StateDict out;
  const model::StateDict names = unet.state_dict();
  for (std::size_t i = 0; i < names.size(); ++i)
    out.emplace_back(names[i].first, tensors[i].detach().to(at::kCPU, at::kFloat, /*non_blocking=*/false, /*copy=*/true).contiguous());
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

Trainer::~Trainer() = default;

std::vector<at::Tensor> Trainer::parameters() const { return online_->parameters(); }

model::StateDict Trainer::optimizer_state() const { return fused_ ? fused_->optimizer_state() : optimizer_->state(); }
int64_t Trainer::optimizer_steps() const { return fused_ ? fused_->optimizer_steps() : optimizer_->steps_taken(); }

void Trainer::continue_from(const model::StateDict& online, const model::StateDict& ema, int64_t step) {
  if (step < 0) throw Error(ErrorCode::BadArgument, "a run cannot continue from a negative step");
  const model::StateDict names = online_->state_dict();
  copy_named({online.begin(), online.end()}, names, "", parameters(), "online weights lack", "online tensor");
  copy_named({ema.begin(), ema.end()}, names, "", ema_, "EMA weights lack", "EMA tensor");
  if (fused_)
    fused_->reset_optimizer();
  else
    optimizer_ = std::make_unique<Optimizer>(config_.optimizer, parameters());
  step_ = step;
}

// One function per loss: CD's pairs feed its teacher (cd_loss); iCT, ECT and EDM differ only in
// what a step draws (draw_step: draw_ict, draw_ect, draw_edm in objective.cpp), which
// drawn_loss turns into the weighted distance.
at::Tensor Trainer::loss_for(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const {
  return config_.mode == TrainMode::Cd ? cd_loss(key, source, batch_size, size, training)
                                       : drawn_loss(key, source, batch_size, size, training);
}

// iCT, ECT and EDM: the online network at (x0 + σ·z, σ) against the target the step drew.
at::Tensor Trainer::drawn_loss(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const {
  const int64_t ranks = training ? world() : 1, share = batch_size / ranks;
  DrawOptions o;
  o.key = key;
  o.stage_step = step_;  // ECT: the current stage, for held-out keys too
  o.batch = batch_size;
  o.size = size;
  o.first = training ? rank() * share : 0;
  o.count = share;
  o.rank = training ? rank() : 0;
  const StepDraw d = draw_step(config_, source, o);
  const bool autocast = config_.bf16 && device_.is_cuda();
  const NetworkPass f = [&](const at::Tensor& x, const at::Tensor& sigma) {
    reseed_dropout(device_, d.dropout_seed);
    AutocastScope scope(autocast);
    return evaluate(*online_, {config_.parameterization(), config_.noise}, x, sigma, at::Tensor(), training);
  };
  const at::Tensor x0 = d.x0.to(device_), z = d.z.to(device_);
  const at::Tensor online = online_pass(f, x0, z, d.sigma.to(device_));
  const at::Tensor target = d.any_target() ? target_pass(f, x0, z, d.target_sigma.to(device_), d.use_target.to(device_)) : x0;
  return weighted_loss(online, target, d.weight.to(device_), objective_metric(config_));
}

// CD (CM Algorithm 2; docs/MATH.md §6): uniform pairs on the fixed grid, one Heun step of the
// probability-flow ODE with the EDM teacher from σ_high to σ_low, the target the EMA network θ⁻
// there.
at::Tensor Trainer::cd_loss(int64_t key, const DataSource& source, int64_t batch_size, int size, bool training) const {
  const int64_t ranks = training ? world() : 1, share = batch_size / ranks, first = training ? rank() * share : 0;
  const auto mine = [&](const at::Tensor& t) { return ranks == 1 ? t : t.narrow(0, first, share); };
  const at::Tensor x0 = source.part_at(std::uint64_t(key), batch_size, size, first, share).to(device_);
  const std::vector<int64_t> whole = {batch_size, x0.size(1), x0.size(2), x0.size(3)};
  at::Generator gen = cpu_generator(mix_seed(config_.seed, std::uint64_t(key), 1));
  const std::uint64_t dropout_seed = mix_seed(config_.seed, std::uint64_t(key), 2 + 16 * std::uint64_t(training ? rank() : 0));
  const bool autocast = config_.bf16 && device_.is_cuda();
  const auto f = [&](const model::UNet& net, const at::Tensor& x, const at::Tensor& sigma) {
    reseed_dropout(device_, dropout_seed);
    AutocastScope scope(autocast);
    return evaluate(net, {config_.parameterization(), config_.noise}, x, sigma.to(device_), at::Tensor(), training);
  };
  const std::vector<double> sigmas = increasing_karras_sigmas(discretization_at(config_, key), config_.noise);
  const NoisePairs pairs = sample_uniform_pairs(sigmas, batch_size, gen);
  const at::Tensor z = mine(at::randn(whole, gen)).to(device_);
  const at::Tensor high = mine(pairs.sigma_high).to(device_), low = mine(pairs.sigma_low).to(device_);
  const at::Tensor x_high = x0 + per_image(high) * z;
  at::Tensor x_low, target;
  {
    c10::NoGradGuard no_grad;
    x_low = sampling::heun_step(*teacher_, x_high, high, low);
    target = f(*target_, x_low, low);
  }
  const at::Tensor online = f(*online_, x_high, high);
  return distance(online, target, config_.cd_metric, pseudo_huber_c(x0[0].numel())).mean();
}

void Trainer::distribute(std::shared_ptr<Collective> collective) {
  if (collective && fused_) throw Error(ErrorCode::BadArgument, "the fused step trains in one process: data parallelism takes the plain step");
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
  stats.discretization = discretization_at(config_, step_);
  if (fused_) {
    DrawOptions o;
    o.key = o.stage_step = step_;
    o.batch = stats.images;
    o.size = stats.crop_size;
    o.pinned_noise = device_.is_cuda();
    fused_->step(draw_step(config_, *data_, o), ema_rate_at(config_, step_));
    stats.loss = stats.grad_norm = stats.lr = NAN;
    ++window_.steps;
    stats.step = ++step_;
    return stats;
  }
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

  if (!stats.skipped) {
    const std::vector<at::Tensor> online = parameters();
    if (target_) {
      std::vector<at::Tensor> target = target_->parameters();
      ema_update(target, online, config_.cd_target_ema);
    }
    ema_update(ema_, online, ema_rate_at(config_, step_));
  }
  ++window_.steps;
  if (std::isfinite(stats.loss)) window_.loss_sum += stats.loss, ++window_.finite;
  window_.skipped += stats.skipped;
  window_.grad_norm = stats.grad_norm;
  window_.lr = stats.lr;
  stats.step = ++step_;
  return stats;
}

StepWindow Trainer::take_window() {
  StepWindow w = window_;
  if (fused_) {
    w = fused_->take_window();
    w.steps = window_.steps;
  }
  window_ = {};
  return w;
}

double StepWindow::mean_loss() const { return finite > 0 ? loss_sum / double(finite) : NAN; }

void Trainer::set_speed(const StepSpeed& asked, StepGraphMaker graphs) {
  StepSpeed speed = asked;
  speed.fused = speed.fused || speed.cuda_graphs;
  if (speed.fused && config_.mode == TrainMode::Cd)
    throw Error(ErrorCode::BadArgument, "the fused step serves ct, ect and edm: consistency distillation takes the plain step");
  if (speed.fused && collective_)
    throw Error(ErrorCode::BadArgument, "the fused step trains in one process: data parallelism takes the plain step");
  // Everything a step depends on, in the layout-free form a checkpoint has.
  const model::StateDict online = online_weights(), ema = ema_weights(), moments = optimizer_state();
  const int64_t taken = optimizer_steps();
  fused_.reset();
  optimizer_.reset();
  online_ = std::make_shared<model::UNet>(config_.architecture, online);
  online_->to(device_, at::kFloat);
  online_->set_channels_last(speed.channels_last);
  std::vector<at::Tensor> ema_tensors;
  for (const auto& [name, t] : ema) ema_tensors.push_back(t.to(device_));
  graphs_missing_.clear();
  if (speed.fused) {
    if (speed.cuda_graphs && !graphs) graphs = cuda_step_graphs(device_, &graphs_missing_);
    fused_ = std::make_unique<FusedStep>(config_, *online_, ema_tensors, moments, taken, device_,
                                         speed.cuda_graphs ? std::move(graphs) : StepGraphMaker{});
    ema_ = fused_->ema_views();
  } else {
    for (at::Tensor& p : parameters()) p.requires_grad_(true);
    ema_ = ema_tensors;
    optimizer_ = std::make_unique<Optimizer>(config_.optimizer, parameters());
    optimizer_->load_state(moments, taken);
  }
  speed_ = speed;
}

std::string Trainer::speed_report() const {
  std::string out = describe(speed_);
  if (fused_ && speed_.cuda_graphs) out += graphs_missing_.empty() ? "; " + fused_->describe() : "; no CUDA graphs: " + graphs_missing_;
  return out;
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
  for (auto& [name, t] : optimizer_state()) tensors.emplace_back("optimizer/" + name, t.to(at::kCPU));
  const nlohmann::json state = {{"step", step_}, {"optimizer_steps", optimizer_steps()}, {"config", to_json(config_)}};
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
    const int64_t taken = checkpoint.state.at("optimizer_steps").get<int64_t>();
    if (fused_)
      fused_->load_optimizer_state(opt, taken);
    else
      optimizer_->load_state(opt, taken);
    step_ = checkpoint.state.at("step").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::CorruptFile, "checkpoint state lacks 'step' or 'optimizer_steps'");
  }
}

}  // namespace cm::train
