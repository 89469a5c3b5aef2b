#include "core/engine/execute.h"

#include "core/edit/edits.h"
#include "core/edit/region.h"
#include "core/sampling/multistep.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>

namespace cm::engine {
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// f, timed: how long the network took, and when the first evaluation began and the last ended,
// which splits a job into prepare / steps / composite without the edits knowing about clocks.
class TimedFunction final : public model::ConsistencyFunction {
 public:
  explicit TimedFunction(const model::ConsistencyFunction& f) : f_(f) {}
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& sigma, const at::Tensor& labels) const override {
    const Clock::time_point start = Clock::now();
    if (evaluations_ == 0) first_start_ = start;
    at::Tensor out = f_(x, sigma, labels);
    // On a GPU the kernels are only queued here. Waiting for them would put a host sync into every
    // step of the loop (issue: speed), so there model_ms is the time to queue the network and the
    // rest of its run shows up in the next phase that waits (the projection or the composite);
    // total_ms is exact either way.
    last_end_ = Clock::now();
    model_ms_ += ms_between(start, last_end_);
    ++evaluations_;
    return out;
  }
  const model::ModelSpec& spec() const override { return f_.spec(); }
  c10::Device device() const override { return f_.device(); }

  void fill(Clock::time_point job_start, Clock::time_point job_end, Timings& t) const {
    t.total_ms = ms_between(job_start, job_end);
    t.evaluations = evaluations_;
    t.model_ms = model_ms_;
    if (evaluations_ == 0) return;
    t.prepare_ms = ms_between(job_start, first_start_);
    t.composite_ms = ms_between(last_end_, job_end);
    t.steps_ms = std::max(0.0, t.total_ms - t.prepare_ms - t.composite_ms - t.model_ms);
  }

 private:
  const model::ConsistencyFunction& f_;
  mutable Clock::time_point first_start_, last_end_;
  mutable double model_ms_ = 0;
  mutable int evaluations_ = 0;
};

at::Tensor labels_for(const EditRequest& r, const model::ModelSpec& spec, int64_t batch) {
  if (spec.num_classes <= 0) {
    if (r.class_label >= 0) throw Error(ErrorCode::BadArgument, fmt::format("model '{}' has no classes", spec.name));
    return at::Tensor();
  }
  if (r.class_label >= spec.num_classes)
    throw Error(ErrorCode::BadArgument,
                fmt::format("class {} does not exist: model '{}' has classes 0…{}", r.class_label, spec.name, spec.num_classes - 1));
  const int64_t label = r.class_label >= 0 ? r.class_label : int64_t(r.seed % std::uint64_t(spec.num_classes));
  return at::full({batch}, label, at::kLong);
}

const at::Tensor& require(const at::Tensor& t, const char* what, edit::EditKind kind) {
  if (!t.defined())
    throw Error(ErrorCode::BadArgument, fmt::format("{} needs {}", edit::to_string(kind), what));
  return t;
}

}  // namespace

sampling::Schedule schedule_for(const EditRequest& r, const model::ModelCard& card) {
  if (!r.ts.empty()) {
    if (r.kind == edit::EditKind::Sketch)
      throw Error(ErrorCode::BadArgument, "sketch takes --strength and --steps, not --ts");
    return sampling::schedule_from_ts(r.ts, card.schedule_points, card.noise);
  }
  if (r.steps < 1 || r.steps > 1000)
    throw Error(ErrorCode::BadArgument, fmt::format("steps must lie in 1…1000, got {}", r.steps));
  const double start = r.kind == edit::EditKind::Sketch ? r.strength : card.noise.sigma_max;
  return sampling::karras_schedule(r.steps, start, card.noise);
}

at::Tensor execute(const model::ConsistencyFunction& f_in, const model::ModelCard& card, const EditRequest& r,
                   const sampling::LoopControl& control, Timings& timings, std::vector<double>* sigmas) {
  if (!r.variation_seeds.empty()) {  // the same edit once per seed, results stacked
    if (r.variation_seeds.size() > 64) throw Error(ErrorCode::BadArgument, "at most 64 variations at once");
    std::vector<at::Tensor> results;
    Timings total;
    for (std::size_t i = 0; i < r.variation_seeds.size(); ++i) {
      EditRequest one = r;
      one.variation_seeds.clear();
      one.seed = r.variation_seeds[i];
      Timings t;
      results.push_back(execute(f_in, card, one, control, t, sigmas));
      total += t;
    }
    timings = total;
    return at::cat(results);
  }
  const Clock::time_point start = Clock::now();
  const TimedFunction f(f_in);
  edit::EditSettings settings;
  settings.schedule = schedule_for(r, card);
  settings.seed = r.seed;
  settings.blend_seeds = r.blend_seeds && r.kind != edit::EditKind::Interpolate;
  settings.blend_seed = r.seed_b;
  settings.blend = r.blend;
  settings.control = control;
  using edit::EditKind;
  namespace region = edit::region;
  const bool needs_image = r.kind != EditKind::Generate && r.kind != EditKind::Interpolate;
  if (needs_image) settings.labels = labels_for(r, f.spec(), 1);
  const at::Tensor image = needs_image ? require(r.image, "an image", r.kind) : at::Tensor();

  at::Tensor out;
  switch (r.kind) {
    case EditKind::Generate:
      if (r.batch < 1 || r.batch > 1024) throw Error(ErrorCode::BadArgument, fmt::format("batch must lie in 1…1024, got {}", r.batch));
      out = sampling::generate(f, r.batch, r.seed, settings.schedule, labels_for(r, f.spec(), r.batch), control,
                                 r.first_image);
      break;
    case EditKind::Inpaint:
      out = region::inpaint(f, image, require(r.mask, "a mask", r.kind), settings, r.region);
      break;
    case EditKind::Colorize:
      out = region::colorize(f, image, settings, r.hints, r.hint_mask, r.region);
      break;
    case EditKind::SuperResolve:
      out = region::super_resolve(f, image, r.scale, settings, r.region);
      break;
    case EditKind::Sketch:
      out = region::sketch(f, image, settings, r.mask, r.region);
      break;
    case EditKind::Denoise: {
      const double sigma = r.sigma > 0 ? r.sigma : edit::estimate_noise_sigma(image);
      settings.schedule.sigmas = {sigma};
      out = region::denoise(f, image, sigma, settings, r.region);
      break;
    }
    case EditKind::Interpolate: {
      if (r.alphas.empty()) throw Error(ErrorCode::BadArgument, "interpolate needs at least one α");
      settings.labels = labels_for(r, f.spec(), 1);
      std::vector<at::Tensor> frames;
      for (std::size_t i = 0; i < r.alphas.size(); ++i) {
        settings.control.step_offset = control.step_offset + int(i) * settings.schedule.steps();
        settings.control.total_steps = int(r.alphas.size()) * settings.schedule.steps();
        frames.push_back(edit::interpolate(f, 1, r.seed, r.seed_b, r.alphas[i], settings).cpu());
      }
      out = at::cat(frames);
      break;
    }
  }
  out = out.cpu();
  f.fill(start, Clock::now(), timings);
  if (sigmas) *sigmas = settings.schedule.sigmas;
  return out;
}

}  // namespace cm::engine
