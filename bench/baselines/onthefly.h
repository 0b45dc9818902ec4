// onthefly.h: the "on-the-fly" baseline, the reference-tracking design that
// container engines use today (containerd's metadata store + mark-and-sweep
// GC, driven by docker's `image prune -a`), kept in RocksDB with exactly the
// settings refstore opens with, so that a benchmark compares designs.
//
// What is stored (no reference counts anywhere):
//   images      ns \0 name  -> target descriptor. One record per name; an
//                              image without a name has one record named
//                              "moby-dangling@<digest>", as docker does.
//   content     digest      -> {size, media type, children}. A target's
//                              children are the image's other blobs (what
//                              containerd's gc.ref labels say). Global: a blob
//                              is one record whatever namespaces use it.
//   containers  ns \0 id    -> {image ref as the user typed it, running}
//   leases      ns \0 id    -> {expiry, content digests}
//
// What an operation costs:
//   Apply(create image)  one write: the record (and, for a new target, its
//                        content records; a name moved away from an image
//                        that has no other name leaves a dangling record).
//   PruneAll             list the namespace's records and containers,
//                        resolve the containers' references now, delete each
//                        unused record in its own write, remove expired
//                        leases, then mark and sweep the whole content store
//                        to learn what was freed (once, or after every record
//                        as docker's synchronous deletes do).
//   RemoveByName         delete one record, then mark and sweep.
//
// Semantics (SEMANTICS.md §1, §5, §6): prune -a in namespace N deletes every
// image of N that no container of N uses; a blob is freed when no record of
// any namespace reaches it and no remaining lease holds it; expired leases of
// every namespace are removed by a prune and the content only they held is
// counted. One deliberate difference from refstore: a container created with
// a name protects whatever that name points to at prune time (docker), not the
// image it was created from (refstore holds by ID). They differ only when the
// name has moved since the container was created.
//
// Example:
//   auto store = refstore::bench::OnTheFlyStore::Open("/tmp/otf");
//   for (const Event& e : events) RETURN_IF_ERROR((*store)->Apply(e));
//   auto r = (*store)->PruneAll({.ns = "ns0", .now = end},
//                               OnTheFlyStore::GcMode::kOncePerPrune);
//
// Thread-safety: none; one thread at a time per store.
#ifndef REFSTORE_BENCH_BASELINES_ONTHEFLY_H_
#define REFSTORE_BENCH_BASELINES_ONTHEFLY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/store.h"
#include "workload/workload.h"

namespace refstore::bench {

// What a prune or a remove did, and where its time went.
struct OnTheFlyResult {
  int64_t images_deleted = 0;   // images whose last record was deleted
  int64_t records_deleted = 0;  // image records deleted (names + dangling)
  int64_t leases_removed = 0;   // expired leases removed (prune only)
  int64_t blobs_freed = 0;      // content records swept
  int64_t reclaimed_bytes = 0;  // their sizes, each blob once
  int64_t gc_runs = 0;          // mark-and-sweep passes
  double resolve_seconds = 0;   // list records + containers, resolve refs
  double delete_seconds = 0;    // record (and expired lease) deletes
  double sweep_seconds = 0;     // every mark-and-sweep pass
  // kPerRecord: false when the budget ran out before every record was
  // deleted; records_done of records_planned were (the figures above cover
  // exactly those).
  bool finished = true;
  int64_t records_done = 0;
  int64_t records_planned = 0;
};

class OnTheFlyStore {
 public:
  enum class GcMode {
    // containerd's GC: delete every record, then one mark-and-sweep.
    kOncePerPrune,
    // What docker's prune really does: it deletes with
    // images.SynchronousDelete(), so containerd runs a full mark-and-sweep
    // after every record. Quadratic; bounded by a time budget.
    kPerRecord,
  };

  // Opens (creating if missing) the store in directory `dir`.
  // Errors: Internal (RocksDB could not open), DataLoss (bad record).
  static absl::StatusOr<std::unique_ptr<OnTheFlyStore>> Open(std::string_view dir);

  ~OnTheFlyStore();
  OnTheFlyStore(const OnTheFlyStore&) = delete;
  OnTheFlyStore& operator=(const OnTheFlyStore&) = delete;

  // Applies one workload event, like ApplyToStore does for refstore.
  // A creation of an existing image only adds the name. A container is
  // recorded with its reference as typed; nothing is resolved then.
  // Errors: InvalidArgument (bad digest or name), Internal.
  absl::Status Apply(const Event& event);

  // docker image prune -a in namespace ctx.ns at time ctx.now.
  // kPerRecord stops before the next record once `budget` (measured from the
  // start of the call) has run out; kOncePerPrune ignores the budget.
  absl::StatusOr<OnTheFlyResult> PruneAll(const OpContext& ctx, GcMode mode,
                                          absl::Duration budget = absl::InfiniteDuration());

  // docker rmi NAME: deletes the record of `name` in `ns`. When it was the
  // image's last name, the image goes too: a mark-and-sweep then finds what
  // was freed. Every lease that exists, expired or not, is a root here (a
  // prune removes the expired ones). refstore differs in one corner: its rmi
  // also frees a blob of the image that only expired leases still hold.
  // Errors: NotFound "No such image: <name>"; FailedPrecondition when it is
  // the last name and a container of `ns` uses the image now.
  absl::StatusOr<OnTheFlyResult> RemoveByName(std::string_view ns, std::string_view name);

  // The image IDs ("sha256:<hex>") that have a record in `ns`, sorted.
  absl::StatusOr<std::vector<std::string>> ListImageIds(std::string_view ns);

  struct Impl;

 private:
  explicit OnTheFlyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_BASELINES_ONTHEFLY_H_
