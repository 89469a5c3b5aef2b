// cmedit-cli: the scriptable twin of the editor. Every failure is one line on stderr and an
// exit status that says what kind of failure it was (cm::exit_status in core/base/error.h).
#include "core/base/build_info.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/sha256.h"
#include "core/base/signals.h"
#include "core/engine/device.h"
#include "core/model/model_loader.h"
#include "core/model/safetensors.h"
#include "core/model/unet.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "app/cli_edit.h"
#include "core/imageio/image_file.h"
#endif
#include "core/edit/edit_kind.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: cmedit-cli [--version] [--help] [--log-level LEVEL] COMMAND ...\n"
    "\n"
    "  --version          print the versions of cmedit and of every library it uses\n"
    "  --help             print this help\n"
    "  --log-level LEVEL  console log level: trace, debug, info, warn (default), error, off\n"
    "\n"
    "commands:\n"
    "  models info FILE                    architecture, parameter count, dtype and model card of a\n"
    "                                      checkpoint (.pt, .safetensors) or model folder\n"
    "  models convert IN OUT_DIR [--force] write OUT_DIR/model.safetensors + model.json from a\n"
    "                                      checkpoint with a card (official names are recognised)\n";

std::vector<cm::Component> all_components() {
  std::vector<cm::Component> parts = cm::base_components();
  parts.push_back(cm::engine::torch_component());
#ifdef CMEDIT_HAS_IMAGEIO
  for (cm::Component& c : cm::imageio::imageio_components()) parts.push_back(std::move(c));
#endif
  return parts;
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void print_card(const cm::model::ModelCard& card) {
  const cm::model::UNetConfig& a = card.architecture;
  std::string mult;
  for (double m : a.resolved_channel_mult()) mult += (mult.empty() ? "" : ",") + fmt::format("{}", m);
  std::printf("model         %s (%s)\n", card.name.c_str(),
              card.parameterization == cm::model::Parameterization::Consistency ? "consistency model" : "EDM denoiser");
  std::printf("architecture  UNet %dx%d, %d channels, mult %s, %d res blocks, attention at %s px, %s, %s\n",
              a.image_size, a.image_size, a.model_channels, mult.c_str(), a.num_res_blocks,
              join_ints(a.attention_resolutions).c_str(),
              a.num_classes ? fmt::format("{} classes", a.num_classes).c_str() : "unconditional",
              a.use_scale_shift_norm ? "scale-shift norm" : "additive embedding");
  std::printf("noise         sigma %g..%g, sigma_data %g; schedule N = %d%s\n", card.noise.sigma_min,
              card.noise.sigma_max, card.noise.sigma_data, card.schedule_points,
              card.default_ts.empty() ? "" : (", default ts " + join_ints(card.default_ts)).c_str());
  if (!card.license.empty()) std::printf("licence       %s\n", card.license.c_str());
  if (!card.provenance.empty()) std::printf("provenance    %s\n", card.provenance.c_str());
}

int models_info(const std::filesystem::path& path) {
  const cm::model::ModelSource source = cm::model::locate_model(path);
  const cm::model::StateDict weights = cm::model::read_weights(source.weights);
  int64_t params = 0;
  std::set<std::string> dtypes;
  for (const auto& [name, t] : weights) {
    params += t.numel();
    dtypes.insert(std::string(c10::toString(t.scalar_type())));
  }
  std::string dtype_list;
  for (const auto& d : dtypes) dtype_list += (dtype_list.empty() ? "" : ", ") + d;
  std::printf("weights       %s\n", source.weights.string().c_str());
  std::printf("parameters    %s in %zu tensors (%s)\n", with_thousands(params).c_str(), weights.size(), dtype_list.c_str());
  if (!source.card) {
    std::printf("card          none: not an official file name and no model.json beside it\n");
    return 0;
  }
  std::printf("card          %s\n", source.card_origin.c_str());
  print_card(*source.card);
  cm::model::UNet check(source.card->architecture, weights);  // throws, naming the key, if they disagree
  std::printf("check         every key and shape matches the architecture\n");
  return 0;
}

int models_convert(const std::filesystem::path& in, const std::filesystem::path& out_dir, bool force) {
  const cm::model::ModelSource source = cm::model::locate_model(in);
  if (!source.card)
    throw cm::Error(cm::ErrorCode::BadArgument, "no model card for '" + in.string() +
                                                    "': it is not an official checkpoint name and has no model.json beside it");
  const std::filesystem::path card_path = out_dir / "model.json", weights_path = out_dir / "model.safetensors";
  if (!force && (std::filesystem::exists(card_path) || std::filesystem::exists(weights_path)))
    throw cm::Error(cm::ErrorCode::BadArgument, "'" + out_dir.string() + "' already holds a model (use --force to replace it)");
  cm::model::verify_weights(source);  // a damaged input is refused, not converted into a "verified" copy
  const cm::model::StateDict weights = cm::model::read_weights(source.weights);
  cm::model::UNet check(source.card->architecture, weights);  // refuse to write a model that cannot load
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw cm::Error(cm::ErrorCode::Io, "cannot create '" + out_dir.string() + "': " + ec.message());
  cm::model::ModelCard card = *source.card;
  card.weights = weights_path.filename().string();
  cm::model::write_safetensors(weights_path, weights, {{"converted_from", source.weights.filename().string()}});
  card.weights_sha256 = cm::sha256_file(weights_path);
  cm::model::write_model_card(card_path, card);
  std::printf("wrote %s and %s (%zu tensors)\n", weights_path.string().c_str(), card_path.string().c_str(), weights.size());
  return 0;
}

int models_command(const std::vector<std::string>& rest) {
  if (rest.size() == 2 && rest[0] == "info") return models_info(rest[1]);
  if ((rest.size() == 3 || rest.size() == 4) && rest[0] == "convert") {
    const bool force = rest.size() == 4 && rest[3] == "--force";
    if (rest.size() == 4 && !force) throw cm::Error(cm::ErrorCode::BadArgument, "unknown option '" + rest[3] + "'");
    return models_convert(rest[1], rest[2], force);
  }
  throw cm::Error(cm::ErrorCode::BadArgument, "usage: cmedit-cli models info FILE | models convert IN OUT_DIR [--force]");
}

void print_help() {
  std::fputs(kUsage, stdout);
#ifdef CMEDIT_HAS_IMAGEIO
  std::fputs("\n", stdout);
  std::fputs(cli::edit_usage().c_str(), stdout);
#endif
}

bool asks_for_help(const std::vector<std::string>& args) {
  return std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end();
}

int run(const std::vector<std::string>& args) {
  // `cmedit-cli inpaint --help` (or any command's) prints the help instead of an error.
  if (asks_for_help(args)) {
    print_help();
    return 0;
  }
  cm::LogOptions log;
  log.app_name = "cmedit-cli";
  log.console_level = cm::LogLevel::Warn;
  bool want_version = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--version") {
      want_version = true;
    } else if (arg == "--log-level") {
      if (i + 1 == args.size()) throw cm::Error(cm::ErrorCode::BadArgument, "--log-level needs a value");
      log.console_level = cm::parse_log_level(args[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      throw cm::Error(cm::ErrorCode::BadArgument, "unknown option '" + arg + "' (see cmedit-cli --help)");
    } else if (arg == "models") {
      cm::init_logging(log);
      return models_command(std::vector<std::string>(args.begin() + std::ptrdiff_t(i) + 1, args.end()));
    } else if (cm::edit::find_edit_kind(arg)) {
      cm::init_logging(log);
#ifdef CMEDIT_HAS_IMAGEIO
      return cli::run_edit_command(arg, std::vector<std::string>(args.begin() + std::ptrdiff_t(i) + 1, args.end()));
#else
      throw cm::Error(cm::ErrorCode::Unsupported, "this cmedit-cli was built without image files (CMEDIT_IMAGEIO=OFF)");
#endif
    } else {
      throw cm::Error(cm::ErrorCode::BadArgument, "unknown command '" + arg + "' (see cmedit-cli --help)");
    }
  }
  cm::init_logging(log);
  if (want_version) {
    std::fputs(cm::format_components(all_components()).c_str(), stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  cm::set_signal_policy();
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cm::Error& e) {
    std::fprintf(stderr, "cmedit-cli: %s\n", e.what());
    return cm::exit_status(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmedit-cli: unexpected failure: %s\n", e.what());
    return 70;
  }
}
