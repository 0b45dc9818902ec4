// keys.h: refstore's column families and key layout (format version 2).
//
// Namespaced keys start with the namespace and a NUL byte (namespaces cannot
// contain NUL). Digests and IDs in keys are their raw 32 bytes. See DESIGN.md
// for the table of column families and the invariants tying them together.
#ifndef REFSTORE_FORMAT_KEYS_H_
#define REFSTORE_FORMAT_KEYS_H_

#include <string>
#include <string_view>

#include "refstore/text/digest.h"

namespace refstore::internal {

// Column family names, in the order the store opens them.
inline constexpr const char* kCfNames[] = {
    "default",      // "format_version" -> decimal version
    "images",       // ns \0 id            -> ImageRecord
    "refs",         // ns \0 'N' full name -> raw id      (named reference)
                    // ns \0 'D' id        -> ""          (digest reference)
    "dangling",     // ns \0 id            -> ""          (images with no name)
    "blobs",        // digest              -> BlobRecord  (all namespaces)
    "containers",   // ns \0 cid           -> ContainerRecord
    "holders",      // ns \0 id cid        -> "1" running / "0" stopped
    "leases",       // ns \0 lease         -> LeaseRecord
    "lease_blobs",  // ns \0 lease \0 digest -> ""
    "blob_leases",  // digest ns \0 lease  -> ""
    "stats",        // ns                  -> NsStats     (df figures)
    "garbage",      // digest              -> GarbageRecord (content store:
                    //                        a blob file to delete)
    "names",        // ns \0 id full name  -> created (the image's names;
                    //                        format version 2)
};
enum Cf {
  kDefault = 0,
  kImages,
  kRefs,
  kDangling,
  kBlobs,
  kContainers,
  kHolders,
  kLeases,
  kLeaseBlobs,
  kBlobLeases,
  kStats,
  kGarbage,
  kNames,
  kCfCount
};

inline constexpr size_t kRawIdSize = text::kSha256RawLength;

// Keys hold a digest's 32 raw bytes; the conversions to and from its text
// are the digest module's (refstore/text/digest.h).
using text::HexToRaw;
using text::RawToDigest;
using text::RawToHex;

std::string NsPrefix(std::string_view ns);
std::string ImageKey(std::string_view ns, std::string_view raw_id);
std::string NameKey(std::string_view ns, std::string_view full_name);
std::string DigestRefKey(std::string_view ns, std::string_view raw_id);
std::string DanglingKey(std::string_view ns, std::string_view raw_id);
std::string ContainerKey(std::string_view ns, std::string_view raw_cid);
std::string HolderKey(std::string_view ns, std::string_view raw_id, std::string_view raw_cid);
std::string ImageNameKey(std::string_view ns, std::string_view raw_id, std::string_view full_name);
std::string ImageNamesPrefix(std::string_view ns, std::string_view raw_id);
std::string HolderPrefix(std::string_view ns, std::string_view raw_id);
std::string LeaseKey(std::string_view ns, std::string_view lease);
std::string LeaseBlobKey(std::string_view ns, std::string_view lease, std::string_view raw);
std::string LeaseBlobPrefix(std::string_view ns, std::string_view lease);
std::string BlobLeaseKey(std::string_view raw, std::string_view ns, std::string_view lease);

// Splits "ns \0 rest" into its parts; false when there is no NUL.
bool SplitNs(std::string_view key, std::string_view* ns, std::string_view* rest);

// A printable form of a key for messages (raw bytes shown as hex).
std::string Printable(std::string_view key);

}  // namespace refstore::internal

#endif  // REFSTORE_FORMAT_KEYS_H_
