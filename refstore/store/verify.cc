// The Store's side of collection, check and repair: it builds the
// StoreAccess that gc/ works on (gc.h) and adds what needs the Store
// itself: read-only re-verification, adoption, the ingest directory and the
// disk reserve.
#include "gc/gc.h"
#include "refstore/db/read_only.h"
#include "refstore/db/reserve.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

StoreAccess StoreImpl::Access() {
  StoreAccess a;
  a.db = db_.get();
  a.cfs = &cfs_;
  a.content = content_ ? &*content_ : nullptr;
  a.write_mu = &write_mu_;
  a.sync_writes = options_.sync_writes;
  a.snapshots = secondary_dir_.empty();
  // gc/ calls it holding *a.write_mu (gc.h), which the analysis cannot follow
  // through the function object.
  a.commit = [this](Txn& txn, bool sync)
                 ABSL_NO_THREAD_SAFETY_ANALYSIS { return Commit(txn, sync); };
  return a;
}

absl::StatusOr<std::vector<Problem>> StoreImpl::Check(const CheckOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Problem> problems, CheckStore(Access(), options));
  // Read-only, "latest" is the same view: file findings are re-verified on
  // fresh views instead (a writer may have changed files since; read_only.h).
  if (options_.read_only && content_) {
    RETURN_IF_ERROR(ReverifyFileFindings(db_->GetName(), *content_, &problems));
  }
  return problems;
}

absl::StatusOr<RepairResult> StoreImpl::Repair(const OpContext& ctx) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  RepairResult out;
  {
    CheckOptions opts;
    opts.now = ctx.now;
    ASSIGN_OR_RETURN(std::vector<Problem> found, Check(opts));
    for (auto& p : found) {
      if (!p.info) out.found.push_back(std::move(p));
    }
  }
  if (content_) {
    // Complete images among files without records are adopted, not deleted.
    absl::StatusOr<ImportResult> adopted = Adopt(ctx);
    if (!adopted.ok()) {
      out.actions.push_back(Cat("adoption skipped: ", std::string(adopted.status().message())));
    } else {
      for (const auto& img : adopted->images) {
        if (img.error.empty()) out.actions.push_back(Cat("adopted image ", img.id));
      }
    }
  }
  {
    MutexLock lock(write_mu_);
    RETURN_IF_ERROR(RebuildDerivedRecords(Access(), ToNanos(ctx.now), &out));
  }
  // The repair is committed: a failed collection is reported beside it.
  out.collected = CollectedBeside(CollectGarbage());
  return out;
}

absl::StatusOr<CollectResult> StoreImpl::Collect() {
  RETURN_IF_ERROR(Writable());
  return CollectGarbage();
}

CollectResult StoreImpl::CollectAfterChange() {
  if (!content_ || !options_.collect_after_changes) return CollectResult{};
  // The change is committed: a failed collection is reported beside it,
  // never as the change's error (store.h: an error means nothing changed).
  return CollectedBeside(CollectGarbage());
}

absl::StatusOr<CollectResult> StoreImpl::CollectGarbage() {
  CollectResult out;
  if (!content_) return out;
  RETURN_IF_ERROR(CollectGarbageRecords(Access(), &out));
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
