// The collector: deletes the files of the content store that garbage
// records name, each batch under the write mutex and before the records go
// (see DESIGN.md, "Content and collection").
#include "refstore/db/reserve.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// Garbage records handled per atomic write (and per hold of the write mutex).
constexpr size_t kCollectBatch = 512;

}  // namespace

absl::StatusOr<CollectResult> StoreImpl::Collect() {
  RETURN_IF_ERROR(Writable());
  return CollectGarbage();
}

absl::StatusOr<CollectResult> StoreImpl::CollectAfterChange() {
  if (!content_ || !options_.collect_after_changes) return CollectResult{};
  // The change is committed: a failed collection is reported beside it,
  // never as the change's error (store.h: an error means nothing changed).
  absl::StatusOr<CollectResult> collected = CollectGarbage();
  if (collected.ok()) return collected;
  CollectResult out;
  out.error = collected.status().ToString();
  return out;
}

absl::StatusOr<CollectResult> StoreImpl::CollectGarbage() {
  CollectResult out;
  if (!content_) return out;
  std::string start;
  for (;;) {
    MutexLock lock(write_mu_);
    Txn txn = NewTxn();
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
    if (!options_.sync_writes) {
      rocksdb::Status synced = db_->SyncWAL();
      if (!synced.ok()) return RocksError(synced, "the write-ahead log");
    }
    for (const std::string& raw : raws) {
      txn.Delete(kGarbage, raw);
      ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
      if (blob) {  // referenced again: the file stays
        ++out.records_dropped;
        continue;
      }
      if (raw.size() != kRawIdSize) continue;  // a bad key: the record goes
      const std::string hex = RawToHex(raw);
      absl::StatusOr<std::optional<int64_t>> size = content_->BlobSize(hex);
      if (!size.ok() && !absl::IsInvalidArgument(size.status())) return size.status();
      ASSIGN_OR_RETURN(int64_t removed, content_->RemoveBlob(hex));
      if (size.ok() && *size) {
        ++out.files_deleted;
        out.bytes_deleted += **size;
      } else {
        ++out.records_dropped;  // deleted before a crash, or never published
        (void)removed;
      }
    }
    // The files are gone for good before their records go.
    RETURN_IF_ERROR(content_->SyncBlobDir());
    RETURN_IF_ERROR(Commit(txn));
    start = raws.back();
    start.push_back('\0');
  }
  MutexLock lock(ingest_mu_);
  if (active_ingests_ == 0) {
    ASSIGN_OR_RETURN(int removed, content_->CleanIngest({}));
    out.temp_files_deleted = removed;
  }
  // Files went: room, perhaps, for the reserve a full disk took (reserve.h).
  if (out.files_deleted > 0) EnsureReserve(db_->GetName(), /*times=*/1);
  return out;
}

}  // namespace refstore::internal
