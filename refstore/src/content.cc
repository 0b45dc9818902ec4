// The content store: writing blob files under a lease, and the collector.
//
// Every step that touches a file happens under the write mutex together with
// the metadata commit it pairs with, so within a process the collector and a
// writer never interleave; across a crash, the garbage records say which
// files may have to go (see DESIGN.md, "Content and collection").
#include "absl/cleanup/cleanup.h"
#include "mutate.h"
#include "reserve.h"
#include "status_macros.h"
#include "store_impl.h"
#include "strcat.h"

namespace refstore::internal {
namespace {

constexpr char kContentKey[] = "content_store";
// Garbage records handled per atomic write (and per hold of the write mutex).
constexpr size_t kCollectBatch = 512;

}  // namespace

absl::Status StoreImpl::OpenContent(std::string_view path, gc::FileHooks* hooks) {
  std::string value;
  rocksdb::Status s = db_->Get({}, cfs_[kDefault], kContentKey, &value);
  if (!s.ok() && !s.IsNotFound()) return RocksError(s, kContentKey);
  bool has = s.ok();
  if (!has && options_.content_store && !options_.read_only) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cfs_[kBlobs]));
    it->SeekToFirst();
    if (!it->status().ok()) return RocksError(it->status(), "blobs");
    if (it->Valid()) {
      return absl::FailedPreconditionError(
          Cat("store ", path, " was created without a content store and already counts blobs"));
    }
    // The directory first, then the key that says it exists: a crash
    // between leaves a metadata store and an empty directory, never a key
    // without its directory.
    ASSIGN_OR_RETURN(gc::ContentDir dir, gc::ContentDir::Open(Cat(path, "/content"), hooks,
                                                              gc::ContentDir::Mode::kCreate));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Put(wo, cfs_[kDefault], kContentKey, "content");
    if (!s.ok()) return RocksError(s, kContentKey);
    content_.emplace(std::move(dir));
    return absl::OkStatus();
  }
  if (!has) return absl::OkStatus();
  // An existing content store's directory must be there (not mounted: an
  // error, never a new empty directory), unless the caller says its files
  // are gone for good (StoreOptions::recreate_missing_content).
  const gc::ContentDir::Mode mode =
      options_.read_only ? gc::ContentDir::Mode::kReadOnly
      : options_.recreate_missing_content ? gc::ContentDir::Mode::kCreate
                                          : gc::ContentDir::Mode::kExisting;
  ASSIGN_OR_RETURN(gc::ContentDir dir, gc::ContentDir::Open(Cat(path, "/content"), hooks, mode));
  content_.emplace(std::move(dir));
  return absl::OkStatus();
}

absl::Status StoreImpl::WriteBlob(const OpContext& ctx, std::string_view lease,
                                  const Descriptor& d, const BlobReader& reader) {
  return WriteBlobs(ctx, lease, {{d, &reader}}, nullptr);
}

absl::Status StoreImpl::WriteBlobs(const OpContext& ctx, std::string_view lease,
                                   const std::vector<BlobToWrite>& blobs, Written* written) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateLeaseId(lease));
  if (!content_) return absl::FailedPreconditionError("the store has no content store");
  struct Item {
    StoredDescriptor stored;
    const BlobReader* reader;
    std::optional<gc::IngestFile> file;
    bool published = false;
  };
  std::vector<Item> items;
  absl::flat_hash_set<std::string> seen;
  for (const BlobToWrite& b : blobs) {
    ASSIGN_OR_RETURN(StoredDescriptor stored, ToStored(b.descriptor));
    if (!seen.insert(stored.raw_digest).second) continue;
    items.push_back({std::move(stored), b.reader, std::nullopt});
  }
  {
    MutexLock lock(ingest_mu_);
    ++active_ingests_;
  }
  absl::Cleanup done = [&] {
    for (const Item& item : items) {
      if (item.file && !item.published) content_->Discard(*item.file);
    }
    MutexLock lock(ingest_mu_);
    --active_ingests_;
  };
  auto ingest = [&](Item& item) -> absl::Status {
    ASSIGN_OR_RETURN(item.file, content_->Ingest(RawToHex(item.stored.raw_digest),
                                                 item.stored.size, *item.reader));
    return absl::OkStatus();
  };
  {
    // 1. The bytes of each blob the store does not have yet, verified, into
    // temporary files (fsynced), outside the lock. A blob already stored is
    // not read again (as containerd's content store answers AlreadyExists).
    Txn txn = NewTxn();
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ctx.ns, lease));
    if (!rec) return absl::NotFoundError(Cat("lease ", lease, " not found"));
    for (Item& item : items) {
      ASSIGN_OR_RETURN(auto blob, txn.GetBlob(item.stored.raw_digest));
      if (!blob) RETURN_IF_ERROR(ingest(item));
    }
  }

  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(auto rec, txn.GetLease(ctx.ns, lease));
  if (!rec) return absl::NotFoundError(Cat("lease ", lease, " not found"));
  std::vector<Item*> fresh;  // blobs without a record: their files go in
  for (Item& item : items) {
    ASSIGN_OR_RETURN(auto blob, txn.GetBlob(item.stored.raw_digest));
    if (blob) continue;
    if (!item.file) RETURN_IF_ERROR(ingest(item));  // freed since we looked: rare
    fresh.push_back(&item);
  }
  if (!fresh.empty()) {
    // 2. Garbage records first (one synced write): if we crash after a
    // rename and before the commit, the collector deletes the file.
    Txn intent = NewTxn();
    for (Item* item : fresh) {
      intent.Put(kGarbage, item->stored.raw_digest, EncodeGarbage({item->stored.size}));
    }
    RETURN_IF_ERROR(Commit(intent, /*sync=*/true));
    // 3. Rename into blobs/sha256, then one fsync of the directory.
    for (Item* item : fresh) {
      RETURN_IF_ERROR(content_->Publish(*item->file, /*sync_dir=*/false));
      item->published = true;
    }
    RETURN_IF_ERROR(content_->SyncBlobDir());
  }
  // 4. The metadata: the lease holds each blob (a new blob record drops its
  // garbage record in the same write).
  for (const Item& item : items) RETURN_IF_ERROR(AddLeaseRef(txn, ctx.ns, lease, item.stored));
  RETURN_IF_ERROR(Commit(txn));
  if (written) {
    for (const Item* item : fresh) {
      ++written->blobs;
      written->bytes += item->stored.size;
    }
  }
  return absl::OkStatus();
}

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
