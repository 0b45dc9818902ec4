// read_only.h: opening a store without writing a byte of it, also while
// another process (a writer) has it open and changes it.
#ifndef REFSTORE_DB_READ_ONLY_H_
#define REFSTORE_DB_READ_ONLY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "refstore/content/content_dir.h"
#include "refstore/store.h"
#include "rocksdb/db.h"

namespace refstore::internal {

struct ReadOnlyDb {
  rocksdb::DB* db = nullptr;  // owned by the caller
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // Always empty: read-only opens no longer make RocksDB secondary instances
  // (nor their temporary directories). Kept for the caller, which removes a
  // directory named here after closing.
  std::string secondary_dir;
};

// Whether another process holds the store's lock (RocksDB's LOCK file, an
// fcntl write lock), i.e. has it open.
bool LockedByAnotherProcess(std::string_view path);

// Opens the store at `path` with RocksDB's OpenForReadOnly, writing nothing
// anywhere (no LOG, no temporary directory). Every table file is opened
// during the open (max_open_files = -1), so files a writer deletes later
// stay readable through their descriptors. The open is taken as a
// consistent view only if CURRENT and the MANIFEST it names did not change
// while it ran (no flush, compaction or new MANIFEST recorded meanwhile);
// otherwise, or when it failed on a file the writer removed meanwhile
// (IOError, Corruption "Can't access …", NotFound, TryAgain) while another
// process holds the store, the whole open is retried after a short random
// pause, a bounded number of times. An error after the last attempt says so.
// Every column family of `descriptors` must exist.
absl::StatusOr<ReadOnlyDb> OpenReadOnly(
    std::string_view path, const rocksdb::DBOptions& base,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors);

// Check's findings about blob files (`blob_without_file`,
// `file_without_record`) made on a read-only view compare records of one
// moment with files of a later one; a writer may have freed and collected a
// blob, or published one whose record it had not yet committed, in between.
// Each such finding is re-verified against fresh read-only views of the
// store at `path` (the view opened first, the file looked at after it),
// a bounded number of times while another process holds the store: a
// finding a fresh view explains is dropped; one that stays while another
// process still has the store open is kept with a detail saying so.
absl::Status ReverifyFileFindings(std::string_view path, const content::ContentDir& content,
                                  std::vector<Problem>* problems);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_READ_ONLY_H_
