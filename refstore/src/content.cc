// The content store: writing blob files under a lease, and the collector.
//
// Every step that touches a file happens under the write mutex together with
// the metadata commit it pairs with, so within a process the collector and a
// writer never interleave; across a crash, the garbage records say which
// files may have to go (see DESIGN.md, "Content and collection").
#include "absl/cleanup/cleanup.h"
#include "mutate.h"
#include "status_macros.h"
#include "store_impl.h"
#include "strcat.h"

namespace refstore::internal {
namespace {

constexpr char kContentKey[] = "content_store";
// Garbage records handled per atomic write (and per hold of the write mutex).
constexpr size_t kCollectBatch = 512;

}  // namespace

absl::Status StoreImpl::OpenContent(std::string_view path) {
  std::string value;
  rocksdb::Status s = db_->Get({}, cfs_[kDefault], kContentKey, &value);
  if (!s.ok() && !s.IsNotFound()) return RocksError(s, kContentKey);
  bool has = s.ok();
  if (!has && options_.content_store) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cfs_[kBlobs]));
    it->SeekToFirst();
    if (it->Valid()) {
      return absl::FailedPreconditionError(
          Cat("store ", path, " was created without a content store and already counts blobs"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Put(wo, cfs_[kDefault], kContentKey, "content");
    if (!s.ok()) return RocksError(s, kContentKey);
    has = true;
  }
  if (!has) return absl::OkStatus();
  ASSIGN_OR_RETURN(gc::ContentDir dir, gc::ContentDir::Open(Cat(path, "/content")));
  content_.emplace(std::move(dir));
  return absl::OkStatus();
}

absl::Status StoreImpl::WriteBlob(const OpContext& ctx, std::string_view lease,
                                  const Descriptor& d, const BlobReader& reader) {
  bool published = false;
  return WriteBlobImpl(ctx, lease, d, reader, &published);
}

absl::Status StoreImpl::WriteBlobImpl(const OpContext& ctx, std::string_view lease,
                                      const Descriptor& d, const BlobReader& reader,
                                      bool* published) {
  RETURN_IF_ERROR(ValidateNamespace(ctx.ns));
  RETURN_IF_ERROR(ValidateLeaseId(lease));
  ASSIGN_OR_RETURN(StoredDescriptor stored, ToStored(d));
  if (!content_) return absl::FailedPreconditionError("the store has no content store");
  {
    Txn txn = NewTxn();
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ctx.ns, lease));
    if (!rec) return absl::NotFoundError(Cat("lease ", lease, " not found"));
  }
  const std::string hex = RawToHex(stored.raw_digest);
  {
    absl::MutexLock lock(&ingest_mu_);
    ++active_ingests_;
  }
  absl::Cleanup done = [&] {
    absl::MutexLock lock(&ingest_mu_);
    --active_ingests_;
  };
  // 1. The bytes, verified, into a temporary file (fsynced), outside the lock.
  ASSIGN_OR_RETURN(gc::IngestFile file, content_->Ingest(hex, d.size, reader));
  absl::Cleanup discard = [&] {
    if (!*published) content_->Discard(file);
  };

  absl::MutexLock lock(&write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(auto rec, txn.GetLease(ctx.ns, lease));
  if (!rec) return absl::NotFoundError(Cat("lease ", lease, " not found"));
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(stored.raw_digest));
  if (!blob) {
    // 2. A garbage record first (synced): if we crash after the rename and
    // before the commit, the collector deletes the file.
    Txn intent = NewTxn();
    intent.Put(kGarbage, stored.raw_digest, EncodeGarbage({d.size}));
    RETURN_IF_ERROR(Commit(intent, /*sync=*/true));
    // 3. Rename into blobs/sha256 and fsync the directory.
    RETURN_IF_ERROR(content_->Publish(file));
    *published = true;
  }
  // 4. The metadata: the lease holds the blob (a new blob record drops the
  // garbage record in the same write).
  RETURN_IF_ERROR(AddLeaseRef(txn, ctx.ns, lease, stored));
  return Commit(txn);
}

absl::StatusOr<CollectResult> StoreImpl::Collect() { return CollectGarbage(); }

absl::StatusOr<CollectResult> StoreImpl::CollectAfterChange() {
  if (!content_ || !options_.collect_after_changes) return CollectResult{};
  return CollectGarbage();
}

absl::StatusOr<CollectResult> StoreImpl::CollectGarbage() {
  CollectResult out;
  if (!content_) return out;
  std::string start;
  for (;;) {
    absl::MutexLock lock(&write_mu_);
    Txn txn = NewTxn();
    std::vector<std::string> raws;
    {
      auto it = txn.Scan(kGarbage, "", start);
      for (; it.Valid() && raws.size() < kCollectBatch; it.Next()) raws.emplace_back(it.key());
      RETURN_IF_ERROR(it.status());
    }
    if (raws.empty()) break;
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
  absl::MutexLock lock(&ingest_mu_);
  if (active_ingests_ == 0) {
    ASSIGN_OR_RETURN(int removed, content_->CleanIngest({}));
    out.temp_files_deleted = removed;
  }
  return out;
}

}  // namespace refstore::internal
