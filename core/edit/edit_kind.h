// The edits cmedit offers, with the names users type (CLI subcommands, settings, logs).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cm::edit {

enum class EditKind { Generate, Inpaint, Colorize, SuperResolve, Sketch, Denoise, Interpolate };

// "generate", "inpaint", "colorize", "superres", "sketch", "denoise", "interpolate".
std::string_view to_string(EditKind kind);

// Inverse of to_string; throws cm::Error(BadArgument) listing the valid names.
EditKind parse_edit_kind(std::string_view name);
// The same without throwing: nullopt for a name that is not an edit.
std::optional<EditKind> find_edit_kind(std::string_view name);

const std::vector<EditKind>& all_edit_kinds();

}  // namespace cm::edit
