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

namespace refstore::content {
namespace {

constexpr size_t kBufSize = 1 << 16;
constexpr std::string_view kOciLayout = "{\"imageLayoutVersion\":\"1.0.0\"}";

// This Abseil's StrCat takes absl::string_view, which is not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// "<what> <path>: <strerror(err)>" as Internal.
absl::Status SysError(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(AV(what), " ", path, ": ", std::strerror(err)));
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Every hex taken from a caller goes through this before it becomes part
// of a path, so that no path can leave the layout.
absl::Status CheckHex(std::string_view hex) {
  if (IsHex64(hex)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid blob digest \"", AV(hex.substr(0, 80)), "\": want 64 lowercase hex characters"));
}

std::string Digest(std::string_view hex) { return absl::StrCat("sha256:", AV(hex)); }

// Owns a file descriptor; closes it (ignoring errors) unless released.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, returning close()'s result.
  int Close() {
    int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

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
  if (::fsync(fd) != 0) return SysError("fsync", path, errno);
  return absl::OkStatus();
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
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return SysError("open", dir, errno);
  if (::fsync(fd.get()) != 0) return SysError("fsync", dir, errno);
  return absl::OkStatus();
}

absl::Status WriteAll(FileHooks* hooks, int fd, const char* data, size_t n,
                      const std::string& path) {
  if (int err = Hook(hooks, FileEvent::kWrite, path, std::string(), n)) {
    return SysError("write", path, err);
  }
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return SysError("write", path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

// Reads up to `cap` bytes, retrying on EINTR; returns fewer only at the end.
absl::StatusOr<size_t> ReadFull(FileHooks* hooks, int fd, char* buf, size_t cap,
                                const std::string& path) {
  if (int err = Hook(hooks, FileEvent::kRead, path, std::string(), cap)) {
    return SysError("read", path, err);
  }
  size_t got = 0;
  while (got < cap) {
    ssize_t r = ::read(fd, buf + got, cap - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path, errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
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
        return absl::InvalidArgumentError(absl::StrCat(path, " is a symbolic link"));
      }
      if (!S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(absl::StrCat(path, " is not a directory"));
      }
      return absl::OkStatus();
    }
    if (errno != ENOENT) return SysError("stat", path, errno);
    if (int err = Hook(hooks, FileEvent::kMkdir, path)) return SysError("mkdir", path, err);
    if (::mkdir(path.c_str(), 0755) == 0) return SyncDir(hooks, Dirname(path));
    // Another process may have created it meanwhile: look again.
    if (errno != EEXIST) return SysError("mkdir", path, errno);
  }
  return absl::InternalError(absl::StrCat("cannot create directory ", path));
}

// Creates a new file in `dir` named "<prefix>.<pid>.<counter>.<random>",
// unique across threads and processes (O_EXCL rejects any collision).
absl::StatusOr<std::pair<int, std::string>> CreateTemp(FileHooks* hooks, const std::string& dir,
                                                       std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t nonce = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  for (int attempt = 0;; ++attempt) {
    std::string path = absl::StrCat(dir, "/", AV(prefix), ".", ::getpid(), ".",
                                    counter.fetch_add(1), ".", absl::Hex(nonce));
    if (int err = Hook(hooks, FileEvent::kCreate, path)) return SysError("create", path, err);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return std::make_pair(fd, std::move(path));
    if (errno != EEXIST || attempt >= 8) return SysError("create", path, errno);
  }
}

// Opens blob file `path` for reading. A symlink, a directory or any other
// non-regular file is InvalidArgument (O_NONBLOCK: a FIFO must not hang us);
// a missing file is NotFound.
absl::StatusOr<int> OpenBlobForRead(const std::string& path, struct stat* st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no blob file ", path));
    if (errno == ELOOP) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is a symbolic link"));
    }
    return SysError("open", path, errno);
  }
  if (::fstat(fd, st) != 0) {
    int err = errno;
    ::close(fd);
    return SysError("fstat", path, err);
  }
  if (!S_ISREG(st->st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  return fd;
}

// Opens directory `path` for listing without following a symlink there.
absl::StatusOr<DIR*> OpenDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return SysError("open", path, errno);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return SysError("fdopendir", path, err);
  }
  return dir;
}

// Whether `path` names a file directly under <root>/ingest.
bool IsIngestPath(const std::string& root, const std::string& path) {
  const std::string prefix = root + "/ingest/";
  return path.size() > prefix.size() && path.starts_with(prefix) &&
         path.find('/', prefix.size()) == std::string::npos;
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

}  // namespace

Reader StringReader(std::string_view bytes) {
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
      return absl::FailedPreconditionError(absl::StrCat("content store missing at ", root));
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("content store missing at ", root));
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
      return absl::InvalidArgumentError(absl::StrCat(layout, " is not a regular file"));
    }
    return ContentDir(std::move(root), hooks);
  }
  if (errno != ENOENT) return SysError("stat", layout, errno);

  // Written under ingest/ (where CleanIngest removes leftovers of a crash)
  // and renamed into place, so that oci-layout is never seen half-written.
  auto temp = CreateTemp(hooks, root + "/ingest", "oci-layout");
  if (!temp.ok()) return temp.status();
  Fd fd(temp->first);
  const std::string& temp_path = temp->second;
  s = WriteAll(hooks, fd.get(), kOciLayout.data(), kOciLayout.size(), temp_path);
  if (s.ok()) s = SyncFile(hooks, fd.get(), temp_path);
  if (s.ok() && fd.Close() != 0) s = SysError("close", temp_path, errno);
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
  return absl::StrCat(root_, "/blobs/sha256/", AV(hex));
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
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  return std::optional<int64_t>(st.st_size);
}

