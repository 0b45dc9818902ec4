#include "refstore/content/content_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "refstore/content/file_hooks.h"
#include "refstore/content/sha256.h"
#include "refstore/text/digest.h"
#include "refstore/util/posix_file.h"
#include "refstore/util/strcat.h"

namespace refstore::content {
namespace {

constexpr size_t kBufSize = 1 << 16;
constexpr std::string_view kOciLayout = "{\"imageLayoutVersion\":\"1.0.0\"}";

using internal::Cat;

using internal::Fsync;
using internal::FsyncDir;
using internal::OpenNoFollow;
using internal::UniqueFd;

// "<what> <path>: <strerror(err)>" as Internal.
absl::Status SysError(std::string_view what, const std::string& path, int err) {
  return internal::PosixError(what, path, err);
}

// Every hex taken from a caller goes through this before it becomes part
// of a path, so that no path can leave the layout.
absl::Status CheckHex(std::string_view hex) {
  if (text::IsSha256Hex(hex)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat("invalid blob digest \"", hex.substr(0, 80), "\": want 64 lowercase hex characters"));
}

std::string Digest(std::string_view hex) { return Cat(text::kSha256Prefix, hex); }

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Runs the hook of `event`: 0, or the errno the call must fail with.
int Hook(FileHooks* hooks, FileEvent event, const std::string& path,
         const std::string& to = std::string(), size_t bytes = 0) {
  return hooks ? hooks->Before(event, path, to, bytes) : 0;
}

absl::Status SyncFile(FileHooks* hooks, int fd, const std::string& path) {
  const int hook = Hook(hooks, FileEvent::kSync, path);
  if (hook == FileHooks::kSkip) return absl::OkStatus();
  if (hook != 0) return SysError("fsync", path, hook);
  return Fsync(fd, path);
}

// rename(2) and unlink(2) through the hooks: 0 or an errno.
int Rename(FileHooks* hooks, const std::string& from, const std::string& to) {
  if (int err = Hook(hooks, FileEvent::kRename, from, to)) return err;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

int Unlink(FileHooks* hooks, const std::string& path) {
  if (int err = Hook(hooks, FileEvent::kUnlink, path)) return err;
  return ::unlink(path.c_str()) == 0 ? 0 : errno;
}

absl::Status SyncDir(FileHooks* hooks, const std::string& dir) {
  const int hook = Hook(hooks, FileEvent::kSyncDir, dir);
  if (hook == FileHooks::kSkip) return absl::OkStatus();
  if (hook != 0) return SysError("fsync", dir, hook);
  return FsyncDir(dir);
}

absl::Status WriteAll(FileHooks* hooks, int fd, const char* data, size_t n,
                      const std::string& path) {
  if (int err = Hook(hooks, FileEvent::kWrite, path, std::string(), n)) {
    return SysError("write", path, err);
  }
  return internal::WriteAll(fd, std::string_view(data, n), path);
}

// Reads up to `cap` bytes, retrying on EINTR; returns fewer only at the end.
absl::StatusOr<size_t> ReadFull(FileHooks* hooks, int fd, char* buf, size_t cap,
                                const std::string& path) {
  if (int err = Hook(hooks, FileEvent::kRead, path, std::string(), cap)) {
    return SysError("read", path, err);
  }
  return internal::ReadFull(fd, buf, cap, path);
}

// Reads `fd` to its end in chunks of up to kBufSize, each through the
// hooks and then to fn; stops at the first error.
absl::Status ReadChunks(FileHooks* hooks, int fd, const std::string& path,
                        const std::function<absl::Status(std::string_view chunk)>& fn) {
  auto buf = std::make_unique<char[]>(kBufSize);
  for (;;) {
    absl::StatusOr<size_t> n = ReadFull(hooks, fd, buf.get(), kBufSize, path);
    if (!n.ok()) return n.status();
    if (absl::Status s = fn(std::string_view(buf.get(), *n)); !s.ok()) return s;
    if (*n < kBufSize) return absl::OkStatus();
  }
}

// Makes `path` a directory: creates it (then fsyncs its parent) when
// missing. A symlink or another kind of file there is InvalidArgument;
// `follow` allows the path itself to be a symlink to a directory.
absl::Status EnsureDir(FileHooks* hooks, const std::string& path, bool follow) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    struct stat st;
    int r = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (r == 0) {
      if (S_ISLNK(st.st_mode)) {
        return absl::InvalidArgumentError(Cat(path, " is a symbolic link"));
      }
      if (!S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(Cat(path, " is not a directory"));
      }
      return absl::OkStatus();
    }
    if (errno != ENOENT) return SysError("stat", path, errno);
    if (int err = Hook(hooks, FileEvent::kMkdir, path)) return SysError("mkdir", path, err);
    if (::mkdir(path.c_str(), 0755) == 0) return SyncDir(hooks, Dirname(path));
    // Another process may have created it meanwhile: look again.
    if (errno != EEXIST) return SysError("mkdir", path, errno);
  }
  return absl::InternalError(Cat("cannot create directory ", path));
}

// Creates a new file in `dir` named "<prefix>.<pid>.<counter>.<random>",
// unique across threads and processes (O_EXCL rejects any collision).
absl::StatusOr<std::pair<UniqueFd, std::string>> CreateTemp(FileHooks* hooks,
                                                            const std::string& dir,
                                                            std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t nonce = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  for (int attempt = 0;; ++attempt) {
    std::string path = Cat(dir, "/", prefix, ".", ::getpid(), ".", counter.fetch_add(1), ".",
                           absl::StrCat(absl::Hex(nonce)));
    if (int err = Hook(hooks, FileEvent::kCreate, path)) return SysError("create", path, err);
    UniqueFd fd;
    const int err = OpenNoFollow(path, O_WRONLY | O_CREAT | O_EXCL, &fd, 0644);
    if (err == 0) return std::make_pair(std::move(fd), std::move(path));
    if (err != EEXIST || attempt >= 8) return SysError("create", path, err);
  }
}

// Opens blob file `path` for reading. A symlink, a directory or any other
// non-regular file is InvalidArgument (O_NONBLOCK: a FIFO must not hang us);
// a missing file is NotFound.
absl::StatusOr<UniqueFd> OpenBlobForRead(const std::string& path, struct stat* st) {
  UniqueFd fd;
  if (const int err = OpenNoFollow(path, O_RDONLY | O_NONBLOCK, &fd)) {
    if (err == ENOENT) return absl::NotFoundError(Cat("no blob file ", path));
    if (err == ELOOP) {
      return absl::InvalidArgumentError(Cat(path, " is a symbolic link"));
    }
    return SysError("open", path, err);
  }
  if (::fstat(fd.get(), st) != 0) return SysError("fstat", path, errno);
  if (!S_ISREG(st->st_mode)) {
    return absl::InvalidArgumentError(Cat(path, " is not a regular file"));
  }
  return fd;
}

// Calls fn(dirfd, name) for each entry of directory `path` but "." and "..",
// the directory opened without following a symlink there; stops at fn's
// first error.
absl::Status ForEachEntry(const std::string& path,
                          const std::function<absl::Status(int dirfd, std::string_view name)>& fn) {
  UniqueFd fd;
  if (const int err = OpenNoFollow(path, O_RDONLY | O_DIRECTORY, &fd)) {
    return SysError("open", path, err);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.get()), &::closedir);
  if (dir == nullptr) return SysError("fdopendir", path, errno);
  fd.release();  // the DIR owns it now
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return SysError("readdir", path, errno);
      return absl::OkStatus();
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (absl::Status s = fn(::dirfd(dir.get()), name); !s.ok()) return s;
  }
}

