// fault_fs.h: a file system under a store that can lose power and fail.
//
// FaultFs sits below both halves of a store: the RocksDB database (as a
// rocksdb::FileSystemWrapper over the default file system) and the content
// directory (as content::FileHooks). Files are the real files of a temporary
// directory; FaultFs records, beside them, what has reached the disk:
//
//  * the synced length of every file written since tracking began (appends
//    after the last fsync are not on the disk);
//  * every directory entry made or removed (create, rename, unlink) since
//    the last fsync of its directory.
//
// A power cut (CutAfter / CutNow) makes every later call fail with an I/O
// error, as if the machine were off. Once the store is closed, DropUnsynced
// puts the files back as the disk would hold them: directory changes not
// covered by an fsync of their directory are undone, newest first (created
// files deleted, renames reverted, unlinked files restored to their synced
// bytes), then every file is cut back to its synced length. This is the
// model of RocksDB's own FaultInjectionTestFS and of bbolt's power-failure
// tests: unsynced data is lost whole, synced data is never lost.
//
// Syncs are recorded, not made: the real disk's durability plays no part,
// and a test runs at the speed of memory.
//
// Injected faults (SetFaults): each write, sync or read fails with the
// given odds (EIO), and a byte budget models a full disk (ENOSPC). A failed
// call has no effect. Faults never touch RocksDB's info LOG files.
//
// Thread-safety: every method may be called from any thread (RocksDB's
// background threads write through it while tests drive the store).
#ifndef REFSTORE_TESTS_RELIABILITY_FAULT_FS_H_
#define REFSTORE_TESTS_RELIABILITY_FAULT_FS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "refstore/content/file_hooks.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace refstore::testing {

struct FaultPlan {
  uint32_t write_one_in = 0;  // each append/write fails with odds 1/N (0: never)
  uint32_t sync_one_in = 0;   // each file or directory fsync
  uint32_t read_one_in = 0;   // each read
  int64_t space_left = -1;    // bytes that may still be written (-1: no limit)
  int64_t reads_left = -1;    // reads that succeed before every later one fails (-1: no limit)
};

struct FaultCounts {
  int64_t writes = 0, syncs = 0, reads = 0;  // calls seen
  int64_t failed_writes = 0, failed_syncs = 0, failed_reads = 0;
  int64_t no_space = 0;  // ENOSPC returned
};

struct DropStats {
  int64_t files_truncated = 0;  // cut back to their synced length
  int64_t bytes_dropped = 0;    // bytes removed by those cuts
  int64_t entries_undone = 0;   // directory changes reverted
};

class FaultFs {
 public:
  explicit FaultFs(uint64_t seed);
  ~FaultFs();
  FaultFs(const FaultFs&) = delete;
  FaultFs& operator=(const FaultFs&) = delete;

  // For internal::Seams. The Env's file system is FaultFs's; its clock
  // sleeps a thousandth of what it is asked (RocksDB sleeps a second after
  // a failed background flush, and a fault test makes thousands of them).
  rocksdb::Env* env() { return env_.get(); }
  std::shared_ptr<rocksdb::FileSystem> file_system() { return fs_; }
  content::FileHooks* content_hooks() { return hooks_.get(); }

  // Power. After `n` more calls that change the disk (appends, syncs,
  // creates, renames, deletes) made by the calling thread, power goes off:
  // that call and every later one, of any thread, fails. (Counting the
  // caller's calls only keeps the cut point the same from run to run of a
  // seed; RocksDB's background threads write at moments of their own.)
  void CutAfter(int64_t n);
  void CutNow();
  bool power_off() const;
  // Call with no store open. Restores the disk to its synced state, forgets
  // everything tracked, and turns the power back on.
  DropStats DropUnsynced();

  // Faults (a default FaultPlan turns them off).
  void SetFaults(const FaultPlan& plan);
  FaultCounts counts() const;

  // --- called by the wrappers (fault_fs.cc) ---
  enum class Call { kWrite, kSync, kRead, kChange };
  // 0, or the errno the call fails with (EIO for power off and injected
  // faults, ENOSPC for a full disk). `bytes` counts against the budget.
  int Admit(Call call, const std::string& path, size_t bytes = 0);
  void Created(const std::string& path);                 // a new file
  void Opened(const std::string& path, int64_t size);    // an existing file, to append
  void Synced(const std::string& path, int64_t length);  // data up to `length` synced
  void SyncedDir(const std::string& dir);
  void Renaming(const std::string& from, const std::string& to);  // before the rename
  void Deleting(const std::string& path);                         // before the unlink

 private:
  // A directory change not yet covered by an fsync of its directory.
  struct Entry {
    enum Kind { kCreate, kRename, kUnlink } kind;
    std::string path;           // created, renamed from, unlinked
    std::string to;             // renamed to
    std::string dir;            // the directory whose fsync makes it durable
    bool had_old = false;       // rename: `to` existed; unlink: always
    std::string old_bytes;      // the synced bytes of what was replaced or removed
    bool from_tracked = false;  // rename: `path` had a synced length
    int64_t from_synced = 0;
  };
  std::mutex mu_;
  std::mt19937_64 rng_;             // faults of the thread that called SetFaults
  std::mt19937_64 background_rng_;  // faults of every other thread
  std::thread::id fault_thread_;
  FaultPlan plan_;
  FaultCounts counts_;
  int64_t cut_countdown_ = -1;
  std::thread::id cut_thread_;
  bool power_off_ = false;
  std::map<std::string, int64_t> synced_;  // path -> synced length, for files tracked
  std::vector<Entry> pending_;             // oldest first
  std::shared_ptr<rocksdb::FileSystem> fs_;
  std::unique_ptr<content::FileHooks> hooks_;
  std::unique_ptr<rocksdb::Env> composite_;
  std::unique_ptr<rocksdb::Env> env_;
};

// "a/b//c/" -> "a/b/c"
std::string NormalPath(const std::string& path);

}  // namespace refstore::testing

#endif  // REFSTORE_TESTS_RELIABILITY_FAULT_FS_H_
