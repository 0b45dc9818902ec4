// store_access.h: what the collector, check and repair need of a store.
//
// gc/ sits below the Store (refstore/store/): the Store builds a
// StoreAccess from its own members and calls the functions of gc.h with it.
// Nothing here outlives the call it is passed to.
#ifndef REFSTORE_GC_STORE_ACCESS_H_
#define REFSTORE_GC_STORE_ACCESS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "refstore/content/content_dir.h"
#include "refstore/db/txn.h"
#include "refstore/util/mutex.h"
#include "rocksdb/db.h"

namespace refstore::internal {

struct StoreAccess {
  rocksdb::DB* db = nullptr;
  const std::vector<rocksdb::ColumnFamilyHandle*>* cfs = nullptr;
  // The content store, or null for a store of metadata only.
  content::ContentDir* content = nullptr;
  // Serializes every Txn that commits (the Store's write mutex).
  Mutex* write_mu = nullptr;
  // StoreOptions::sync_writes: off, the write-ahead log is synced before a
  // file is deleted for good.
  bool sync_writes = false;
  // Whether the database has snapshots (a secondary instance has none).
  bool snapshots = true;
  // Writes the Txn as the Store commits one (Txn::Finish, then one write;
  // `sync` forces a synced write). REQUIRES: *write_mu held.
  std::function<absl::Status(Txn& txn, bool sync)> commit;

  // A Txn reading the latest state, with the content store set.
  std::unique_ptr<Txn> NewTxn(Txn::Mode mode = Txn::Mode::kIndexed) const {
    auto txn = std::make_unique<Txn>(db, cfs, nullptr, mode);
    txn->set_content(content);
    return txn;
  }
};

}  // namespace refstore::internal

#endif  // REFSTORE_GC_STORE_ACCESS_H_
