// timestamp.cc: times given as text. ParseUntil follows docker's
// timestamp.GetTimestamp (moby daemon/internal/timestamp) step by step, with
// Go's time.Parse semantics for each layout it picks; times with no zone are
// UTC (SEMANTICS.md §5, refstore). Every time is checked against the range a
// store keeps (int64 nanoseconds since the Unix epoch, whole seconds inside).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "refstore/filters.h"
#include "refstore/text/go_text.h"
#include "refstore/util/strcat.h"

namespace refstore {
namespace {

using internal::Cat;
using text::GoQuote;

bool IsDigit(std::string_view s, size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

// One element of a Go layout, as time.Parse reads it.
enum class Elem {
  kYear,    // "2006": exactly four digits
  kMonth,   // "01": two digits, 1..12
  kDay,     // "02": two digits, checked against the month at the end
  kHour,    // "15": one or two digits, 0..23
  kMinute,  // "04": two digits, 0..59
  kSecond,  // "05": two digits, 0..59; a fraction may follow even if the layout has none
  kFrac,    // ".999999999": an optional fraction, any number of digits
  kZone,    // "Z07:00": "Z" or ±hh:mm
  kDash,
  kColon,
  kT,
};

using Layout = std::vector<Elem>;
using E = Elem;

// The layouts GetTimestamp picks from.
const Layout kDate = {E::kYear, E::kDash, E::kMonth, E::kDash, E::kDay};
Layout With(Layout l, std::initializer_list<Elem> more) {
  l.insert(l.end(), more);
  return l;
}

struct Fields {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  int64_t offset_s = 0;  // east of UTC
};

// Go's getnum: one or two leading digits; `fixed` requires two.
bool GetNum(std::string_view& v, bool fixed, int* out) {
  if (!IsDigit(v, 0)) return false;
  if (!IsDigit(v, 1)) {
    if (fixed) return false;
    *out = v[0] - '0';
    v.remove_prefix(1);
    return true;
  }
  *out = (v[0] - '0') * 10 + (v[1] - '0');
  v.remove_prefix(2);
  return true;
}

// Go's parseNanoseconds of v[0:n] (v[0] is the separator): digits past the
// ninth are dropped.
int64_t Nanos(std::string_view v, size_t n) {
  int64_t ns = 0;
  for (size_t i = 1; i < 10; ++i) ns = ns * 10 + (i < n ? v[i] - '0' : 0);
  return ns;
}

bool IsSeparator(char c) { return c == '.' || c == ','; }

// A fraction of a second (a '.' or ',' then digits) at the start of v, as
// Go takes one after the seconds: consumed into *nanos when there.
void TakeFraction(std::string_view& v, int64_t* nanos) {
  if (v.size() < 2 || !IsSeparator(v[0]) || !IsDigit(v, 1)) return;
  size_t n = 2;
  while (IsDigit(v, n)) ++n;
  *nanos = Nanos(v, n);
  v.remove_prefix(n);
}

// time.Parse(layout, value) in UTC; false where Go returns an error.
bool ParseLayout(const Layout& layout, std::string_view v, Fields* f) {
  for (size_t i = 0; i < layout.size(); ++i) {
    switch (layout[i]) {
      case E::kYear:
        if (v.size() < 4 || !IsDigit(v, 0) || !IsDigit(v, 1) || !IsDigit(v, 2) || !IsDigit(v, 3)) {
          return false;
        }
        f->year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
        v.remove_prefix(4);
        break;
      case E::kMonth:
        if (!GetNum(v, true, &f->month) || f->month < 1 || f->month > 12) return false;
        break;
      case E::kDay:
        if (!GetNum(v, true, &f->day)) return false;
        break;
      case E::kHour:
        if (!GetNum(v, false, &f->hour) || f->hour > 23) return false;
        break;
      case E::kMinute:
        if (!GetNum(v, true, &f->minute) || f->minute > 59) return false;
        break;
      case E::kSecond: {
        if (!GetNum(v, true, &f->second) || f->second > 59) return false;
        const bool frac_next = i + 1 < layout.size() && layout[i + 1] == E::kFrac;
        if (!frac_next) TakeFraction(v, &f->nanos);
        break;
      }
      case E::kFrac:
        TakeFraction(v, &f->nanos);  // may be omitted
        break;
      case E::kZone: {
        if (!v.empty() && v[0] == 'Z') {
          v.remove_prefix(1);
          f->offset_s = 0;
          break;
        }
        if (v.size() < 6 || v[3] != ':') return false;
        const char sign = v[0];
        std::string_view hh = v.substr(1, 2), mm = v.substr(4, 2);
        int hr, mi;
        if (!GetNum(hh, true, &hr) || !GetNum(mm, true, &mi)) return false;
        if (hr > 24 || mi > 60) return false;  // Go allows 24 hours and 60 minutes
        if (sign != '+' && sign != '-') return false;
        f->offset_s = (sign == '-' ? -1 : 1) * (hr * 3600 + mi * 60);
        v.remove_prefix(6);
        break;
      }
      case E::kDash:
      case E::kColon:
      case E::kT: {
        const char want = layout[i] == E::kDash ? '-' : layout[i] == E::kColon ? ':' : 'T';
        if (v.empty() || v[0] != want) return false;
        v.remove_prefix(1);
        break;
      }
    }
  }
  if (!v.empty()) return false;  // extra text
  const absl::CivilMonth month(f->year, f->month);
  const int days_in_month = static_cast<int>(absl::CivilDay(month + 1) - absl::CivilDay(month));
  return f->day >= 1 && f->day <= days_in_month;
}

absl::Time ToTime(const Fields& f) {
  return absl::FromCivil(absl::CivilSecond(f.year, f.month, f.day, f.hour, f.minute, f.second),
                         absl::UTCTimeZone()) +
         absl::Nanoseconds(f.nanos) - absl::Seconds(f.offset_s);
}

// strconv.ParseInt(s, 10, 64).
bool ParseInt64(std::string_view s, int64_t* out) {
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(absl::string_view(s.data(), s.size()), out);
}

// docker's parseTimestamp: seconds[.fraction]; the fraction is digits only
// (at most 20, none at all is zero), read as nanoseconds with digits past
// the ninth dropped.
bool ParseUnixTimestamp(std::string_view value, absl::Time* t) {
  const size_t dot = value.find('.');
  int64_t seconds;
  if (!ParseInt64(value.substr(0, dot), &seconds)) return false;
  int64_t nanos = 0;
  if (dot != std::string_view::npos) {
    const std::string_view frac = value.substr(dot + 1);
    if (frac.size() > 20) return false;
    for (char c : frac) {
      if (c < '0' || c > '9') return false;
    }
    for (size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  }
  *t = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

size_t Count(std::string_view s, char c) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), c));
}
bool Contains(std::string_view s, std::string_view any) { return s.find_first_of(any) != s.npos; }

// GetTimestamp's choice of layout and its fallback to Unix seconds.
bool ParseDockerTimestamp(std::string_view value, absl::Time* t) {
  const bool in_location = !Contains(value, "zZ+") && Count(value, '-') != 3;
  Layout layout;
  if (Contains(value, ".")) {
    layout = With(kDate, {E::kT, E::kHour, E::kColon, E::kMinute, E::kColon, E::kSecond, E::kFrac});
    if (!in_location) layout.push_back(E::kZone);
  } else if (Contains(value, "T")) {
    size_t colons = Count(value, ':');
    if (!in_location && !Contains(value, "zZ") && colons > 0) --colons;  // the zone's colon
    layout = With(kDate, {E::kT, E::kHour});
    if (colons >= 1) layout = With(layout, {E::kColon, E::kMinute});
    if (colons >= 2) layout = With(layout, {E::kColon, E::kSecond});
    if (!in_location) layout.push_back(E::kZone);
  } else {
    layout = kDate;
    if (!in_location) layout.push_back(E::kZone);
  }
  Fields f;
  if (ParseLayout(layout, value, &f)) {
    *t = ToTime(f);
    return true;
  }
  // "if there is a `-` then it's an RFC3339 like timestamp" that failed.
  if (Contains(value, "-")) return false;
  return ParseUnixTimestamp(value, t);
}

absl::Status OutOfRange(std::string_view what, std::string_view value) {
  return absl::InvalidArgumentError(
      Cat(what, GoQuote(value), " is outside the times a store keeps (",
          FormatRfc3339(kEarliestTime), " to ", FormatRfc3339(kLatestTime), ")"));
}

}  // namespace

