#include "image_filter.h"

#include "strcat.h"
#include "absl/strings/str_join.h"
#include "status_macros.h"

namespace refstore::internal {

bool ImageFilter::LabelsPass(const std::map<std::string, std::string>& image_labels) const {
  for (const auto& l : labels) {
    if (!LabelMatches(image_labels, l)) return false;
  }
  for (const auto& l : not_labels) {
    if (LabelMatches(image_labels, l)) return false;
  }
  return true;
}

bool ImageFilter::Selects(int64_t created_ns) const {
  for (int64_t t : until_ns) {
    if (created_ns >= t) return false;
  }
  return true;
}

bool ImageFilter::NameMatches(std::string_view familiar) const {
  if (references.empty()) return true;
  // As docker's reference.FamiliarMatch: the familiar string ("myapp:1.0"),
  // else the familiar repository ("myapp").
  std::string_view repo = familiar.substr(0, familiar.find('@'));
  const size_t slash = repo.rfind('/');
  const size_t colon = repo.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  for (const auto& pattern : references) {
    if (GlobMatches(pattern, familiar) || GlobMatches(pattern, repo)) return true;
  }
  return false;
}

absl::StatusOr<ImageFilter> ParseImageFilter(const Filters& filters, absl::Time now,
                                             bool allow_reference) {
  ImageFilter f;
  for (const auto& [key, values] : filters) {
    if (key == "label") {
      f.labels = values;
    } else if (key == "label!") {
      f.not_labels = values;
    } else if (key == "until") {
      for (const auto& v : values) {
        ASSIGN_OR_RETURN(absl::Time t, ParseUntil(v, now));
        f.until_ns.push_back(absl::ToUnixNanos(t));
      }
    } else if (key == "dangling") {
      for (const auto& v : values) {
        ASSIGN_OR_RETURN(bool d, ParseDanglingValue(v));
        if (f.dangling && *f.dangling != d) {
          return absl::InvalidArgumentError(
              Cat("invalid filter 'dangling=[", absl::StrJoin(values, " "), "]'"));
        }
        f.dangling = d;
      }
    } else if (key == "reference" && allow_reference) {
      f.references = values;
    } else {
      return absl::InvalidArgumentError(Cat("invalid filter '", key, "'"));
    }
  }
  return f;
}

}  // namespace refstore::internal