absl::StatusOr<IngestFile> ContentDir::Ingest(std::string_view hex, int64_t size,
                                              const Reader& reader) {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  if (size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative size ", size, " for ", Digest(hex)));
  }
  auto temp = CreateTemp(hooks_, root_ + "/ingest", hex);
  if (!temp.ok()) return temp.status();
  Fd fd(temp->first);
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
        return absl::InternalError(absl::StrCat("reader of ", Digest(hex), " returned ", *n,
                                                " bytes into a buffer of ", kBufSize));
      }
      total += static_cast<int64_t>(*n);
      if (total > size) {
        return absl::InvalidArgumentError(absl::StrCat("size of ", Digest(hex), " is at least ",
                                                       total, " bytes, expected ", size));
      }
      hash.Update(std::string_view(buf.get(), *n));
      if (absl::Status s = WriteAll(hooks_, fd.get(), buf.get(), *n, file.temp_path); !s.ok()) {
        return s;
      }
    }
    if (total != size) {
      return absl::InvalidArgumentError(absl::StrCat("size of ", Digest(hex), " is ", total,
                                                     " bytes, expected ", size));
    }
    std::string got = hash.HexDigest();
    if (got != hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          "digest of the written bytes is sha256:", got, ", expected ", Digest(hex)));
    }
    if (absl::Status s = SyncFile(hooks_, fd.get(), file.temp_path); !s.ok()) return s;
    if (fd.Close() != 0) return SysError("close", file.temp_path, errno);
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
        absl::StrCat("ingest file ", file.temp_path, " is not under ", root_, "/ingest"));
  }
  const std::string path = BlobPath(file.hex);
  if (int err = Rename(hooks_, file.temp_path, path)) {
    return SysError(absl::StrCat("rename ", file.temp_path, " to"), path, err);
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
    return absl::InvalidArgumentError(absl::StrCat("not an entry of blobs/sha256: ", AV(name)));
  }
  const std::string path = absl::StrCat(root_, "/blobs/sha256/", AV(name));
  if (int err = Unlink(hooks_, path)) return SysError("unlink", path, err);
  return absl::OkStatus();
}

absl::Status ContentDir::SyncBlobDir() { return SyncDir(hooks_, root_ + "/blobs/sha256"); }

absl::Status ContentDir::ForEachBlob(
    const std::function<absl::Status(std::string_view hex, int64_t size)>& fn,
    const std::function<void(std::string_view name)>& stray) const {
  const std::string dir_path = root_ + "/blobs/sha256";
  absl::StatusOr<DIR*> opened = OpenDir(dir_path);
  if (!opened.ok()) return opened.status();
  DirPtr dir(*opened);
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return SysError("readdir", dir_path, errno);
      return absl::OkStatus();
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_blob = false;
    int64_t size = 0;
    if (IsHex64(name)) {
      struct stat st;
      if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int err = errno;
        if (err == ENOENT) continue;  // removed since readdir
        return SysError("stat", absl::StrCat(dir_path, "/", AV(name)), err);
      }
      is_blob = S_ISREG(st.st_mode);
      size = st.st_size;
    }
    if (is_blob) {
      if (absl::Status s = fn(name, size); !s.ok()) return s;
    } else if (stray) {
      stray(name);
    }
  }
}

absl::StatusOr<std::string> ContentDir::HashBlob(std::string_view hex) const {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  const std::string path = BlobPath(hex);
  struct stat st;
  absl::StatusOr<int> opened = OpenBlobForRead(path, &st);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
  auto buf = std::make_unique<char[]>(kBufSize);
  Sha256 hash;
  for (;;) {
    absl::StatusOr<size_t> n = ReadFull(hooks_, fd.get(), buf.get(), kBufSize, path);
    if (!n.ok()) return n.status();
    hash.Update(std::string_view(buf.get(), *n));
    if (*n < kBufSize) break;
  }
  return hash.HexDigest();
}

absl::StatusOr<std::string> ContentDir::ReadBlob(std::string_view hex, int64_t max_size) const {
  if (absl::Status s = CheckHex(hex); !s.ok()) return s;
  const std::string path = BlobPath(hex);
  struct stat st;
  absl::StatusOr<int> opened = OpenBlobForRead(path, &st);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
  auto too_large = [&](int64_t size) {
    return absl::InvalidArgumentError(absl::StrCat(Digest(hex), " is ", size,
                                                   " bytes, more than the limit of ", max_size));
  };
  if (st.st_size > max_size) return too_large(st.st_size);
  // Read to the end, but stop past the limit: the file may have grown.
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  auto buf = std::make_unique<char[]>(kBufSize);
  for (;;) {
    absl::StatusOr<size_t> n = ReadFull(hooks_, fd.get(), buf.get(), kBufSize, path);
    if (!n.ok()) return n.status();
    out.append(buf.get(), *n);
    if (static_cast<int64_t>(out.size()) > max_size) {
      return too_large(static_cast<int64_t>(out.size()));
    }
    if (*n < kBufSize) return out;
  }
}

absl::StatusOr<int> ContentDir::CleanIngest(const absl::flat_hash_set<std::string>& keep) {
  const std::string dir_path = root_ + "/ingest";
  absl::StatusOr<DIR*> opened = OpenDir(dir_path);
  if (!opened.ok()) return opened.status();
  DirPtr dir(*opened);
  int removed = 0;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return SysError("readdir", dir_path, errno);
      return removed;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = absl::StrCat(dir_path, "/", AV(name));
    if (keep.contains(path)) continue;
    if (int err = Unlink(hooks_, path)) {
      if (err == ENOENT) continue;  // removed meanwhile
      if (err == EISDIR) continue;  // not ours: only files are cleaned
      return SysError("unlink", path, err);
    }
    ++removed;
  }
}

}  // namespace refstore::content
