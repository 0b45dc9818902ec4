// posix_file.h: the one POSIX file layer of the library and the tools: an
// owned file descriptor, opening (with O_CLOEXEC always, O_NOFOLLOW on
// request), reading and writing whole buffers across short transfers and
// EINTR, fsync of files and directories, and errors that carry the call,
// the path and errno's text.
//
// Thread-safety: free functions over caller-owned descriptors; a UniqueFd is
// a value type that one thread owns at a time.
#ifndef REFSTORE_UTIL_POSIX_FILE_H_
#define REFSTORE_UTIL_POSIX_FILE_H_

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace refstore::internal {

// "<call> <path>: <strerror(err)>": ResourceExhausted for a full disk or
// quota (ENOSPC, EDQUOT: store.h's code for it), else Internal.
absl::Status PosixError(std::string_view call, std::string_view path, int err);

// Owns a file descriptor (or none, -1) and closes it, ignoring close's
// result, when destroyed or reset; Close() reports that result instead.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: the descriptor, which the caller must close.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the held descriptor (if any), then holds `fd`.
  void reset(int fd = -1);
  // Closes now: 0, or close(2)'s errno (the descriptor is gone either way).
  // Without a descriptor, 0.
  int Close();

 private:
  int fd_ = -1;
};

// openat(2) of `path` relative to `dirfd` (AT_FDCWD: the working directory;
// ignored for an absolute path) with `flags | O_CLOEXEC`, retried on EINTR.
// Returns 0 with *fd holding the descriptor, or open's errno (*fd then
// holds none), so that callers can tell ENOENT, ELOOP, ... apart.
int OpenAt(int dirfd, const std::string& path, int flags, UniqueFd* fd, mode_t mode = 0);
inline int Open(const std::string& path, int flags, UniqueFd* fd, mode_t mode = 0) {
  return OpenAt(AT_FDCWD, path, flags, fd, mode);
}
// Open without following a symbolic link at the last component of `path`
// (O_NOFOLLOW: a link there fails with ELOOP).
inline int OpenNoFollow(const std::string& path, int flags, UniqueFd* fd, mode_t mode = 0) {
  return OpenAt(AT_FDCWD, path, flags | O_NOFOLLOW, fd, mode);
}

// Reads until `cap` bytes or the end of the file, retrying on EINTR: the
// count, less than `cap` only at the end. An error is PosixError("read").
absl::StatusOr<size_t> ReadFull(int fd, char* buf, size_t cap, std::string_view path);

// Reads from the current offset to the end of the file. More than
// `max_bytes` is InvalidArgument ("<path> is larger than <max_bytes>
// bytes"); a read error is PosixError("read").
absl::StatusOr<std::string> ReadAll(int fd, std::string_view path, size_t max_bytes);

// Writes all of `data`, across short writes and EINTR. An error is
// PosixError("write").
absl::Status WriteAll(int fd, std::string_view data, std::string_view path);

// fsync(2) of `fd`; an error is PosixError("fsync").
absl::Status Fsync(int fd, std::string_view path);

// Opens directory `dir` and fsyncs it (making the names in it durable);
// errors are PosixError("open") or PosixError("fsync").
absl::Status FsyncDir(const std::string& dir);

}  // namespace refstore::internal

#endif  // REFSTORE_UTIL_POSIX_FILE_H_
