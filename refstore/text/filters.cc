// filters.cc: docker's dangling and label filter values. (until: timestamp.cc;
// reference globs: path_match.cc.)
#include "refstore/filters.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace refstore {

absl::StatusOr<bool> ParseDanglingValue(std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid filter 'dangling=[", std::string(value), "]'"));
}

bool LabelMatches(const std::map<std::string, std::string>& labels, std::string_view spec) {
  const size_t eq = spec.find('=');
  const auto it = labels.find(std::string(spec.substr(0, eq)));
  if (it == labels.end()) return false;
  return eq == std::string_view::npos || it->second == spec.substr(eq + 1);
}

}  // namespace refstore
