// recount.h: the recount of the blob records from the primary records,
// shared by check and repair.
//
// Every image (fed in the images column family's key order) and every lease
// hold adds one edge per blob it uses. The edges are sorted by digest with
// an external sort (ExternalSorter: fixed-size runs spilled to a temporary
// directory, then merged), and come back grouped into the blob record each
// digest must have, in the blobs column family's key order, so that callers
// merge-join them with the stored records. Memory is bounded by the sort's
// buffer and the namespaces and media types seen (a handful), not by the
// size of the store.
//
// Thread-compatible.
#ifndef REFSTORE_GC_RECOUNT_H_
#define REFSTORE_GC_RECOUNT_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "refstore/db/txn.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "refstore/util/external_sort.h"

namespace refstore::internal {

// What the recount says one blob's record must be.
struct ExpectedBlob {
  std::string raw;  // the raw digest (key of the blobs column family)
  // Uses (sorted by namespace) and lease_refs as counted; size and media
  // type as the first image using it (in key order) declares them, else as
  // the first lease hold gives them; the owner is the image flagging the
  // blob owned when it is the blob's only user and no lease holds it (an
  // owner is never made up: a consistent store is left as it is).
  BlobRecord rec;
  uint64_t image_uses = 0;     // (namespace, image) pairs using it
  std::vector<int64_t> sizes;  // distinct sizes the images declare
  // Images, as (namespace, raw ID) in key order, whose record flags the blob
  // owned (at most one in a consistent store), and those declaring a size
  // other than the first image's (none in a consistent store).
  std::vector<std::pair<std::string, std::string>> flagged, other_size;
};

struct RecountOptions {
  // Where the sort's temporary directory goes.
  std::string sort_dir = DefaultSortDir();
  size_t memory_bytes = kSortRunBytes;
};

class BlobRecount {
 public:
  explicit BlobRecount(const RecountOptions& options = RecountOptions());

  // Image (ns, id) with record `img` uses each of its blobs; `held`: it is
  // protected (a container holds it, or it is pinned). Call in image key
  // order: the first image declaring a blob gives its size.
  absl::Status AddImage(std::string_view ns, std::string_view id, const ImageRecord& img,
                        bool held);
  // A lease of a namespace holds blob `raw`, of `size` (-1: unknown) and
  // `media_type`.
  absl::Status AddLeaseHold(std::string_view raw, int64_t size, std::string_view media_type);

  // Calls `fn` with each blob some image or lease uses, in digest order.
  // Call once, after the last Add.
  absl::Status ForEach(const std::function<absl::Status(const ExpectedBlob&)>& fn);

  // Edges added; run files the sort spilled.
  uint64_t edges() const { return sorter_.count(); }
  size_t runs() const { return sorter_.runs(); }

 private:
  struct Edge {
    std::array<uint8_t, kRawIdSize> raw;  // unsigned: sorts as RocksDB's keys do
    uint64_t seq;                         // the order added
    int64_t size;
    std::array<uint8_t, kRawIdSize> id;  // the image's (zeros for a lease)
    uint32_t ns;                         // namespace index, kLease for a lease
    uint32_t media_type;                 // media type index
    bool held;
    bool owned;
  };
  static constexpr uint32_t kLease = UINT32_MAX;
  struct EdgeLess {
    bool operator()(const Edge& a, const Edge& b) const {
      if (a.raw != b.raw) return a.raw < b.raw;
      return a.seq < b.seq;
    }
  };

  uint32_t Intern(std::vector<std::string>& table,
                  absl::flat_hash_map<std::string, uint32_t>& index, std::string_view s);
  absl::Status Add(std::string_view raw, std::string_view id, uint32_t ns, int64_t size,
                   std::string_view media_type, bool held, bool owned);

  ExternalSorter<Edge, EdgeLess> sorter_;
  uint64_t seq_ = 0;
  std::vector<std::string> namespaces_, media_types_;
  absl::flat_hash_map<std::string, uint32_t> ns_index_, mt_index_;
};

}  // namespace refstore::internal

#endif  // REFSTORE_GC_RECOUNT_H_
