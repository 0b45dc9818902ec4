// store_impl.h: the RocksDB-backed implementation of refstore::Store.
#ifndef REFSTORE_STORE_STORE_IMPL_H_
#define REFSTORE_STORE_STORE_IMPL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "gc/store_access.h"
#include "refstore/content/content_dir.h"
#include "refstore/db/seams.h"
#include "refstore/db/txn.h"
#include "refstore/store.h"
#include "refstore/util/mutex.h"
#include "refstore/util/strcat.h"
#include "rocksdb/db.h"

namespace refstore::internal {

// Validation shared by the operations. Each returns InvalidArgument naming
// the bad value.
absl::Status ValidateNamespace(std::string_view ns);
// The namespace, and `now` inside the times a store keeps (filters.h).
absl::Status ValidateContext(const OpContext& ctx);
absl::Status ValidateLeaseId(std::string_view id);
absl::Status ValidateContainerId(std::string_view id);
// Checks a descriptor and converts it to its stored form.
absl::StatusOr<StoredDescriptor> ToStored(const Descriptor& d);
Descriptor FromStored(const StoredDescriptor& d);
int64_t ToNanos(absl::Time t);
// The collection after a committed change, as the change reports it: a
// failure is CollectResult::error, never the change's error.
CollectResult CollectedBeside(absl::StatusOr<CollectResult> collected);

class StoreImpl final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::string_view path,
                                                     const StoreOptions& options,
                                                     const Seams& seams = Seams());
  ~StoreImpl() override;
  // One attempt of Open: Unavailable when another process holds the store
  // (or, read-only, is creating it).
  static absl::StatusOr<std::unique_ptr<Store>> OpenOnce(std::string_view path,
                                                         const StoreOptions& options,
                                                         const Seams& seams);

  absl::StatusOr<std::string> CreateImage(const OpContext& ctx,
                                          const CreateImageRequest& request) override;
  absl::Status Tag(const OpContext& ctx, std::string_view source, std::string_view target) override;
  absl::StatusOr<RemoveResult> RemoveImage(const OpContext& ctx, std::string_view ref, bool force)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  using Store::CreateContainer;
  absl::StatusOr<std::string> CreateContainer(const OpContext& ctx, std::string_view id,
                                              std::string_view image_ref, bool running,
                                              std::string_view name) override;
  absl::Status StartContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status StopContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status RemoveContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status CreateLease(const OpContext& ctx, std::string_view id,
                           std::optional<absl::Time> expires) override;
  absl::Status AddLeaseContent(const OpContext& ctx, std::string_view id,
                               const std::vector<Descriptor>& content) override;
  absl::StatusOr<DeleteLeaseResult> DeleteLease(const OpContext& ctx, std::string_view id)
      ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<PruneResult> Prune(const OpContext& ctx, const PruneOptions& options)
      ABSL_LOCKS_EXCLUDED(write_mu_, prune_mu_) override;
  absl::StatusOr<std::vector<ImageSummary>> ListImages(const OpContext& ctx,
                                                       const ListOptions& options) override;
  absl::StatusOr<ImageDetail> Inspect(const OpContext& ctx, std::string_view ref) override;
  absl::StatusOr<DiskUsage> GetDiskUsage(const OpContext& ctx) override;
  absl::StatusOr<std::vector<Problem>> Check(const CheckOptions& options) override;
  absl::StatusOr<RepairResult> Repair(const OpContext& ctx) override;
  bool HasContentStore() const override { return content_.has_value(); }
  absl::Status WriteBlob(const OpContext& ctx, std::string_view lease, const Descriptor& d,
                         const BlobReader& reader) override;
  absl::StatusOr<CollectResult> Collect() ABSL_LOCKS_EXCLUDED(write_mu_) override;
  absl::StatusOr<ImportResult> ImportLayout(const OpContext& ctx, std::string_view dir,
                                            const ImportOptions& options) override;
  absl::StatusOr<ImportResult> Adopt(const OpContext& ctx) override;
  absl::Status Pin(const OpContext& ctx, std::string_view ref, bool pinned) override;
  absl::StatusOr<std::vector<ContainerInfo>> ListContainers(const OpContext& ctx) override;
  absl::StatusOr<std::vector<LeaseInfo>> ListLeases(const OpContext& ctx) override;
  absl::StatusOr<Explanation> Explain(const OpContext& ctx, std::string_view ref) override;
  absl::StatusOr<StoreStats> Stats() override;

 private:
  StoreImpl(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
            const StoreOptions& options);

  // A Txn reading the latest state (callers hold write_mu_ if they commit).
  Txn NewTxn(Txn::Mode mode = Txn::Mode::kIndexed) {
    Txn txn(db_.get(), &cfs_, nullptr, mode);
    txn.set_content(content_ ? &*content_ : nullptr);
    return txn;
  }
  // A kBulk Txn writing to `bulk` (txn.h), set up as NewTxn's.
  Txn NewBulkTxn(BulkWrite& bulk) {
    Txn txn(db_.get(), &cfs_, bulk);
    txn.set_content(content_ ? &*content_ : nullptr);
    return txn;
  }
  // What gc/ (collection, check, repair) works on: this store's database,
  // content store, write mutex and commit (verify.cc).
  StoreAccess Access();
  // FailedPrecondition when the store is open read-only.
  absl::Status Writable() const;
  // Writes the Txn; `sync` forces a synced write whatever sync_writes says.
  absl::Status Commit(Txn& txn, bool sync = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Writes a kBulk Txn through its BulkWrite: one write batch when it has
  // at most StoreOptions::bulk_ingest_writes writes, else ingested table
  // files (bulk_write.h). Either way one atomic change.
  absl::Status CommitBulk(Txn& txn, BulkWrite& bulk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Where a BulkWrite writes its table files: in the store's directory (the
  // database's filesystem, so that ingestion moves them). A crash may leave
  // it behind; a writer's Open removes it.
  std::string BulkDir() const { return Cat(db_->GetName(), "/", kBulkDirName); }
  // The write of a batch Commit and CommitBulk share.
  absl::Status WriteBatchNow(rocksdb::WriteBatch& batch, bool sync)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Before a write: when less than the reserve's size is available, the
  // reserve is given back first (reserve.h), so that RocksDB's log append
  // does not meet ENOSPC, after which this open can write nothing more (one
  // statvfs per write: a disk can fill between two writes, however close).
  void ReleaseReserveIfLow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Sets up the content store when the store has (or is created with) one.
  absl::Status OpenContent(std::string_view path, content::FileHooks* hooks);
  // Collect's body (it takes write_mu_ for each batch).
  absl::StatusOr<CollectResult> CollectGarbage() ABSL_LOCKS_EXCLUDED(write_mu_, ingest_mu_);
  // Collects after a change that may have freed content, when configured
  // (StoreOptions::collect_after_changes); a failure is the result's error,
  // since the change is committed.
  CollectResult CollectAfterChange() ABSL_LOCKS_EXCLUDED(write_mu_, ingest_mu_);
  // The bodies of the public calls that collect afterwards (they take
  // write_mu_ for their commit).
  absl::StatusOr<RemoveResult> RemoveImageLocked(const OpContext& ctx, std::string_view ref,
                                                 bool force) ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::StatusOr<int64_t> DeleteLeaseLocked(const OpContext& ctx, std::string_view id)
      ABSL_LOCKS_EXCLUDED(write_mu_);
  // WriteBlob of several blobs at once: one synced write of garbage
  // intents, one directory fsync and one commit for them all. `written`
  // (optional) counts the files stored.
  struct BlobToWrite {
    Descriptor descriptor;
    const BlobReader* reader;
  };
  struct Written {
    int64_t blobs = 0;
    int64_t bytes = 0;
  };
  absl::Status WriteBlobs(const OpContext& ctx, std::string_view lease,
                          const std::vector<BlobToWrite>& blobs, Written* written)
      ABSL_LOCKS_EXCLUDED(write_mu_, ingest_mu_);
  // Loads container `id` (NotFound "No such container: <id>" when absent),
  // lets `change` add its writes under the write lock, and commits.
  using ContainerChange =
      std::function<absl::Status(Txn& txn, const std::string& raw_cid, ContainerRecord& rec)>;
  absl::Status ChangeContainer(const OpContext& ctx, std::string_view id,
                               const ContainerChange& change) ABSL_LOCKS_EXCLUDED(write_mu_);
  // Start/stop share this: sets the running flag of a container.
  absl::Status SetRunning(const OpContext& ctx, std::string_view id, bool running);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  const StoreOptions options_;
  // Serializes every Txn that commits: read-modify-write of counts is safe
  // (Commit requires it).
  Mutex write_mu_;
  // The reserve's size (ReleaseReserveIfLow; -1 until read).
  int64_t reserve_bytes_ ABSL_GUARDED_BY(write_mu_) = -1;
  // Held for the whole of a Prune; a second one fails instead of waiting.
  Mutex prune_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  // Opened as a RocksDB secondary: its temporary directory (else empty).
  std::string secondary_dir_;
  // The content store (StoreOptions::content_store), if any.
  std::optional<content::ContentDir> content_;
  // WriteBlob calls writing a temporary file now: the collector removes
  // leftover temporary files (of a crashed process) only when there are none.
  Mutex ingest_mu_;
  int active_ingests_ ABSL_GUARDED_BY(ingest_mu_) = 0;

  friend class PruneRun;
};

// A read-only Txn over a snapshot that it releases when destroyed.
//
// A secondary instance (a read-only store beside a writer) has no snapshots
// and needs none: it changes only when told to catch up, which the store
// does once, at Open. `snapshot` false reads it as it is.
class SnapshotTxn {
 public:
  explicit SnapshotTxn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
                       Txn::Mode mode = Txn::Mode::kIndexed, bool snapshot = true)
      : db_(db), snap_(snapshot ? db->GetSnapshot() : nullptr), txn_(db, cfs, snap_, mode) {}
  ~SnapshotTxn() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  Txn& txn() { return txn_; }
  const rocksdb::Snapshot* snapshot() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
  Txn txn_;
};

}  // namespace refstore::internal

#endif  // REFSTORE_STORE_STORE_IMPL_H_
