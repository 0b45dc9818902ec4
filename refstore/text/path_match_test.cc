// path_match_test.cc: PathMatch against Go's path.Match. The table was
// produced by Go 1.19's path.Match on the same pattern and name.
#include <gtest/gtest.h>

#include <string_view>

#include "refstore/filters.h"

namespace refstore {
namespace {

enum Want { kYes, kNo, kBad };

struct Row {
  const char* pattern;
  const char* name;
  Want want;
};

constexpr Row kGoRows[] = {
    {"*", "alpine", kYes},
    {"*", "alpine:3.18", kYes},
    {"*", "foo/bar:1", kNo},
    {"*", "foo/bar", kNo},
    {"foo/*", "foo/bar:1", kYes},
    {"*/bar", "foo/bar", kYes},
    {"*/bar*", "foo/bar:1", kYes},
    {"f?o/*", "foo/bar", kYes},
    {"f?o/*", "f/o/bar", kNo},
    {"?", "/", kNo},
    {"[a-f]*", "alpine", kYes},
    {"[a-f]*", "foo/bar", kNo},
    {"[^a]*", "alpine", kNo},
    {"[!a]*", "alpine", kYes},
    {"[/]", "/", kYes},
    {"a[/]b", "a/b", kYes},
    {"*[/]*", "a/b", kYes},
    {"[", "a", kBad},
    {"[]", "a", kBad},
    {"[a-]", "a", kBad},
    {"a\\", "a", kBad},
    {"\\*", "*", kYes},
    {"\\*", "a", kNo},
    {"a*b", "axxb", kYes},
    {"a*b", "ax/b", kNo},
    {"*:3.18", "alpine:3.18", kYes},
    {"alpine:3.1[0-9]", "alpine:3.18", kYes},
    {"alpine:3.1[^8]", "alpine:3.18", kNo},
    {"*bar*", "foo/bar:1", kNo},
    {"*", "", kYes},
    {"?", "", kNo},
    {"**", "a/b", kNo},
    {"a*", "a/", kNo},
    {"*x", "ax/x", kNo},
    {"[a-c][x-z]", "by", kYes},
    {"[\\]]", "]", kYes},
    {"[\\-]", "-", kYes},
    {"x*y*z", "xAyBz", kYes},
    {"x*y*z", "xAy/z", kNo},
    {"*/*", "a/b", kYes},
    {"*/*", "a/b/c", kNo},
    {"*/*/*", "a/b/c", kYes},
    {"localhost:5000/*", "localhost:5000/app:1", kYes},
    {"*:*", "foo/bar:1", kNo},
    {"*[", "a", kBad},
    {"a[", "a", kBad},
    {"ab[", "a", kBad},
    {"*a[", "b", kBad},
    {"[x", "x", kBad},
    {"[^]", "a", kBad},
    {"\xc3"
     "\xa9"
     "*",
     "\xc3"
     "\xa9"
     "a",
     kYes},
    {"[\xc3"
     "\xa9"
     "]",
     "\xc3"
     "\xa9"
     "",
     kYes},
    {"?",
     "\xc3"
     "\xa9"
     "",
     kYes},
    {"\xc3"
     "\xbf"
     "",
     "\xc3"
     "\xbf"
     "",
     kYes},
    {"*", "alpine", kYes},
    {"*", "alpine:3.18", kYes},
    {"*", "foo/bar:1", kNo},
    {"*", "library/alpine:edge", kNo},
    {"*", "a/b/c", kNo},
    {"*", "x", kYes},
    {"*", "registry.example.com/team/app:v1", kNo},
    {"*/*", "alpine", kNo},
    {"*/*", "alpine:3.18", kNo},
    {"*/*", "foo/bar:1", kYes},
    {"*/*", "library/alpine:edge", kYes},
    {"*/*", "a/b/c", kNo},
    {"*/*", "x", kNo},
    {"*/*", "registry.example.com/team/app:v1", kNo},
    {"*:*", "alpine", kNo},
    {"*:*", "alpine:3.18", kYes},
    {"*:*", "foo/bar:1", kNo},
    {"*:*", "library/alpine:edge", kNo},
    {"*:*", "a/b/c", kNo},
    {"*:*", "x", kNo},
    {"*:*", "registry.example.com/team/app:v1", kNo},
    {"a*", "alpine", kYes},
    {"a*", "alpine:3.18", kYes},
    {"a*", "foo/bar:1", kNo},
    {"a*", "library/alpine:edge", kNo},
    {"a*", "a/b/c", kNo},
    {"a*", "x", kNo},
    {"a*", "registry.example.com/team/app:v1", kNo},
    {"*a*", "alpine", kYes},
    {"*a*", "alpine:3.18", kYes},
    {"*a*", "foo/bar:1", kNo},
    {"*a*", "library/alpine:edge", kNo},
    {"*a*", "a/b/c", kNo},
    {"*a*", "x", kNo},
    {"*a*", "registry.example.com/team/app:v1", kNo},
    {"?*", "alpine", kYes},
    {"?*", "alpine:3.18", kYes},
    {"?*", "foo/bar:1", kNo},
    {"?*", "library/alpine:edge", kNo},
    {"?*", "a/b/c", kNo},
    {"?*", "x", kYes},
    {"?*", "registry.example.com/team/app:v1", kNo},
    {"[a-z]*", "alpine", kYes},
    {"[a-z]*", "alpine:3.18", kYes},
    {"[a-z]*", "foo/bar:1", kNo},
    {"[a-z]*", "library/alpine:edge", kNo},
    {"[a-z]*", "a/b/c", kNo},
    {"[a-z]*", "x", kYes},
    {"[a-z]*", "registry.example.com/team/app:v1", kNo},
    {"*/[a-z]*:*", "alpine", kNo},
    {"*/[a-z]*:*", "alpine:3.18", kNo},
    {"*/[a-z]*:*", "foo/bar:1", kYes},
    {"*/[a-z]*:*", "library/alpine:edge", kYes},
    {"*/[a-z]*:*", "a/b/c", kNo},
    {"*/[a-z]*:*", "x", kNo},
    {"*/[a-z]*:*", "registry.example.com/team/app:v1", kNo},
    {"reg*", "alpine", kNo},
    {"reg*", "alpine:3.18", kNo},
    {"reg*", "foo/bar:1", kNo},
    {"reg*", "library/alpine:edge", kNo},
    {"reg*", "a/b/c", kNo},
    {"reg*", "x", kNo},
    {"reg*", "registry.example.com/team/app:v1", kNo},
    {"registry.example.com/*", "alpine", kNo},
    {"registry.example.com/*", "alpine:3.18", kNo},
    {"registry.example.com/*", "foo/bar:1", kNo},
    {"registry.example.com/*", "library/alpine:edge", kNo},
    {"registry.example.com/*", "a/b/c", kNo},
    {"registry.example.com/*", "x", kNo},
    {"registry.example.com/*", "registry.example.com/team/app:v1", kNo},
    {"registry.example.com/*/*", "alpine", kNo},
    {"registry.example.com/*/*", "alpine:3.18", kNo},
    {"registry.example.com/*/*", "foo/bar:1", kNo},
    {"registry.example.com/*/*", "library/alpine:edge", kNo},
    {"registry.example.com/*/*", "a/b/c", kNo},
    {"registry.example.com/*/*", "x", kNo},
    {"registry.example.com/*/*", "registry.example.com/team/app:v1", kYes},
    {"*/app*", "alpine", kNo},
    {"*/app*", "alpine:3.18", kNo},
    {"*/app*", "foo/bar:1", kNo},
    {"*/app*", "library/alpine:edge", kNo},
    {"*/app*", "a/b/c", kNo},
    {"*/app*", "x", kNo},
    {"*/app*", "registry.example.com/team/app:v1", kNo},
    {"library/*", "alpine", kNo},
    {"library/*", "alpine:3.18", kNo},
    {"library/*", "foo/bar:1", kNo},
    {"library/*", "library/alpine:edge", kYes},
    {"library/*", "a/b/c", kNo},
    {"library/*", "x", kNo},
    {"library/*", "registry.example.com/team/app:v1", kNo},
};

TEST(PathMatch, AgreesWithGo) {
  for (const Row& row : kGoRows) {
    absl::StatusOr<bool> m = PathMatch(row.pattern, row.name);
    if (row.want == kBad) {
      ASSERT_FALSE(m.ok()) << row.pattern << " on " << row.name;
      EXPECT_EQ(m.status().message(), "syntax error in pattern");
      EXPECT_FALSE(GlobMatches(row.pattern, row.name));
    } else {
      ASSERT_TRUE(m.ok()) << row.pattern << " on " << row.name << ": " << m.status();
      EXPECT_EQ(*m, row.want == kYes) << row.pattern << " on " << row.name;
      EXPECT_EQ(GlobMatches(row.pattern, row.name), row.want == kYes);
    }
  }
}

// The reason for Go's matching in refstore: a glob never crosses '/'.
TEST(PathMatch, StarNeverCrossesSlash) {
  EXPECT_FALSE(GlobMatches("*", "foo/bar:1"));
  EXPECT_FALSE(GlobMatches("*bar*", "foo/bar:1"));
  EXPECT_FALSE(GlobMatches("f?o?bar", "foo/bar"));
  EXPECT_TRUE(GlobMatches("foo/*", "foo/bar:1"));
  EXPECT_TRUE(GlobMatches("*/*", "foo/bar:1"));
}

}  // namespace
}  // namespace refstore
