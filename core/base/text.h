// Small text helpers every layer's command lines share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cm {

// The items of a comma-separated list ("1,2,4"), empty ones included, so that a caller can say
// which is bad ("1,,4"); an empty text is an empty list.
std::vector<std::string> split_list(std::string_view text);

}  // namespace cm
