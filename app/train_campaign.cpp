#include "app/train_campaign.h"

#include "app/train_options.h"
#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/engine/device.h"
#include "core/model/model_loader.h"
#include "core/model/safetensors.h"
#include "core/train/device_crops.h"
#include "core/train/image_pack.h"
#include "core/train/noise_schedule.h"
#include "core/train/sample_grid.h"
#include "core/train/training_run.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace cli {
namespace {

namespace fs = std::filesystem;
using cm::Error;
using cm::ErrorCode;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};
extern "C" void on_campaign_interrupt(int) { g_interrupted = true; }

struct CampaignState {
  cm::train::TrainConfig config;
  int64_t step = 0;
  int64_t images_seen = 0;
  nlohmann::json windows = nlohmann::json::array();
};

CampaignState read_state(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::FileNotFound, "no campaign state at '" + file.string() + "'");
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("format", "") != "cmedit-campaign") throw Error(ErrorCode::CorruptFile, "'" + file.string() + "' is not a campaign state");
    CampaignState s;
    s.config = cm::train::train_config_from_json(j.at("config"));
    s.step = j.value("step", int64_t(0));
    s.images_seen = j.value("images_seen", int64_t(0));
    if (j.contains("windows")) s.windows = j.at("windows");
    if (s.step < 0 || s.images_seen < 0 || !s.windows.is_array())
      throw Error(ErrorCode::CorruptFile, "'" + file.string() + "': step and images_seen must be ≥ 0, windows a list");
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::CorruptFile, "'" + file.string() + "' is not a valid campaign state: " + e.what());
  }
}

std::string phase_of(const cm::train::TrainConfig& c, int64_t step) {
  if (c.mode != cm::train::TrainMode::Ect) return cm::train::to_string(c.mode);
  const int stage = cm::train::ect_stage(step, c.ect_pretrain_steps, c.ect_stage_steps, c.ect_max_stage);
  return stage < 0 ? "diffusion pretraining (r = 0)" : fmt::format("ECT stage {}", stage);
}

void write_state(const fs::path& file, const CampaignState& s) {
  cm::train::TrainConfig c = s.config;
  c.data = fs::path(c.data).filename().string();  // no machine's path in a committed file
  const nlohmann::json j = {{"format", "cmedit-campaign"},
                            {"version", 1},
                            {"step", s.step},
                            {"images_seen", s.images_seen},
                            {"phase", phase_of(s.config, s.step)},
                            {"config", cm::train::to_json(c)},
                            {"windows", s.windows}};
  const std::string text = j.dump(2) + "\n";
  cm::write_file_atomically(file, text.data(), text.size());
}

cm::model::StateDict as_float(const cm::model::StateDict& d) {
  cm::model::StateDict out;
  for (const auto& [name, t] : d) out.emplace_back(name, t.detach().to(at::kCPU, at::kFloat).clone());
  return out;
}

int64_t images_between(const cm::train::TrainConfig& c, int64_t from, int64_t to) {
  int64_t n = 0;
  for (int64_t k = from; k < to; ++k) n += c.batch_at(k);
  return n;
}

// Waits for the device: a read-back of one value.
void sync(const at::Tensor& t) { (void)t.sum().item<double>(); }

