// cmedit-train: make consistency models from your own photos (docs/MATH.md §6).
//
//   ct      improved consistency training (iCT) from scratch
//   ect     Easy Consistency Tuning, after a diffusion pretraining phase
//   campaign  one window of the built-in model's training campaign (app/train_campaign.h)
//   cd      consistency distillation from an EDM teacher
//   edm     a plain EDM denoiser, the teacher for cd
//   resume  go on with a run from its latest checkpoint
//   export  the EMA weights as a model folder the editor loads
//   pack    a folder of photos as one image pack (for machines without image codecs)
//   info    what a run or an image pack holds
//
// Every failure is one line on stderr and an exit status from cm::exit_status.
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/signals.h"
#include "core/base/text.h"
#include "core/engine/device.h"
#include "core/model/model_loader.h"
#include "core/train/image_pack.h"
#include "core/train/training_run.h"
#include "app/train_campaign.h"
#include "app/train_distributed.h"
#include "app/train_options.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "app/train_data.h"
#endif

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace {
namespace fs = std::filesystem;
using cli::Options;
using cm::Error;
using cm::ErrorCode;

constexpr const char* kUsage = R"(usage: cmedit-train COMMAND ...

  cmedit-train ct  --data DATA --run RUN [options]   improved consistency training (iCT)
  cmedit-train ect --data DATA --run RUN [options]   Easy Consistency Tuning (after --pretrain-steps
                                                    of diffusion pretraining)
  cmedit-train cd  --data DATA --run RUN --teacher MODEL [options]
                                                    consistency distillation from an EDM teacher
  cmedit-train edm --data DATA --run RUN [options]   an EDM denoiser (a teacher for cd)
  cmedit-train resume RUN [--until STEPS] [--data DATA] [run options]
  cmedit-train export RUN MODEL_DIR [--name NAME] [--license TEXT] [--provenance TEXT]
  cmedit-train pack FOLDER OUT.cmpack [--test-fraction 0.1] [--short-side PX] [--max-side PX]
                     [--jpeg QUALITY] [--manifest FILE.tsv [--manifest-only]] [--weights-license TEXT]
                     (manifest lines: NAME <TAB> LICENCE <TAB> SOURCE [<TAB> train|test])
  cmedit-train info RUN|PACK
  cmedit-train campaign --state DIR --model DIR --data PACK --minutes M --out DIR
                     [--work DIR] [--device auto] [--log-every 100] [--held-out-batches 1]
                     [--step graph|fused|plain] [--channels-last] [--no-bf16] [--crops device|cpu]
                     one window of a campaign: continues STATE/campaign.json for M minutes and
                     writes the next state, the model, loss.csv and samples.png to OUT. --step:
                     the fused step (no host sync per step) replayed as CUDA graphs (default),
                     the fused step alone, or the plain one

DATA is an image pack (cmedit-train pack) or, in builds with image files, a folder of photos.
Batches are random-resized square crops: a photo chosen uniformly, a crop side log-uniform
between --min-crop (default: the model size) and the photo's short side, a random position,
a horizontal flip. Photos in the pack's test split (or, for a folder, --test-fraction of them
by name) are never trained on; they give the held-out loss.

model (a new run):
  --arch FILE.json     UNet flags in the official spelling, or a model card (its "architecture")
  --init MODEL         start from a model's weights (fine-tuning; its architecture by default)
  --size 64 --channels 64 --res-blocks 2 --mult 1,2,2,2 --attention 16,8 --head-channels 32
  --dropout P          (default: 0.2 ct, 0 cd, 0.1 edm)
training:
  --iterations K (100000)  --batch B (64)  --lr 1e-4  --optimizer radam|adam  --warmup 0
  --clip 1.0  --ema 0.9999  --seed 0  --device auto|cpu|cuda[:N]  --no-bf16  --threads N
  ct:  --s0 10 --s1 1280 --p-mean -1.1 --p-std 2.0 --metric pseudo-huber|l2|l1
  ect: --pretrain-steps 0 --stage-steps 10000 --max-stage 8 --q 2 --p-mean -1.1 --p-std 2.0
       --metric pseudo-huber|l2|l1
  cd:  --points 40 --target-ema 0.95 --metric l2|l1|pseudo-huber --no-init-from-teacher
  edm: --p-mean -1.2 --p-std 1.2
  data: --min-crop PX  --test-fraction F (folders)  --crop-sizes 64,64,64,128 (one per step in
        turn; a step at side s trains on batch·(size/s)² images)
