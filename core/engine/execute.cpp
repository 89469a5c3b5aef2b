#include "core/engine/execute.h"

#include "core/edit/edits.h"
#include "core/engine/edit_registry.h"
#include "core/edit/region.h"
#include "core/sampling/multistep.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

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

// A result on a GPU comes back through page-locked memory (one direct copy instead of one staged
// through a driver buffer): the wait for the device that ends every job.
at::Tensor to_host(const at::Tensor& t) {
  if (!t.is_cuda()) return t.cpu();
  at::Tensor host = at::empty(t.sizes(), t.options().device(at::kCPU).pinned_memory(true));
  return host.copy_(t);
}

}  // namespace

sampling::Schedule schedule_for(const EditRequest& r, const model::ModelCard& card) {
  const EditSpec& spec = spec_of(r.kind);
  sampling::Schedule schedule;
  if (!r.ts.empty()) {
    if (r.strength >= 0 && r.strength < 1)
      throw Error(ErrorCode::BadArgument, "--ts gives the levels itself; leave out --strength (or use --steps)");
    schedule = sampling::schedule_from_ts(r.ts, card.schedule_points, card.noise);
  } else {
    if (r.steps < 1 || r.steps > 1000)
      throw Error(ErrorCode::BadArgument, fmt::format("steps must lie in 1…1000, got {}", r.steps));
    // A tile of super-resolution at the default strength takes one evaluation (the windows along
    // a mask get theirs from execute's window_schedule).
    const int steps = spec.one_step_at_default && r.strength < 0 ? window_steps(r.steps) : r.steps;
    schedule = sampling::karras_schedule(steps, sampling::sigma_for_strength(strength_of(r), card.noise), card.noise);
  }
  schedule.fresh_noise = r.fresh_noise < 0 ? spec.fresh_noise : r.fresh_noise;
  return schedule;
}

void check_request(const EditRequest& r) {
  check_request_settings(r);
  const EditSpec& spec = spec_of(r.kind);
  const std::string name = spec.name();
  if (spec.image && !r.image.defined()) throw Error(ErrorCode::BadArgument, name + " needs an image");
  if (spec.mask == Need::Required && !r.mask.defined()) throw Error(ErrorCode::BadArgument, name + " needs a mask");
  if (spec.mask == Need::No && r.mask.defined()) throw Error(ErrorCode::BadArgument, name + " takes no mask");
  if (!spec.hints && r.hints.defined()) throw Error(ErrorCode::BadArgument, name + " takes no colour hints");
}

void check_request_settings(const EditRequest& r) {
  const EditSpec& spec = spec_of(r.kind);
  const std::string name = spec.name();
  if (!spec.has_strength && r.strength >= 0 && r.strength != 1)
    throw Error(ErrorCode::BadArgument, name + " has no strength: it always starts from pure noise");
  if (r.strength > 1) throw Error(ErrorCode::BadArgument, fmt::format("strength must lie in 0…100 %, got {:g} %", r.strength * 100));
  if (r.fresh_noise == 0 || r.fresh_noise > 1)
    throw Error(ErrorCode::BadArgument, "the share of fresh noise must lie in (0, 1]");
  for (const EditSetting& s : spec.settings) {
    const double v = s.get(r);
    if (!(v >= s.min && v <= s.max) || (s.integral && v != std::floor(v)))
      throw Error(ErrorCode::BadArgument, fmt::format("{} --{} must be {} in {:g}…{:g}, got {:g}", name, s.name,
                                                      s.integral ? "a whole number" : "a number", s.min, s.max, v));
  }
}

at::Tensor execute(const model::ConsistencyFunction& f_in, const model::ModelCard& card, const EditRequest& r,
                   const RunContext& context, Timings& timings, std::vector<double>* sigmas) {
  if (!r.variation_seeds.empty()) {  // the same edit once per seed, results stacked
    if (r.variation_seeds.size() > 64) throw Error(ErrorCode::BadArgument, "at most 64 variations at once");
    std::vector<at::Tensor> results;
    Timings total;
    for (std::size_t i = 0; i < r.variation_seeds.size(); ++i) {
      EditRequest one = r;
      one.variation_seeds.clear();
      one.seed = r.variation_seeds[i];
      Timings t;
      results.push_back(execute(f_in, card, one, context, t, sigmas));
      total += t;
    }
    timings = total;
    return at::cat(results);
  }
  check_request(r);
  const Clock::time_point start = Clock::now();
  const TimedFunction f(f_in);
  EditRequest run = resolved(r, f.device().is_cpu());  // the work size and estimate it runs with
  edit::EditSettings settings;
  settings.schedule = schedule_for(run, card);
  settings.seed = r.seed;
  settings.blend_seeds = r.blend_seeds && r.kind != edit::EditKind::Interpolate;
  settings.blend_seed = r.seed_b;
  settings.blend = r.blend;
  settings.control = context.control;
  settings.exemplar_cache = context.exemplar_cache;
  const EditSpec& spec = spec_of(r.kind);
  settings.warm_start = strength_of(run) < 1 && r.ts.empty();
  settings.labels = labels_for(r, f.spec(), r.kind == edit::EditKind::Generate ? r.batch : 1);
  if (chooses_per_window(spec) && r.strength < 0 && r.ts.empty()) {
    // The default strength window by window: each window's start and scale choose its σ.
    const sampling::Schedule request_schedule = settings.schedule;
    run.region.window_schedule = [&spec, &card, request_schedule, steps = run.steps](const edit::region::RegionOptions::WindowStart& w) {
      sampling::Schedule s = sampling::karras_schedule(window_steps(steps), sampling::sigma_for_strength(window_strength(spec, w), card.noise),
                                                       card.noise);
      s.fresh_noise = request_schedule.fresh_noise;
      return s;
    };
  }
  const at::Tensor out = to_host(spec.run(f, run, settings));
  f.fill(start, Clock::now(), timings);
  if (sigmas) *sigmas = settings.schedule.sigmas;
  return out;
}

}  // namespace cm::engine
