#include "refstore/format/keys.h"

#include <gtest/gtest.h>

namespace refstore::internal {
namespace {

const std::string kHex = "aaaa1111aaaad5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd";

TEST(KeysTest, HexRawRoundTrip) {
  std::string raw = HexToRaw("sha256:" + kHex);
  EXPECT_EQ(raw.size(), kRawIdSize);
  EXPECT_EQ(RawToHex(raw), kHex);
  EXPECT_EQ(RawToDigest(HexToRaw(kHex)), "sha256:" + kHex);
}

TEST(KeysTest, NamespacesDoNotOverlap) {
  // "a" must not be a prefix of the keys of namespace "a.b".
  std::string id = HexToRaw(kHex);
  EXPECT_FALSE(ImageKey("a.b", id).starts_with(NsPrefix("a")));
  EXPECT_TRUE(ImageKey("a", id).starts_with(NsPrefix("a")));
  // Named and digest references of one namespace never share a key.
  EXPECT_NE(NameKey("a", id), DigestRefKey("a", id));
}

TEST(KeysTest, SplitNsAndPrintable) {
  std::string_view ns, rest;
  ASSERT_TRUE(SplitNs(LeaseKey("prod", "pull-1"), &ns, &rest));
  EXPECT_EQ(ns, "prod");
  EXPECT_EQ(rest, "pull-1");
  EXPECT_FALSE(SplitNs("nonul", &ns, &rest));
  EXPECT_EQ(Printable(LeaseKey("prod", "pull-1")), "prod/pull-1");
}

}  // namespace
}  // namespace refstore::internal
