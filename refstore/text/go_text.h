// go_text.h: Go's text primitives that docker's messages and formats are
// made of, reproduced byte for byte for the library and the tools: fmt's
// "%g", strconv's Quote and ParseFloat, the time package's own quoting,
// strings.ToLower, utf8's decoding and counting, and time.Duration's int64.
// (Go durations are filters.h's ParseGoDuration; go-units' sizes and
// durations are go_units.h; docker/cli's tables are tabwriter.h.)
//
// Thread-safety: pure functions.
#ifndef REFSTORE_TEXT_GO_TEXT_H_
#define REFSTORE_TEXT_GO_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace refstore::text {

// strconv.Quote (fmt's %q of a string): '"' and '\\' escaped; \a \b \f \n
// \r \t \v; other ASCII controls and DEL as \xNN; each invalid UTF-8 byte as
// \xNN; valid non-ASCII runes as they are, except the non-printable ones
// this port knows (C1 controls, the non-ASCII spaces and format characters,
// private use, U+FFFE/U+FFFF) as \uNNNN or \UNNNNNNNN.
std::string GoQuote(std::string_view s);

// The time package's own quote (time.quote, in its parse errors): '"' and
// '\\' escaped, every byte below ' ' or above 0x7F as \xNN, nothing else.
std::string GoTimeQuote(std::string_view s);

// fmt.Sprintf("%.*g", prec, x) when `precision_present`, else fmt's "%g"
// (the shortest form that reads back as x); NaN, +Inf, -Inf as Go prints
// them.
std::string GoFormatG(double x, int prec, bool precision_present);

// strconv.ParseFloat(s, 64): decimal and hex floats, '_' separators, "inf",
// "infinity", "nan"; errors, InvalidArgument, with Go's text:
// `strconv.ParseFloat: parsing "<s>": invalid syntax` (or ": value out of
// range").
absl::StatusOr<double> GoParseFloat(std::string_view s);

// utf8.DecodeRuneInString: {rune, width}; invalid UTF-8 (overlong,
// surrogate, out of range, truncated) is {-1, 1}. REQUIRES: !s.empty().
std::pair<int32_t, int> DecodeRune(std::string_view s);

// utf8.RuneCountInString: each invalid byte counts as one rune.
int RuneCount(std::string_view s);

// strings.ToLower: ASCII in place; otherwise per rune (unicode.ToLower),
// each invalid byte becoming U+FFFD.
std::string GoToLower(std::string_view s);

// An absl::Duration as Go's int64 nanoseconds, saturating as time.Sub does;
// sub-nanosecond parts truncated toward zero.
int64_t GoNanoseconds(absl::Duration d);

}  // namespace refstore::text

#endif  // REFSTORE_TEXT_GO_TEXT_H_
