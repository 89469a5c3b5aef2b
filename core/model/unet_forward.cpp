// The forward pass of UNet (unet.h), layer by layer over the block structure of
// unet_architecture.h, with plain ATen ops on the checkpoint's named weights.
#include "core/model/unet.h"

#include "core/base/error.h"
#include "core/base/cancel.h"
#include "core/model/unet_architecture.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

namespace cm::model {
namespace {

constexpr int kGroups = 32;
constexpr double kGroupNormEps = 1e-5;

// What a ResBlock's time embedding does to the normalised activations, per image and channel
// (float32 [B, C]): adds `add` before the norm, or scales by 1 + scale and shifts after it.
struct Modulation {
  at::Tensor add, scale, shift;
};

struct Forward {
  const std::map<std::string, at::Tensor>& w;
  const UNetConfig& cfg;
  double dropout = 0.0;  // > 0 only in training mode
  bool fused_attention = false;
  bool fused_norm = false;  // reduced-precision activations only (UNet::run decides)

  const at::Tensor& p(const std::string& name) const { return w.at(name); }

  // GroupNorm32 with the block's modulation and, when `silu`, the SiLU after it.
  at::Tensor norm(const at::Tensor& x, const std::string& prefix, bool silu = false, const Modulation& m = {}) const {
    if (fused_norm) return fused_group_norm(x, prefix, silu, m);
    at::Tensor in = x;
    if (m.add.defined()) in = x + m.add.to(x.scalar_type()).unsqueeze(-1).unsqueeze(-1);
    // cm/nn.py GroupNorm32: normalise in float32, return in the input's dtype.
    at::Tensor h = at::group_norm(in.to(at::kFloat), kGroups, p(prefix + ".weight"), p(prefix + ".bias"), kGroupNormEps)
                       .to(x.scalar_type());
    if (m.scale.defined())
      h = h * (1 + m.scale.to(x.scalar_type()).unsqueeze(-1).unsqueeze(-1)) + m.shift.to(x.scalar_type()).unsqueeze(-1).unsqueeze(-1);
    return silu ? at::silu(h) : h;
  }

  // The same in the activations' own (reduced) precision, without their float32 copy: the plain
  // path reads or writes every element 11 times, 32 bytes of fp16 activations (add, cast up,
  // statistics, normalise, cast back, SiLU), this one 5 times, 10 bytes, in any memory format
  // (at::group_norm on CUDA makes a channels-last input contiguous, and the next convolution
  // makes it channels-last again). Per-channel mean and
  // variance in one pass (float accumulation), combined per group in float32 as the mean of the
  // variances plus the variance of the means (no cancellation); the modulation folds into one
  // per-image-and-channel multiply-add, then SiLU in place.
  at::Tensor fused_group_norm(const at::Tensor& x, const std::string& prefix, bool silu, const Modulation& m) const {
    const int64_t b = x.size(0), c = x.size(1), g = c / kGroups;
    const auto [var_c, mean_c] = at::var_mean(x, {2, 3}, /*unbiased=*/false, /*keepdim=*/false);
    at::Tensor mean_z = mean_c.to(at::kFloat);  // of z = x + add: the add moves each channel's mean only
    if (m.add.defined()) mean_z = mean_z + m.add;
    const at::Tensor grouped = mean_z.view({b, kGroups, g});
    const at::Tensor mean_g = grouped.mean(2, true);
    const at::Tensor var_g = var_c.to(at::kFloat).view({b, kGroups, g}).mean(2, true) + (grouped - mean_g).pow(2).mean(2, true);
    const auto per_group = [&](const at::Tensor& v) { return v.expand({b, kGroups, g}).reshape({b, c}); };
    // (x + add − μ)·rstd·γ + β = x·s + (β + (add − μ)·s), s = rstd·γ
    at::Tensor scale = per_group(at::rsqrt(var_g + kGroupNormEps)) * p(prefix + ".weight");
    at::Tensor shift = p(prefix + ".bias") - per_group(mean_g) * scale;
    if (m.add.defined()) shift = shift + m.add * scale;
    if (m.scale.defined()) shift = shift * (1 + m.scale) + m.shift, scale = scale * (1 + m.scale);
    const auto per_channel = [&](const at::Tensor& v) { return v.to(x.scalar_type()).view({b, c, 1, 1}); };
    at::Tensor y = at::addcmul(per_channel(shift), x, per_channel(scale));
    if (!silu) return y;
    return at::GradMode::is_enabled() ? at::silu(y) : at::silu_(y);
  }

