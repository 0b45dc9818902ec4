#include "refstore/db/image_filter.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

bool KeyAllowed(std::string_view key, FilterUse use) {
  if (key == "until" || key == "label" || key == "label!" || key == "dangling") return true;
  return use == FilterUse::kList && (key == "reference" || key == "before" || key == "since");
}

const std::vector<std::string>* Values(const Filters& filters, const char* key) {
  auto it = filters.find(key);
  return it == filters.end() ? nullptr : &it->second;
}

// docker's GetBoolOrDefault, with every value required to be a boolean.
absl::Status ParseDangling(const std::vector<std::string>& values, ImageFilter* f) {
  if (values.empty()) return absl::InvalidArgumentError("invalid filter 'dangling'");
  for (const auto& v : values) {
    absl::StatusOr<bool> d = ParseDanglingValue(v);
    if (!d.ok() || (f->dangling && *f->dangling != *d)) {
      return absl::InvalidArgumentError(
          Cat("invalid filter 'dangling=[", absl::StrJoin(values, " "), "]'"));
    }
    f->dangling = *d;
  }
  return absl::OkStatus();
}

absl::Status ParseUntils(const std::vector<std::string>& values, absl::Time now, ImageFilter* f) {
  for (const auto& v : values) {
    ASSIGN_OR_RETURN(absl::Time t, ParseUntil(v, now));
    f->until_ns.push_back(absl::ToUnixNanos(t));
  }
  return absl::OkStatus();
}

}  // namespace

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
  // else the familiar repository ("myapp"), each as Go's path.Match.
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

absl::StatusOr<ImageFilter> ParseImageFilter(const Filters& filters, absl::Time now, FilterUse use,
                                             const CreatedOf& created_of) {
  for (const auto& [key, values] : filters) {
    if (!KeyAllowed(key, use)) return absl::InvalidArgumentError(Cat("invalid filter '", key, "'"));
  }
  ImageFilter f;
  if (const auto* v = Values(filters, "label")) f.labels = *v;
  if (const auto* v = Values(filters, "label!")) f.not_labels = *v;
  if (const auto* v = Values(filters, "reference")) f.references = *v;
  const auto* dangling = Values(filters, "dangling");
  const auto* until = Values(filters, "until");
  if (use == FilterUse::kPrune) {
    if (dangling) RETURN_IF_ERROR(ParseDangling(*dangling, &f));
    if (until) RETURN_IF_ERROR(ParseUntils(*until, now, &f));
    return f;
  }
  for (const char* key : {"before", "since"}) {
    const auto* refs = Values(filters, key);
    if (!refs || refs->empty()) continue;
    if (!created_of) return absl::InternalError(Cat("no resolver for filter '", key, "'"));
    for (const auto& ref : *refs) {
      ASSIGN_OR_RETURN(int64_t created, created_of(ref));
      if (key[0] == 'b') {
        f.created_below_ns = std::min(f.created_below_ns, created);
      } else {
        f.created_above_ns = std::max(f.created_above_ns, created);
      }
    }
  }
  if (until) RETURN_IF_ERROR(ParseUntils(*until, now, &f));
  if (dangling) RETURN_IF_ERROR(ParseDangling(*dangling, &f));
  return f;
}

}  // namespace refstore::internal
