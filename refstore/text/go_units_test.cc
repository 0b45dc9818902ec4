// go_units_test.cc: the outputs github.com/docker/go-units v0.5.0 gives.
#include "refstore/text/go_units.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace refstore::text {
namespace {

// --- HumanSize ------------------------------------------------------------

TEST(HumanSizeTest, DecimalUnitsFourSignificantDigits) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(999), "999B");
  EXPECT_EQ(HumanSize(1000), "1kB");
  EXPECT_EQ(HumanSize(1024), "1.024kB");
  EXPECT_EQ(HumanSize(999500), "999.5kB");
  EXPECT_EQ(HumanSize(1000000), "1MB");
  EXPECT_EQ(HumanSize(1048576), "1.049MB");
  EXPECT_EQ(HumanSize(1234567), "1.235MB");
  EXPECT_EQ(HumanSize(2000000), "2MB");
  EXPECT_EQ(HumanSize(3.42e9), "3.42GB");
  EXPECT_EQ(HumanSize(5145000000000), "5.145TB");
  EXPECT_EQ(HumanSize(2.22e15), "2.22PB");
  // The demo's cases (bench/demo had its own HumanSize and test).
  for (const auto& [bytes, text] : {std::pair<double, const char*>{1500, "1.5kB"},
                                    {3503000, "3.503MB"},
                                    {10005300, "10.01MB"},
                                    {1234567890, "1.235GB"},
                                    {5e12, "5TB"}}) {
    EXPECT_EQ(HumanSize(bytes), text);
  }
}

TEST(HumanSizeTest, DockerImageLsPrecisionThree) {
  EXPECT_EQ(HumanSize(1234567, 3), "1.23MB");
  EXPECT_EQ(HumanSize(77812345, 3), "77.8MB");
  EXPECT_EQ(HumanSize(7290000, 3), "7.29MB");
  EXPECT_EQ(HumanSize(5570000, 3), "5.57MB");
}

// The unit is picked before rounding: 999999 B is 999.999 kB, which rounds
// to 1000. At precision 4 Go's %g keeps fixed notation (exponent 3 < 4);
// at precision 3 it switches to exponent form, which is what docker image ls
// really shows for images of 999.5 to 999.99 MB (docker/cli#3091).
TEST(HumanSizeTest, RoundingUpToTheNextUnitIsWhatGoPrints) {
  EXPECT_EQ(HumanSize(999999), "1000kB");
  EXPECT_EQ(HumanSize(999999, 3), "1e+03kB");
  EXPECT_EQ(HumanSize(999600000, 3), "1e+03MB");
  EXPECT_EQ(HumanSize(999.5, 3), "1e+03B");
  EXPECT_EQ(HumanSize(9.5, 1), "1e+01B");
}

TEST(HumanSizeTest, GoPercentGEdgeCases) {
  EXPECT_EQ(HumanSize(1e28), "1e+04YB");  // past YB the number grows
  EXPECT_EQ(HumanSize(1e30), "1e+06YB");
  EXPECT_EQ(HumanSize(0.00001), "1e-05B");
  EXPECT_EQ(HumanSize(-5000), "-5000B");  // negatives are never divided
  EXPECT_EQ(HumanSize(-50000), "-5e+04B");
  EXPECT_EQ(HumanSize(-0.0), "-0B");
  EXPECT_EQ(HumanSize(std::numeric_limits<double>::infinity()), "+InfYB");
  EXPECT_EQ(HumanSize(-std::numeric_limits<double>::infinity()), "-InfB");
  EXPECT_EQ(HumanSize(std::numeric_limits<double>::quiet_NaN()), "NaNB");
  // %.0g is %.1g.
  EXPECT_EQ(HumanSize(1234, 0), "1kB");
  EXPECT_EQ(HumanSize(1500, 0), "2kB");
  // Exact decimal expansion of the double, as strconv gives it.
  EXPECT_EQ(HumanSize(1234567, 20), "1.23456699999999997MB");
  // fmt drops a negative or huge '*' precision and says so.
  EXPECT_EQ(HumanSize(1234567, -1), "%!(BADPREC)1.234567MB");
  EXPECT_EQ(HumanSize(1234567, 1000001), "%!(BADPREC)1.234567MB");
  EXPECT_EQ(HumanSize(123456789, -1), "%!(BADPREC)123.456789MB");
}

// --- HumanDuration and Ago --------------------------------------------------