  at::Tensor conv(const at::Tensor& x, const std::string& prefix, int64_t stride = 1, int64_t padding = 1) const {
    return at::conv2d(x, p(prefix + ".weight"), p(prefix + ".bias"), {stride, stride}, {padding, padding});
  }
  at::Tensor conv1x1(const at::Tensor& x, const std::string& prefix) const { return conv(x, prefix, 1, 0); }
  at::Tensor linear(const at::Tensor& x, const std::string& prefix) const {
    return at::linear(x, p(prefix + ".weight"), p(prefix + ".bias"));
  }
  at::Tensor drop(const at::Tensor& x) const { return dropout > 0 ? at::dropout(x, dropout, true) : x; }
  static at::Tensor resample(const at::Tensor& x, Resample r) {
    if (r == Resample::Up) return at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
    if (r == Resample::Down) return at::avg_pool2d(x, {2, 2}, {2, 2});
    return x;
  }

  at::Tensor res_block(const ResBlock& l, at::Tensor x, const at::Tensor& emb) const {
    at::Tensor h;
    if (l.resample == Resample::None) {
      h = conv(norm(x, l.prefix + ".in_layers.0", true), l.prefix + ".in_layers.2");
    } else {  // resample between the activation and the conv, on both paths
      h = resample(norm(x, l.prefix + ".in_layers.0", true), l.resample);
      x = resample(x, l.resample);
      h = conv(h, l.prefix + ".in_layers.2");
    }
    const at::Tensor emb_out = linear(at::silu(emb), l.prefix + ".emb_layers.1");  // float32 [B, C or 2C]
    Modulation m;
    if (cfg.use_scale_shift_norm) {
      const auto scale_shift = emb_out.chunk(2, 1);  // first half scale, second half shift
      m.scale = scale_shift[0], m.shift = scale_shift[1];
    } else {
      m.add = emb_out;
    }
    h = conv(drop(norm(h, l.prefix + ".out_layers.0", true, m)), l.prefix + ".out_layers.3");
    const at::Tensor skip = l.c_in == l.c_out ? x : conv1x1(x, l.prefix + ".skip_connection");
    return skip + h;
  }

  // qkv channels are laid out (q|k|v) × head × d (NOT the legacy head-major order). Both memory
  // formats are read as [B, heads, T, d] views: from channels-last without a copy and with d
  // contiguous, as the fused kernels want it; the output goes back the same way.
  at::Tensor attention(const Attention& l, const at::Tensor& x) const {
    const int64_t b = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3), t = height * width;
    const int64_t heads = l.heads, d = c / heads;
    const at::Tensor qkv = conv1x1(norm(x, l.prefix + ".norm"), l.prefix + ".qkv");
    const bool nhwc = !qkv.is_contiguous() && qkv.is_contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor q, k, v;
    if (nhwc) {  // memory [B, T, 3, heads, d]
      const at::Tensor s = qkv.permute({0, 2, 3, 1}).reshape({b, t, 3, heads, d});
      q = s.select(2, 0).transpose(1, 2), k = s.select(2, 1).transpose(1, 2), v = s.select(2, 2).transpose(1, 2);
    } else {  // memory [B, 3, heads, d, T]
      const at::Tensor s = qkv.reshape({b, 3, heads, d, t});
      q = s.select(1, 0).transpose(2, 3), k = s.select(1, 1).transpose(2, 3), v = s.select(1, 2).transpose(2, 3);
    }
    const at::Tensor out = fused_attention ? fused_heads(q, k, v) : attention_heads(q, k, v);  // [B, heads, T, d]
    const at::Tensor image = nhwc ? out.transpose(1, 2).reshape({b, height, width, c}).permute({0, 3, 1, 2})
                                  : out.transpose(2, 3).reshape({b, c, height, width});
    return x + conv1x1(image, l.prefix + ".proj_out");
  }

  // The same product through one fused kernel (flash or memory-efficient on CUDA); its default
  // scale is 1/√d too. The kernels need d contiguous: the channels-last views have it, the
  // contiguous layout's are copied.
  static at::Tensor fused_heads(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
    const auto dense = [](const at::Tensor& a) { return a.stride(3) == 1 ? a : a.contiguous(); };
    return at::scaled_dot_product_attention(dense(q), dense(k), dense(v));
#else
    return attention_heads(q, k, v);
#endif
  }

  at::Tensor layer(const Layer& layer, const at::Tensor& h, const at::Tensor& emb) const {
    if (const auto* l = std::get_if<StemConv>(&layer)) return conv(h, l->prefix);
    if (const auto* l = std::get_if<ResBlock>(&layer)) return res_block(*l, h, emb);
    if (const auto* l = std::get_if<Attention>(&layer)) return attention(*l, h);
    const auto& l = std::get<ResampleConv>(layer);
    if (l.resample == Resample::Down) return conv(h, l.prefix + ".op", 2, 1);
    return conv(resample(h, Resample::Up), l.prefix + ".conv");
  }

  at::Tensor block(const Block& block, at::Tensor h, const at::Tensor& emb) const {
    throw_if_cancelled();  // a superseded preview stops here, within one block's time
    for (const Layer& l : block) h = layer(l, h, emb);
    return h;
  }
};

}  // namespace

