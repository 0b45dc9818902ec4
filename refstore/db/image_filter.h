// image_filter.h: docker's image filters, parsed once and applied per image
// and per record (a name, or the digest reference of a dangling image).
#ifndef REFSTORE_DB_IMAGE_FILTER_H_
#define REFSTORE_DB_IMAGE_FILTER_H_

#include <climits>
#include <cstdint>
#include <functional>
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
  // before=<ref> / since=<ref> (list only): images created strictly inside.
  int64_t created_below_ns = INT64_MAX;
  int64_t created_above_ns = INT64_MIN;
  // Prune's unused_for: images used after this time stay.
  std::optional<int64_t> unused_before_ns;

  // Label filters on the image's config labels.
  bool LabelsPass(const std::map<std::string, std::string>& image_labels) const;
  // `until` on a record created at `created_ns`.
  bool Selects(int64_t created_ns) const;
  // before= / since= on an image created at `created_ns`.
  bool CreatedInside(int64_t created_ns) const {
    return created_ns < created_below_ns && created_ns > created_above_ns;
  }
  // `reference` globs on a familiar name or its repository, as docker's
  // FamiliarMatch (true when none was given).
  bool NameMatches(std::string_view familiar) const;
};

enum class FilterUse {
  kPrune,  // keys: until, label, label!, dangling
  kList,   // keys: those and reference, before, since
};

// The creation time (Unix nanoseconds) of the image `ref` resolves to, or
// its error ("No such image: ..."). Used for before= and since=.
using CreatedOf = std::function<absl::StatusOr<int64_t>(std::string_view ref)>;

// Parses `filters` in docker's order: every key is checked first
// ("invalid filter '<key>'"), then, for prune, dangling then until
// (ImagePrune: Validate, GetBoolOrDefault, setupFilters); for a list,
// before, since (through `created_of`), until, then dangling (Images:
// Validate, setupFilters). A key given with no value is no filter, except
// dangling: "invalid filter 'dangling'". Dangling values must be
// true|false|1|0 and agree: "invalid filter 'dangling=[<values>]'". until:
// ParseUntil's errors.
absl::StatusOr<ImageFilter> ParseImageFilter(const Filters& filters, absl::Time now, FilterUse use,
                                             const CreatedOf& created_of = {});

}  // namespace refstore::internal

#endif  // REFSTORE_DB_IMAGE_FILTER_H_
