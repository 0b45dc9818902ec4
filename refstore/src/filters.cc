// filters.cc: docker's filter values (until, dangling, label, reference).
#include "refstore/filters.h"

#include <fnmatch.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace refstore {
namespace {

// The time layouts of `until`, tried in order. The first one carries its own
// offset; the others are read as UTC. %E*S also takes an optional fraction.
constexpr const char* kUntilLayouts[] = {
    absl::RFC3339_full,        // 2006-01-02T15:04:05[.999999999]Z07:00
    "%Y-%m-%d%ET%H:%M:%E*S",   // 2006-01-02T15:04:05[.999999999]
    "%Y-%m-%d%ET%H:%M",        // 2006-01-02T15:04
    "%Y-%m-%d",                // 2006-01-02
};

absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

bool HasSpace(std::string_view s) {
  return s.find_first_of(" \t\n\v\f\r") != std::string_view::npos;
}

// ParseTimeStrict is absl::ParseTime in UTC without the leniencies Go's
// time.Parse (which docker uses) does not have: surrounding whitespace and
// the literals "infinite-future" / "infinite-past".
bool ParseTimeStrict(const char* layout, std::string_view value, absl::Time* t,
                     std::string* err) {
  if (HasSpace(value)) {
    *err = "unexpected whitespace";
    return false;
  }
  if (!absl::ParseTime(layout, ToAbsl(value), absl::UTCTimeZone(), t, err)) {
    return false;
  }
  if (*t == absl::InfiniteFuture() || *t == absl::InfinitePast()) {
    *err = "not a finite time";
    return false;
  }
  return true;
}

// Go's time.ParseDuration through absl::ParseDuration, which also accepts
// "inf" and "-inf" (refused here).
bool ParseGoDuration(std::string_view value, absl::Duration* d) {
  return absl::ParseDuration(ToAbsl(value), d) &&
         *d != absl::InfiniteDuration() && *d != -absl::InfiniteDuration();
}

// Unix seconds with an optional fraction: [0-9]+ ("." [0-9]+)?. The fraction
// is read as digits, not as a float, so "0.1" is exactly 100ms; digits past
// the nanosecond are dropped.
bool ParseUnixSeconds(std::string_view value, absl::Time* t) {
  const size_t dot = value.find('.');
  const std::string_view secs = value.substr(0, dot);
  int64_t seconds;
  if (secs.empty() || secs.find_first_not_of("0123456789") != secs.npos ||
      !absl::SimpleAtoi(ToAbsl(secs), &seconds)) {
    return false;
  }
  int64_t nanos = 0;
  if (dot != std::string_view::npos) {
    const std::string_view frac = value.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of("0123456789") != frac.npos) {
      return false;
    }
    for (size_t i = 0; i < 9; ++i) {
      nanos = nanos * 10 + (i < frac.size() ? frac[i] - '0' : 0);
    }
  }
  *t = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

// GoQuote renders `s` as Go's %q does for ASCII text: in double quotes, with
// '"' and '\\' escaped and control characters as escapes. Other bytes are
// kept as they are.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

// The order follows docker's GetTimestamp: a duration first (except "0",
// which docker reads as Unix time 0), then the time layouts, then Unix
// seconds. A negative duration ("-1h") gives a time after `now`, as in docker.
absl::StatusOr<absl::Time> ParseUntil(std::string_view value, absl::Time now) {
  absl::Duration d;
  if (value != "0" && ParseGoDuration(value, &d)) return now - d;
  absl::Time t;
  std::string err;
  for (const char* layout : kUntilLayouts) {
    if (ParseTimeStrict(layout, value, &t, &err)) return t;
  }
  if (ParseUnixSeconds(value, &t)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value for 'until' filter: failed to parse value "
                   "as time or duration: ",
                   GoQuote(value)));
}

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view value) {
  absl::Time t;
  std::string err;
  if (!ParseTimeStrict(absl::RFC3339_full, value, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid time '", std::string(value), "': ", err));
  }
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<bool> ParseDanglingValue(std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid filter 'dangling=[", std::string(value), "]'"));
}

bool LabelMatches(const std::map<std::string, std::string>& labels,
                  std::string_view spec) {
  const size_t eq = spec.find('=');
  const auto it = labels.find(std::string(spec.substr(0, eq)));
  if (it == labels.end()) return false;
  return eq == std::string_view::npos || it->second == spec.substr(eq + 1);
}

bool GlobMatches(std::string_view pattern, std::string_view text) {
  return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(),
                 0) == 0;
}

}  // namespace refstore