// softmax(q·kᵀ/√d)·v as cm/unet.py's QKVAttention computes it: the weights in float32, the
// products on [B·heads, d, T] (free views of the contiguous layout: the same roundings as ever,
// which training's trajectories and the golden parity see).
//
// The scores of all queries at once are B·heads·T² floats: 268 MB for a 256-px edit window of the
// 64-px model (64² tokens, 4 heads), made, scaled and normalised as three such tensors per layer,
// and the CPU spent most of its time faulting them in and freeing them. So the queries go in blocks
// of at most `score_bytes` of scores; each row's softmax is its own, so the result is the same.
// One evaluation of the built-in model at 256 px, 2 threads: 3.4 s → 0.83 s, at 128 px 210 → 146 ms
// (docs/BENCHMARKS.md, "The built-in model's network on the CPU"); blocks of 1, 4 and 8 MB were slower.
at::Tensor attention_heads(const at::Tensor& q4, const at::Tensor& k4, const at::Tensor& v4, int64_t score_bytes) {
  const int64_t b = q4.size(0), heads = q4.size(1), t = q4.size(2), d = q4.size(3);
  const auto heads_d_t = [&](const at::Tensor& a) { return a.transpose(2, 3).reshape({b * heads, d, t}); };
  const at::Tensor q = heads_d_t(q4), k = heads_d_t(k4), v = heads_d_t(v4);
  const auto product = [&](int64_t first, int64_t queries) {  // [bh, d, queries]
    const at::Tensor scores = at::bmm(q.narrow(2, first, queries).transpose(1, 2), k) * (1.0 / std::sqrt(double(d)));
    const at::Tensor weights = at::softmax(scores.to(at::kFloat), -1).to(v.scalar_type());  // [bh, queries, t_key]
    return at::bmm(v, weights.transpose(1, 2));
  };
  const int64_t block = std::max<int64_t>(1, score_bytes / (b * heads * t * int64_t(sizeof(float))));
  std::vector<at::Tensor> parts;
  for (int64_t first = 0; first < t; first += block) parts.push_back(product(first, std::min(block, t - first)));
  return (parts.size() == 1 ? parts[0] : at::cat(parts, 2)).view({b, heads, d, t}).transpose(2, 3);
}

at::Tensor timestep_embedding(const at::Tensor& t, int dim) {
  const int64_t half = dim / 2;
  // Same float32 ops in the same order as cm/nn.py, for bit-closest parity.
  const at::Tensor freqs = at::exp(at::arange(half, at::TensorOptions().dtype(at::kFloat).device(t.device()))
                                       .mul(-std::log(10000.0))
                                       .div(half));
  const at::Tensor args = t.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  at::Tensor emb = at::cat({at::cos(args), at::sin(args)}, -1);
  if (dim % 2) emb = at::cat({emb, at::zeros_like(emb.slice(1, 0, 1))}, -1);
  return emb;
}

at::Tensor UNet::run(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y, UNetTrace* trace,
                     double dropout) const {
  // The fused GroupNorm serves networks converted to half precision (UNet::to), at inference: float32
  // weights (golden parity, training under autocast) keep the official op order.
  const bool fused_norm = fused_norm_ && dtype_ != at::kFloat && dropout == 0;
  const Forward f{weights_, config_, dropout, fused_attention_, fused_norm};
  at::Tensor temb = timestep_embedding(t, config_.model_channels);
  at::Tensor emb = f.linear(at::silu(f.linear(temb, "time_embed.0")), "time_embed.2");
  if (config_.num_classes > 0) {
    if (!y.defined()) throw Error(ErrorCode::BadArgument, "this model is class-conditional: give class labels");
    emb = emb + at::embedding(f.p("label_emb.weight"), y.to(at::kLong));
  }
  if (trace) trace->temb_sinusoid = temb, trace->emb = emb;

  std::vector<at::Tensor> skips;
  at::Tensor h = x.to(dtype_);
  if (channels_last_) h = h.contiguous(at::MemoryFormat::ChannelsLast);
  for (const Block& b : arch_->input_blocks) {
    h = f.block(b, h, emb);
    skips.push_back(h);
  }
  h = f.block(arch_->middle_block, h, emb);
  if (trace) trace->middle_out = h;
  for (const Block& b : arch_->output_blocks) {
    h = at::cat({h, skips.back()}, 1);  // [current, skip]
    skips.pop_back();
    h = f.block(b, h, emb);
  }
  // The out head in float32, as the official fp16 mode leaves it.
  Forward head = f;
  head.fused_norm = false;
  h = head.conv(head.norm(h.to(at::kFloat), "out.0", true), "out.2");
  return h.to(x.scalar_type());
}

}  // namespace cm::model
