#include "core/sampling/schedule.h"

#include "core/base/error.h"
#include "core/sampling/karras.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cm::sampling {

Schedule schedule_from_ts(const std::vector<int>& ts, int n, const model::NoiseRange& range) {
  if (ts.size() < 2) throw Error(ErrorCode::BadArgument, "ts needs at least two indices (e.g. 0,39)");
  for (std::size_t k = 0; k < ts.size(); ++k) {
    if (ts[k] < 0 || ts[k] >= n)
      throw Error(ErrorCode::BadArgument, fmt::format("ts index {} is outside 0…{}", ts[k], n - 1));
    if (k && ts[k] <= ts[k - 1]) throw Error(ErrorCode::BadArgument, "ts must increase strictly (noisiest first)");
  }
  Schedule schedule;
  for (std::size_t k = 0; k + 1 < ts.size(); ++k) schedule.sigmas.push_back(karras_sigma(ts[k], n, range));
  // σ(N−1) evaluates to ε + 3e-18 in double; the official sampler then adds noise of std 1e-10.
  // Ending at N−1 means "no noise", so it is ε exactly here.
  schedule.final_sigma = ts.back() == n - 1
                             ? range.sigma_min
                             : std::clamp(karras_sigma(ts.back(), n, range), range.sigma_min, range.sigma_max);
  return schedule;
}

Schedule karras_schedule(int steps, double sigma_start, const model::NoiseRange& range) {
  if (steps < 1) throw Error(ErrorCode::BadArgument, fmt::format("an edit needs at least 1 step, got {}", steps));
  if (!(sigma_start >= range.sigma_min && sigma_start <= range.sigma_max))
    throw Error(ErrorCode::BadArgument, fmt::format("the starting noise level must lie in [{}, {}], got {}",
                                                    range.sigma_min, range.sigma_max, sigma_start));
  Schedule schedule;
  schedule.final_sigma = range.sigma_min;
  if (sigma_start == range.sigma_min) {  // nothing to ramp: one evaluation at ε (f is the identity)
    schedule.sigmas.push_back(range.sigma_min);
    return schedule;
  }
  const double top = std::pow(sigma_start, 1.0 / kRho), bottom = std::pow(range.sigma_min, 1.0 / kRho);
  for (int i = 0; i < steps; ++i) schedule.sigmas.push_back(std::pow(top + double(i) / steps * (bottom - top), kRho));
  schedule.sigmas.front() = sigma_start;  // exact, not the round trip through the 1/ρ power
  return schedule;
}

void validate_schedule(const Schedule& schedule, const model::NoiseRange& range) {
  if (schedule.sigmas.empty()) throw Error(ErrorCode::BadArgument, "the schedule has no noise levels");
  for (std::size_t k = 0; k < schedule.sigmas.size(); ++k) {
    const double s = schedule.sigmas[k];
    if (!(s >= range.sigma_min && s <= range.sigma_max))
      throw Error(ErrorCode::BadArgument,
                  fmt::format("noise level {} is outside [{}, {}]", s, range.sigma_min, range.sigma_max));
    if (k && !(s < schedule.sigmas[k - 1]))
      throw Error(ErrorCode::BadArgument, "noise levels must decrease strictly (noisiest first)");
  }
  if (!(schedule.final_sigma >= range.sigma_min) ||
      (schedule.final_sigma > range.sigma_min && !(schedule.final_sigma < schedule.sigmas.back())))
    throw Error(ErrorCode::BadArgument, "the final noise level must lie between ε and the last evaluation level");
}

double sigma_for_strength(double strength, const model::NoiseRange& range) {
  if (!(strength >= 0 && strength <= 1))
    throw Error(ErrorCode::BadArgument, fmt::format("strength must lie in 0…100 %, got {:g} %", strength * 100));
  if (strength == 1) return range.sigma_max;  // exactly T: the edit is then Algorithm 4 as published
  return range.sigma_min * std::pow(range.sigma_max / range.sigma_min, strength);
}

double strength_for_sigma(double sigma, const model::NoiseRange& range) {
  const double s = std::log(sigma / range.sigma_min) / std::log(range.sigma_max / range.sigma_min);
  return std::isfinite(s) ? std::clamp(s, 0.0, 1.0) : 0.0;
}

}  // namespace cm::sampling
