#include "core/sampling/multistep.h"

#include "core/base/error.h"
#include "core/sampling/karras.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace cm::sampling {

at::Tensor generate(const model::ConsistencyFunction& f, int64_t batch, std::uint64_t seed, const Schedule& schedule,
                    const at::Tensor& labels, const LoopControl& control, int64_t first_image) {
  if (batch < 1) throw Error(ErrorCode::BadArgument, fmt::format("cannot sample {} images", batch));
  const model::ModelSpec& spec = f.spec();
  const NoiseWindow window{batch, spec.channels, 0, 0, spec.image_size, spec.image_size, first_image};
  const at::Tensor start = at::zeros({batch, spec.channels, spec.image_size, spec.image_size}, at::kFloat);
  return run_consistency_loop(f, start, schedule, field_noise(NoiseField(seed), window), labels, nullptr, control);
}

at::Tensor sample_multistep(const model::ConsistencyFunction& f, const std::vector<at::Tensor>& noises,
                            const std::vector<int>& ts, int n, const at::Tensor& labels) {
  const Schedule schedule = schedule_from_ts(ts, n, f.spec().noise);
  if (noises.size() != ts.size())
    throw Error(ErrorCode::BadArgument,
                fmt::format("{} steps need {} noise tensors, got {}", ts.size() - 1, ts.size(), noises.size()));
  const NoiseSource given = [&noises](int draw) { return noises.at(draw); };
  return run_consistency_loop(f, at::zeros_like(noises[0]), schedule, given, labels);
}

at::Tensor sample_onestep(const model::ConsistencyFunction& f, const at::Tensor& z, const at::Tensor& labels) {
  const model::NoiseRange& range = f.spec().noise;
  const at::Tensor sigma0 = karras_sigmas_f32(2, range)[0];  // σ₀ does not depend on N
  const at::Tensor x = z * range.sigma_max;
  return f(x, sigma0.expand({x.size(0)}).to(f.device()), labels).clamp(-1, 1);
}

}  // namespace cm::sampling
