#include "core/edit/edit_kind.h"

#include "core/base/error.h"

namespace cm::edit {

const std::vector<EditKind>& all_edit_kinds() {
  static const std::vector<EditKind> kinds = {EditKind::Generate, EditKind::Inpaint, EditKind::Colorize,
                                              EditKind::SuperResolve, EditKind::Sketch, EditKind::Denoise,
                                              EditKind::Interpolate};
  return kinds;
}

std::string_view to_string(EditKind kind) {
  switch (kind) {
    case EditKind::Generate: return "generate";
    case EditKind::Inpaint: return "inpaint";
    case EditKind::Colorize: return "colorize";
    case EditKind::SuperResolve: return "superres";
    case EditKind::Sketch: return "sketch";
    case EditKind::Denoise: return "denoise";
    case EditKind::Interpolate: return "interpolate";
  }
  return "unknown";
}

std::optional<EditKind> find_edit_kind(std::string_view name) {
  for (EditKind kind : all_edit_kinds())
    if (to_string(kind) == name) return kind;
  return std::nullopt;
}

EditKind parse_edit_kind(std::string_view name) {
  if (const std::optional<EditKind> kind = find_edit_kind(name)) return *kind;
  std::string valid;
  for (EditKind kind : all_edit_kinds()) valid += (valid.empty() ? "" : ", ") + std::string(to_string(kind));
  throw Error(ErrorCode::BadArgument, "unknown edit '" + std::string(name) + "' (expected one of: " + valid + ")");
}

}  // namespace cm::edit
