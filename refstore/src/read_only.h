// read_only.h: opening a store without writing a byte of it.
#ifndef REFSTORE_SRC_READ_ONLY_H_
#define REFSTORE_SRC_READ_ONLY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/db.h"

namespace refstore::internal {

struct ReadOnlyDb {
  rocksdb::DB* db = nullptr;  // owned by the caller
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Non-empty: opened as a secondary instance, whose own files (info log)
  // live in this temporary directory; the caller removes it after closing.
  std::string secondary_dir;
};

// Whether another process holds the store's lock (RocksDB's LOCK file, an
// fcntl write lock), i.e. has it open.
bool LockedByAnotherProcess(std::string_view path);

// Opens the store at `path` without writing to it: as a RocksDB secondary
// instance (caught up with the primary once) when another process holds it
// open, read-only otherwise. The info log goes nowhere (read-only) or to the
// secondary's directory. Every column family of `descriptors` must exist.
absl::StatusOr<ReadOnlyDb> OpenReadOnly(std::string_view path,
                                        const rocksdb::DBOptions& base,
                                        const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors);

}  // namespace refstore::internal

#endif  // REFSTORE_SRC_READ_ONLY_H_
