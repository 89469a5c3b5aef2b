// The flags of the official UNet (openai/consistency_models: cm/script_util.py create_model,
// cm/unet.py UNetModel), and the values they imply. Keys and shapes of a checkpoint follow from these alone.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace cm::model {

struct UNetConfig {
  int image_size = 64;
  int in_channels = 3;
  int model_channels = 192;                     // flag num_channels
  int num_res_blocks = 3;
  std::vector<double> channel_mult;             // empty: the official default for image_size
  std::vector<int> attention_resolutions = {32, 16, 8};  // in pixels, as the flag
  int num_heads = 4;
  int num_head_channels = 64;                   // −1: use num_heads
  int num_heads_upsample = -1;                  // −1: num_heads
  int num_classes = 0;                          // 0: unconditional
  bool use_scale_shift_norm = true;
  bool resblock_updown = true;
  bool learn_sigma = false;                     // true: 6 output channels
  double dropout = 0.0;                         // training only; inference ignores it

  // Derived values.
  std::vector<double> resolved_channel_mult() const;  // throws for a size without a default
  std::vector<int> attention_downsample_factors() const;  // image_size / resolution
  int out_channels() const { return learn_sigma ? 6 : 3; }
  int time_embed_dim() const { return 4 * model_channels; }
  int heads_for(int channels, bool upsample_path) const;  // throws when channels do not split

  // Checks everything that would make an impossible network; throws cm::Error(BadArgument).
  void validate() const;
};

// The two official architectures (the flags of scripts/launch.sh in openai/consistency_models).
UNetConfig imagenet64_config();  // cd/ct_imagenet64, edm_imagenet64_ema
UNetConfig lsun256_config();     // cd/ct_bedroom256, cd/ct_cat256, edm_*256_ema

// Official flag spellings, as in a golden manifest or model card: "num_channels", "channel_mult":
// "1,1,2", "attention_resolutions": "16,8", "class_cond" + "num_classes", … Unknown keys are errors.
UNetConfig unet_config_from_json(const nlohmann::json& flags);
nlohmann::json unet_config_to_json(const UNetConfig& config);

// The same network: equal in every flag but dropout, which is a training setting, not the
// network's shape (one model's weights fit the other).
bool same_architecture(UNetConfig a, UNetConfig b);

}  // namespace cm::model
