// reserve.h: the space a writable store keeps in reserve so that it can
// still open and write deletions on a full filesystem (DESIGN.md "A full
// disk").
//
// A store directory holds a file RESERVE of ReserveBytes() (1% of the
// filesystem, between 1 MiB and 64 MiB). A writable open whose filesystem
// has less than that available gives the file back first, so that RocksDB's
// open (a new MANIFEST, a new write-ahead log, OPTIONS) and the deletions
// that follow fit; so does every write that finds less than that available
// (so that RocksDB's log append does not meet ENOSPC in a long-lived open);
// a write that meets ENOSPC gives it back (for the next open: RocksDB writes
// nothing more until it is reopened). The reserve is made when a writable
// store opens, after a collection freed files (when it fits) and when the
// store closes (when twice its size is available). None of this ever fails
// an operation: the reserve is best effort.
#ifndef REFSTORE_DB_RESERVE_H_
#define REFSTORE_DB_RESERVE_H_

#include <cstdint>
#include <string_view>

namespace refstore::internal {

// The reserve's size on the filesystem holding `dir` (0 when unknown).
int64_t ReserveBytes(std::string_view dir);

// Bytes this process may still write on the filesystem of `dir` (for root,
// the blocks kept for root included; -1 when unknown).
int64_t AvailableBytes(std::string_view dir);

// Removes <dir>/RESERVE when it exists. True when it did.
bool ReleaseReserve(std::string_view dir);

// Makes <dir>/RESERVE its full size when the filesystem has room for
// `times` its size (1 after a collection freed files: the reserve is made
// again first; 2 when a store closes, so that closing never takes the last
// space an operator freed); never leaves a partial file.
void EnsureReserve(std::string_view dir, int times);

// Whether the store should let RocksDB preallocate files with fallocate:
// only on filesystems of at least 1 GiB with 256 MiB available, since
// RocksDB preallocates a write-ahead log of up to 70 MiB and a MANIFEST of 4
// MiB, which wedged small disks.
bool PreallocationFits(std::string_view dir);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_RESERVE_H_
