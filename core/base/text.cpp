#include "core/base/text.h"

namespace cm {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  std::size_t start = 0;
  for (std::size_t comma; (comma = text.find(',', start)) != std::string_view::npos; start = comma + 1)
    items.emplace_back(text.substr(start, comma - start));
  items.emplace_back(text.substr(start));
  return items;
}

}  // namespace cm
