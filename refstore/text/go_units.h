// go_units.h: docker's sizes and durations as github.com/docker/go-units
// v0.5.0 (the version docker/cli vendors) gives them: HumanSize,
// HumanSizeWithPrecision, HumanDuration and FromHumanSize, with Go's fmt,
// strconv and time semantics exactly (go_text.h). Used by the tools' output
// and the demo.
//
// Thread-safety: pure functions.
#ifndef REFSTORE_TEXT_GO_UNITS_H_
#define REFSTORE_TEXT_GO_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace refstore::text {

// go-units HumanSizeWithPrecision: divide by 1000 while >= 1000 (up to YB),
// then Go's fmt.Sprintf("%.*g%s", precision, size, unit): decimal units
// B kB MB GB TB PB EB ZB YB, no space, `precision` significant digits with
// trailing zeros dropped ("0B", "999B", "1kB", "999.5kB", "1.235MB").
// The unit is chosen before rounding, so a value that rounds up to 1000
// stays in the smaller unit: HumanSize(999999) is "1000kB", and with
// precision 3 Go switches to exponent form, as `docker image ls` really
// prints it: HumanSize(999999, 3) is "1e+03kB", HumanSize(999.6e6, 3) is
// "1e+03MB" (docker/cli#3091, go-units#44). NaN, +Inf: "NaNB", "+InfYB".
// A precision < 0 or > 1e6 gives fmt's "%!(BADPREC)" then the shortest form.
// docker image ls SIZE is HumanSize(size, 3).
std::string HumanSize(double bytes, int precision = 4);

// go-units HumanDuration over Go's int64 nanoseconds (saturated):
// whole seconds < 1 "Less than a second", == 1 "1 second", < 60
// "N seconds"; whole minutes == 1 "About a minute", < 60 "N minutes";
// hours rounded half up == 1 "About an hour", < 48 "N hours"; below
// 2 weeks "N days", below 60 days "N weeks", below 730 days "N months",
// else "N years", each count rounded half up (30-day months, 365-day
// years): 13d12h is "14 days", 2 weeks "2 weeks", 60 days "2 months".
std::string HumanDuration(absl::Duration d);

// docker's CREATED cell: HumanDuration(now - t) + " ago" (a future t gives
// "Less than a second ago").
std::string Ago(absl::Time t, absl::Time now);

// go-units v0.5.0 FromHumanSize: "10GB", "1.5 MB", "512", "2k", "32kib":
// a number as Go's strconv.ParseFloat reads it ("1e3", "1_000" and "0x1p4"
// too), one optional space, then an optional case-insensitive suffix: "b",
// or k/m/g/t/p (powers of 1000) alone or followed by "b" or "ib"; the result
// is truncated toward zero. Errors, all InvalidArgument, with Go's texts:
//   "invalid size: '<s>'" (no digit, '.' or space in s; a negative number),
//   "invalid suffix: '<suffix>'",
//   "strconv.ParseFloat: parsing \"<number>\": invalid syntax" (or
//   ": value out of range").
// Like Go, the suffix (up to 3 bytes) is lower-cased by strings.ToLower
// (Unicode lower case, U+FFFD for each invalid byte) before its length is
// checked, so odd suffixes that grow pass: Go, and this, read "30T-\xff" as
// 30 TB. One deviation: sizes of 2^63 bytes or more (and NaN, Inf) are
// "invalid size: '<s>'", where Go on amd64 returns math.MinInt64.
absl::StatusOr<int64_t> ParseHumanSize(std::string_view s);

}  // namespace refstore::text

#endif  // REFSTORE_TEXT_GO_UNITS_H_
