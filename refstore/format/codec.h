// codec.h: the on-disk encoding of refstore's records (format version 3).
//
// Every value starts with a one-byte record version. Integers are varints
// (signed ones zigzag-encoded), strings are a varint length then bytes.
// Digests inside records are the raw 32 bytes of the SHA-256 hash; media
// types the list in codec.cc knows are a varint code. The layout
// is a file format: fields are only ever appended, never reordered.
#ifndef REFSTORE_FORMAT_CODEC_H_
#define REFSTORE_FORMAT_CODEC_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace refstore::internal {

// The store's on-disk format version, kept under key "format_version".
// Version 2 keeps each image's names in the `names` column family instead of
// the image record; a writer that opens a version 1 store upgrades it
// (upgrade.h). Version 3 writes media types in image and blob records as
// one-byte codes; it reads version 2's records as they are, so a writer that
// opens a version 2 store only records the new version, and a read-only open
// reads a version 2 store without upgrading it.
inline constexpr int kFormatVersion = 3;

// A descriptor as stored: raw digest (32 bytes), size, media type.
struct StoredDescriptor {
  std::string raw_digest;
  int64_t size = 0;
  std::string media_type;
  // In an image record: the image owns the blob, i.e. it is the blob's only
  // user and no lease holds it (the blob record names it as owner), so
  // deleting the image frees the blob without reading its record.
  bool owned = false;
};

// A name of an image: the full normalized name and when it was created.
// Stored as names[ns \0 id full] -> created_ns (EncodeNameValue).
struct NameEntry {
  std::string full;
  int64_t created_ns = 0;
};

// Value of images[ns \0 id].
struct ImageRecord {
  StoredDescriptor target;                // raw_digest == the image ID
  std::vector<StoredDescriptor> content;  // distinct, never the target
  std::map<std::string, std::string> labels;
  int64_t created_ns = 0;
  // The image's names are not in the record (a tag would rewrite every name
  // before it): they are the `names` column family's keys under ns \0 id.
  int64_t dangling_since_ns = 0;  // meaningful when it has no name
  uint64_t holders = 0;           // containers of the namespace holding it
  int64_t last_used_ns = 0;       // a container created or started from it, else creation
  bool pinned = false;            // prune skips it; rmi needs force
};

// How one namespace uses a blob: `refs` images of the namespace use it,
// `held` of those are protected: held by a container of the namespace, or
// pinned (mutate.h Protected).
struct NsUse {
  std::string ns;
  uint64_t refs = 0;
  uint64_t held = 0;
};

// Value of blobs[digest]: shared by every namespace.
struct BlobRecord {
  int64_t size = 0;
  std::string media_type;
  uint64_t lease_refs = 0;  // (namespace, lease) pairs that hold the blob
  std::vector<NsUse> uses;  // sorted by ns; only namespaces with refs > 0
  // The image that owns the blob (see StoredDescriptor::owned), if any.
  std::string owner_ns;
  std::string owner_id;  // raw image ID; empty: no owner

  // (namespace, image) pairs that use the blob.
  uint64_t image_refs() const;
  // The entry of `ns`, inserted (with zero counts) if missing.
  NsUse& Use(std::string_view ns);
  // The entry of `ns`, or null.
  const NsUse* FindUse(std::string_view ns) const;
};

// Value of stats[ns]: the namespace's df figures, kept current by every
// change (see DESIGN.md, "df without a scan").
struct NsStats {
  int64_t images = 0;       // images in the namespace
  int64_t active = 0;       // of those, held by a container
  int64_t size = 0;         // bytes of distinct blobs its images use
  int64_t shared_size = 0;  // part of size in blobs used by 2+ images (any namespace)
  int64_t reclaimable = 0;  // bytes prune -a would free, leaving out lease-held blobs
  // Set (never stored) when a sum did not fit in int64: descriptor sizes may
  // each be up to 2^63-1, their sums may not (Txn::Finish refuses the change).
  bool overflow = false;

  // Adds `o`; a sum that does not fit sets `overflow` (and leaves garbage).
  NsStats& operator+=(const NsStats& o);
  bool operator==(const NsStats& o) const;
  bool IsZero() const { return *this == NsStats{}; }
};

// Value of garbage[digest]: a blob file the collector is to delete. Written
// in the same atomic write that frees the blob (its record goes), or before a
// new blob file is published (so that a crash between publishing the file and
// recording the blob leaves no file without a record). A blob never has both
// a blob record and a garbage record.
struct GarbageRecord {
  int64_t size = 0;  // the declared size
};

// Value of containers[ns \0 cid].
struct ContainerRecord {
  std::string image_raw;  // the image ID it holds (raw)
  bool running = false;
  int64_t created_ns = 0;
  std::vector<std::string> protected_names;  // full names prune -a keeps
  std::string name;  // docker's container name ("" none); absent from records before it
};

// Value of leases[ns \0 lease].
struct LeaseRecord {
  bool has_expiry = false;
  int64_t expires_ns = 0;
  int64_t created_ns = 0;
};

std::string EncodeImage(const ImageRecord& r);
std::string EncodeBlob(const BlobRecord& r);
std::string EncodeContainer(const ContainerRecord& r);
std::string EncodeLease(const LeaseRecord& r);
std::string EncodeStats(const NsStats& r);
std::string EncodeGarbage(const GarbageRecord& r);
std::string EncodeNameValue(int64_t created_ns);

// Decoders return DataLoss naming `what` (the key, printable) on corrupt
// input or an unknown record version.
absl::StatusOr<ImageRecord> DecodeImage(std::string_view v, std::string_view what);
// Records written by format version 1 (record versions 1 and 2) hold the
// image's names; DecodeImage skips them, this stores them in `*names` (left
// empty for a current record). Only the format upgrade reads them.
absl::StatusOr<ImageRecord> DecodeImageWithLegacyNames(std::string_view v, std::string_view what,
                                                       std::vector<NameEntry>* names);
// Whether an image record was written by format version 1.
bool IsLegacyImageRecord(std::string_view v);
absl::StatusOr<int64_t> DecodeNameValue(std::string_view v, std::string_view what);
absl::StatusOr<BlobRecord> DecodeBlob(std::string_view v, std::string_view what);
absl::StatusOr<ContainerRecord> DecodeContainer(std::string_view v, std::string_view what);
absl::StatusOr<LeaseRecord> DecodeLease(std::string_view v, std::string_view what);
absl::StatusOr<NsStats> DecodeStats(std::string_view v, std::string_view what);
absl::StatusOr<GarbageRecord> DecodeGarbage(std::string_view v, std::string_view what);

}  // namespace refstore::internal

#endif  // REFSTORE_FORMAT_CODEC_H_
