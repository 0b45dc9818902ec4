#include "refstore/filters.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "refstore/status_code.h"

namespace refstore {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

absl::Time Until(std::string_view value) {
  absl::StatusOr<absl::Time> t = ParseUntil(value, kNow);
  EXPECT_TRUE(t.ok()) << value << ": " << t.status();
  return t.ok() ? *t : absl::InfinitePast();
}

std::string UntilError(std::string_view value) {
  absl::StatusOr<absl::Time> t = ParseUntil(value, kNow);
  if (t.ok()) return "ok: " + FormatRfc3339(*t);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(t.status().message());
}

TEST(ParseUntil, Rfc3339) {
  EXPECT_EQ(Until("2026-01-02T00:00:00Z"), Utc(2026, 1, 2));
  EXPECT_EQ(Until("2026-01-02T03:04:05.5Z"),
            Utc(2026, 1, 2, 3, 4, 5) + absl::Milliseconds(500));
  EXPECT_EQ(Until("2026-01-02T03:04:05+02:00"), Utc(2026, 1, 2, 1, 4, 5));
  EXPECT_EQ(Until("2026-01-02T03:04:05.000000001-01:30"),
            Utc(2026, 1, 2, 4, 34, 5) + absl::Nanoseconds(1));
}

TEST(ParseUntil, ShortLayoutsAreUtc) {
  EXPECT_EQ(Until("2026-01-02T03:04:05"), Utc(2026, 1, 2, 3, 4, 5));
  EXPECT_EQ(Until("2026-01-02T03:04"), Utc(2026, 1, 2, 3, 4));
  EXPECT_EQ(Until("2026-01-02"), Utc(2026, 1, 2));
}

TEST(ParseUntil, UnixSeconds) {
  EXPECT_EQ(Until("1700000000"), absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(Until("1700000000.5"),
            absl::FromUnixSeconds(1700000000) + absl::Milliseconds(500));
  // The fraction is exact: no float rounding.
  EXPECT_EQ(Until("1700000000.1"),
            absl::FromUnixSeconds(1700000000) + absl::Milliseconds(100));
  EXPECT_EQ(Until("1700000000.000000001"),
            absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(1));
  EXPECT_EQ(Until("1700000000.123456789123"),
            absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(123456789));
  // A bare integer is Unix seconds, not a duration; "0" is Unix time 0 (as
  // in docker), not a zero duration.
  EXPECT_EQ(Until("24"), absl::FromUnixSeconds(24));
  EXPECT_EQ(Until("0"), absl::UnixEpoch());
}

TEST(ParseUntil, Durations) {
  EXPECT_EQ(Until("24h"), kNow - absl::Hours(24));
  EXPECT_EQ(Until("90m"), kNow - absl::Minutes(90));
  EXPECT_EQ(Until("1h30m"), kNow - absl::Minutes(90));
  EXPECT_EQ(Until("1.5h"), kNow - absl::Minutes(90));
  EXPECT_EQ(Until("10s"), kNow - absl::Seconds(10));
  EXPECT_EQ(Until("0s"), kNow);
  // A negative duration points after now, as in docker.
  EXPECT_EQ(Until("-1h"), kNow + absl::Hours(1));
}

TEST(ParseUntil, Errors) {
  EXPECT_EQ(UntilError("yesterday"),
            "invalid value for 'until' filter: failed to parse value as time "
            "or duration: \"yesterday\"");
  EXPECT_EQ(UntilError(""),
            "invalid value for 'until' filter: failed to parse value as time "
            "or duration: \"\"");
  EXPECT_EQ(UntilError("a\"b\\c\n"),
            "invalid value for 'until' filter: failed to parse value as time "
            "or duration: \"a\\\"b\\\\c\\n\"");
  for (const char* bad :
       {"1h ", " 24h", "2026-01-02 ", " 2026-01-02", "2026-13-02",
        "2026-01-02T25:00:00Z", "1700000000.", ".5", "17000a", "inf", "-inf",
        "infinite-future", "infinite-past", "1x", "99999999999999999999"}) {
    const std::string expected =
        std::string("invalid value for 'until' filter: failed to parse value "
                    "as time or duration: \"") +
        bad + "\"";
    EXPECT_EQ(UntilError(bad), expected) << bad;
  }
}

TEST(ParseRfc3339, Cases) {
  absl::StatusOr<absl::Time> t = ParseRfc3339("2026-01-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, Utc(2026, 1, 1));
  t = ParseRfc3339("2026-01-01T01:00:00.25+01:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, Utc(2026, 1, 1) + absl::Milliseconds(250));
  for (const char* bad : {"2026-01-01", "2026-01-01T00:00:00", "1700000000",
                          " 2026-01-01T00:00:00Z", "infinite-future", ""}) {
    t = ParseRfc3339(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(t.status().message(),
                                 std::string("invalid time '") + bad + "': "))
        << t.status();
  }
}

TEST(FormatRfc3339, Cases) {
  EXPECT_EQ(FormatRfc3339(Utc(2026, 1, 1)), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 1, 1) + absl::Milliseconds(500)),
            "2026-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatRfc3339(Utc(2026, 1, 1) + absl::Nanoseconds(1)),
            "2026-01-01T00:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1700000000)),
            "2023-11-14T22:13:20Z");
  // Round trip.
  const absl::Time t = Utc(2025, 6, 7, 8, 9, 10) + absl::Microseconds(123);
  absl::StatusOr<absl::Time> back = ParseRfc3339(FormatRfc3339(t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
}

TEST(ParseDanglingValue, Cases) {
  EXPECT_EQ(ParseDanglingValue("true").value(), true);
  EXPECT_EQ(ParseDanglingValue("1").value(), true);
  EXPECT_EQ(ParseDanglingValue("false").value(), false);
  EXPECT_EQ(ParseDanglingValue("0").value(), false);
  for (const char* bad : {"maybe", "", "TRUE", "yes", "2"}) {
    absl::StatusOr<bool> v = ParseDanglingValue(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(),
              std::string("invalid filter 'dangling=[") + bad + "]'");
  }
}

TEST(LabelMatches, Cases) {
  const std::map<std::string, std::string> labels = {
      {"k", "v"}, {"eq", "a=b"}, {"empty", ""}};
  EXPECT_TRUE(LabelMatches(labels, "k"));
  EXPECT_TRUE(LabelMatches(labels, "k=v"));
  EXPECT_FALSE(LabelMatches(labels, "k=w"));
  EXPECT_FALSE(LabelMatches(labels, "k="));
  EXPECT_FALSE(LabelMatches(labels, "missing"));
  EXPECT_FALSE(LabelMatches(labels, "missing=v"));
  // Split at the first '=': key "eq", value "a=b".
  EXPECT_TRUE(LabelMatches(labels, "eq=a=b"));
  EXPECT_FALSE(LabelMatches(labels, "eq=a"));
  EXPECT_FALSE(LabelMatches(labels, "k=v=w"));
  EXPECT_TRUE(LabelMatches(labels, "empty"));
  EXPECT_TRUE(LabelMatches(labels, "empty="));
  EXPECT_FALSE(LabelMatches(labels, "empty=x"));
  EXPECT_FALSE(LabelMatches({}, "k"));
}

TEST(GlobMatches, Cases) {
  EXPECT_TRUE(GlobMatches("alpine:3.18", "alpine:3.18"));
  EXPECT_TRUE(GlobMatches("alpine*", "alpine:3.18"));
  EXPECT_TRUE(GlobMatches("alpine:3.1?", "alpine:3.18"));
  EXPECT_TRUE(GlobMatches("alpine:3.1[0-9]", "alpine:3.18"));
  EXPECT_FALSE(GlobMatches("alpine:3.1[!8]", "alpine:3.18"));
  EXPECT_FALSE(GlobMatches("alpine", "alpine:3.18"));
  EXPECT_FALSE(GlobMatches("alp", "alpine"));
  // No flags: '*' also matches '/'.
  EXPECT_TRUE(GlobMatches("*bar*", "foo/bar:1"));
  EXPECT_TRUE(GlobMatches("*", ""));
  EXPECT_FALSE(GlobMatches("?", ""));
}

TEST(ErrorCodeName, Mapping) {
  EXPECT_EQ(ErrorCodeName(absl::InvalidArgumentError("x")), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(absl::NotFoundError("x")), "not_found");
  EXPECT_EQ(ErrorCodeName(absl::FailedPreconditionError("x")), "conflict");
  EXPECT_EQ(ErrorCodeName(absl::AbortedError("x")), "conflict");
  EXPECT_EQ(ErrorCodeName(absl::AlreadyExistsError("x")), "already_exists");
  EXPECT_EQ(ErrorCodeName(absl::UnimplementedError("x")),
            "failed_precondition");
  EXPECT_EQ(ErrorCodeName(absl::DataLossError("x")), "data_loss");
  EXPECT_EQ(ErrorCodeName(absl::InternalError("x")), "internal");
  EXPECT_EQ(ErrorCodeName(absl::UnknownError("x")), "internal");
  EXPECT_EQ(ErrorCodeName(absl::ResourceExhaustedError("x")), "internal");
}

}  // namespace
}  // namespace refstore
