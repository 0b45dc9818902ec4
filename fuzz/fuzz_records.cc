// fuzz_records: the decoders of every record kind the store reads from disk
// (refstore/format/codec.h), and the key helpers used on keys read from disk
// (refstore/format/keys.h).
//
// Input: byte 0 selects the record kind (value % 6: image, blob, container,
// lease, stats, garbage); the rest is the stored value.
//
// Checks: decoding never crashes; an error is DataLoss naming the key; a
// decoded record re-encodes to bytes that decode again, and re-encode to
// the same bytes (encode(decode(encode(decode(v)))) == encode(decode(v))).
// Every input is also handed to SplitNs and Printable as a key.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"

namespace {

using namespace refstore::internal;

constexpr std::string_view kKinds[] = {"image", "blob", "container", "lease", "stats", "garbage"};

[[noreturn]] void Fail(std::string_view kind, const std::string& what) {
  std::fprintf(stderr, "fuzz_records: %.*s record: %s\n", static_cast<int>(kind.size()),
               kind.data(), what.c_str());
  std::abort();
}

std::string Hex(std::string_view bytes) { return RawToHex(bytes); }

template <typename Record>
void RoundTrip(std::string_view kind, std::string_view value, std::string_view what,
               absl::StatusOr<Record> (*decode)(std::string_view, std::string_view),
               std::string (*encode)(const Record&)) {
  absl::StatusOr<Record> r = decode(value, what);
  if (!r.ok()) {
    if (r.status().code() != absl::StatusCode::kDataLoss) {
      Fail(kind, "error is not DataLoss: " + r.status().ToString());
    }
    if (std::string(r.status().message()).find(what) == std::string::npos) {
      Fail(kind, "error does not name the key: " + r.status().ToString());
    }
    return;
  }
  const std::string once = encode(*r);
  absl::StatusOr<Record> back = decode(once, what);
  if (!back.ok()) {
    Fail(kind, "re-encoding " + Hex(once) + " of " + Hex(value) +
                   " does not decode: " + back.status().ToString());
  }
  const std::string twice = encode(*back);
  if (twice != once) {
    Fail(kind, "encoding not stable: " + Hex(value) + " -> " + Hex(once) + " -> " + Hex(twice));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Keys read from disk.
  std::string_view ns, rest;
  if (SplitNs(input, &ns, &rest) && ns.size() + 1 + rest.size() != input.size()) {
    Fail("key", "SplitNs lost bytes");
  }
  const std::string printable = Printable(input);
  for (char c : printable) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      Fail("key", "Printable left byte " + std::to_string(static_cast<unsigned char>(c)));
    }
  }

  if (size == 0) return 0;
  const std::string_view value = input.substr(1);
  const std::string_view what = "images/default/fuzz";
  switch (data[0] % 6) {
    case 0:
      RoundTrip<ImageRecord>(kKinds[0], value, what, DecodeImage, EncodeImage);
      break;
    case 1:
      RoundTrip<BlobRecord>(kKinds[1], value, what, DecodeBlob, EncodeBlob);
      break;
    case 2:
      RoundTrip<ContainerRecord>(kKinds[2], value, what, DecodeContainer, EncodeContainer);
      break;
    case 3:
      RoundTrip<LeaseRecord>(kKinds[3], value, what, DecodeLease, EncodeLease);
      break;
    case 4:
      RoundTrip<NsStats>(kKinds[4], value, what, DecodeStats, EncodeStats);
      break;
    case 5:
      RoundTrip<GarbageRecord>(kKinds[5], value, what, DecodeGarbage, EncodeGarbage);
      break;
  }
  return 0;
}
