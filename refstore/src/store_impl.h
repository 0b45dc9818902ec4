// store_impl.h: the RocksDB-backed implementation of refstore::Store.
#ifndef REFSTORE_SRC_STORE_IMPL_H_
#define REFSTORE_SRC_STORE_IMPL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "refstore/store.h"
#include "rocksdb/db.h"
#include "txn.h"

namespace refstore::internal {

// Validation shared by the operations. Each returns InvalidArgument naming
// the bad value.
absl::Status ValidateNamespace(std::string_view ns);
absl::Status ValidateLeaseId(std::string_view id);
absl::Status ValidateContainerId(std::string_view id);
// Checks a descriptor and converts it to its stored form.
absl::StatusOr<StoredDescriptor> ToStored(const Descriptor& d);
Descriptor FromStored(const StoredDescriptor& d);
int64_t ToNanos(absl::Time t);

class StoreImpl final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::string_view path,
                                                     const StoreOptions& options);
  ~StoreImpl() override;

  absl::StatusOr<std::string> CreateImage(const OpContext& ctx,
                                          const CreateImageRequest& request) override;
  absl::Status Tag(const OpContext& ctx, std::string_view source,
                   std::string_view target) override;
  absl::StatusOr<RemoveResult> RemoveImage(const OpContext& ctx, std::string_view ref,
                                           bool force) override;
  absl::StatusOr<std::string> CreateContainer(const OpContext& ctx, std::string_view id,
                                              std::string_view image_ref, bool running) override;
  absl::Status StartContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status StopContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status RemoveContainer(const OpContext& ctx, std::string_view id) override;
  absl::Status CreateLease(const OpContext& ctx, std::string_view id,
                           std::optional<absl::Time> expires) override;
  absl::Status AddLeaseContent(const OpContext& ctx, std::string_view id,
                               const std::vector<Descriptor>& content) override;
  absl::StatusOr<int64_t> DeleteLease(const OpContext& ctx, std::string_view id) override;
  absl::StatusOr<PruneResult> Prune(const OpContext& ctx, const PruneOptions& options) override;
  absl::StatusOr<std::vector<ImageSummary>> ListImages(const OpContext& ctx,
                                                       const ListOptions& options) override;
  absl::StatusOr<ImageDetail> Inspect(const OpContext& ctx, std::string_view ref) override;
  absl::StatusOr<DiskUsage> GetDiskUsage(const OpContext& ctx) override;
  absl::StatusOr<std::vector<Problem>> Check() override;

 private:
  StoreImpl(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
            const StoreOptions& options);

  // A Txn reading the latest state (callers hold write_mu_ if they commit).
  Txn NewTxn(Txn::Mode mode = Txn::Mode::kIndexed) { return Txn(db_.get(), &cfs_, nullptr, mode); }
  absl::Status Commit(Txn& txn);
  // Loads container `id` (NotFound "No such container: <id>" when absent),
  // lets `change` add its writes under the write lock, and commits.
  using ContainerChange =
      std::function<absl::Status(Txn& txn, const std::string& raw_cid, ContainerRecord& rec)>;
  absl::Status ChangeContainer(const OpContext& ctx, std::string_view id,
                               const ContainerChange& change);
  // Start/stop share this: sets the running flag of a container.
  absl::Status SetRunning(const OpContext& ctx, std::string_view id, bool running);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  const StoreOptions options_;
  // Serializes every Txn that commits: read-modify-write of counts is safe.
  absl::Mutex write_mu_;
  // Held for the whole of a Prune; a second one fails instead of waiting.
  absl::Mutex prune_mu_;

  friend class PruneRun;
};

// A read-only Txn over a snapshot that it releases when destroyed.
class SnapshotTxn {
 public:
  explicit SnapshotTxn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
                       Txn::Mode mode = Txn::Mode::kIndexed)
      : db_(db), snap_(db->GetSnapshot()), txn_(db, cfs, snap_, mode) {}
  ~SnapshotTxn() { db_->ReleaseSnapshot(snap_); }
  Txn& txn() { return txn_; }
  const rocksdb::Snapshot* snapshot() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
  Txn txn_;
};

}  // namespace refstore::internal

#endif  // REFSTORE_SRC_STORE_IMPL_H_
