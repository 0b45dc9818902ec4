// image_filter_test.cc: ParseImageFilter's keys, order of checks and values.
#include "refstore/db/image_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace refstore::internal {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string ErrorOf(const Filters& f, FilterUse use, const CreatedOf& created_of = {}) {
  absl::StatusOr<ImageFilter> parsed = ParseImageFilter(f, kNow, use, created_of);
  if (parsed.ok()) return "ok";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  return std::string(parsed.status().message());
}

TEST(ParseImageFilter, KeysPerUse) {
  EXPECT_EQ(ErrorOf({{"reference", {"a*"}}}, FilterUse::kPrune), "invalid filter 'reference'");
  EXPECT_EQ(ErrorOf({{"before", {"a"}}}, FilterUse::kPrune), "invalid filter 'before'");
  EXPECT_EQ(ErrorOf({{"reference", {"a*"}}}, FilterUse::kList), "ok");
  EXPECT_EQ(ErrorOf({{"Label", {"a"}}}, FilterUse::kList), "invalid filter 'Label'");
}

// docker's Validate runs before any value is read: an unknown key wins over
// a bad value of a known key, whatever the keys' order.
TEST(ParseImageFilter, UnknownKeyBeforeBadValue) {
  for (const char* key : {"aaa", "zzz"}) {
    EXPECT_EQ(ErrorOf({{"dangling", {"maybe"}}, {key, {"1"}}}, FilterUse::kPrune),
              std::string("invalid filter '") + key + "'");
    EXPECT_EQ(ErrorOf({{"until", {"bad"}}, {key, {"1"}}}, FilterUse::kList),
              std::string("invalid filter '") + key + "'");
  }
}

TEST(ParseImageFilter, DanglingWithNoValueIsRefused) {
  EXPECT_EQ(ErrorOf({{"dangling", {}}}, FilterUse::kPrune), "invalid filter 'dangling'");
  EXPECT_EQ(ErrorOf({{"dangling", {}}}, FilterUse::kList), "invalid filter 'dangling'");
  // Other keys with no value are no filter.
  EXPECT_EQ(ErrorOf({{"until", {}}, {"label", {}}, {"label!", {}}}, FilterUse::kPrune), "ok");
}

TEST(ParseImageFilter, DanglingValues) {
  absl::StatusOr<ImageFilter> f =
      ParseImageFilter({{"dangling", {"true", "1"}}}, kNow, FilterUse::kPrune);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->dangling, true);
  EXPECT_EQ(ErrorOf({{"dangling", {"true", "0"}}}, FilterUse::kPrune),
            "invalid filter 'dangling=[true 0]'");
  EXPECT_EQ(ErrorOf({{"dangling", {"true", "maybe"}}}, FilterUse::kPrune),
            "invalid filter 'dangling=[true maybe]'");
  EXPECT_EQ(ErrorOf({{"dangling", {"maybe"}}}, FilterUse::kPrune),
            "invalid filter 'dangling=[maybe]'");
}

// Prune reads dangling before until (ImagePrune); a list reads until before
// dangling (setupFilters).
TEST(ParseImageFilter, ValueOrderFollowsDocker) {
  const Filters both = {{"dangling", {"maybe"}}, {"until", {"bad"}}};
  EXPECT_EQ(ErrorOf(both, FilterUse::kPrune), "invalid filter 'dangling=[maybe]'");
  EXPECT_EQ(ErrorOf(both, FilterUse::kList),
            "invalid value for 'until' filter: failed to parse value as time or duration: "
            "\"bad\"");
}

TEST(ParseImageFilter, BeforeAndSinceResolveFirst) {
  int calls = 0;
  CreatedOf created_of = [&](std::string_view ref) -> absl::StatusOr<int64_t> {
    ++calls;
    if (ref == "a:1") return 100;
    if (ref == "b:1") return 50;
    return absl::NotFoundError(std::string("No such image: ") + std::string(ref));
  };
  absl::StatusOr<ImageFilter> f = ParseImageFilter({{"before", {"a:1", "b:1"}}, {"since", {"b:1"}}},
                                                   kNow, FilterUse::kList, created_of);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f->created_below_ns, 50);  // before both
  EXPECT_EQ(f->created_above_ns, 50);
  EXPECT_FALSE(f->CreatedInside(50));  // strictly
  f = ParseImageFilter({{"since", {"b:1"}}}, kNow, FilterUse::kList, created_of);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->CreatedInside(51));
  EXPECT_FALSE(f->CreatedInside(50));
  // An unknown ref wins over a bad until (before/since come first).
  absl::StatusOr<ImageFilter> bad = ParseImageFilter({{"since", {"nope:1"}}, {"until", {"bad"}}},
                                                     kNow, FilterUse::kList, created_of);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(bad.status().message(), "No such image: nope:1");
}

TEST(ImageFilter, NameMatchesAsFamiliarMatch) {
  ImageFilter f;
  f.references = {"foo*"};
  EXPECT_TRUE(f.NameMatches("foo:1"));
  EXPECT_FALSE(f.NameMatches("foo/bar:1"));  // '*' never crosses '/'
  f.references = {"foo/*"};
  EXPECT_TRUE(f.NameMatches("foo/bar:1"));
  f.references = {"alpine"};  // the familiar repository
  EXPECT_TRUE(f.NameMatches("alpine:3.18"));
  EXPECT_TRUE(f.NameMatches("alpine@sha256:aa"));
  EXPECT_FALSE(f.NameMatches("library/alpine:x/y"));
  f.references = {"[", "a*"};  // a malformed glob matches nothing; the others still count
  EXPECT_TRUE(f.NameMatches("a:1"));
}

}  // namespace
}  // namespace refstore::internal
