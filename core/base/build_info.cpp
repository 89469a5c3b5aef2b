#include "core/base/build_info.h"

#include "cmedit/build_config.h"

#include <spdlog/spdlog.h>
#include <spdlog/version.h>

#include <algorithm>
#include <string_view>

namespace cm {

std::vector<Component> base_components() {
  std::vector<Component> parts;
  parts.push_back({"cmedit", CMEDIT_VERSION, std::string(CMEDIT_BUILD_TYPE) + ", " + CMEDIT_COMPILER});
  parts.push_back({"spdlog", fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH), ""});
  parts.push_back({"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100), ""});
  if (std::string_view(CMEDIT_QT_VERSION).size()) parts.push_back({"Qt", CMEDIT_QT_VERSION, "editor"});
  if (std::string_view(CMEDIT_IMGUI_VERSION).size()) parts.push_back({"Dear ImGui", CMEDIT_IMGUI_VERSION, "debug overlay"});
  return parts;
}

std::string format_components(const std::vector<Component>& components) {
  std::size_t name_width = 0, version_width = 0;
  for (const auto& c : components) {
    name_width = std::max(name_width, c.name.size());
    version_width = std::max(version_width, c.version.size());
  }
  std::string out;
  for (const auto& c : components) {
    std::string line = fmt::format("{:<{}}  {:<{}}", c.name, name_width, c.version, version_width);
    if (!c.note.empty()) line += "  (" + c.note + ")";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace cm
