// image_filter.h: docker's image filters, parsed once and applied per image
// and per record (a name, or the digest reference of a dangling image).
#ifndef REFSTORE_SRC_IMAGE_FILTER_H_
#define REFSTORE_SRC_IMAGE_FILTER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/filters.h"

namespace refstore::internal {

struct ImageFilter {
  std::vector<std::string> labels;      // label=k[=v], all must hold
  std::vector<std::string> not_labels;  // label!=k[=v], none may hold
  std::vector<int64_t> until_ns;        // a record is selected when older than all
  std::optional<bool> dangling;         // dangling=..., when given
  std::vector<std::string> references;  // reference=<glob>, ORed
  // Prune's unused_for: images used after this time stay.
  std::optional<int64_t> unused_before_ns;

  // Label filters on the image's config labels.
  bool LabelsPass(const std::map<std::string, std::string>& image_labels) const;
  // `until` on a record created at `created_ns`.
  bool Selects(int64_t created_ns) const;
  // `reference` globs on a familiar name or its repository, as docker's
  // FamiliarMatch (true when none was given).
  bool NameMatches(std::string_view familiar) const;
};

// Parses `filters`. Keys allowed: until, label, label!, dangling, and
// reference when `allow_reference`. Errors: InvalidArgument
// "invalid filter '<key>'", "invalid filter 'dangling=[<v>]'", or ParseUntil's.
absl::StatusOr<ImageFilter> ParseImageFilter(const Filters& filters, absl::Time now,
                                             bool allow_reference);

}  // namespace refstore::internal

#endif  // REFSTORE_SRC_IMAGE_FILTER_H_
