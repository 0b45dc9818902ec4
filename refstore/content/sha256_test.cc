#include "refstore/content/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace refstore::content {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, StreamingEqualsOneShot) {
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  Sha256 h;
  size_t pos = 0;
  for (size_t chunk = 1; pos < data.size(); chunk = chunk * 3 % 9973 + 1) {
    size_t n = std::min(chunk, data.size() - pos);
    h.Update(std::string_view(data).substr(pos, n));
    pos += n;
  }
  h.Update("");  // an empty update changes nothing
  EXPECT_EQ(h.HexDigest(), Sha256Hex(data));
}

}  // namespace
}  // namespace refstore::content
