// Folder-scale editing for cmedit-cli: `cmedit-cli EDIT DIR -o OUTDIR` edits every image of a
// folder with the same settings, each exactly as `cmedit-cli EDIT FILE` would (same seed, same
// engine path), spread over several engines: one per --device, or --jobs N on the CPU.
#pragma once

#include "core/engine/engine.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cli {

struct BatchItem {
  std::filesystem::path input, output;
  std::optional<std::filesystem::path> mask, hints;  // matched by name in --masks / --hints folders
  std::string problem;  // why it cannot run (no mask of its name), reported as its failure
};

// The images of `input_dir` (by extension, sorted by name), each with its output
// `output_dir/NAME` and, where folders are given, the mask and hints of the same stem.
// Throws cm::Error(BadArgument) when the output folder is the input folder (it would overwrite
// the originals) or the folder holds no image.
std::vector<BatchItem> list_batch(const std::filesystem::path& input_dir, const std::filesystem::path& output_dir,
                                  const std::optional<std::filesystem::path>& masks_dir,
                                  const std::optional<std::filesystem::path>& hints_dir);

struct BatchOptions {
  std::vector<std::string> devices = {"auto"};  // one engine per entry ("cpu" repeated for --jobs)
  std::string precision = "auto";
  int threads = 0;  // CPU threads per engine; 0: the cores the engine would take, shared among them
  std::filesystem::path model;
  bool progress = true;   // a bar on a terminal, one line per image elsewhere
  bool overwrite = false; // redo images whose output exists
  bool json = false;      // a report on stdout
};

// Edits one item on an engine that has the model loaded: reads, submits, writes. Throws cm::Error.
using EditOne = std::function<void(cm::engine::Engine&, const cm::engine::ModelInfo&, const BatchItem&)>;

// Runs every item; an item that fails is reported and skipped, never stopping the rest. Items
// whose output exists are done already (saves are atomic: an output that exists is complete).
// Ends with a summary; returns 0 when nothing failed, else 1.
int run_batch(const std::string& command, const std::vector<BatchItem>& items, const BatchOptions& options,
              const EditOne& edit_one);

}  // namespace cli
