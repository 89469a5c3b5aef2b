// The benchmarks' "--key value" options, read into a map by each main().
#pragma once

#include <map>
#include <string>

namespace cm::bench {

// The value of `key`, or `fallback` when it was not given.
inline std::string option(const std::map<std::string, std::string>& a, const std::string& key, const std::string& fallback) {
  const auto it = a.find(key);
  return it == a.end() ? fallback : it->second;
}

}  // namespace cm::bench
