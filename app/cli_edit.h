// The editing commands of cmedit-cli (generate, inpaint, colorize, superres, sketch, denoise,
// interpolate): files in, engine job, files out, one report.
#pragma once

#include <string>
#include <vector>

namespace cli {

// The editing commands' usage text, built from the edit registry (core/engine/edit_registry.h).
std::string edit_usage();

// Runs `command` with its arguments; returns the exit status. Throws cm::Error for anything the
// user can fix (main maps it to a message and an exit status).
int run_edit_command(const std::string& command, const std::vector<std::string>& args);

}  // namespace cli
