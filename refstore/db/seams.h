// seams.h: opening a store over a file system of the caller's choosing.
//
// Not part of the public API. The reliability tests open stores over an
// Env with a RocksDB FileSystem wrapper and content-directory hooks of their own
// (tests/reliability/fault_fs.h) to simulate power cuts and inject I/O
// faults below both halves of a store: the RocksDB database and the blob
// files. Production opens go through Store::Open, which passes no seams.
#ifndef REFSTORE_DB_SEAMS_H_
#define REFSTORE_DB_SEAMS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "refstore/content/file_hooks.h"
#include "refstore/store.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace refstore::internal {

struct Seams {
  // The Env the database opens with (nullptr: the default): its file
  // system sees every file of the database. Must outlive the store.
  rocksdb::Env* env = nullptr;
  // Sees every system call on the content directory (nullptr: none). Must
  // outlive the store.
  content::FileHooks* content_hooks = nullptr;
  // Called with the database options just before the database opens.
  std::function<void(rocksdb::DBOptions&)> tune;
  // The format upgrade of a version 1 store (upgrade.h): images per atomic
  // write, and (>= 0) the batches after which it stops as a crash would.
  int64_t upgrade_batch_images = 10000;
  int64_t upgrade_max_batches = -1;
};

// Store::Open with `seams`. Read-only opens ignore them.
absl::StatusOr<std::unique_ptr<Store>> OpenWithSeams(std::string_view path,
                                                     const StoreOptions& options,
                                                     const Seams& seams);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_SEAMS_H_