const absl::Time kEarliestTime = absl::FromUnixSeconds(-9223372036);
const absl::Time kLatestTime = absl::FromUnixSeconds(9223372036);

bool IsStorableTime(absl::Time t) { return t >= kEarliestTime && t <= kLatestTime; }

absl::Status CheckStorableTime(absl::Time t, std::string_view what) {
  if (IsStorableTime(t)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat(what, " ", FormatRfc3339(t), " is outside the times a store keeps (",
          FormatRfc3339(kEarliestTime), " to ", FormatRfc3339(kLatestTime), ")"));
}

absl::StatusOr<absl::Time> ParseUntil(std::string_view value, absl::Time now) {
  constexpr std::string_view kWhat = "invalid value for 'until' filter: ";
  absl::Time t;
  if (value != "0" && ParseGoDuration(value).ok()) {
    t = now - *ParseGoDuration(value);
  } else if (!ParseDockerTimestamp(value, &t)) {
    return absl::InvalidArgumentError(
        Cat(kWhat, "failed to parse value as time or duration: ", GoQuote(value)));
  }
  if (!IsStorableTime(t)) return OutOfRange(kWhat, value);
  return t;
}

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view value) {
  // RFC 3339 exactly: "2006-01-02T15:04:05[.frac](Z|±hh:mm)".
  const Layout layout = With(
      kDate, {E::kT, E::kHour, E::kColon, E::kMinute, E::kColon, E::kSecond, E::kFrac, E::kZone});
  Fields f;
  // Go's hour takes one digit too; RFC 3339 wants two.
  const bool two_digit_hour = value.size() > 12 && IsDigit(value, 11) && IsDigit(value, 12);
  if (!two_digit_hour || !ParseLayout(layout, value, &f)) {
    return absl::InvalidArgumentError(
        Cat("invalid time '", value, "': want RFC 3339, as 2006-01-02T15:04:05Z"));
  }
  const absl::Time t = ToTime(f);
  if (!IsStorableTime(t)) {
    return absl::InvalidArgumentError(
        Cat("invalid time '", value, "': outside the times a store keeps (",
            FormatRfc3339(kEarliestTime), " to ", FormatRfc3339(kLatestTime), ")"));
  }
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

}  // namespace refstore
