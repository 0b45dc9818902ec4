// mutate.h: the building blocks every changing operation is made of. Each
// keeps the invariants of DESIGN.md within one Txn, including the df figures
// of every namespace (through Txn::StatsDelta): a caller that commits the Txn
// after any sequence of these calls writes a consistent store.
#ifndef REFSTORE_DB_MUTATE_H_
#define REFSTORE_DB_MUTATE_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "refstore/db/txn.h"
#include "refstore/format/codec.h"

namespace refstore::internal {

// Blobs freed by a change, in the order they were freed.
struct Freed {
  int64_t bytes = 0;
  std::vector<StoredDescriptor> blobs;
};

// What blob `b` adds to the df figures of each namespace using it: calls
// `add(ns, figures)` for each, with `sign` +1 to add and -1 to remove. The
// lease-held part of reclaimable is left out: it depends on the time and is
// worked out when df runs.
template <typename Add>
void ForEachContribution(const BlobRecord& b, int sign, Add&& add) {
  const int64_t size = sign * b.size;
  const bool shared = b.image_refs() >= 2;
  // prune -a of namespace N frees the blob when only N's images use it, none
  // of them is held, and no lease holds it.
  const bool reclaimable = b.lease_refs == 0 && b.uses.size() == 1 && b.uses[0].held == 0;
  for (const auto& u : b.uses) {
    add(u.ns,
        NsStats{
            .size = size, .shared_size = shared ? size : 0, .reclaimable = reclaimable ? size : 0});
  }
}

// InvalidArgument when the blob is recorded with a size other than d.size.
absl::Status CheckBlobSize(Txn& txn, const StoredDescriptor& d);

// Adds one reference from image (ns, id) to blob `d`, creating its record;
// `held`: the image is held by a container. A new blob is owned by the image
// when `can_own` (d.owned is set accordingly); a blob another image owned is
// owned no more. InvalidArgument when the blob is recorded with another size.
absl::Status AddImageRef(Txn& txn, std::string_view ns, std::string_view id, StoredDescriptor& d,
                         bool held, bool can_own);

// Drops one reference from an image of `ns` to blob `d` (as the image
// record lists it). The blob is freed (record deleted, added to `freed`) when
// nothing but expired leases holds it any more; the holds of those expired
// leases go with it. An owned blob is freed without reading its record.
absl::Status DropImageRef(Txn& txn, std::string_view ns, const StoredDescriptor& d, bool held,
                          int64_t now_ns, Freed* freed);

// Adds the blob to lease (ns, lease) unless it holds it already.
absl::Status AddLeaseRef(Txn& txn, std::string_view ns, std::string_view lease,
                         const StoredDescriptor& d);

// Removes lease (ns, lease) and its holds, freeing what only it (or other
// expired leases) held.
absl::Status DropLease(Txn& txn, std::string_view ns, std::string_view lease, int64_t now_ns,
                       Freed* freed);

// Whether lease `r` protects content at `now_ns`.
bool LeaseIsLive(const LeaseRecord& r, int64_t now_ns);

// The leases holding blob `raw`, as (namespace, lease ID) pairs in key order
// (live or expired).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LeasesHolding(
    Txn& txn, std::string_view raw);

// An image is protected while a container holds it or it is pinned: prune
// never removes it, so the blobs it uses count it in their `held` figure
// (which keeps them out of df's reclaimable, as prune -a would).
inline bool Protected(const ImageRecord& img) { return img.holders > 0 || img.pinned; }

// Adds (held) or removes one protected image of `ns` from the held counts
// of every blob of `img`.
absl::Status SetBlobsHeld(Txn& txn, std::string_view ns, const ImageRecord& img, bool held);

// Adds (`delta` +1) or removes (-1) a container of `ns` holding image
// (ns, id), whose record is `img` (updated and written). When the image gains
// its first holder or loses its last, the namespace's active count follows,
// and the held counts of its blobs unless a pin keeps it protected.
absl::Status ChangeHolders(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                           int delta);

// Points name `full` at image (ns, id). An image the name pointed to
// before loses it (and dangles from `now_ns` if it has no other name). No-op
// when the name already points there. Costs the same however many names
// either image has. REQUIRES: a kIndexed Txn.
absl::Status SetName(Txn& txn, std::string_view ns, std::string_view id, std::string_view full,
                     int64_t now_ns);

// Whether image (ns, id) has a name, as this Txn would leave it (kIndexed).
absl::StatusOr<bool> HasNames(Txn& txn, std::string_view ns, std::string_view id);

// Records that image (ns, id), whose record is `img` (updated and written),
// has no name from `now_ns` on.
void MarkDangling(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                  int64_t now_ns);

// Removes `names` (full names the image has) from image (ns, id), whose
// record is `img`. `none_left`: they are all the names it has; it then
// dangles from `now_ns` (`img` is updated and written).
void RemoveNames(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                 const std::vector<std::string>& names, bool none_left, int64_t now_ns);

// The full names of `names`, in the same order.
std::vector<std::string> FullNames(const std::vector<NameEntry>& names);

// Writes a new image (ns, id) with its digest reference and a reference on
// each blob (and lease holds when `lease` is non-empty). It has no name yet:
// it is written dangling unless `named` (the caller names it with SetName in
// the same change, which would only delete the dangling entry again).
// `img.holders` is set from the containers already holding its ID.
absl::Status InsertImage(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                         std::string_view lease, bool named);

// Deletes image (ns, id): its record, digest reference, names (`names`:
// all of them, Txn::GetNames) and dangling entry, and one reference on each
// of its blobs. Containers holding it keep their holder entries (they hold
// the ID, should it come back).
absl::Status DeleteImage(Txn& txn, std::string_view ns, std::string_view id, const ImageRecord& img,
                         const std::vector<NameEntry>& names, int64_t now_ns, Freed* freed);

// Every blob of the image: the target then the content.
std::vector<const StoredDescriptor*> ImageBlobs(const ImageRecord& img);
std::vector<StoredDescriptor*> MutableImageBlobs(ImageRecord& img);

// Containers of namespace `ns` holding image `id`, as (raw cid, running),
// in ascending ID order.
absl::StatusOr<std::vector<std::pair<std::string, bool>>> Holders(Txn& txn, std::string_view ns,
                                                                  std::string_view id);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_MUTATE_H_