// Whether `path` names a file directly under <root>/ingest.
bool IsIngestPath(const std::string& root, const std::string& path) {
  const std::string prefix = root + "/ingest/";
  return path.size() > prefix.size() && path.starts_with(prefix) &&
         path.find('/', prefix.size()) == std::string::npos;
}

}  // namespace

BlobReader StringReader(std::string_view bytes) {
  return [bytes, pos = size_t{0}](char* buf, size_t cap) mutable -> absl::StatusOr<size_t> {
    size_t n = std::min(cap, bytes.size() - pos);
    std::memcpy(buf, bytes.data() + pos, n);
    pos += n;
    return n;
  };
}

absl::StatusOr<ContentDir> ContentDir::Open(std::string root, FileHooks* hooks, Mode mode) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty()) return absl::InvalidArgumentError("empty content directory path");
  if (mode != Mode::kCreate) {
    // A store that has a content store never makes a new empty one: its
    // files may be on a disk that is not mounted, and an empty directory
    // would make every blob look lost (issue 15).
    struct stat st;
    const std::string blobs = root + "/blobs/sha256";
    if (::stat(blobs.c_str(), &st) != 0) {
      const int err = errno;
      if (err != ENOENT && err != ENOTDIR) return SysError("stat", blobs, err);
      return absl::FailedPreconditionError(Cat("content store missing at ", root));
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(Cat("content store missing at ", root));
    }
    if (mode == Mode::kReadOnly) return ContentDir(std::move(root), hooks);
  }
  // The root itself may be reached through a symlink; its parts may not.
  absl::Status s = EnsureDir(hooks, root, /*follow=*/true);
  if (s.ok()) s = EnsureDir(hooks, root + "/blobs", false);
  if (s.ok()) s = EnsureDir(hooks, root + "/blobs/sha256", false);
  if (s.ok()) s = EnsureDir(hooks, root + "/ingest", false);
  if (!s.ok()) return s;

  const std::string layout = root + "/oci-layout";
  struct stat st;
  if (::lstat(layout.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(Cat(layout, " is not a regular file"));
    }
    return ContentDir(std::move(root), hooks);
  }
  if (errno != ENOENT) return SysError("stat", layout, errno);

  // Written under ingest/ (where CleanIngest removes leftovers of a crash)
  // and renamed into place, so that oci-layout is never seen half-written.
  auto temp = CreateTemp(hooks, root + "/ingest", "oci-layout");
  if (!temp.ok()) return temp.status();
  UniqueFd& fd = temp->first;
  const std::string& temp_path = temp->second;
  s = WriteAll(hooks, fd.get(), kOciLayout.data(), kOciLayout.size(), temp_path);
  if (s.ok()) s = SyncFile(hooks, fd.get(), temp_path);
  if (s.ok()) {
    if (const int err = fd.Close()) s = SysError("close", temp_path, err);
  }
  if (s.ok()) {
    if (int err = Rename(hooks, temp_path, layout)) s = SysError("rename", layout, err);
  }
  if (!s.ok()) {
    Unlink(hooks, temp_path);
    return s;
  }
  s = SyncDir(hooks, root);
  if (!s.ok()) return s;
  return ContentDir(std::move(root), hooks);
}

