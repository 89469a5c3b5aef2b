#include "core/train/noise_schedule.h"

#include "core/base/error.h"
#include "core/sampling/karras.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cm::train {

int ict_discretization(int64_t step, int64_t total_steps, int s0, int s1) {
  if (s0 < 1 || s1 < s0) throw Error(ErrorCode::BadArgument, fmt::format("iCT curriculum needs 1 ≤ s0 ≤ s1, got s0 = {}, s1 = {}", s0, s1));
  if (total_steps < 1) throw Error(ErrorCode::BadArgument, "iCT curriculum needs at least one training step");
  const int stages = int(std::floor(std::log2(double(s1 / s0)))) + 1;
  const int64_t stage_length = std::max<int64_t>(1, total_steps / stages);
  const int64_t doublings = std::min<int64_t>(std::max<int64_t>(step, 0) / stage_length, 62);
  const double n = std::min(double(s0) * std::pow(2.0, double(doublings)), double(s1));
  return int(n) + 1;
}

std::vector<double> increasing_karras_sigmas(int n, const model::NoiseRange& range) {
  std::vector<double> sigmas = sampling::karras_sigmas(n, range);
  std::reverse(sigmas.begin(), sigmas.end());
  return sigmas;
}

std::vector<double> lognormal_pair_probabilities(const std::vector<double>& sigmas, double p_mean, double p_std) {
  if (sigmas.size() < 2) throw Error(ErrorCode::BadArgument, "a noise grid needs at least two points");
  if (!(p_std > 0)) throw Error(ErrorCode::BadArgument, fmt::format("P_std must be > 0, got {}", p_std));
  const auto cdf = [&](double sigma) { return std::erf((std::log(sigma) - p_mean) / (std::sqrt(2.0) * p_std)); };
  std::vector<double> p(sigmas.size() - 1);
  double total = 0;
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) {
    p[i] = std::max(0.0, cdf(sigmas[i + 1]) - cdf(sigmas[i]));
    total += p[i];
  }
  if (!(total > 0)) throw Error(ErrorCode::BadArgument, "the log-normal puts no mass on this noise grid");
  for (double& v : p) v /= total;
  return p;
}

namespace {

NoisePairs pairs_at(const std::vector<double>& sigmas, const at::Tensor& index) {
  const at::Tensor grid = at::tensor(sigmas, at::kDouble);
  return {grid.index_select(0, index + 1).to(at::kFloat), grid.index_select(0, index).to(at::kFloat)};
}

}  // namespace

NoisePairs sample_pairs(const std::vector<double>& sigmas, const std::vector<double>& probabilities, int64_t batch,
                        at::Generator generator) {
  if (probabilities.size() + 1 != sigmas.size())
    throw Error(ErrorCode::ShapeMismatch, fmt::format("{} pair probabilities for a grid of {} points", probabilities.size(), sigmas.size()));
  const at::Tensor p = at::tensor(probabilities, at::kDouble);
  return pairs_at(sigmas, at::multinomial(p, batch, /*replacement=*/true, generator));
}

NoisePairs sample_uniform_pairs(const std::vector<double>& sigmas, int64_t batch, at::Generator generator) {
  if (sigmas.size() < 2) throw Error(ErrorCode::BadArgument, "a noise grid needs at least two points");
  return pairs_at(sigmas, at::randint(int64_t(sigmas.size()) - 1, {batch}, generator, at::kLong));
}

at::Tensor ict_weight(const NoisePairs& pairs) {
  return 1.0 / (pairs.sigma_high.to(at::kDouble) - pairs.sigma_low.to(at::kDouble)).to(at::kFloat);
}

at::Tensor ect_r(const at::Tensor& t, int stage, double q, double k, double b) {
  if (stage < 0) return at::zeros_like(t, t.options().dtype(at::kFloat));
  if (!(q > 1)) throw Error(ErrorCode::BadArgument, fmt::format("ECT needs q > 1, got {}", q));
  const at::Tensor td = t.to(at::kDouble);
  const at::Tensor n = 1.0 + k * at::sigmoid(-b * td);
  const at::Tensor r = td * (1.0 - n / std::pow(q, double(stage + 1)));
  return r.clamp_min(0.0).to(at::kFloat);
}

int ect_stage(int64_t step, int64_t pretrain_steps, int64_t stage_steps, int max_stage) {
  if (pretrain_steps < 0 || stage_steps < 1 || max_stage < 0)
    throw Error(ErrorCode::BadArgument, fmt::format("ECT schedule needs pretrain steps ≥ 0, stage steps ≥ 1 and a last stage ≥ 0, got {}, {}, {}",
                                                    pretrain_steps, stage_steps, max_stage));
  if (step < pretrain_steps) return -1;
  return int(std::min<int64_t>((step - pretrain_steps) / stage_steps, max_stage));
}

}  // namespace cm::train
