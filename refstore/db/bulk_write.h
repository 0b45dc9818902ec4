// bulk_write.h: one atomic change of any size, written sorted.
//
// Writes (puts and deletes, of any column family) collect in an external
// sort (refstore/util/external_sort.h) instead of memory; for a key written
// more than once the last write wins. Commit writes them all at once: as
// one WriteBatch when they are few, else as one sorted table file per
// column family (rocksdb::SstFileWriter) ingested by one
// IngestExternalFiles call, which adds every file or none. Either way the
// change is one atomic change; the second way also skips the write-ahead log
// and the memtables, whose cost per key is what a large change pays most.
//
// Thread-compatible. Commit requires that nothing else writes the database
// meanwhile (the caller holds the store's write mutex).
#ifndef REFSTORE_DB_BULK_WRITE_H_
#define REFSTORE_DB_BULK_WRITE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "refstore/format/keys.h"
#include "refstore/util/external_sort.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace refstore::internal {

// The directory, inside a store's, where its bulk writes put their table
// files.
inline constexpr char kBulkDirName[] = "bulk.tmp";

class BulkWrite {
 public:
  // `sort_dir`: where the sort's run files go (a temporary directory is made
  // under it). `table_dir`: where the table files are written, made on
  // first use and removed with what is left in it by the destructor; it
  // must be on the database's filesystem, so that ingestion moves the files
  // instead of copying them.
  BulkWrite(std::string sort_dir, std::string table_dir);
  ~BulkWrite();
  BulkWrite(const BulkWrite&) = delete;
  BulkWrite& operator=(const BulkWrite&) = delete;

  // Errors: the sort could not write a run file (Internal).
  absl::Status Put(Cf cf, std::string_view key, std::string_view value);
  absl::Status Delete(Cf cf, std::string_view key);
  // Writes added (a key written twice counts twice).
  uint64_t writes() const { return sorter_.count(); }

  // Writes the change: through `write_batch` as one WriteBatch (in key
  // order) when there are at most `batch_max` writes, else by ingestion.
  // Call once. On error nothing of the change is in the database. Errors:
  // those of `write_batch`, and of the files and the ingestion (mapped with
  // RocksError: NoSpace is ResourceExhausted).
  absl::Status Commit(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                      uint64_t batch_max,
                      const std::function<absl::Status(rocksdb::WriteBatch&)>& write_batch);

  // Whether the last Commit ingested files (for tests and the benchmark).
  bool ingested() const { return ingested_; }

 private:
  absl::Status Add(Cf cf, std::string_view key, char op, std::string_view value);

  StringSorter sorter_;
  const std::string table_dir_;
  std::vector<std::string> tables_;  // files written, removed by the destructor
  uint64_t seq_ = 0;
  bool ingested_ = false;
  std::string record_;  // Add's buffer, kept so that a record costs no allocation
};

}  // namespace refstore::internal

#endif  // REFSTORE_DB_BULK_WRITE_H_
