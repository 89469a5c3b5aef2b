// The versions a build is made of, for `cmedit-cli --version`, the about box and the log.
// cm_base knows only its own parts; cm_engine adds LibTorch/CUDA and cm_imageio OpenCV.
#pragma once

#include <string>
#include <vector>

namespace cm {

struct Component {
  std::string name;     // "LibTorch"
  std::string version;  // "1.13.0"
  std::string note;     // "CUDA not built in"; may be empty
};

// cmedit itself, spdlog, fmt, and Qt / Dear ImGui when the editor is part of this build.
std::vector<Component> base_components();

// One aligned line per component: "LibTorch   1.13.0  (CUDA not built in)".
std::string format_components(const std::vector<Component>& components);

}  // namespace cm
