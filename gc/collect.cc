// The collector: deletes the files of the content store that garbage
// records name, each batch under the write mutex and before the records go
// (see DESIGN.md, "Content and collection").
#include "gc/gc.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// Garbage records handled per atomic write (and per hold of the write mutex).
constexpr size_t kCollectBatch = 512;

}  // namespace

absl::Status CollectGarbageRecords(const StoreAccess& store, CollectResult* out) {
  content::ContentDir* const content = store.content;
  std::string start;
  for (;;) {
    MutexLock lock(*store.write_mu);
    std::unique_ptr<Txn> txn_ptr = store.NewTxn();
    Txn& txn = *txn_ptr;
    std::vector<std::string> raws;
    {
      auto it = txn.Scan(kGarbage, "", start);
      for (; it.Valid() && raws.size() < kCollectBatch; it.Next()) raws.emplace_back(it.key());
      RETURN_IF_ERROR(it.status());
    }
    if (raws.empty()) break;
    // The writes that made these blobs garbage (a remove, a prune, a lease
    // deletion) may still sit unsynced in the write-ahead log when
    // sync_writes is off. A file is deleted for good, so they must be on
    // the disk first: else a power cut would bring back records of blobs
    // whose files are gone. (Found by the power-loss test.)
    if (!store.sync_writes) {
      rocksdb::Status synced = store.db->SyncWAL();
      if (!synced.ok()) return RocksError(synced, "the write-ahead log");
    }
    for (const std::string& raw : raws) {
      txn.Delete(kGarbage, raw);
      ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
      if (blob) {  // referenced again: the file stays
        ++out->records_dropped;
        continue;
      }
      if (raw.size() != kRawIdSize) continue;  // a bad key: the record goes
      const std::string hex = RawToHex(raw);
      absl::StatusOr<std::optional<int64_t>> size = content->BlobSize(hex);
      if (!size.ok() && !absl::IsInvalidArgument(size.status())) return size.status();
      RETURN_IF_ERROR(content->RemoveBlob(hex).status());
      if (size.ok() && *size) {
        ++out->files_deleted;
        out->bytes_deleted += **size;
      } else {
        ++out->records_dropped;  // deleted before a crash, or never published
      }
    }
    // The files are gone for good before their records go.
    RETURN_IF_ERROR(content->SyncBlobDir());
    RETURN_IF_ERROR(store.commit(txn, /*sync=*/false));
    start = raws.back();
    start.push_back('\0');
  }
  return absl::OkStatus();
}

}  // namespace refstore::internal
