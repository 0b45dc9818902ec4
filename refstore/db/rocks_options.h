// rocks_options.h: the RocksDB settings every refstore store opens with.
// The benchmarks' baselines open their databases with the same settings so
// that a comparison measures the designs, not the tuning.
#ifndef REFSTORE_DB_ROCKS_OPTIONS_H_
#define REFSTORE_DB_ROCKS_OPTIONS_H_

#include <memory>
#include <string_view>

#include "rocksdb/cache.h"
#include "rocksdb/options.h"

namespace refstore::internal {

// Database-wide options (background threads, creation flags).
rocksdb::DBOptions RocksDbOptions(bool create_if_missing);

// Options of each column family: block-based tables with a Bloom filter,
// reading through `cache`, which all column families of one database share.
// A family whose keys come and go (named "leases", "lease_blobs",
// "blob_leases" or "garbage") gets a 1 MiB memtable and compacts at two
// level-0 files, so that its tombstones go soon (DESIGN.md "RocksDB
// settings").
rocksdb::ColumnFamilyOptions RocksCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::string_view family);

// The shared block cache for one database (64 MiB).
std::shared_ptr<rocksdb::Cache> NewRocksCache();

}  // namespace refstore::internal

#endif  // REFSTORE_DB_ROCKS_OPTIONS_H_