std::string ContentDir::BlobPath(std::string_view hex) const {
  return Cat(root_, "/blobs/sha256/", hex);
}

absl::StatusOr<std::optional<int64_t>> ContentDir::BlobSize(std::string_view hex) const {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  const std::string path = BlobPath(hex);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<int64_t>();
    return SysError("stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(Cat(path, " is not a regular file"));
  }
  return std::optional<int64_t>(st.st_size);
}

absl::StatusOr<IngestFile> ContentDir::Ingest(std::string_view hex, int64_t size,
                                              const BlobReader& reader) {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  if (size < 0) {
    return absl::InvalidArgumentError(Cat("negative size ", size, " for ", Digest(hex)));
  }
  auto temp = CreateTemp(hooks_, root_ + "/ingest", hex);
  if (!temp.ok()) return temp.status();
  UniqueFd fd = std::move(temp->first);
  IngestFile file{std::string(hex), size, std::move(temp->second)};

  // Runs the copy; on any error the caller below removes the temp file.
  auto copy = [&]() -> absl::Status {
    auto buf = std::make_unique<char[]>(kBufSize);
    Sha256 hash;
    int64_t total = 0;
    for (;;) {
      absl::StatusOr<size_t> n = reader(buf.get(), kBufSize);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      if (*n > kBufSize) {
        return absl::InternalError(
            Cat("reader of ", Digest(hex), " returned ", *n, " bytes into a buffer of ", kBufSize));
      }
      total += static_cast<int64_t>(*n);
      if (total > size) {
        return absl::InvalidArgumentError(
            Cat("size of ", Digest(hex), " is at least ", total, " bytes, expected ", size));
      }
      hash.Update(std::string_view(buf.get(), *n));
      if (absl::Status s = WriteAll(hooks_, fd.get(), buf.get(), *n, file.temp_path); !s.ok()) {
        return s;
      }
    }
    if (total != size) {
      return absl::InvalidArgumentError(
          Cat("size of ", Digest(hex), " is ", total, " bytes, expected ", size));
    }
    std::string got = hash.HexDigest();
    if (got != hex) {
      return absl::InvalidArgumentError(
          Cat("digest of the written bytes is sha256:", got, ", expected ", Digest(hex)));
    }
    if (absl::Status s = SyncFile(hooks_, fd.get(), file.temp_path); !s.ok()) return s;
    if (const int err = fd.Close()) return SysError("close", file.temp_path, err);
    return absl::OkStatus();
  };
  if (absl::Status s = copy(); !s.ok()) {
    Unlink(hooks_, file.temp_path);
    return s;
  }
  return file;
}

