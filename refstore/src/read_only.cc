#include "read_only.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdarg>
#include <filesystem>

#include "strcat.h"
#include "txn.h"

namespace refstore::internal {
namespace {

// An info log that writes nothing: a read-only open must not create LOG.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

}  // namespace

bool LockedByAnotherProcess(std::string_view path) {
  const std::string lock = Cat(path, "/LOCK");
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  const bool locked = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

absl::StatusOr<ReadOnlyDb> OpenReadOnly(
    std::string_view path, const rocksdb::DBOptions& base,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors) {
  rocksdb::DBOptions options = base;
  options.create_if_missing = false;
  options.create_missing_column_families = false;
  ReadOnlyDb out;
  rocksdb::Status s;
  if (LockedByAnotherProcess(path)) {
    char tmpl[] = "/tmp/refstore-secondary-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return absl::InternalError("cannot create a temporary directory");
    out.secondary_dir = tmpl;
    options.max_open_files = -1;  // required of a secondary instance
    s = rocksdb::DB::OpenAsSecondary(options, std::string(path), out.secondary_dir, descriptors,
                                     &out.handles, &out.db);
    if (s.ok()) s = out.db->TryCatchUpWithPrimary();
  } else {
    options.info_log = std::make_shared<NullLogger>();
    s = rocksdb::DB::OpenForReadOnly(options, std::string(path), descriptors, &out.handles,
                                     &out.db);
  }
  if (!s.ok()) {
    if (out.db) {
      for (auto* h : out.handles) out.db->DestroyColumnFamilyHandle(h);
      delete out.db;
    }
    if (!out.secondary_dir.empty()) std::filesystem::remove_all(out.secondary_dir);
    return RocksError(s, Cat(path, " (read-only)"));
  }
  return out;
}

}  // namespace refstore::internal
