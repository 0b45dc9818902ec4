// filters.h: parsing of docker's filter values and of times given as text.
//
// Example:
//   absl::StatusOr<absl::Time> t = refstore::ParseUntil("24h", now);
//   // t == now - 24h
//
// Thread-safety: free functions; safe from any thread.
#ifndef REFSTORE_FILTERS_H_
#define REFSTORE_FILTERS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace refstore {

// Filters in docker's form: key -> values. Repeated values of one key are
// ANDed for prune (label, label!, until), ORed for `reference` on list.
using Filters = std::map<std::string, std::vector<std::string>>;

// ParseUntil parses a value of the `until` filter relative to `now`:
//   - an RFC 3339 timestamp ("2026-01-02T00:00:00Z", with or without
//     fractional seconds, any offset), or docker's shorter layouts
//     "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02" (UTC);
//   - Unix seconds with an optional fraction ("1700000000", "1700000000.5");
//   - a Go duration ("24h", "90m", "1h30m", "1.5h") meaning now - duration.
// Errors: InvalidArgument "invalid value for 'until' filter: failed to parse
// value as time or duration: \"<v>\"".
absl::StatusOr<absl::Time> ParseUntil(std::string_view value, absl::Time now);

// ParseRfc3339 parses an RFC 3339 timestamp (fractional seconds optional).
// Errors: InvalidArgument "invalid time '<v>': <reason>".
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view value);

// FormatRfc3339 formats `t` in UTC as RFC 3339 with "Z"; fractional seconds
// appear only when non-zero ("2026-01-01T00:00:00Z",
// "2026-01-01T00:00:00.5Z").
std::string FormatRfc3339(absl::Time t);

// ParseDanglingValue: "true"/"1" -> true, "false"/"0" -> false.
// Errors: InvalidArgument "invalid filter 'dangling=[<v>]'".
absl::StatusOr<bool> ParseDanglingValue(std::string_view value);

// LabelMatches: `spec` is "k" or "k=v" (split at the first '='); true when
// `labels` has key k (and, for "k=v", value v).
bool LabelMatches(const std::map<std::string, std::string>& labels,
                  std::string_view spec);

// GlobMatches: shell-style match (fnmatch without flags: '*', '?', '[...]')
// of `text` against `pattern`.
bool GlobMatches(std::string_view pattern, std::string_view text);

}  // namespace refstore

#endif  // REFSTORE_FILTERS_H_
