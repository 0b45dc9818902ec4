#include "refstore/text/digest.h"

#include <algorithm>
#include <cstdint>

namespace refstore::text {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

bool IsLowerHexString(std::string_view s) { return std::all_of(s.begin(), s.end(), IsLowerHex); }

bool IsSha256Hex(std::string_view s) { return s.size() == kSha256HexLength && IsLowerHexString(s); }

bool IsSha256Digest(std::string_view s) {
  return s.starts_with(kSha256Prefix) && IsSha256Hex(s.substr(kSha256Prefix.size()));
}

std::string HexToRaw(std::string_view s) {
  if (s.starts_with(kSha256Prefix)) s.remove_prefix(kSha256Prefix.size());
  std::string raw(s.size() / 2, '\0');
  for (size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<char>(HexValue(s[2 * i]) << 4 | HexValue(s[2 * i + 1]));
  }
  return raw;
}

std::string RawToHex(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(raw.size() * 2, '0');
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto b = static_cast<uint8_t>(raw[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return out;
}

std::string RawToDigest(std::string_view raw) {
  std::string out(kSha256Prefix);
  out += RawToHex(raw);
  return out;
}

}  // namespace refstore::text
