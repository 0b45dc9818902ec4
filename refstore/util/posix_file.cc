#include "refstore/util/posix_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "refstore/util/strcat.h"

namespace refstore::internal {

absl::Status PosixError(std::string_view call, std::string_view path, int err) {
  std::string message = Cat(call, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(std::move(message));
  return absl::InternalError(std::move(message));
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int UniqueFd::Close() {
  if (fd_ < 0) return 0;
  const int r = ::close(release());
  return r == 0 ? 0 : errno;
}

int OpenAt(int dirfd, const std::string& path, int flags, UniqueFd* fd, mode_t mode) {
  for (;;) {
    const int got = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
    if (got >= 0) {
      fd->reset(got);
      return 0;
    }
    if (errno != EINTR) {
      const int err = errno;
      fd->reset();
      return err;
    }
  }
}

absl::StatusOr<size_t> ReadFull(int fd, char* buf, size_t cap, std::string_view path) {
  size_t got = 0;
  while (got < cap) {
    const ssize_t r = ::read(fd, buf + got, cap - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return PosixError("read", path, errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

absl::StatusOr<std::string> ReadAll(int fd, std::string_view path, size_t max_bytes) {
  std::string out;
  char buf[1 << 14];
  for (;;) {
    absl::StatusOr<size_t> n = ReadFull(fd, buf, sizeof buf, path);
    if (!n.ok()) return n.status();
    if (*n > max_bytes - out.size()) {
      return absl::InvalidArgumentError(Cat(path, " is larger than ", max_bytes, " bytes"));
    }
    out.append(buf, *n);
    if (*n < sizeof buf) return out;
  }
}

absl::Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    const ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return absl::OkStatus();
}

absl::Status Fsync(int fd, std::string_view path) {
  if (::fsync(fd) != 0) return PosixError("fsync", path, errno);
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  UniqueFd fd;
  if (int err = Open(dir, O_RDONLY | O_DIRECTORY, &fd)) return PosixError("open", dir, err);
  return Fsync(fd.get(), dir);
}

}  // namespace refstore::internal
