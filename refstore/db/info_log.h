// info_log.h: RocksDB's info log for a writable store, written so that a
// full disk or any other write error never stops the store.
//
// RocksDB's own file logger goes through WritableFileWriter, which (in
// Debian's build, with assertions on) aborts the process on the first log
// write after a failed one: a full disk made every writing command die with
// SIGABRT. This logger appends each line with one write(2) and drops what it
// cannot write.
#ifndef REFSTORE_DB_INFO_LOG_H_
#define REFSTORE_DB_INFO_LOG_H_

#include <memory>
#include <string_view>

#include "rocksdb/env.h"

namespace refstore::internal {

// A logger appending to <dir>/LOG (opened on the first message, so that it
// can be made before RocksDB creates the directory). When LOG is larger than
// `max_bytes` at that moment it is first renamed to LOG.old (one old file is
// kept). Write errors are ignored. Thread-safe.
std::shared_ptr<rocksdb::Logger> NewInfoLog(std::string_view dir, size_t max_bytes = 8 << 20);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_INFO_LOG_H_
