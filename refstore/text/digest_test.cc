#include "refstore/text/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace refstore::text {
namespace {

// SHA-256 of "abc".
const std::string kHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(DigestTest, IsSha256Digest) {
  EXPECT_TRUE(IsSha256Digest("sha256:" + kHex));
  EXPECT_FALSE(IsSha256Digest(kHex));                        // no algorithm
  EXPECT_FALSE(IsSha256Digest("sha512:" + kHex));            // other algorithm
  EXPECT_FALSE(IsSha256Digest("sha256:" + kHex.substr(1)));  // 63 characters
  EXPECT_FALSE(IsSha256Digest("sha256:" + kHex + "0"));      // 65 characters
  std::string upper = kHex;
  upper[0] = 'B';
  EXPECT_FALSE(IsSha256Digest("sha256:" + upper));  // uppercase
  std::string bad = kHex;
  bad[10] = 'g';
  EXPECT_FALSE(IsSha256Digest("sha256:" + bad));  // not hex
  EXPECT_FALSE(IsSha256Digest("SHA256:" + kHex));
  EXPECT_FALSE(IsSha256Digest(""));
  EXPECT_FALSE(IsSha256Digest("sha256:"));
}

TEST(DigestTest, IsSha256HexAndLowerHex) {
  EXPECT_TRUE(IsSha256Hex(kHex));
  EXPECT_FALSE(IsSha256Hex("sha256:" + kHex));
  EXPECT_FALSE(IsSha256Hex(kHex.substr(1)));
  std::string upper = kHex;
  upper[63] = 'D';
  EXPECT_FALSE(IsSha256Hex(upper));
  EXPECT_TRUE(IsLowerHexString(""));
  EXPECT_TRUE(IsLowerHexString("0123456789abcdef"));
  EXPECT_FALSE(IsLowerHexString("0123456789abcdeF"));
  EXPECT_FALSE(IsLowerHexString("g"));
  EXPECT_FALSE(IsLowerHex(':'));
}

TEST(DigestTest, HexRawRoundTrip) {
  const std::string raw = HexToRaw("sha256:" + kHex);
  ASSERT_EQ(raw.size(), kSha256RawLength);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(raw[31]), 0xad);
  EXPECT_EQ(RawToHex(raw), kHex);
  EXPECT_EQ(HexToRaw(kHex), raw);  // the prefix is optional
  EXPECT_EQ(RawToDigest(raw), "sha256:" + kHex);
  EXPECT_EQ(HexToRaw("0A0b"), std::string("\x0a\x0b", 2));  // upper case is read too
  EXPECT_EQ(RawToHex(std::string("\x00\xff", 2)), "00ff");
}

}  // namespace
}  // namespace refstore::text
