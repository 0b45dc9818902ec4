// go_text_test.cc: every expected string here is what Go prints for the same
// input (strconv.Quote, the time package's quote, fmt's %g, ParseFloat).
#include "refstore/text/go_text.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace refstore::text {
namespace {

TEST(GoQuoteTest, StrconvQuote) {
  EXPECT_EQ(GoQuote(""), R"("")");
  EXPECT_EQ(GoQuote("abc 1"), R"("abc 1")");
  EXPECT_EQ(GoQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(GoQuote("\a\b\f\n\r\t\v"), R"("\a\b\f\n\r\t\v")");
  EXPECT_EQ(GoQuote(std::string("\x00\x01\x1f\x7f", 4)), R"("\x00\x01\x1f\x7f")");
  EXPECT_EQ(GoQuote("\xff"), R"("\xff")");                           // invalid UTF-8: its byte
  EXPECT_EQ(GoQuote("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"");  // "été" printable
  EXPECT_EQ(GoQuote("\xc2\xa0"), R"("\u00a0")");                     // no-break space
  EXPECT_EQ(GoQuote("\xef\xbb\xbf"), R"("\ufeff")");                 // byte order mark
  EXPECT_EQ(GoQuote("\xc2\x85"), R"("\u0085")");                     // C1 control
}

TEST(GoTimeQuoteTest, TimePackageQuote) {
  EXPECT_EQ(GoTimeQuote("5x"), R"("5x")");
  EXPECT_EQ(GoTimeQuote("a\"b\\"), R"("a\"b\\")");
  EXPECT_EQ(GoTimeQuote("\n"), R"("\x0a")");              // no \n form
  EXPECT_EQ(GoTimeQuote("\x7f"), "\"\x7f\"");             // DEL is left alone
  EXPECT_EQ(GoTimeQuote("\xc2\xb5s"), R"("\xc2\xb5s")");  // every non-ASCII byte
}

TEST(GoFormatGTest, PrecisionAndShortest) {
  EXPECT_EQ(GoFormatG(1.5, 4, true), "1.5");
  EXPECT_EQ(GoFormatG(1.23456, 4, true), "1.235");
  EXPECT_EQ(GoFormatG(999.999, 4, true), "1000");
  EXPECT_EQ(GoFormatG(999.999, 3, true), "1e+03");
  EXPECT_EQ(GoFormatG(0.0001, 4, true), "0.0001");
  EXPECT_EQ(GoFormatG(0.00001, 4, true), "1e-05");
  EXPECT_EQ(GoFormatG(0, 4, true), "0");
  EXPECT_EQ(GoFormatG(-2.5, 4, true), "-2.5");
  EXPECT_EQ(GoFormatG(100000, 0, false), "100000");
  EXPECT_EQ(GoFormatG(1e6, 0, false), "1e+06");
  EXPECT_EQ(GoFormatG(std::nan(""), 4, true), "NaN");
  EXPECT_EQ(GoFormatG(std::numeric_limits<double>::infinity(), 4, true), "+Inf");
  EXPECT_EQ(GoFormatG(-std::numeric_limits<double>::infinity(), 4, true), "-Inf");
}

TEST(GoParseFloatTest, ValuesAndGoErrors) {
  EXPECT_EQ(*GoParseFloat("1.5"), 1.5);
  EXPECT_EQ(*GoParseFloat("1e3"), 1000);
  EXPECT_EQ(*GoParseFloat("0x1p4"), 16);
  EXPECT_TRUE(std::isinf(*GoParseFloat("Inf")));
  absl::StatusOr<double> bad = GoParseFloat("1.5x");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), R"(strconv.ParseFloat: parsing "1.5x": invalid syntax)");
  EXPECT_EQ(GoParseFloat("1e400").status().message(),
            R"(strconv.ParseFloat: parsing "1e400": value out of range)");
  EXPECT_EQ(GoParseFloat("").status().message(),
            R"(strconv.ParseFloat: parsing "": invalid syntax)");
}

TEST(GoUtf8Test, DecodeAndCountRunes) {
  EXPECT_EQ(DecodeRune("a"), std::make_pair(int32_t{'a'}, 1));
  EXPECT_EQ(DecodeRune("\xc3\xa9"), std::make_pair(int32_t{0xE9}, 2));
  EXPECT_EQ(DecodeRune("\xf0\x9f\x98\x80"), std::make_pair(int32_t{0x1F600}, 4));
  EXPECT_EQ(DecodeRune("\xff"), std::make_pair(int32_t{-1}, 1));
  EXPECT_EQ(DecodeRune("\xed\xa0\x80"), std::make_pair(int32_t{-1}, 1));  // surrogate
  EXPECT_EQ(DecodeRune("\xc0\xaf"), std::make_pair(int32_t{-1}, 1));      // overlong
  EXPECT_EQ(DecodeRune("\xc3"), std::make_pair(int32_t{-1}, 1));          // truncated
  EXPECT_EQ(RuneCount(""), 0);
  EXPECT_EQ(RuneCount("a\xc3\xa9\xff"), 3);
}

TEST(GoToLowerTest, AsciiAndRunes) {
  EXPECT_EQ(GoToLower("KiB"), "kib");
  EXPECT_EQ(GoToLower("\xc3\x89"), "\xc3\xa9");    // É -> é
  EXPECT_EQ(GoToLower("T\xff"), "t\xef\xbf\xbd");  // invalid byte -> U+FFFD
}

TEST(GoNanosecondsTest, Saturates) {
  EXPECT_EQ(GoNanoseconds(absl::Seconds(2)), 2000000000);
  EXPECT_EQ(GoNanoseconds(-absl::Nanoseconds(3)), -3);
  EXPECT_EQ(GoNanoseconds(absl::InfiniteDuration()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(GoNanoseconds(-absl::InfiniteDuration()), std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace refstore::text
