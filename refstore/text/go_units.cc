// go_units.cc: github.com/docker/go-units v0.5.0 (the version docker/cli
// vendors), reproduced byte for byte over go_text's Go primitives.
#include "refstore/text/go_units.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "refstore/text/go_text.h"
#include "refstore/util/strcat.h"

namespace refstore::text {

using internal::Cat;

std::string HumanSize(double bytes, int precision) {
  // go-units getSizeAndUnit with base 1000 and decimapAbbrs.
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  constexpr int kLimit = 8;
  int i = 0;
  while (bytes >= 1000.0 && i < kLimit) {
    bytes /= 1000.0;
    ++i;
  }
  // fmt's '*' precision: a negative one, or one past 1e6, is dropped with
  // a "%!(BADPREC)" note and the value printed in its shortest form.
  if (precision < 0 || precision > 1000000) {
    return Cat("%!(BADPREC)", GoFormatG(bytes, 0, false), kUnits[i]);
  }
  return Cat(GoFormatG(bytes, precision, true), kUnits[i]);
}

std::string HumanDuration(absl::Duration duration) {
  // go-units v0.5.0 duration.go, over Go's int64 nanoseconds.
  const int64_t d = GoNanoseconds(duration);
  constexpr int64_t kSecond = 1000000000;
  constexpr int64_t kMinute = 60 * kSecond;
  constexpr int64_t kHour = 60 * kMinute;
  constexpr int64_t kDay = 24 * kHour;
  constexpr int64_t kWeek = 7 * kDay;
  constexpr int64_t kMonth = 30 * kDay;
  constexpr int64_t kYear = 365 * kDay;
  auto round_duration = [d](int64_t unit) {
    return static_cast<int64_t>(static_cast<double>(d) / static_cast<double>(unit) + 0.5);
  };
  // time.Duration.Seconds() and .Minutes(), then int().
  const int64_t seconds = static_cast<int64_t>(static_cast<double>(d / kSecond) +
                                               static_cast<double>(d % kSecond) / 1e9);
  auto count = [](int64_t n, const char* what) { return std::to_string(n) + what; };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return count(seconds, " seconds");
  const int64_t minutes = static_cast<int64_t>(static_cast<double>(d / kMinute) +
                                               static_cast<double>(d % kMinute) / (60 * 1e9));
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return count(minutes, " minutes");
  const int64_t hours = round_duration(kHour);
  if (hours == 1) return "About an hour";
  if (hours < 48) return count(hours, " hours");
  if (d < 2 * kWeek) return count(round_duration(kDay), " days");
  if (d < 2 * kMonth) return count(round_duration(kWeek), " weeks");
  if (d < 2 * kYear) return count(round_duration(kMonth), " months");
  return count(round_duration(kYear), " years");
}

std::string Ago(absl::Time t, absl::Time now) { return Cat(HumanDuration(now - t), " ago"); }

absl::StatusOr<int64_t> ParseHumanSize(std::string_view s) {
  // go-units v0.5.0 parseSize with decimalMap.
  auto invalid_size = [&] { return absl::InvalidArgumentError(Cat("invalid size: '", s, "'")); };
  size_t sep = s.find_last_of("0123456789. ");
  if (sep == std::string_view::npos) return invalid_size();
  std::string_view num;
  std::string_view sfx = s.substr(sep + 1);
  if (s[sep] != ' ') {
    num = s.substr(0, sep + 1);
  } else {
    num = s.substr(0, sep);  // one space may separate number and unit
  }
  absl::StatusOr<double> parsed = GoParseFloat(num);
  if (!parsed.ok()) return parsed.status();
  double size = *parsed;
  if (size < 0) return invalid_size();
  auto to_int64 = [&](double v) -> absl::StatusOr<int64_t> {
    // Go's int64(v) is math.MinInt64 on amd64 for NaN and for v >= 2^63;
    // refusing the size is more useful than a negative one.
    if (!(v < 9223372036854775808.0)) return invalid_size();
    return static_cast<int64_t>(v);
  };
  if (sfx.empty()) return to_int64(size);
  std::string lower = GoToLower(sfx);
  auto bad_suffix = [&] {
    return absl::InvalidArgumentError(Cat("invalid suffix: '", lower, "'"));
  };
  if (sfx.size() > 3) {
    lower = std::string(sfx);  // Go reports it before lower-casing it
    return bad_suffix();
  }
  if (lower[0] == 'b') {
    if (lower.size() > 1) return bad_suffix();
    return to_int64(size);
  }
  switch (lower[0]) {
    case 'k':
      size *= 1e3;
      break;
    case 'm':
      size *= 1e6;
      break;
    case 'g':
      size *= 1e9;
      break;
    case 't':
      size *= 1e12;
      break;
    case 'p':
      size *= 1e15;
      break;
    default:
      return bad_suffix();
  }
  if (lower.size() == 2 && lower[1] != 'b') return bad_suffix();
  if (lower.size() == 3 && lower.substr(1) != "ib") return bad_suffix();
  return to_int64(size);
}

}  // namespace refstore::text