// Images per second of the crop sampler alone: what the data could feed if training took no time.
double data_rate(const cm::train::DataSource& source, const cm::train::TrainConfig& c) {
  sync(source.batch_at(~0ull, c.batch_at(0), c.crop_size_at(0)));  // warm-up
  const auto t0 = Clock::now();
  int64_t images = 0;
  for (int i = 0; i < 10; ++i) {
    const int64_t n = c.batch_at(i);
    sync(source.batch_at(~0ull - 1 - uint64_t(i), n, c.crop_size_at(i)));
    images += n;
  }
  return double(images) / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int campaign_command(const std::vector<std::string>& args) {
  Options o(args, 1, {"--no-bf16", "--channels-last"});
  const fs::path state_dir = o.str("--state"), model_dir = o.str("--model"), data = o.str("--data"), out = o.str("--out");
  const double minutes = o.num("--minutes", 0);
  // Scratch (the run's log and its one checkpoint): never under OUT, whose files all travel back.
  const fs::path work = o.str("--work", (fs::temp_directory_path() / "cmedit-campaign-work").string());
  const c10::Device device = cm::engine::choose_device(o.str("--device", "auto"));
  const int64_t threads = o.integer("--threads", 0);
  // Fallbacks for a first window on an untried machine: float32 instead of bf16 autocast, and
  // crops made on the CPU (CropSampler) instead of on the device.
  const bool no_bf16 = o.flag("--no-bf16");
  const std::string crops = o.str("--crops", "device");
  // How steps are computed (Trainer::set_speed): the fused step replayed as CUDA graphs unless
  // asked otherwise; the script falls back to the plain step should it fail.
  cm::train::StepSpeed speed = cm::train::parse_step_kind(o.str("--step", "graph"));
  speed.channels_last = o.flag("--channels-last");
  cm::train::RunOptions run;
  run.log_every = o.integer("--log-every", 100);
  run.held_out_batches = int(o.integer("--held-out-batches", 1));
  run.sample_every = 0;
  run.checkpoint_every = 0;  // one checkpoint, at the end of the window
  run.keep_checkpoints = 1;
  o.check_all_used();
  if (state_dir.empty() || model_dir.empty() || data.empty() || out.empty())
    throw Error(ErrorCode::BadArgument, "cmedit-train campaign needs --state DIR --model DIR --data PACK --out DIR");
  if (!(minutes > 0)) throw Error(ErrorCode::BadArgument, "--minutes must be > 0");
  if (run.log_every < 1 || run.held_out_batches < 0) throw Error(ErrorCode::BadArgument, "--log-every must be ≥ 1, --held-out-batches ≥ 0");
  if (threads > 0) at::set_num_threads(int(threads));
  // cuDNN's heuristics alone chose the convolutions of the first window (1.5 k images/s on an H200,
  // a few % of its rate); benchmarking picks per shape, and a campaign has only two shapes.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  if (crops != "device" && crops != "cpu") throw Error(ErrorCode::BadArgument, "--crops must be device or cpu, got '" + crops + "'");

  CampaignState state = read_state(state_dir / "campaign.json");
  cm::train::TrainConfig& c = state.config;
  c.data = fs::absolute(data).lexically_normal().string();
  if (no_bf16) c.bf16 = false;
  c.validate();
  // The model's card, its weights checked against the card's digest, then read once: their
  // tensors and metadata both serve (Trainer::continue_from checks every name and shape).
  const cm::model::ModelSource model = cm::model::locate_model(cm::model::find_model(model_dir.string()));
  if (!model.card) throw Error(ErrorCode::BadArgument, "the campaign's model '" + model_dir.string() + "' has no model card");
  if (!cm::model::same_architecture(model.card->architecture, c.architecture))
    throw Error(ErrorCode::ShapeMismatch, "the campaign's architecture differs from the model's in '" + model_dir.string() + "'");
  cm::model::verify_weights(model);
  const cm::model::SafetensorsFile model_file = model.weights.extension() == ".safetensors"
                                                    ? cm::model::read_safetensors(model.weights)
                                                    : cm::model::SafetensorsFile{cm::model::read_weights(model.weights), {}};
  // The online network continues from the state; the EMA from the model only when the model is
  // this campaign's export at this very step (a window whose model was not shipped leaves the
  // model behind: its EMA then restarts from the online weights, and re-forms within a window).
  const fs::path online_file = state_dir / "online.safetensors";
  const bool has_online = fs::exists(online_file);
  const auto at_step = model_file.metadata.find("campaign_step");
  const bool ema_from_model = !has_online || (at_step != model_file.metadata.end() && at_step->second == std::to_string(state.step));
  const cm::model::StateDict model_state = as_float(model_file.tensors);
  const cm::model::StateDict online = has_online ? as_float(cm::model::read_safetensors(online_file).tensors) : model_state;
  const cm::model::StateDict& ema = ema_from_model ? model_state : online;

  const auto t_setup = Clock::now();
  const cm::train::ImagePack pack = cm::train::read_image_pack(data);
  cm::train::CropOptions crop;
  crop.size = c.architecture.image_size;
  crop.min_crop = c.min_crop;
  const auto sampler = [&](cm::train::Split split, const cm::train::CropOptions& o, std::uint64_t seed) -> std::shared_ptr<cm::train::DataSource> {
    if (crops == "cpu") return std::make_shared<cm::train::CropSampler>(pack.pixels(split), o, seed);
    return std::make_shared<cm::train::DeviceCropSampler>(pack.pixels(split), o, seed, device);
  };
  const std::shared_ptr<cm::train::DataSource> train_data = sampler(cm::train::Split::Train, crop, c.seed);
  std::shared_ptr<cm::train::DataSource> held_out;
  if (pack.count(cm::train::Split::Test) > 0) {
    crop.flip = false;
    held_out = sampler(cm::train::Split::Test, crop, c.seed ^ 0x5eedull);
  }
  cm::train::Trainer trainer(c, train_data, device);
  trainer.continue_from(online, ema, state.step);
  trainer.set_speed(speed);
  std::error_code ec;
  fs::remove_all(work, ec);
  cm::train::start_run(work, c);
  fs::create_directories(out);
  const double setup_s = std::chrono::duration<double>(Clock::now() - t_setup).count();
  const double feed = data_rate(*train_data, c);
  std::printf("campaign: %lld parameters on %s; step %lld, %lld images seen, %s; online weights from %s; EMA from %s\n",
              static_cast<long long>(trainer.parameter_count()), device.str().c_str(), static_cast<long long>(state.step),
              static_cast<long long>(state.images_seen), phase_of(c, state.step).c_str(), has_online ? online_file.c_str() : "the model",
              ema_from_model ? "the model" : "the online weights (the model is not this campaign's at this step)");
  const auto* on_device = dynamic_cast<const cm::train::DeviceCropSampler*>(train_data.get());
  std::printf("data: %lld training photos, crops made %s%s, set up in %.1f s; the crop sampler alone makes %.0f images/s; %s\n",
              static_cast<long long>(pack.count(cm::train::Split::Train)), on_device ? "on the device" : "on the CPU",
              on_device ? fmt::format(" from {:.1f} MB there", double(on_device->device_bytes()) / 1e6).c_str() : "", setup_s, feed,
              c.bf16 && device.is_cuda() ? "bf16 autocast" : "float32");
  std::printf("step: %s\n", trainer.speed_report().c_str());
  std::fflush(stdout);

  // Train until the budget is spent (or Ctrl-C); run_training checkpoints where it stops.
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(minutes * 60));
  g_interrupted = false;
  std::signal(SIGINT, on_campaign_interrupt);
  std::signal(SIGTERM, on_campaign_interrupt);
  cm::train::RunHooks hooks;
  const int64_t first = state.step;
  hooks.should_stop = [&] { return g_interrupted.load() || Clock::now() >= deadline; };
  hooks.on_report = [&](const cm::train::RunProgress& p) {
    const int64_t n = std::max<int64_t>(1, std::min(run.log_every, p.step - first));  // the steps this report covers
    const double ips = p.steps_per_second * double(images_between(c, p.step - n, p.step)) / double(n);
    std::printf("step %lld  %s  loss %.5g  held-out %.5g  |g| %.3g  %.3g it/s  ~%.0f images/s\n", static_cast<long long>(p.step),
                phase_of(c, p.step).c_str(), p.loss, p.held_out_loss, p.grad_norm, p.steps_per_second, ips);
    std::fflush(stdout);
  };
  run.until_step = std::numeric_limits<int64_t>::max() / 4;
  const auto t_train = Clock::now();
  cm::train::run_training(trainer, work, run, held_out.get(), hooks);
  const double train_s = std::chrono::duration<double>(Clock::now() - t_train).count();
  const int64_t last = trainer.steps_done();
  const int64_t images = images_between(c, first, last);

  // Held-out loss at every crop size the run trains on (what the editor's larger windows meet).
  nlohmann::json held = nlohmann::json::object();
  if (held_out) {
    std::set<int> sizes(c.crop_sizes.begin(), c.crop_sizes.end());
    sizes.insert(c.architecture.image_size);
    for (int s : sizes)
      held[std::to_string(s)] = trainer.evaluate_loss(*held_out, 8, c.batch_for(s), s);  // heavy-tailed (weight 1/(t − r)): 8 batches
  }

  cm::train::ExportOptions e;
  e.name = model.card->name;
  e.provenance = fmt::format("Campaign window {} ({}): steps {}–{}, {} images seen in all", state.windows.size() + 1, cm::train::today_utc(), first, last,
                             state.images_seen + images);
  e.metadata = {{"campaign_step", std::to_string(last)}};
  cm::train::export_run(work, out / "model", e);
  cm::model::StateDict online_bf16;
  for (const auto& [name, t] : trainer.online_weights()) online_bf16.emplace_back(name, t.to(at::kBFloat16));
  cm::model::write_safetensors(out / "online.safetensors", online_bf16, {{"producer", "cmedit-train campaign"}, {"step", std::to_string(last)}});
  const at::Tensor grid = at::cat({trainer.sample(8, 20231, 1), trainer.sample(8, 20231, 2)}, 0);
  cm::train::write_png(out / "samples.png", cm::train::image_grid(grid, 8));
  fs::copy_file(work / "loss.csv", out / "loss.csv", fs::copy_options::overwrite_existing);

  state.windows.push_back({{"date", cm::train::today_utc()},
                           {"device", device.str()},
                           {"step", trainer.speed_report()},
                           {"train_minutes", train_s / 60},
                           {"steps", {first, last}},
                           {"images", images},
                           {"images_per_second", train_s > 0 ? double(images) / train_s : 0},
                           {"data_images_per_second", feed},
                           {"phase_at_end", phase_of(c, last)},
                           {"held_out_loss", held}});
  state.step = last;
  state.images_seen += images;
  write_state(out / "campaign.json", state);
  std::printf("window: %lld steps (%lld → %lld), %lld images in %.1f min, %.0f images/s; now %s, %lld images seen\n",
              static_cast<long long>(last - first), static_cast<long long>(first), static_cast<long long>(last),
              static_cast<long long>(images), train_s / 60, train_s > 0 ? double(images) / train_s : 0.0, phase_of(c, last).c_str(),
              static_cast<long long>(state.images_seen));
  for (const auto& [size, loss] : held.items()) std::printf("held-out loss at %s px: %.5g\n", size.c_str(), loss.get<double>());
  std::printf("step: %s\n", trainer.speed_report().c_str());
  return 0;
}

}  // namespace cli