TEST(HumanDurationTest, Thresholds) {
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(500)), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(absl::Nanoseconds(1999999999)), "1 second");
  EXPECT_EQ(HumanDuration(absl::Seconds(2)), "2 seconds");
  EXPECT_EQ(HumanDuration(absl::Seconds(59)), "59 seconds");
  EXPECT_EQ(HumanDuration(absl::Nanoseconds(59999999999)), "59 seconds");
  EXPECT_EQ(HumanDuration(absl::Seconds(60)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Seconds(90)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Minutes(3)), "3 minutes");
  EXPECT_EQ(HumanDuration(absl::Minutes(59) + absl::Seconds(59)), "59 minutes");
  EXPECT_EQ(HumanDuration(absl::Hours(1)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Hours(1) + absl::Minutes(29)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Hours(1) + absl::Minutes(31)), "2 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(47)), "47 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(48)), "2 days");
  EXPECT_EQ(HumanDuration(absl::Hours(13 * 24)), "13 days");
  EXPECT_EQ(HumanDuration(absl::Hours(13 * 24 + 12)), "14 days");
  EXPECT_EQ(HumanDuration(absl::Hours(14 * 24)), "2 weeks");
  EXPECT_EQ(HumanDuration(absl::Hours(59 * 24)), "8 weeks");
  EXPECT_EQ(HumanDuration(absl::Hours(60 * 24)), "2 months");
  EXPECT_EQ(HumanDuration(absl::Hours(729 * 24)), "24 months");
  EXPECT_EQ(HumanDuration(absl::Hours(2 * 365 * 24)), "2 years");
  EXPECT_EQ(HumanDuration(absl::Hours((3 * 365 + 200) * 24)), "4 years");
}

TEST(HumanDurationTest, NegativeAndSaturated) {
  EXPECT_EQ(HumanDuration(absl::Seconds(-5)), "Less than a second");
  // Go's Duration tops out at 2^63-1 ns, about 292.5 years.
  EXPECT_EQ(HumanDuration(absl::InfiniteDuration()), "292 years");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 365 * 1000)), "292 years");
}

TEST(AgoTest, CreatedColumn) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(Ago(now - absl::Hours(3), now), "3 hours ago");
  EXPECT_EQ(Ago(now - absl::Hours(24 * 15), now), "2 weeks ago");
  EXPECT_EQ(Ago(now, now), "Less than a second ago");
  EXPECT_EQ(Ago(now + absl::Hours(1), now), "Less than a second ago");
}

// --- ParseHumanSize ---------------------------------------------------------

int64_t SizeOk(std::string_view s) {
  absl::StatusOr<int64_t> v = ParseHumanSize(s);
  EXPECT_TRUE(v.ok()) << s << ": " << v.status();
  return v.ok() ? *v : -1;
}

std::string SizeError(std::string_view s) {
  absl::StatusOr<int64_t> v = ParseHumanSize(s);
  if (v.ok()) return "OK " + std::to_string(*v);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(v.status().message());
}

TEST(ParseHumanSizeTest, GoUnitsCases) {
  EXPECT_EQ(SizeOk("32"), 32);
  EXPECT_EQ(SizeOk("32b"), 32);
  EXPECT_EQ(SizeOk("32B"), 32);
  EXPECT_EQ(SizeOk("32k"), 32000);
  EXPECT_EQ(SizeOk("32K"), 32000);
  EXPECT_EQ(SizeOk("32kb"), 32000);
  EXPECT_EQ(SizeOk("32Kb"), 32000);
  EXPECT_EQ(SizeOk("32kib"), 32000);  // decimal even with "ib"
  EXPECT_EQ(SizeOk("1KIB"), 1000);
  EXPECT_EQ(SizeOk("32Mb"), 32000000);
  EXPECT_EQ(SizeOk("32Gb"), 32000000000);
  EXPECT_EQ(SizeOk("10GB"), 10000000000);
  EXPECT_EQ(SizeOk("32Tb"), 32000000000000);
  EXPECT_EQ(SizeOk("32Pb"), 32000000000000000);
  EXPECT_EQ(SizeOk("32.5kB"), 32500);
  EXPECT_EQ(SizeOk("32.5 kB"), 32500);
  EXPECT_EQ(SizeOk("1.5 MB"), 1500000);
  EXPECT_EQ(SizeOk("32.5 B"), 32);  // truncated toward zero
  EXPECT_EQ(SizeOk("0.3 K"), 300);
  EXPECT_EQ(SizeOk("2k"), 2000);
  EXPECT_EQ(SizeOk("512"), 512);
  EXPECT_EQ(SizeOk("1 "), 1);  // the space is taken as the separator
}

