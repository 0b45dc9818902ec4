// file_hooks.h: a seam under ContentDir's system calls.
//
// ContentDir calls FileHooks::Before before each system call that creates,
// writes, syncs, renames, removes or reads a file or a directory of the
// layout. Production code passes no hooks. The reliability tests pass hooks
// that record what has reached the disk (to simulate a power cut: everything
// written since the last fsync is dropped, and directory entries made since
// the directory's last fsync are undone) and that make calls fail (injected
// I/O faults, a full disk). See tests/reliability/fault_fs.h.
#ifndef REFSTORE_CONTENT_FILE_HOOKS_H_
#define REFSTORE_CONTENT_FILE_HOOKS_H_

#include <cstddef>
#include <string>

namespace refstore::content {

enum class FileEvent {
  kCreate,   // a new file at `path` (open with O_CREAT|O_EXCL)
  kWrite,    // `bytes` bytes appended to the file at `path`
  kSync,     // fsync of the file at `path`
  kSyncDir,  // fsync of the directory `path`
  kRename,   // rename of `path` to `to` (replacing `to` if it exists)
  kUnlink,   // removal of the file at `path`
  kMkdir,    // a new directory at `path`
  kRead,     // a read of up to `bytes` bytes from the file at `path`
};

class FileHooks {
 public:
  virtual ~FileHooks() = default;
  // Called before the system call. Returns 0 to let it run, kSkip to
  // count it as done without making it (kSync and kSyncDir only: a
  // simulated disk whose durability the hooks track themselves), or an
  // errno value: the call then fails with that errno and is not made.
  // Called from any thread that uses the ContentDir.
  static constexpr int kSkip = -1;
  virtual int Before(FileEvent event, const std::string& path, const std::string& to,
                     size_t bytes) = 0;
};

}  // namespace refstore::content

#endif  // REFSTORE_CONTENT_FILE_HOOKS_H_
