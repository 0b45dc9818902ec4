// The content store: opening it, and writing blob files under a lease (the
// collector is gc/collect.cc).
//
// Every step that touches a file happens under the write mutex together with
// the metadata commit it pairs with, so within a process the collector and a
// writer never interleave; across a crash, the garbage records say which
// files may have to go (see DESIGN.md, "Content and collection").
#include "absl/cleanup/cleanup.h"
#include "refstore/db/mutate.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

constexpr char kContentKey[] = "content_store";

}  // namespace

absl::Status StoreImpl::OpenContent(std::string_view path, content::FileHooks* hooks) {
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
    ASSIGN_OR_RETURN(content::ContentDir dir,
                     content::ContentDir::Open(Cat(path, "/content"), hooks,
                                               content::ContentDir::Mode::kCreate));
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
  const content::ContentDir::Mode mode = options_.read_only ? content::ContentDir::Mode::kReadOnly
                                         : options_.recreate_missing_content
                                             ? content::ContentDir::Mode::kCreate
                                             : content::ContentDir::Mode::kExisting;
  ASSIGN_OR_RETURN(content::ContentDir dir,
                   content::ContentDir::Open(Cat(path, "/content"), hooks, mode));
  content_.emplace(std::move(dir));
  return absl::OkStatus();
}

absl::Status StoreImpl::WriteBlob(const OpContext& ctx, std::string_view lease, const Descriptor& d,
                                  const BlobReader& reader) {
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
    std::optional<content::IngestFile> file;
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
    ASSIGN_OR_RETURN(item.file, content_->Ingest(RawToHex(item.stored.raw_digest), item.stored.size,
                                                 *item.reader));
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

}  // namespace refstore::internal
