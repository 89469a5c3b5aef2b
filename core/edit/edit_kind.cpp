#include "core/edit/edit_kind.h"

#include "core/base/error.h"

#include <array>
#include <utility>

namespace cm::edit {

namespace {

// The one list of edits and their names; the engine's registry (core/engine/edit_registry.cpp)
// describes each of them, and its test checks that none is missing there.
constexpr std::array<std::pair<EditKind, std::string_view>, 7> kNames = {{
    {EditKind::Generate, "generate"},
    {EditKind::Inpaint, "inpaint"},
    {EditKind::Colorize, "colorize"},
    {EditKind::SuperResolve, "superres"},
    {EditKind::Sketch, "sketch"},
    {EditKind::Denoise, "denoise"},
    {EditKind::Interpolate, "interpolate"},
}};

}  // namespace

const std::vector<EditKind>& all_edit_kinds() {
  static const std::vector<EditKind> kinds = [] {
    std::vector<EditKind> all;
    for (const auto& [kind, name] : kNames) all.push_back(kind);
    return all;
  }();
  return kinds;
}

std::string_view to_string(EditKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "unknown";
}

std::optional<EditKind> find_edit_kind(std::string_view name) {
  for (const auto& [kind, n] : kNames)
    if (n == name) return kind;
  return std::nullopt;
}

EditKind parse_edit_kind(std::string_view name) {
  if (const std::optional<EditKind> kind = find_edit_kind(name)) return *kind;
  std::string valid;
  for (const auto& [kind, n] : kNames) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw Error(ErrorCode::BadArgument, "unknown edit '" + std::string(name) + "' (expected one of: " + valid + ")");
}

}  // namespace cm::edit
