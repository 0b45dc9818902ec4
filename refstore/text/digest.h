// digest.h: the one place that knows the text of a content digest,
// "sha256:<64 lowercase hex>", and converts between hex and raw bytes.
// Every digest, image ID and hex check of the library and the tools is
// these functions (reference.h's IsDigest and IsContainerId are too).
//
// It sits in text/ (below content/ and format/) because the reference
// grammar needs it; content/ (blob file names, OCI descriptors) and format/
// (keys hold the 32 raw bytes) use it from there.
//
// Thread-safety: pure functions.
#ifndef REFSTORE_TEXT_DIGEST_H_
#define REFSTORE_TEXT_DIGEST_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace refstore::text {

inline constexpr std::string_view kSha256Prefix = "sha256:";
inline constexpr size_t kSha256HexLength = 64;
inline constexpr size_t kSha256RawLength = 32;

// [0-9a-f].
inline bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
// Every character of `s` is IsLowerHex (true for "").
bool IsLowerHexString(std::string_view s);
// Exactly 64 lowercase hex characters: a blob file's name, an image or
// container ID without its algorithm.
bool IsSha256Hex(std::string_view s);
// "sha256:" then IsSha256Hex: the only digest the store accepts.
bool IsSha256Digest(std::string_view s);

// "sha256:<hex>" or "<hex>" -> its bytes (two hex characters a byte; upper
// case is read too). REQUIRES: an even count of hex characters (callers
// check the text first; anything else gives unspecified bytes, never UB).
std::string HexToRaw(std::string_view hex_or_digest);
// Bytes -> lowercase hex, two characters a byte.
std::string RawToHex(std::string_view raw);
// Bytes -> "sha256:" + RawToHex(raw).
std::string RawToDigest(std::string_view raw);

}  // namespace refstore::text

#endif  // REFSTORE_TEXT_DIGEST_H_
