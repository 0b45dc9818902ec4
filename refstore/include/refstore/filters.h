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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/export.h"

namespace refstore {

// Filters in docker's form: key -> values. Repeated values of one key are
// ANDed for prune (label, label!, until), ORed for `reference` on list.
using Filters = std::map<std::string, std::vector<std::string>>;

// The times a store keeps: whole seconds inside the range of int64
// nanoseconds since the Unix epoch, 1677-09-21T00:12:44Z to
// 2262-04-11T23:47:16Z. A time outside (an operation's `now`, a lease expiry,
// an `until` value) is InvalidArgument wherever it is given, never clamped.
extern REFSTORE_EXPORT const absl::Time kEarliestTime;
extern REFSTORE_EXPORT const absl::Time kLatestTime;
REFSTORE_EXPORT bool IsStorableTime(absl::Time t);
// OK when IsStorableTime(t); else InvalidArgument
// "<what> <t> is outside the times a store keeps (<earliest> to <latest>)".
REFSTORE_EXPORT absl::Status CheckStorableTime(absl::Time t, std::string_view what);

// ParseUntil parses a value of the `until` filter relative to `now`, as
// docker's timestamp.GetTimestamp does (SEMANTICS.md §5):
//   - a Go duration ("24h", "90m", "1h30m", "1.5h", "-1h"; not "0") meaning
//     now - duration;
//   - docker's layouts, each with an optional zone ("Z", "+01:00",
//     "-07:00"; none means UTC, where docker takes the daemon's zone):
//     "2006-01-02", "2006-01-02T15", "2006-01-02T15:04",
//     "2006-01-02T15:04:05", the last with an optional fraction (RFC 3339);
//     the layout is chosen from the text as docker chooses it;
//   - Unix seconds with an optional fraction ("1700000000", "1700000000.5",
//     "0"), when the text has no '-'.
// Errors: InvalidArgument "invalid value for 'until' filter: failed to parse
// value as time or duration: \"<v>\"", or, for a time outside the times a
// store keeps, "invalid value for 'until' filter: \"<v>\" is outside ...".
REFSTORE_EXPORT absl::StatusOr<absl::Time> ParseUntil(std::string_view value, absl::Time now);

// ParseRfc3339 parses an RFC 3339 timestamp (fractional seconds optional,
// zone "Z" or ±hh:mm) inside the times a store keeps.
// Errors: InvalidArgument "invalid time '<v>': <reason>".
REFSTORE_EXPORT absl::StatusOr<absl::Time> ParseRfc3339(std::string_view value);

// FormatRfc3339 formats `t` in UTC as RFC 3339 with "Z"; fractional seconds
// appear only when non-zero ("2026-01-01T00:00:00Z",
// "2026-01-01T00:00:00.5Z").
REFSTORE_EXPORT std::string FormatRfc3339(absl::Time t);

// ParseGoDuration is Go's time.ParseDuration: "24h", "90m", "1h30m", "1.5h",
// "300ms", "-2m", "0"; units ns, us, µs (U+00B5 or U+03BC), ms, s, m, h;
// range of int64 nanoseconds. Errors, all InvalidArgument, with Go's texts:
// "time: invalid duration \"<s>\"", "time: missing unit in duration
// \"<s>\"", "time: unknown unit \"<u>\" in duration \"<s>\"".
REFSTORE_EXPORT absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view s);

// ParseDanglingValue: "true"/"1" -> true, "false"/"0" -> false.
// Errors: InvalidArgument "invalid filter 'dangling=[<v>]'".
REFSTORE_EXPORT absl::StatusOr<bool> ParseDanglingValue(std::string_view value);

// LabelMatches: `spec` is "k" or "k=v" (split at the first '='); true when
// `labels` has key k (and, for "k=v", value v).
REFSTORE_EXPORT bool LabelMatches(const std::map<std::string, std::string>& labels,
                                  std::string_view spec);

// PathMatch is Go's path.Match, which docker's reference filter uses: '*'
// matches any run of characters but '/', '?' one character but '/',
// '[...]' a class ('^' negates, ranges "a-z", '\\' escapes), '\\c' c.
// Errors: InvalidArgument "syntax error in pattern" (Go's ErrBadPattern)
// for a malformed pattern.
REFSTORE_EXPORT absl::StatusOr<bool> PathMatch(std::string_view pattern, std::string_view name);

// GlobMatches: PathMatch, with a malformed pattern matching nothing (as in
// docker's image list).
REFSTORE_EXPORT bool GlobMatches(std::string_view pattern, std::string_view text);

}  // namespace refstore

#endif  // REFSTORE_FILTERS_H_
