// gc.h: the collector, check and repair, over a StoreAccess.
//
// The Store (refstore/store/) calls these; they know nothing of it beyond
// store_access.h. Errors are absl::Status as everywhere: Internal for a
// RocksDB or file system error, naming the key or path.
#ifndef REFSTORE_GC_GC_H_
#define REFSTORE_GC_GC_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "gc/store_access.h"
#include "refstore/store.h"

namespace refstore::internal {

// Recomputes every count and relation from the primary records over one
// snapshot (the latest state when the database has no snapshots) and
// reports each difference from what is stored, as Store::Check does. File
// findings are confirmed on the latest state, each under *store.write_mu
// (taken briefly here). Memory is bounded whatever the store's size
// (recount.h). REQUIRES: *store.write_mu not held.
absl::StatusOr<std::vector<Problem>> CheckStore(const StoreAccess& store,
                                                const CheckOptions& options);

// Repair's rebuild: makes every derived record what the primary records
// imply (repair.cc says which are which), appending one line per change to
// out->actions and counting removed images in out->images_removed. Writes
// in bounded batches through store.commit. REQUIRES: *store.write_mu held.
absl::Status RebuildDerivedRecords(const StoreAccess& store, int64_t now_ns, RepairResult* out);

// The collector: deletes the files that garbage records name, a batch at a
// time under *store.write_mu (taken here), syncing the blob directory before
// the records go. Adds to `out` (files and records; not temporary files).
// REQUIRES: *store.write_mu not held; store.content not null.
absl::Status CollectGarbageRecords(const StoreAccess& store, CollectResult* out);

}  // namespace refstore::internal

#endif  // REFSTORE_GC_GC_H_
