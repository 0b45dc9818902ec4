// timestamp_test.cc: ParseUntil against docker's timestamp parsing as Go
// runs it. The table was produced by moby's daemon/internal/timestamp
// (Parse, at HEAD of 2026-08) compiled with Debian's Go 1.19 and a
// reference time of Unix 1800000000 in UTC; the rows where Go versions
// differ or where the time is outside the times a store keeps are tested
// separately below.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "refstore/filters.h"

namespace refstore {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
constexpr int64_t kErr = INT64_MIN;

struct Row {
  const char* value;
  int64_t seconds;  // kErr: Go refuses it
  int64_t nanos = 0;
};

constexpr Row kGoRows[] = {
    {"24h", 1799913600, 0},
    {"90m", 1799994600, 0},
    {"1h30m", 1799994600, 0},
    {"1.5h", 1799994600, 0},
    {"-1h", 1800003600, 0},
    {"0", 0, 0},
    {"0s", 1800000000, 0},
    {"+5m", 1799999700, 0},
    {".5h", 1799998200, 0},
    {"5.h", 1799982000, 0},
    {"1x", kErr},
    {"1d", kErr},
    {"1", 1, 0},
    {"24", 24, 0},
    {"1700000000", 1700000000, 0},
    {"1700000000.5", 1700000000, 500000000},
    {"1700000000.000000001", 1700000000, 1},
    {"1700000000.123456789123", 1700000000, 123456789},
    {"1700000000.", 1700000000, 0},
    {".5", kErr},
    {"+1700000000", 1700000000, 0},
    {"-1700000000", kErr},
    {"1700000000.+5", kErr},
    {"1700000000.-5", kErr},
    {"17000a", kErr},
    {"99999999999999999999", kErr},
    {"9223372036", 9223372036, 0},
    {"-9223372037", kErr},
    {"1700000000.123456789012345678901", kErr},
    {"2026-01-02", 1767312000, 0},
    {"2026-1-02", kErr},
    {"2026-01-2", kErr},
    {"2026-01-02Z", 1767312000, 0},
    {"2026-01-02z", kErr},
    {"2026-01-02+01:00", 1767308400, 0},
    {"2026-01-02-01:00", 1767315600, 0},
    {"2026-01-02T15", 1767366000, 0},
    {"2026-01-02T5", 1767330000, 0},
    {"2026-01-02T15Z", 1767366000, 0},
    {"2026-01-02T15+01:00", 1767362400, 0},
    {"2026-01-02T15-01:00", 1767369600, 0},
    {"2026-01-02T15:04", 1767366240, 0},
    {"2026-01-02T15:4", kErr},
    {"2026-01-02T15:04Z", 1767366240, 0},
    {"2026-01-02T15:04+01:00", 1767362640, 0},
    {"2026-01-02T15:04-07:00", 1767391440, 0},
    {"2026-01-02T15:04:05", 1767366245, 0},
    {"2026-01-02T15:04:05Z", 1767366245, 0},
    {"2026-01-02T15:04:05+01:00", 1767362645, 0},
    {"2026-01-02T15:04:05-07:00", 1767391445, 0},
    {"2026-01-02T15:04:05.5", 1767366245, 500000000},
    {"2026-01-02T15:04:05.5Z", 1767366245, 500000000},
    {"2026-01-02T15:04:05.123456789Z", 1767366245, 123456789},
    {"2026-01-02T15:04:05.5+01:00", 1767362645, 500000000},
    {"2026-01-02T15:04:05.5-01:30", 1767371645, 500000000},
    {"2026-01-02T15:04:05,5", 1767366245, 500000000},
    {"2026-01-02T15:04:05,5Z", 1767366245, 500000000},
    {"2026-01-02T15:04:05.", kErr},
    {"2026-01-02T15:04:05.Z", kErr},
    {"2026-01-02T24:00:00Z", kErr},
    {"2026-01-02T23:60:00Z", kErr},
    {"2026-01-02T23:59:60Z", kErr},
    {"2026-02-29", kErr},
    {"2024-02-29", 1709164800, 0},
    {"2026-04-31", kErr},
    {"2026-13-01", kErr},
    {"2026-00-01", kErr},
    {"2026-01-00", kErr},
    {"2026-01-02T15:04:05+24:00", 1767279845, 0},
    {"2026-01-02T15:04:05+01:60", 1767359045, 0},
    {"2026-01-02T15:04:05+0100", kErr},
    {"2026-01-02T15:04:05-0700", kErr},
    {"2026-01-02T15:04:05 ", kErr},
    {" 2026-01-02T15:04:05", kErr},
    {"2026-01-02 15:04:05", kErr},
    {"2026-01-02t15:04:05Z", kErr},
    {"2026-01-02T15:04:05z", kErr},
    {"1677-09-21T00:12:44Z", -9223372036, 0},
    {"2262-04-11T23:47:16Z", 9223372036, 0},
    {"1969-12-31T23:59:59.999999999Z", -1, 999999999},
    {"yesterday", kErr},
    {"inf", kErr},
    {"-inf", kErr},
    {"T15", kErr},
    {"2026", 2026, 0},
    {"2026-01", kErr},
    {"20260102", 20260102, 0},
    {"2026-01-02T15:04:05.5.5", kErr},
    {"2026-01-02T15:04:05+01:00Z", kErr},
    {"2026-01-02TT15", kErr},
    {"2026-01-02T15:04:05:06", kErr},
    {"", kErr},
    {" ", kErr},
};

std::string ErrorOf(std::string_view value) {
  absl::StatusOr<absl::Time> t = ParseUntil(value, kNow);
  if (t.ok()) return "ok: " + FormatRfc3339(*t);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(t.status().message());
}

TEST(ParseUntil, AgreesWithDockerOnGo) {
  for (const Row& row : kGoRows) {
    absl::StatusOr<absl::Time> t = ParseUntil(row.value, kNow);
    if (row.seconds == kErr) {
      ASSERT_FALSE(t.ok()) << '"' << row.value << "\" gave " << FormatRfc3339(*t);
      EXPECT_EQ(t.status().message(),
                "invalid value for 'until' filter: failed to parse value as time or duration: \"" +
                    std::string(row.value) + "\"");
    } else {
      ASSERT_TRUE(t.ok()) << '"' << row.value << "\": " << t.status();
      EXPECT_EQ(*t, absl::FromUnixSeconds(row.seconds) + absl::Nanoseconds(row.nanos))
          << '"' << row.value << "\" gave " << FormatRfc3339(*t);
    }
  }
}

// Go 1.20 and later (docker 23 and later are built with them) ignore
// fraction digits past the nanosecond and check zone offsets (at most 24
// hours and 60 minutes); Go 1.19 refuses the first and takes any offset.
TEST(ParseUntil, FollowsCurrentGo) {
  EXPECT_EQ(ParseUntil("2026-01-02T15:04:05.1234567891234Z", kNow).value(),
            absl::FromUnixSeconds(1767366245) + absl::Nanoseconds(123456789));
  EXPECT_EQ(ParseUntil("2026-01-02T15:04:05+24:00", kNow).value(),
            absl::FromUnixSeconds(1767366245 - 24 * 3600));
  EXPECT_EQ(ParseUntil("2026-01-02T15:04:05+01:60", kNow).value(),
            absl::FromUnixSeconds(1767366245 - 2 * 3600));
  EXPECT_FALSE(ParseUntil("2026-01-02T15:04:05+25:00", kNow).ok());
  EXPECT_FALSE(ParseUntil("2026-01-02T15:04:05+01:61", kNow).ok());
}

TEST(ParseUntil, OutsideTheStoredTimesIsRefused) {
  // Go takes these; a store keeps int64 nanoseconds and never clamps.
  for (const char* value : {"0000-01-01", "9999-12-31T23:59:59Z", "1677-09-21T00:12:43Z",
                            "2262-04-11T23:47:17Z", "9223372037", "-2562047h"}) {
    EXPECT_EQ(ErrorOf(value), "invalid value for 'until' filter: \"" + std::string(value) +
                                  "\" is outside the times a store keeps (1677-09-21T00:12:44Z to "
                                  "2262-04-11T23:47:16Z)");
  }
  EXPECT_EQ(ParseUntil("1677-09-21T00:12:44Z", kNow).value(), kEarliestTime);
  EXPECT_EQ(ParseUntil("2262-04-11T23:47:16Z", kNow).value(), kLatestTime);
}

TEST(ParseUntil, ErrorQuotesAsGo) {
  EXPECT_EQ(ErrorOf("a\"b\\c\n"),
            "invalid value for 'until' filter: failed to parse value as time or duration: "
            "\"a\\\"b\\\\c\\n\"");
}

TEST(StorableTime, Range) {
  EXPECT_TRUE(IsStorableTime(absl::UnixEpoch()));
  EXPECT_TRUE(IsStorableTime(kEarliestTime));
  EXPECT_TRUE(IsStorableTime(kLatestTime));
  EXPECT_FALSE(IsStorableTime(kLatestTime + absl::Nanoseconds(1)));
  EXPECT_FALSE(IsStorableTime(kEarliestTime - absl::Nanoseconds(1)));
  EXPECT_FALSE(IsStorableTime(absl::InfiniteFuture()));
  absl::Status s = CheckStorableTime(kLatestTime + absl::Seconds(1), "lease x expiry");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "lease x expiry 2262-04-11T23:47:17Z is outside the times a store keeps "
            "(1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z)");
}

TEST(ParseRfc3339, Cases) {
  EXPECT_EQ(ParseRfc3339("2026-01-01T00:00:00Z").value(),
            absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(ParseRfc3339("2026-01-01T01:00:00.25+01:00").value(),
            absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone()) +
                absl::Milliseconds(250));
  for (const char* bad : {"2026-01-01", "2026-01-01T00:00:00", "1700000000", "2026-01-01T0:00:00Z",
                          " 2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "infinite-future", "",
                          "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(t.status().message(), std::string("invalid time '") + bad + "': "))
        << t.status();
  }
}

TEST(FormatRfc3339, Cases) {
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(FormatRfc3339(t), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(t + absl::Milliseconds(500)), "2026-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatRfc3339(t + absl::Nanoseconds(1)), "2026-01-01T00:00:00.000000001Z");
  absl::StatusOr<absl::Time> back = ParseRfc3339(FormatRfc3339(t + absl::Microseconds(123)));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t + absl::Microseconds(123));
}

}  // namespace
}  // namespace refstore
