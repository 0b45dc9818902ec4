// upgrade.h: brings a store of an older on-disk format to the current one.
//
// Format version 1 kept each image's names inside its image record, so a tag
// rewrote every name the image already had. Version 2 keeps them in the
// `names` column family. Version 3 writes media types as codes (codec.h). A writer that opens a
// version 1 store upgrades it before anything else runs; read-only opens of a version 1 store fail
// with FailedPrecondition (they never write).
//
// Crash safety: the upgrade rewrites the image records in batches, each one
// atomic write that moves some images' names out of their records (record
// version 2 -> 4), and writes "format_version" = the current version last. A crash leaves
// version "1" with some records moved; the next writer's open moves the rest
// (a moved record has no names left to move). Nothing is deleted that is not
// written elsewhere in the same batch.
#ifndef REFSTORE_DB_UPGRADE_H_
#define REFSTORE_DB_UPGRADE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"

namespace refstore::internal {

// Upgrades the format version 1 store open in `db` (every column family of
// keys.h open, `names` included) to the current version. `batch_images` images are
// moved per atomic write. On error the store is left at version 1, valid for
// the next attempt. `max_batches` >= 0 (tests) stops before writing the
// batch after that many, with Aborted, as a crash there would.
absl::Status UpgradeFromFormat1(rocksdb::DB* db,
                                const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                                int64_t batch_images = 10000, int64_t max_batches = -1);

// Records format version 3 in the format version 2 store open in `db`: one
// synced write of "format_version". Version 3 differs only in how new records
// spell media types, and reads version 2's records as they are, so nothing
// else is rewritten; a crash before the write leaves a valid version 2 store.
absl::Status UpgradeFromFormat2(rocksdb::DB* db,
                                const std::vector<rocksdb::ColumnFamilyHandle*>& cfs);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_UPGRADE_H_
