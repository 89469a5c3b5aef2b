#include "core/model/unet_config.h"

#include "core/base/error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace cm::model {
namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(ErrorCode::BadArgument, "UNet config: " + why); }

// "1,1,2" or [1,1,2] → {1,1,2}
template <typename T>
std::vector<T> number_list(const nlohmann::json& value, const char* name) {
  std::vector<T> out;
  if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_number()) bad(fmt::format("'{}' must be a list of numbers", name));
      out.push_back(v.get<T>());
    }
    return out;
  }
  if (!value.is_string()) bad(fmt::format("'{}' must be a comma-separated string or a list", name));
  std::stringstream ss(value.get<std::string>());
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      const double v = std::stod(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
      out.push_back(T(v));
    } catch (const std::exception&) {
      bad(fmt::format("'{}' has a bad entry '{}'", name, item));
    }
  }
  return out;
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + fmt::format("{}", x);
  return s;
}

}  // namespace

std::vector<double> UNetConfig::resolved_channel_mult() const {
  if (!channel_mult.empty()) return channel_mult;
  switch (image_size) {  // the defaults of create_model
    case 64: return {1, 2, 3, 4};
    case 128: return {1, 1, 2, 3, 4};
    case 256: return {1, 1, 2, 2, 4, 4};
    case 512: return {0.5, 1, 1, 2, 2, 4, 4};
    default: bad(fmt::format("image size {} has no default channel_mult; give it explicitly", image_size));
  }
}

std::vector<int> UNetConfig::attention_downsample_factors() const {
  std::vector<int> ds;
  for (int r : attention_resolutions) {
    if (r <= 0 || image_size % r != 0) bad(fmt::format("attention resolution {} does not divide image size {}", r, image_size));
    ds.push_back(image_size / r);
  }
  return ds;
}

int UNetConfig::heads_for(int channels, bool upsample_path) const {
  if (num_head_channels != -1) {
    if (num_head_channels <= 0 || channels % num_head_channels != 0)
      bad(fmt::format("{} channels do not split into heads of {} channels", channels, num_head_channels));
    return channels / num_head_channels;
  }
  const int heads = upsample_path && num_heads_upsample != -1 ? num_heads_upsample : num_heads;
  if (heads <= 0 || channels % heads != 0) bad(fmt::format("{} channels do not split into {} heads", channels, heads));
  return heads;
}

void UNetConfig::validate() const {
  if (image_size <= 0) bad("image_size must be positive");
  if (in_channels <= 0) bad("in_channels must be positive");
  if (model_channels <= 0 || model_channels % 2 != 0) bad("num_channels must be a positive even number");
  if (num_res_blocks <= 0) bad("num_res_blocks must be positive");
  if (num_classes < 0) bad("num_classes must not be negative");
  const std::vector<double> mult = resolved_channel_mult();
  const int levels = int(mult.size());
  if (levels == 0) bad("channel_mult is empty");
  if (image_size % (1 << (levels - 1)) != 0)
    bad(fmt::format("image size {} cannot be halved {} times", image_size, levels - 1));
  for (double m : mult) {
    const int channels = int(m * model_channels);
    if (channels <= 0 || channels % 32 != 0)
      bad(fmt::format("level width {} (= {}·{}) must be a positive multiple of 32 (GroupNorm(32))", channels, m,
                      model_channels));
  }
  attention_downsample_factors();
  if (!(dropout >= 0 && dropout < 1)) bad("dropout must lie in [0, 1)");
}

UNetConfig imagenet64_config() {
  UNetConfig c;
  c.image_size = 64;
  c.model_channels = 192;
  c.num_res_blocks = 3;
  c.attention_resolutions = {32, 16, 8};
  c.num_head_channels = 64;
  c.num_classes = 1000;
  c.use_scale_shift_norm = true;
  return c;
}

UNetConfig lsun256_config() {
  UNetConfig c;
  c.image_size = 256;
  c.model_channels = 256;
  c.num_res_blocks = 2;
  c.attention_resolutions = {32, 16, 8};
  c.num_head_channels = 64;
  c.num_classes = 0;
  c.use_scale_shift_norm = false;
  return c;
}

UNetConfig unet_config_from_json(const nlohmann::json& flags) {
  if (!flags.is_object()) bad("expected a JSON object of flags");
  UNetConfig c;
  bool class_cond = false;
  int num_classes = 1000;  // NUM_CLASSES of the official code
  for (const auto& [key, value] : flags.items()) {
    try {
      if (key == "image_size") c.image_size = value.get<int>();
      else if (key == "in_channels") c.in_channels = value.get<int>();
      else if (key == "num_channels" || key == "model_channels") c.model_channels = value.get<int>();
      else if (key == "num_res_blocks") c.num_res_blocks = value.get<int>();
      else if (key == "channel_mult") c.channel_mult = value.is_string() && value.get<std::string>().empty()
                                                          ? std::vector<double>{}
                                                          : number_list<double>(value, "channel_mult");
      else if (key == "attention_resolutions") c.attention_resolutions = number_list<int>(value, "attention_resolutions");
      else if (key == "num_heads") c.num_heads = value.get<int>();
      else if (key == "num_head_channels") c.num_head_channels = value.get<int>();
      else if (key == "num_heads_upsample") c.num_heads_upsample = value.get<int>();
      else if (key == "class_cond") class_cond = value.get<bool>();
      else if (key == "num_classes") num_classes = value.get<int>();
      else if (key == "use_scale_shift_norm") c.use_scale_shift_norm = value.get<bool>();
      else if (key == "resblock_updown") c.resblock_updown = value.get<bool>();
      else if (key == "learn_sigma") c.learn_sigma = value.get<bool>();
      else if (key == "dropout") c.dropout = value.get<double>();
      else if (key == "use_fp16" || key == "use_checkpoint" || key == "use_new_attention_order") continue;  // no effect on the math
      else bad("unknown flag '" + key + "'");
    } catch (const nlohmann::json::exception&) {
      bad("flag '" + key + "' has the wrong type");
    }
  }
  c.num_classes = class_cond ? num_classes : 0;
  c.validate();
  return c;
}

nlohmann::json unet_config_to_json(const UNetConfig& c) {
  std::string attention;
  for (int r : c.attention_resolutions) attention += (attention.empty() ? "" : ",") + std::to_string(r);
  return {{"image_size", c.image_size},
          {"in_channels", c.in_channels},
          {"num_channels", c.model_channels},
          {"num_res_blocks", c.num_res_blocks},
          {"channel_mult", join(c.resolved_channel_mult())},
          {"attention_resolutions", attention},
          {"num_heads", c.num_heads},
          {"num_head_channels", c.num_head_channels},
          {"num_heads_upsample", c.num_heads_upsample},
          {"class_cond", c.num_classes > 0},
          {"num_classes", c.num_classes},
          {"use_scale_shift_norm", c.use_scale_shift_norm},
          {"resblock_updown", c.resblock_updown},
          {"learn_sigma", c.learn_sigma},
          {"dropout", c.dropout}};
}

bool same_architecture(UNetConfig a, UNetConfig b) {
  a.dropout = b.dropout = 0;
  return unet_config_to_json(a) == unet_config_to_json(b);
}

}  // namespace cm::model