absl::Status ContentDir::Publish(const IngestFile& file, bool sync_dir) {
  if (absl::Status s = CheckHex(file.hex); !s.ok()) return s;
  if (!IsIngestPath(root_, file.temp_path)) {
    return absl::InvalidArgumentError(
        Cat("ingest file ", file.temp_path, " is not under ", root_, "/ingest"));
  }
  const std::string path = BlobPath(file.hex);
  if (int err = Rename(hooks_, file.temp_path, path)) {
    return SysError(Cat("rename ", file.temp_path, " to"), path, err);
  }
  return sync_dir ? SyncBlobDir() : absl::OkStatus();
}

void ContentDir::Discard(const IngestFile& file) {
  if (IsIngestPath(root_, file.temp_path)) Unlink(hooks_, file.temp_path);
}

absl::StatusOr<int64_t> ContentDir::RemoveBlob(std::string_view hex) {
  absl::StatusOr<std::optional<int64_t>> size = BlobSize(hex);
  if (!size.ok()) return size.status();
  if (!size->has_value()) return 0;
  const std::string path = BlobPath(hex);
  if (int err = Unlink(hooks_, path)) {
    if (err == ENOENT) return 0;
    return SysError("unlink", path, err);
  }
  return **size;
}

absl::Status ContentDir::RemoveStray(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(Cat("not an entry of blobs/sha256: ", name));
  }
  const std::string path = Cat(root_, "/blobs/sha256/", name);
  if (int err = Unlink(hooks_, path)) return SysError("unlink", path, err);
  return absl::OkStatus();
}

absl::Status ContentDir::SyncBlobDir() { return SyncDir(hooks_, root_ + "/blobs/sha256"); }

absl::Status ContentDir::ForEachBlob(
    const std::function<absl::Status(std::string_view hex, int64_t size)>& fn,
    const std::function<void(std::string_view name)>& stray) const {
  const std::string dir_path = root_ + "/blobs/sha256";
  return ForEachEntry(dir_path, [&](int dirfd, std::string_view name) -> absl::Status {
    bool is_blob = false;
    int64_t size = 0;
    if (text::IsSha256Hex(name)) {
      struct stat st;
      const std::string file(name);
      if (::fstatat(dirfd, file.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int err = errno;
        if (err == ENOENT) return absl::OkStatus();  // removed since readdir
        return SysError("stat", Cat(dir_path, "/", name), err);
      }
      is_blob = S_ISREG(st.st_mode);
      size = st.st_size;
    }
    if (is_blob) return fn(name, size);
    if (stray) stray(name);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> ContentDir::HashBlob(std::string_view hex) const {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  const std::string path = BlobPath(hex);
  struct stat st;
  absl::StatusOr<UniqueFd> fd = OpenBlobForRead(path, &st);
  if (!fd.ok()) return fd.status();
  Sha256 hash;
  absl::Status s = ReadChunks(hooks_, fd->get(), path, [&](std::string_view chunk) {
    hash.Update(chunk);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return hash.HexDigest();
}

absl::StatusOr<std::string> ContentDir::ReadBlob(std::string_view hex, int64_t max_size) const {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  const std::string path = BlobPath(hex);
  struct stat st;
  absl::StatusOr<UniqueFd> fd = OpenBlobForRead(path, &st);
  if (!fd.ok()) return fd.status();
  auto too_large = [&](int64_t size) {
    return absl::InvalidArgumentError(
        Cat(Digest(hex), " is ", size, " bytes, more than the limit of ", max_size));
  };
  if (st.st_size > max_size) return too_large(st.st_size);
  // Read to the end, but stop past the limit: the file may have grown.
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  absl::Status s = ReadChunks(hooks_, fd->get(), path, [&](std::string_view chunk) {
    out.append(chunk);
    if (static_cast<int64_t>(out.size()) > max_size) {
      return too_large(static_cast<int64_t>(out.size()));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<int> ContentDir::CleanIngest(const absl::flat_hash_set<std::string>& keep) {
  const std::string dir_path = root_ + "/ingest";
  int removed = 0;
  absl::Status s = ForEachEntry(dir_path, [&](int, std::string_view name) -> absl::Status {
    std::string path = Cat(dir_path, "/", name);
    if (keep.contains(path)) return absl::OkStatus();
    if (int err = Unlink(hooks_, path)) {
      if (err == ENOENT) return absl::OkStatus();  // removed meanwhile
      if (err == EISDIR) return absl::OkStatus();  // not ours: only files are cleaned
      return SysError("unlink", path, err);
    }
    ++removed;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return removed;
}

}  // namespace refstore::content