TEST(ParseHumanSizeTest, NumbersAsStrconvParseFloatReadsThem) {
  EXPECT_EQ(SizeOk("1e3"), 1000);
  EXPECT_EQ(SizeOk("1_000"), 1000);
  EXPECT_EQ(SizeOk("0x1p4"), 16);
  EXPECT_EQ(SizeOk("0x1p-2k"), 250);
  EXPECT_EQ(SizeOk("+5"), 5);
  EXPECT_EQ(SizeOk("-0"), 0);
  EXPECT_EQ(SizeOk(".5k"), 500);
  EXPECT_EQ(SizeOk("5."), 5);
  EXPECT_EQ(SizeOk("1e-400"), 0);  // underflow is no error in Go
  EXPECT_EQ(SizeOk("9223372036854774784"), 9223372036854774784);
}

TEST(ParseHumanSizeTest, Errors) {
  EXPECT_EQ(SizeError(""), "invalid size: ''");
  EXPECT_EQ(SizeError("hello"), "invalid size: 'hello'");
  EXPECT_EQ(SizeError("-32"), "invalid size: '-32'");
  EXPECT_EQ(SizeError("-1k"), "invalid size: '-1k'");
  EXPECT_EQ(SizeError("32bm"), "invalid suffix: 'bm'");
  EXPECT_EQ(SizeError("1kbb"), "invalid suffix: 'kbb'");
  EXPECT_EQ(SizeError("1KXB"), "invalid suffix: 'kxb'");
  EXPECT_EQ(SizeError("1 KBYTE"), "invalid suffix: 'KBYTE'");  // not lowered
  EXPECT_EQ(SizeError("1e"), "invalid suffix: 'e'");
  EXPECT_EQ(SizeError("32m b"), "strconv.ParseFloat: parsing \"32m\": invalid syntax");
  EXPECT_EQ(SizeError(" 32 "), "strconv.ParseFloat: parsing \" 32\": invalid syntax");
  EXPECT_EQ(SizeError("1  k"), "strconv.ParseFloat: parsing \"1 \": invalid syntax");
  EXPECT_EQ(SizeError(".3.kB"), "strconv.ParseFloat: parsing \".3.\": invalid syntax");
  EXPECT_EQ(SizeError("1.5.3"), "strconv.ParseFloat: parsing \"1.5.3\": invalid syntax");
  EXPECT_EQ(SizeError("1__0"), "strconv.ParseFloat: parsing \"1__0\": invalid syntax");
  EXPECT_EQ(SizeError("0x10"), "strconv.ParseFloat: parsing \"0x10\": invalid syntax");
  EXPECT_EQ(SizeError("1e400"), "strconv.ParseFloat: parsing \"1e400\": value out of range");
  EXPECT_EQ(SizeError("\"\t1"), "strconv.ParseFloat: parsing \"\\\"\\t1\": invalid syntax");
  EXPECT_EQ(SizeError("\xff 1"), "strconv.ParseFloat: parsing \"\\xff 1\": invalid syntax");
  EXPECT_EQ(SizeError("\xc2\xa0 1"), "strconv.ParseFloat: parsing \"\\u00a0 1\": invalid syntax");
}

// go-units lower-cases the suffix with strings.ToLower before checking its
// length; Unicode lower-casing and U+FFFD for invalid bytes change that
// length, so Go accepts some odd suffixes. We do the same.
TEST(ParseHumanSizeTest, GoToLowerQuirks) {
  EXPECT_EQ(SizeOk("30T-\xff"), 30000000000000);  // "t-\uFFFD" is 5 bytes
  EXPECT_EQ(SizeOk("1k\xC8\xBA"), 1000);          // U+023A -> U+2C65
  EXPECT_EQ(SizeOk("1\xE2\x84\xAA"), 1000);       // Kelvin sign -> "k"
  EXPECT_EQ(SizeError("1\xC4\xB0"
                      "b"),
            "invalid suffix: 'ib'");  // U+0130
  EXPECT_EQ(SizeError("4\xC3\x89"), "invalid suffix: '\xC3\xA9'");
  EXPECT_EQ(SizeError("1 \xff"), "invalid suffix: '\xEF\xBF\xBD'");
}

// Go's int64(float64) is math.MinInt64 on amd64 for these; we refuse them.
TEST(ParseHumanSizeTest, TooLargeIsRefusedWhereGoWouldWrap) {
  EXPECT_EQ(SizeError("10000PB"), "invalid size: '10000PB'");
  EXPECT_EQ(SizeError("9223372036854775808"), "invalid size: '9223372036854775808'");
  EXPECT_EQ(SizeError("inf k"), "invalid size: 'inf k'");
  EXPECT_EQ(SizeError("nan b"), "invalid size: 'nan b'");
}

}  // namespace
}  // namespace refstore::text
