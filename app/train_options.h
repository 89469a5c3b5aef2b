// Command-line options of cmedit-train's commands: --name value pairs and bare flags after the
// positional arguments, each read at most once by name, and anything left unread refused.
#pragma once

#include "core/base/error.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

// --name value pairs and bare flags, after the positional arguments.
class Options {
 public:
  Options(const std::vector<std::string>& args, std::size_t first, const std::set<std::string>& flags) {
    for (std::size_t i = first; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) != 0) throw cm::Error(cm::ErrorCode::BadArgument, "unexpected argument '" + a + "' (see cmedit-train --help)");
      if (flags.count(a)) {
        values_[a] = "1";
      } else {
        if (i + 1 == args.size()) throw cm::Error(cm::ErrorCode::BadArgument, a + " needs a value");
        values_[a] = args[++i];
      }
    }
  }
  bool has(const std::string& k) const { return values_.count(k) > 0; }
  std::string str(const std::string& k, const std::string& fallback = "") {
    used_.insert(k);
    return has(k) ? values_.at(k) : fallback;
  }
  double num(const std::string& k, double fallback) {
    const std::string v = str(k);
    if (v.empty()) return fallback;
    try {
      std::size_t end = 0;
      const double d = std::stod(v, &end);
      if (end != v.size()) throw std::invalid_argument(v);
      return d;
    } catch (const std::exception&) {
      throw cm::Error(cm::ErrorCode::BadArgument, k + " needs a number, got '" + v + "'");
    }
  }
  int64_t integer(const std::string& k, int64_t fallback) {
    const double d = num(k, double(fallback));
    if (d != std::floor(d)) throw cm::Error(cm::ErrorCode::BadArgument, k + " needs a whole number");
    return int64_t(d);
  }
  bool flag(const std::string& k) {
    used_.insert(k);
    return has(k);
  }
  void check_all_used() const {
    for (const auto& [k, v] : values_)
      if (!used_.count(k)) throw cm::Error(cm::ErrorCode::BadArgument, "unknown option '" + k + "' for this command (see cmedit-train --help)");
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

}  // namespace cli
