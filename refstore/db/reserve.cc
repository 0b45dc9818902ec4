#include "refstore/db/reserve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "refstore/util/posix_file.h"

namespace refstore::internal {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

std::string ReservePath(std::string_view dir) { return std::string(dir) + "/RESERVE"; }

bool Stat(std::string_view dir, struct statvfs* out) {
  return ::statvfs(std::string(dir).c_str(), out) == 0;
}

}  // namespace

int64_t ReserveBytes(std::string_view dir) {
  struct statvfs fs;
  if (!Stat(dir, &fs)) return 0;
  const int64_t total = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  return std::clamp(total / 100, kMiB, 64 * kMiB);
}

int64_t AvailableBytes(std::string_view dir) {
  struct statvfs fs;
  if (!Stat(dir, &fs)) return -1;
  // root may also write the blocks a filesystem keeps for root (ext4's 5%).
  const auto blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
  return static_cast<int64_t>(blocks) * static_cast<int64_t>(fs.f_frsize);
}

bool ReleaseReserve(std::string_view dir) { return ::unlink(ReservePath(dir).c_str()) == 0; }

void EnsureReserve(std::string_view dir, int times) {
  const int64_t size = ReserveBytes(dir);
  if (size <= 0) return;
  const std::string path = ReservePath(dir);
  struct stat st;
  const int64_t have = ::stat(path.c_str(), &st) == 0 ? st.st_blocks * 512 : 0;
  if (have >= size) return;
  if (AvailableBytes(dir) + have < times * size) return;
  UniqueFd fd;
  if (OpenNoFollow(path, O_WRONLY | O_CREAT, &fd, 0600) != 0) return;
  // posix_fallocate really allocates (it writes zeros where the filesystem
  // has no fallocate), so the space is the store's once this returns.
  const bool ok = ::posix_fallocate(fd.get(), 0, size) == 0 && Fsync(fd.get(), path).ok();
  fd.reset();
  if (!ok) ::unlink(path.c_str());
}

bool PreallocationFits(std::string_view dir) {
  struct statvfs fs;
  if (!Stat(dir, &fs)) return false;
  const int64_t total = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  return total >= 1024 * kMiB && AvailableBytes(dir) >= 256 * kMiB;
}

}  // namespace refstore::internal