run:
  --until STEPS  --log-every 100  --sample-every 1000  --checkpoint-every 1000  --keep 2
  --shard-mib 16  --samples 8  --held-out-batches 2
several processes (data-parallel; ct, ect, cd, edm and resume):
  --nproc N            N processes on this machine, each on batch/N images of every step (on
                       CUDA one GPU each); or start them yourself with torchrun's variables
                       (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
  --timeout S          how long a process waits for the others (default 300)

Ctrl-C stops after the current step and writes a checkpoint; `resume` goes on exactly.
)";

std::atomic<bool> g_stop{false};
extern "C" void on_interrupt(int) { g_stop = true; }

int64_t parse_whole(const std::string& v, const std::string& option) {
  try {
    std::size_t end = 0;
    const long long n = std::stoll(v, &end);
    if (end == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw Error(ErrorCode::BadArgument, option + " needs whole numbers separated by commas, got '" + v + "'");
}

const std::set<std::string> kFlags = {"--no-bf16", "--no-init-from-teacher", "--manifest-only"};

cm::train::ImagePack load_data(const std::string& path, double test_fraction) {
  if (fs::is_regular_file(path)) return cm::train::read_image_pack(path);
  if (fs::is_directory(path)) {
#ifdef CMEDIT_HAS_IMAGEIO
    cli::FolderOptions o;
    o.test_fraction = test_fraction;
    o.short_side = 1024;  // enough for every crop scale, and a bounded memory for big wallpapers
    return cli::load_image_folder(path, o);
#else
    throw Error(ErrorCode::Unsupported, "this cmedit-train reads image packs only (built without image files); make one with `cmedit-train pack`");
#endif
  }
  throw Error(ErrorCode::FileNotFound, "no training data at '" + path + "'");
}

cm::model::UNetConfig architecture_from(Options& o, cm::train::TrainMode mode) {
  cm::model::UNetConfig a;
  if (o.has("--arch")) {
    std::ifstream in(o.str("--arch"));
    if (!in) throw Error(ErrorCode::FileNotFound, "cannot open architecture file '" + o.str("--arch") + "'");
    try {
      const nlohmann::json j = nlohmann::json::parse(in);
      // Official flags, or a model card (whose "architecture" holds them).
      a = cm::model::unet_config_from_json(j.contains("architecture") ? j.at("architecture") : j);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::CorruptFile, std::string("architecture file is not valid JSON: ") + e.what());
    }
  } else {
    nlohmann::json flags = {{"image_size", o.integer("--size", 64)},
                            {"num_channels", o.integer("--channels", 64)},
                            {"num_res_blocks", o.integer("--res-blocks", 2)},
                            {"channel_mult", o.str("--mult", "1,2,2,2")},
                            {"attention_resolutions", o.str("--attention", "16,8")},
                            {"num_head_channels", o.integer("--head-channels", 32)}};
    a = cm::model::unet_config_from_json(flags);
  }
  const bool consistency_training = mode == cm::train::TrainMode::Ct || mode == cm::train::TrainMode::Ect;
  const double default_dropout = consistency_training ? 0.2 : mode == cm::train::TrainMode::Edm ? 0.1 : 0.0;
  a.dropout = o.num("--dropout", o.has("--arch") ? a.dropout : default_dropout);
  return a;
}

void set_threads(Options& o, bool rank) {
  const int64_t threads = o.integer("--threads", 0);
  if (threads < 0) throw Error(ErrorCode::BadArgument, "--threads must be ≥ 0");
  if (threads > 0) at::set_num_threads(int(threads));
  else if (rank) at::set_num_threads(cli::rank_threads());  // the cores shared among this machine's ranks
}

// Several processes: this one's group (nullptr alone), and its device.
struct Rank {
  std::shared_ptr<cm::train::Collective> group;
  c10::Device device{c10::kCPU};
  bool lead() const { return !group || group->rank() == 0; }
};

Rank join(Options& o) {
  (void)o.integer("--nproc", 1);  // --nproc 1: this process alone (larger counts were launched already)
  Rank r;
  r.device = cm::engine::choose_device(cli::rank_device(o.str("--device", "auto")));
  r.group = cli::join_ranks(o.num("--timeout", 300), r.device);
  return r;
}

cm::train::RunOptions run_options(Options& o) {
  cm::train::RunOptions r;
  r.until_step = o.integer("--until", 0);
  r.log_every = o.integer("--log-every", r.log_every);
  r.sample_every = o.integer("--sample-every", r.sample_every);
  r.checkpoint_every = o.integer("--checkpoint-every", r.checkpoint_every);
  r.keep_checkpoints = int(o.integer("--keep", r.keep_checkpoints));
  r.max_shard_bytes = int64_t(o.num("--shard-mib", 16) * double(1 << 20));
  r.sample_count = int(o.integer("--samples", r.sample_count));
  r.held_out_batches = int(o.integer("--held-out-batches", r.held_out_batches));
  if (r.log_every < 1 || r.sample_every < 0 || r.checkpoint_every < 0 || r.keep_checkpoints < 1 || r.sample_count < 1 ||
      r.held_out_batches < 0)
    throw Error(ErrorCode::BadArgument, "run options: --log-every, --keep and --samples must be ≥ 1, the others ≥ 0");
  return r;
}

std::string duration(double seconds) {
  const int64_t s = int64_t(seconds);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

struct Loaded {
  std::shared_ptr<const cm::model::ConsistencyFunction> teacher;
  std::optional<cm::model::StateDict> teacher_weights;
  cm::model::UNetConfig teacher_architecture;
};

Loaded load_teacher(const std::string& path, c10::Device device) {
  const cm::model::LoadedModel m = cm::model::load_model(cm::model::find_model(path), device, at::kFloat);
  if (m.card.parameterization != cm::model::Parameterization::Edm)
    throw Error(ErrorCode::BadArgument, "the CD teacher must be an EDM denoiser (model card parameterization \"edm\"); '" + path + "' is a consistency model");
  Loaded l;
  l.teacher = m.function;
  l.teacher_weights = m.function->unet().state_dict();
  l.teacher_architecture = m.card.architecture;
  return l;
}

int train(cm::train::Trainer& trainer, const fs::path& run_dir, const cm::train::RunOptions& options,
          const cm::train::DataSource* held_out) {
  const bool tty = isatty(fileno(stderr));
  cm::train::RunHooks hooks;
  hooks.on_report = [&](const cm::train::RunProgress& p) {
    std::string line = fmt::format("step {}/{}  loss {:.5g}", p.step, p.until, p.loss);
    if (p.held_out_loss >= 0) line += fmt::format("  held-out {:.5g}", p.held_out_loss);
    if (p.discretization) line += fmt::format("  N {}", p.discretization);
    line += fmt::format("  lr {:.3g}  |g| {:.3g}  {:.3g} it/s  ETA {}", p.lr, p.grad_norm, p.steps_per_second, duration(p.eta_seconds));
    if (p.skipped) line += fmt::format("  ({} skipped: non-finite gradients)", p.skipped);
    std::fprintf(stderr, tty ? "\r\033[K%s" : "%s\n", line.c_str());
    std::fflush(stderr);
  };
  hooks.on_message = [&](const std::string& m) { std::fprintf(stderr, tty ? "\n%s\n" : "%s\n", m.c_str()); };
  hooks.should_stop = [] { return g_stop.load(); };
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  cm::train::run_training(trainer, run_dir, options, held_out, hooks);
  if (tty) std::fputs("\n", stderr);
  return g_stop ? 130 : 0;
}

struct DataSources {
  std::shared_ptr<const cm::train::CropSampler> train, held_out;
  int64_t train_photos = 0, test_photos = 0;
};

DataSources data_sources(const std::string& path, double test_fraction, const cm::train::TrainConfig& c) {
  const cm::train::ImagePack pack = load_data(path, test_fraction);
  cm::train::CropOptions crop;
  crop.size = c.architecture.image_size;
  crop.min_crop = c.min_crop;
  DataSources d;
  d.train_photos = pack.count(cm::train::Split::Train);
  d.test_photos = pack.count(cm::train::Split::Test);
  d.train = std::make_shared<cm::train::CropSampler>(pack.pixels(cm::train::Split::Train), crop, c.seed);
  if (d.test_photos > 0) {
    crop.flip = false;
    d.held_out = std::make_shared<cm::train::CropSampler>(pack.pixels(cm::train::Split::Test), crop, c.seed ^ 0x5eedull);
  }
  return d;
}

int start(const std::string& mode_name, const std::vector<std::string>& args) {
  Options o(args, 1, kFlags);
  cm::train::TrainConfig c;
  c.mode = cm::train::parse_train_mode(mode_name);
  const std::string data = o.str("--data"), run_dir = o.str("--run");
  if (data.empty() || run_dir.empty()) throw Error(ErrorCode::BadArgument, "cmedit-train " + mode_name + " needs --data DATA and --run RUN");
  const Rank rank = join(o);
  if (rank.lead() && fs::exists(fs::path(run_dir) / "run.json"))
    throw Error(ErrorCode::BadArgument, "'" + run_dir + "' holds a run already: `cmedit-train resume " + run_dir + "`, or choose another folder");
  const c10::Device device = rank.device;

  Loaded teacher;
  if (c.mode == cm::train::TrainMode::Cd) {
    c.teacher = o.str("--teacher");
    if (c.teacher.empty()) throw Error(ErrorCode::BadArgument, "cmedit-train cd needs --teacher MODEL (an EDM denoiser)");
    teacher = load_teacher(c.teacher, device);
  }
  const bool arch_given = o.has("--arch") || o.has("--size") || o.has("--channels") || o.has("--res-blocks") || o.has("--mult") ||
                          o.has("--attention") || o.has("--head-channels");
  // --init MODEL: start from a model's weights (to fine-tune it, or to go on across machines
  // when only the exported model travelled); its architecture unless one is given.
  std::optional<cm::model::StateDict> init_weights;
  std::optional<cm::model::UNetConfig> init_architecture;
  if (o.has("--init")) {
    const cm::model::LoadedModel m = cm::model::load_model(cm::model::find_model(o.str("--init")));
    // A consistency model may start from an EDM denoiser (the official CT and CD commands do),
    // but an EDM denoiser is not trained from a consistency model.
    if (c.mode == cm::train::TrainMode::Edm && m.card.parameterization != cm::model::Parameterization::Edm)
      throw Error(ErrorCode::BadArgument, "cmedit-train edm --init needs a model of parameterization \"edm\"");
    init_weights = m.function->unet().state_dict();
    init_architecture = m.card.architecture;
  }
  if (c.mode == cm::train::TrainMode::Cd && !arch_given && !init_architecture) {
    c.architecture = teacher.teacher_architecture;
    c.architecture.dropout = o.num("--dropout", 0.0);
  } else if (init_architecture && !arch_given) {
    c.architecture = *init_architecture;
    c.architecture.dropout = o.num("--dropout", mode_name == "ct" || mode_name == "ect" ? 0.2 : mode_name == "edm" ? 0.1 : 0.0);
  } else {
    c.architecture = architecture_from(o, c.mode);
  }
  c.iterations = o.integer("--iterations", c.iterations);
  c.batch = o.integer("--batch", c.batch);
  c.seed = std::uint64_t(o.integer("--seed", 0));
  c.optimizer.kind = cm::train::parse_optimizer(o.str("--optimizer", "radam"));
  c.optimizer.lr = o.num("--lr", c.optimizer.lr);
  c.optimizer.warmup_steps = o.integer("--warmup", 0);
  c.optimizer.grad_clip = o.num("--clip", c.optimizer.grad_clip);
  c.ema_rate = o.num("--ema", c.ema_rate);
  c.bf16 = !o.flag("--no-bf16");
  c.min_crop = int(o.integer("--min-crop", 0));
  for (const std::string& size : cm::split_list(o.str("--crop-sizes"))) c.crop_sizes.push_back(int(parse_whole(size, "--crop-sizes")));
  if (c.mode == cm::train::TrainMode::Ect) {
    c.ect_pretrain_steps = o.integer("--pretrain-steps", c.ect_pretrain_steps);
    c.ect_stage_steps = o.integer("--stage-steps", c.ect_stage_steps);
    c.ect_max_stage = int(o.integer("--max-stage", c.ect_max_stage));
    c.ect_q = o.num("--q", c.ect_q);
    c.ct_p_mean = o.num("--p-mean", c.ct_p_mean);
    c.ct_p_std = o.num("--p-std", c.ct_p_std);
    c.ct_metric = cm::train::parse_metric(o.str("--metric", "pseudo-huber"));
  } else if (c.mode == cm::train::TrainMode::Ct) {
    c.ct_s0 = int(o.integer("--s0", c.ct_s0));
    c.ct_s1 = int(o.integer("--s1", c.ct_s1));
    c.ct_p_mean = o.num("--p-mean", c.ct_p_mean);
    c.ct_p_std = o.num("--p-std", c.ct_p_std);
    c.ct_metric = cm::train::parse_metric(o.str("--metric", "pseudo-huber"));
  } else if (c.mode == cm::train::TrainMode::Cd) {
    c.cd_points = int(o.integer("--points", c.cd_points));
    c.cd_target_ema = o.num("--target-ema", c.cd_target_ema);
    c.cd_metric = cm::train::parse_metric(o.str("--metric", "l2"));
  } else {
    c.edm_p_mean = o.num("--p-mean", c.edm_p_mean);
    c.edm_p_std = o.num("--p-std", c.edm_p_std);
  }
  c.data = fs::absolute(data).lexically_normal().string();
  const double test_fraction = o.num("--test-fraction", 0.1);
  const bool init_from_teacher = !o.flag("--no-init-from-teacher");
  set_threads(o, rank.group != nullptr);
  const cm::train::RunOptions options = run_options(o);
  o.check_all_used();
  c.validate();

  const DataSources d = data_sources(data, test_fraction, c);
  if (init_architecture && !cm::model::same_architecture(c.architecture, *init_architecture))
    throw Error(ErrorCode::ShapeMismatch, "--init: the model's architecture differs from the one asked for");
  const bool copy_teacher = !init_weights && teacher.teacher_weights && init_from_teacher &&
                            cm::model::same_architecture(c.architecture, teacher.teacher_architecture);
  const cm::model::StateDict* start_from = init_weights ? &*init_weights : copy_teacher ? &*teacher.teacher_weights : nullptr;
  cm::train::Trainer trainer(c, d.train, device, teacher.teacher, start_from);
  trainer.distribute(rank.group);
  if (!rank.lead()) return train(trainer, run_dir, options, nullptr);
  cm::train::start_run(run_dir, c);
  std::fprintf(stderr, "cmedit-train %s: %lld parameters on %s%s; %lld training photos, %lld held out; run %s\n", mode_name.c_str(),
               static_cast<long long>(trainer.parameter_count()), device.str().c_str(),
               rank.group ? fmt::format(" and {} more processes (batch {} each, {})", trainer.world() - 1, c.batch / trainer.world(),
                                        rank.group->backend()).c_str()
                          : "",
               static_cast<long long>(d.train_photos), static_cast<long long>(d.test_photos), run_dir.c_str());
  if (copy_teacher) std::fputs("the student starts from the teacher's weights (as the official CD does)\n", stderr);
  if (init_weights) std::fprintf(stderr, "starting from the weights of %s\n", o.str("--init").c_str());
  return train(trainer, run_dir, options, d.held_out.get());
}

int resume(const std::vector<std::string>& args) {
  if (args.size() < 2) throw Error(ErrorCode::BadArgument, "usage: cmedit-train resume RUN [--until STEPS] [--data DATA]");
  const fs::path run_dir = args[1];
  Options o(args, 2, kFlags);
  cm::train::TrainConfig c = cm::train::read_run_config(run_dir);
  const std::string data = o.str("--data", c.data);
  const Rank rank = join(o);
  const c10::Device device = rank.device;
  const double test_fraction = o.num("--test-fraction", 0.1);
  set_threads(o, rank.group != nullptr);
  const cm::train::RunOptions options = run_options(o);
  o.check_all_used();

  Loaded teacher;
  if (c.mode == cm::train::TrainMode::Cd) teacher = load_teacher(c.teacher, device);
  const DataSources d = data_sources(data, test_fraction, c);
  cm::train::Trainer trainer(c, d.train, device, teacher.teacher);
  const int64_t from = cm::train::resume_run(trainer, run_dir);
  trainer.distribute(rank.group);
  if (!rank.lead()) return train(trainer, run_dir, options, nullptr);
  if (from == 0) std::fputs("no checkpoint yet: starting the run from step 0\n", stderr);
  else std::fprintf(stderr, "resuming %s at step %lld\n", run_dir.c_str(), static_cast<long long>(from));
  return train(trainer, run_dir, options, d.held_out.get());
}

int export_command(const std::vector<std::string>& args) {
  if (args.size() < 3) throw Error(ErrorCode::BadArgument, "usage: cmedit-train export RUN MODEL_DIR [--name NAME] [--license TEXT]");
  Options o(args, 3, kFlags);
  cm::train::ExportOptions e;
  e.name = o.str("--name");
  e.license = o.str("--license");
  e.provenance = o.str("--provenance");
  o.check_all_used();
  cm::train::export_run(args[1], args[2], e);
  std::printf("exported %s\n", (fs::path(args[2]) / "model.json").c_str());
  return 0;
}

int pack_command(const std::vector<std::string>& args) {
#ifdef CMEDIT_HAS_IMAGEIO
  if (args.size() < 3) throw Error(ErrorCode::BadArgument, "usage: cmedit-train pack FOLDER OUT.cmpack [--test-fraction F] [--max-side PX]");
  Options o(args, 3, kFlags);
  cli::FolderOptions f;
  f.test_fraction = o.num("--test-fraction", f.test_fraction);
  f.short_side = int(o.integer("--short-side", 0));
  f.max_side = int(o.integer("--max-side", 0));
  f.jpeg_quality = int(o.integer("--jpeg", 0));
  if (f.jpeg_quality < 0 || f.jpeg_quality > 100) throw Error(ErrorCode::BadArgument, "--jpeg needs a quality in 1..100");
  f.manifest = o.str("--manifest");
  f.manifest_only = o.flag("--manifest-only");
  const std::string weights_license = o.str("--weights-license");
  o.check_all_used();
  if (!(f.test_fraction >= 0 && f.test_fraction < 1)) throw Error(ErrorCode::BadArgument, "--test-fraction must lie in [0, 1)");
  cm::train::ImagePack pack = cli::load_image_folder(args[1], f);
  if (!weights_license.empty()) pack.metadata["weights_license"] = weights_license;
  pack.metadata["created_by"] = "cmedit-train pack";
  cm::train::write_image_pack(args[2], pack);
  std::printf("%s: %lld training photos, %lld held out, %.1f MB\n", args[2].c_str(),
              static_cast<long long>(pack.count(cm::train::Split::Train)), static_cast<long long>(pack.count(cm::train::Split::Test)),
              double(fs::file_size(args[2])) / 1e6);
  return 0;
#else
  throw Error(ErrorCode::Unsupported, "this cmedit-train was built without image files (CMEDIT_IMAGEIO=OFF): make packs elsewhere");
#endif
}

int info(const std::vector<std::string>& args) {
  if (args.size() != 2) throw Error(ErrorCode::BadArgument, "usage: cmedit-train info RUN|PACK");
  const fs::path p = args[1];
  if (fs::is_regular_file(p)) {
    const cm::train::ImagePack pack = cm::train::read_image_pack(p, cm::train::PackRead::Catalogue);
    int64_t pixels = 0;
    for (const auto& im : pack.images) pixels += im.height * im.width;
    std::printf("image pack %s\n  photos: %lld training, %lld held out\n  pixels: %.1f M\n", p.c_str(),
                static_cast<long long>(pack.count(cm::train::Split::Train)), static_cast<long long>(pack.count(cm::train::Split::Test)),
                double(pixels) / 1e6);
    for (const auto& [k, v] : pack.metadata) std::printf("  %s: %s\n", k.c_str(), v.c_str());
    return 0;
  }
  const cm::train::TrainConfig c = cm::train::read_run_config(p);
  const auto checkpoints = cm::train::list_checkpoints(p / "checkpoints");
  std::printf("run %s\n  mode: %s\n  data: %s\n  iterations: %lld, batch %lld\n  checkpoints: %zu%s\n", p.c_str(),
              cm::train::to_string(c.mode), c.data.c_str(), static_cast<long long>(c.iterations), static_cast<long long>(c.batch),
              checkpoints.size(), checkpoints.empty() ? "" : (" (latest " + checkpoints.back().filename().string() + ")").c_str());
  std::printf("  architecture: %s\n", cm::model::unet_config_to_json(c.architecture).dump().c_str());
  return 0;
}

int run(const std::vector<std::string>& args) {
  cm::LogOptions log;
  log.app_name = "cmedit-train";
  log.console_level = cm::LogLevel::Warn;
  cm::init_logging(log);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // `cmedit-train ct --help` (any command's) prints the help; no option takes "--help" as a value.
  if (std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string& command = args[0];
  if (command == "ct" || command == "ect" || command == "cd" || command == "edm" || command == "resume")
    if (const std::optional<int> status = cli::launch_ranks(args)) return *status;
  if (command == "ct" || command == "ect" || command == "cd" || command == "edm") return start(command, args);
  if (command == "campaign") return cli::campaign_command(args);
  if (command == "resume") return resume(args);
  if (command == "export") return export_command(args);
  if (command == "pack") return pack_command(args);
  if (command == "info") return info(args);
  throw Error(ErrorCode::BadArgument, "unknown command '" + command + "' (see cmedit-train --help)");
}

}  // namespace

int main(int argc, char** argv) {
  cm::set_signal_policy();
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cm::Error& e) {
    std::fprintf(stderr, "cmedit-train: %s\n", e.what());
    return cm::exit_status(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmedit-train: unexpected failure: %s\n", e.what());
    return 70;
  }
}
