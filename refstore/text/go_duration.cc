// go_duration.cc: Go's time.ParseDuration, the one duration grammar of the
// library and the tools (`until` durations, --unused-for, lease --expires-in).
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "refstore/filters.h"
#include "refstore/text/go_text.h"
#include "refstore/util/strcat.h"

namespace refstore {
namespace {

using internal::Cat;
using text::GoTimeQuote;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view s) {
  // Go's time.ParseDuration, uint64 arithmetic (and its wrap) included.
  const std::string_view orig = s;
  auto invalid = [&] {
    return absl::InvalidArgumentError(Cat("time: invalid duration ", GoTimeQuote(orig)));
  };
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t d = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return invalid();
  while (!s.empty()) {
    uint64_t v = 0;
    uint64_t f = 0;
    double scale = 1;
    if (!(s[0] == '.' || IsDigit(s[0]))) return invalid();
    // leadingInt.
    size_t pl = s.size();
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > kLimit / 10) return invalid();
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kLimit) return invalid();
    }
    s.remove_prefix(i);
    bool pre = pl != s.size();
    // leadingFraction.
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      pl = s.size();
      bool overflow = false;
      i = 0;
      for (; i < s.size() && IsDigit(s[i]); ++i) {
        if (overflow) continue;
        if (f > (kLimit - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + static_cast<uint64_t>(s[i] - '0');
        if (y > kLimit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s.remove_prefix(i);
      post = pl != s.size();
    }
    if (!pre && !post) return invalid();
    // The unit runs to the next digit or '.'.
    i = 0;
    while (i < s.size() && !(s[i] == '.' || IsDigit(s[i]))) ++i;
    if (i == 0) {
      return absl::InvalidArgumentError(Cat("time: missing unit in duration ", GoTimeQuote(orig)));
    }
    std::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = 0;
    if (u == "ns") {
      unit = 1;
    } else if (u == "us" || u == "\xC2\xB5s" /* U+00B5 */ || u == "\xCE\xBCs" /* U+03BC */) {
      unit = 1000;
    } else if (u == "ms") {
      unit = 1000000;
    } else if (u == "s") {
      unit = 1000000000;
    } else if (u == "m") {
      unit = 60000000000;
    } else if (u == "h") {
      unit = 3600000000000;
    } else {
      return absl::InvalidArgumentError(
          Cat("time: unknown unit ", GoTimeQuote(u), " in duration ", GoTimeQuote(orig)));
    }
    if (v > kLimit / unit) return invalid();
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return invalid();
    }
    d += v;
    if (d > kLimit) return invalid();
  }
  if (neg) return absl::Nanoseconds(static_cast<int64_t>(uint64_t{0} - d));
  if (d > kLimit - 1) return invalid();
  return absl::Nanoseconds(static_cast<int64_t>(d));
}

}  // namespace refstore
