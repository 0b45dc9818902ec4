// go_duration_test.cc: ParseGoDuration, Go's time.ParseDuration.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "refstore/filters.h"

namespace refstore {
namespace {

absl::Duration DurationOk(std::string_view s) {
  absl::StatusOr<absl::Duration> d = ParseGoDuration(s);
  EXPECT_TRUE(d.ok()) << s << ": " << d.status();
  return d.ok() ? *d : absl::InfiniteDuration();
}

std::string DurationError(std::string_view s) {
  absl::StatusOr<absl::Duration> d = ParseGoDuration(s);
  if (d.ok()) return "OK " + absl::FormatDuration(*d);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(d.status().message());
}

TEST(ParseGoDurationTest, Grammar) {
  EXPECT_EQ(DurationOk("0"), absl::ZeroDuration());
  EXPECT_EQ(DurationOk("+0"), absl::ZeroDuration());
  EXPECT_EQ(DurationOk("-0"), absl::ZeroDuration());
  EXPECT_EQ(DurationOk("0s"), absl::ZeroDuration());
  EXPECT_EQ(DurationOk("24h"), absl::Hours(24));
  EXPECT_EQ(DurationOk("90m"), absl::Minutes(90));
  EXPECT_EQ(DurationOk("1h30m"), absl::Minutes(90));
  EXPECT_EQ(DurationOk("1.5h"), absl::Minutes(90));
  EXPECT_EQ(DurationOk("300ms"), absl::Milliseconds(300));
  EXPECT_EQ(DurationOk("-2m"), absl::Minutes(-2));
  EXPECT_EQ(DurationOk("+3s"), absl::Seconds(3));
  EXPECT_EQ(DurationOk(".5s"), absl::Milliseconds(500));
  EXPECT_EQ(DurationOk("5.s"), absl::Seconds(5));
  EXPECT_EQ(DurationOk("1ns"), absl::Nanoseconds(1));
  EXPECT_EQ(DurationOk("1us"), absl::Microseconds(1));
  EXPECT_EQ(DurationOk("1\xC2\xB5s"), absl::Microseconds(1));  // U+00B5
  EXPECT_EQ(DurationOk("1\xCE\xBCs"), absl::Microseconds(1));  // U+03BC
  EXPECT_EQ(DurationOk("2h45m30.5s"),
            absl::Hours(2) + absl::Minutes(45) + absl::Milliseconds(30500));
  EXPECT_EQ(DurationOk("1h1h"), absl::Hours(2));
  EXPECT_EQ(DurationOk("1.0000000000000000000000001s"), absl::Seconds(1));
  EXPECT_EQ(DurationOk("0.3333333333333333333h"), absl::Minutes(20));
  EXPECT_EQ(DurationOk("9223372036854775807ns"),
            absl::Nanoseconds(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(DurationOk("2562047h47m16.854775807s"),
            absl::Nanoseconds(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(DurationOk("-9223372036854775808ns"),
            absl::Nanoseconds(std::numeric_limits<int64_t>::min()));
}

TEST(ParseGoDurationTest, Errors) {
  EXPECT_EQ(DurationError(""), "time: invalid duration \"\"");
  EXPECT_EQ(DurationError("-"), "time: invalid duration \"-\"");
  EXPECT_EQ(DurationError("."), "time: invalid duration \".\"");
  EXPECT_EQ(DurationError(".s"), "time: invalid duration \".s\"");
  EXPECT_EQ(DurationError("h"), "time: invalid duration \"h\"");
  EXPECT_EQ(DurationError("1"), "time: missing unit in duration \"1\"");
  EXPECT_EQ(DurationError("1h30"), "time: missing unit in duration \"1h30\"");
  EXPECT_EQ(DurationError("1x"), "time: unknown unit \"x\" in duration \"1x\"");
  EXPECT_EQ(DurationError("1d"), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(DurationError("1h-5m"), "time: unknown unit \"h-\" in duration \"1h-5m\"");
  EXPECT_EQ(DurationError("1 h"), "time: unknown unit \" h\" in duration \"1 h\"");
  EXPECT_EQ(DurationError("1\"s"), "time: unknown unit \"\\\"s\" in duration \"1\\\"s\"");
  EXPECT_EQ(DurationError("1\xffs"), "time: unknown unit \"\\xffs\" in duration \"1\\xffs\"");
  EXPECT_EQ(DurationError("9223372036854775808ns"),
            "time: invalid duration \"9223372036854775808ns\"");
  EXPECT_EQ(DurationError("2562047h47m16.854775808s"),
            "time: invalid duration \"2562047h47m16.854775808s\"");
  EXPECT_EQ(DurationError("99999999999999999999h"),
            "time: invalid duration \"99999999999999999999h\"");
}

// Go's uint64 sum wraps here and it returns 0; so do we.
TEST(ParseGoDurationTest, GoOverflowQuirk) {
  EXPECT_EQ(DurationOk("9223372036854775808ns9223372036854775808ns"), absl::ZeroDuration());
}

}  // namespace
}  // namespace refstore
