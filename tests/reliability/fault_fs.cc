#include "fault_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "rocksdb/system_clock.h"

namespace refstore::testing {
namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsInfoLog(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.rfind("LOG", 0) == 0;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int64_t SizeOf(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// The first `limit` bytes of the file (all of it when limit < 0).
std::string ReadPrefix(const std::string& path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  std::string s = out.str();
  if (limit >= 0 && static_cast<int64_t>(s.size()) > limit) s.resize(static_cast<size_t>(limit));
  return s;
}

void WriteWhole(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

rocksdb::IOStatus IoError(int err, const std::string& path) {
  if (err == ENOSPC) return rocksdb::IOStatus::NoSpace("fault_fs: disk full", path);
  return rocksdb::IOStatus::IOError("fault_fs: " + std::string(std::strerror(err)), path);
}

using rocksdb::FileOptions;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class WritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  WritableFile(std::unique_ptr<rocksdb::FSWritableFile> t, FaultFs* fs, std::string path,
               int64_t pos)
      : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs), path_(std::move(path)), pos_(pos) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kWrite, path_, data.size())) return IoError(e, path_);
    IOStatus s = target()->Append(data, o, d);
    if (s.ok()) pos_ += static_cast<int64_t>(data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kWrite, path_, data.size())) return IoError(e, path_);
    IOStatus s = target()->Append(data, o, v, d);
    if (s.ok()) pos_ += static_cast<int64_t>(data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kWrite, path_, data.size())) return IoError(e, path_);
    IOStatus s = target()->PositionedAppend(data, offset, o, d);
    if (s.ok()) pos_ = std::max<int64_t>(pos_, static_cast<int64_t>(offset + data.size()));
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kWrite, path_, data.size())) return IoError(e, path_);
    IOStatus s = target()->PositionedAppend(data, offset, o, v, d);
    if (s.ok()) pos_ = std::max<int64_t>(pos_, static_cast<int64_t>(offset + data.size()));
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kWrite, path_)) return IoError(e, path_);
    IOStatus s = target()->Truncate(size, o, d);
    if (s.ok()) pos_ = static_cast<int64_t>(size);
    return s;
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kSync, path_)) return IoError(e, path_);
    (void)o, (void)d;  // durability is what FaultFs records, not the real disk's
    fs_->Synced(path_, pos_);
    return IOStatus::OK();
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kSync, path_)) return IoError(e, path_);
    (void)o, (void)d;
    fs_->Synced(path_, pos_);
    return IOStatus::OK();
  }
  // sync_file_range: no durability promise, so nothing counts as synced.
  IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();
  }

 private:
  FaultFs* fs_;
  std::string path_;
  int64_t pos_;
};

class SequentialFile : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  SequentialFile(std::unique_ptr<rocksdb::FSSequentialFile> t, FaultFs* fs, std::string path)
      : FSSequentialFileOwnerWrapper(std::move(t)), fs_(fs), path_(std::move(path)) {}
  IOStatus Read(size_t n, const IOOptions& o, Slice* r, char* scratch, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kRead, path_, n)) return IoError(e, path_);
    return target()->Read(n, o, r, scratch, d);
  }
  IOStatus PositionedRead(uint64_t off, size_t n, const IOOptions& o, Slice* r, char* scratch,
                          IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kRead, path_, n)) return IoError(e, path_);
    return target()->PositionedRead(off, n, o, r, scratch, d);
  }

 private:
  FaultFs* fs_;
  std::string path_;
};

class RandomAccessFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  RandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile> t, FaultFs* fs, std::string path)
      : FSRandomAccessFileOwnerWrapper(std::move(t)), fs_(fs), path_(std::move(path)) {}
  IOStatus Read(uint64_t off, size_t n, const IOOptions& o, Slice* r, char* scratch,
                IODebugContext* d) const override {
    if (int e = fs_->Admit(FaultFs::Call::kRead, path_, n)) return IoError(e, path_);
    return target()->Read(off, n, o, r, scratch, d);
  }
  IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num, const IOOptions& o,
                     IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kRead, path_)) {
      for (size_t i = 0; i < num; ++i) reqs[i].status = IoError(e, path_);
      return IOStatus::OK();
    }
    return target()->MultiRead(reqs, num, o, d);
  }

 private:
  FaultFs* fs_;
  std::string path_;
};

class Directory : public rocksdb::FSDirectoryWrapper {
 public:
  Directory(std::unique_ptr<rocksdb::FSDirectory> t, FaultFs* fs, std::string path)
      : FSDirectoryWrapper(std::move(t)), fs_(fs), path_(std::move(path)) {}
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    if (int e = fs_->Admit(FaultFs::Call::kSync, path_)) return IoError(e, path_);
    (void)o, (void)d;
    fs_->SyncedDir(path_);
    return IOStatus::OK();
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* d,
                               const rocksdb::DirFsyncOptions& opts) override {
    if (int e = fs_->Admit(FaultFs::Call::kSync, path_)) return IoError(e, path_);
    (void)o, (void)d, (void)opts;
    fs_->SyncedDir(path_);
    return IOStatus::OK();
  }

 private:
  FaultFs* fs_;
  std::string path_;
};

class FileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FileSystem(FaultFs* fs) : FileSystemWrapper(rocksdb::FileSystem::Default()), fs_(fs) {}
  const char* Name() const override { return "FaultFs"; }

  IOStatus NewWritableFile(const std::string& f, const FileOptions& fo,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* d) override {
    return OpenForWrite(f, fo, r, d, /*reopen=*/false);
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& fo,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* d) override {
    return OpenForWrite(f, fo, r, d, /*reopen=*/true);
  }
  IOStatus NewSequentialFile(const std::string& f, const FileOptions& fo,
                             std::unique_ptr<rocksdb::FSSequentialFile>* r,
                             IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSSequentialFile> file;
    IOStatus s = target()->NewSequentialFile(f, fo, &file, d);
    if (s.ok()) *r = std::make_unique<SequentialFile>(std::move(file), fs_, NormalPath(f));
    return s;
  }
  IOStatus NewRandomAccessFile(const std::string& f, const FileOptions& fo,
                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                               IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> file;
    IOStatus s = target()->NewRandomAccessFile(f, fo, &file, d);
    if (s.ok()) *r = std::make_unique<RandomAccessFile>(std::move(file), fs_, NormalPath(f));
    return s;
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& o,
                        std::unique_ptr<rocksdb::FSDirectory>* r, IODebugContext* d) override {
    std::unique_ptr<rocksdb::FSDirectory> dir;
    IOStatus s = target()->NewDirectory(name, o, &dir, d);
    if (s.ok()) *r = std::make_unique<Directory>(std::move(dir), fs_, NormalPath(name));
    return s;
  }
  IOStatus RenameFile(const std::string& src, const std::string& dst, const IOOptions& o,
                      IODebugContext* d) override {
    const std::string from = NormalPath(src), to = NormalPath(dst);
    if (int e = fs_->Admit(FaultFs::Call::kChange, from)) return IoError(e, from);
    fs_->Renaming(from, to);
    return target()->RenameFile(src, dst, o, d);
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* d) override {
    const std::string p = NormalPath(f);
    if (int e = fs_->Admit(FaultFs::Call::kChange, p)) return IoError(e, p);
    fs_->Deleting(p);
    return target()->DeleteFile(f, o, d);
  }
  IOStatus LinkFile(const std::string& src, const std::string& dst, const IOOptions& o,
                    IODebugContext* d) override {
    const std::string to = NormalPath(dst);
    if (int e = fs_->Admit(FaultFs::Call::kChange, to)) return IoError(e, to);
    IOStatus s = target()->LinkFile(src, dst, o, d);
    if (s.ok()) fs_->Created(to);
    return s;
  }
  IOStatus Truncate(const std::string& f, size_t size, const IOOptions& o,
                    IODebugContext* d) override {
    const std::string p = NormalPath(f);
    if (int e = fs_->Admit(FaultFs::Call::kWrite, p)) return IoError(e, p);
    IOStatus s = target()->Truncate(f, size, o, d);
    if (s.ok()) fs_->Opened(p, static_cast<int64_t>(size));
    return s;
  }

 private:
  // NewWritableFile (truncating: none of an existing file is known to be
  // synced any more) or ReopenWritableFile (appending after what is there).
  IOStatus OpenForWrite(const std::string& f, const FileOptions& fo,
                        std::unique_ptr<rocksdb::FSWritableFile>* r, IODebugContext* d,
                        bool reopen) {
    const std::string p = NormalPath(f);
    if (int e = fs_->Admit(FaultFs::Call::kChange, p)) return IoError(e, p);
    const bool existed = Exists(p);
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus s = reopen ? target()->ReopenWritableFile(f, fo, &file, d)
                        : target()->NewWritableFile(f, fo, &file, d);
    if (!s.ok()) return s;
    const int64_t size = reopen ? std::max<int64_t>(SizeOf(p), 0) : 0;
    if (existed) {
      fs_->Opened(p, size);
    } else {
      fs_->Created(p);
    }
    *r = std::make_unique<WritableFile>(std::move(file), fs_, p, size);
    return s;
  }

  FaultFs* fs_;
};

class Hooks : public content::FileHooks {
 public:
  explicit Hooks(FaultFs* fs) : fs_(fs) {}
  int Before(content::FileEvent event, const std::string& raw_path, const std::string& raw_to,
             size_t bytes) override {
    const std::string path = NormalPath(raw_path);
    switch (event) {
      case content::FileEvent::kCreate:
        if (int e = fs_->Admit(FaultFs::Call::kChange, path)) return e;
        fs_->Created(path);
        return 0;
      case content::FileEvent::kWrite:
        return fs_->Admit(FaultFs::Call::kWrite, path, bytes);
      case content::FileEvent::kSync:
        if (int e = fs_->Admit(FaultFs::Call::kSync, path)) return e;
        fs_->Synced(path, std::max<int64_t>(SizeOf(path), 0));
        return content::FileHooks::kSkip;
      case content::FileEvent::kSyncDir:
        if (int e = fs_->Admit(FaultFs::Call::kSync, path)) return e;
        fs_->SyncedDir(path);
        return content::FileHooks::kSkip;
      case content::FileEvent::kRename: {
        if (int e = fs_->Admit(FaultFs::Call::kChange, path)) return e;
        fs_->Renaming(path, NormalPath(raw_to));
        return 0;
      }
      case content::FileEvent::kUnlink:
        if (int e = fs_->Admit(FaultFs::Call::kChange, path)) return e;
        fs_->Deleting(path);
        return 0;
      case content::FileEvent::kMkdir:
        return fs_->Admit(FaultFs::Call::kChange, path);
      case content::FileEvent::kRead:
        return fs_->Admit(FaultFs::Call::kRead, path, bytes);
    }
    return 0;
  }

 private:
  FaultFs* fs_;
};

class FastClock : public rocksdb::SystemClockWrapper {
 public:
  explicit FastClock(const std::shared_ptr<rocksdb::SystemClock>& t) : SystemClockWrapper(t) {}
  const char* Name() const override { return "FastClock"; }
  void SleepForMicroseconds(int micros) override {
    SystemClockWrapper::SleepForMicroseconds(micros / 1000);
  }
};

class FastEnv : public rocksdb::EnvWrapper {
 public:
  explicit FastEnv(rocksdb::Env* t) : EnvWrapper(t) {
    // Env::GetSystemClock is not virtual: it returns this member, which
    // DBOptions' clock is taken from.
    system_clock_ = std::make_shared<FastClock>(t->GetSystemClock());
  }
  const char* Name() const override { return "FastEnv"; }
  void SleepForMicroseconds(int micros) override { system_clock_->SleepForMicroseconds(micros); }
};

}  // namespace

std::string NormalPath(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

FaultFs::FaultFs(uint64_t seed)
    : rng_(seed),
      background_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      fs_(std::make_shared<FileSystem>(this)),
      hooks_(std::make_unique<Hooks>(this)),
      composite_(rocksdb::NewCompositeEnv(fs_)),
      env_(std::make_unique<FastEnv>(composite_.get())) {}

FaultFs::~FaultFs() = default;

void FaultFs::CutAfter(int64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  cut_countdown_ = n;
  cut_thread_ = std::this_thread::get_id();
}

void FaultFs::CutNow() {
  std::lock_guard<std::mutex> l(mu_);
  power_off_ = true;
}

bool FaultFs::power_off() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(mu_));
  return power_off_;
}

void FaultFs::SetFaults(const FaultPlan& plan) {
  std::lock_guard<std::mutex> l(mu_);
  plan_ = plan;
  fault_thread_ = std::this_thread::get_id();
}

FaultCounts FaultFs::counts() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(mu_));
  return counts_;
}

int FaultFs::Admit(Call call, const std::string& path, size_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  if (power_off_) return EIO;
  if (call != Call::kRead && cut_countdown_ >= 0 && std::this_thread::get_id() == cut_thread_) {
    if (cut_countdown_ == 0) {
      power_off_ = true;
      cut_countdown_ = -1;
      return EIO;
    }
    --cut_countdown_;
  }
  if (IsInfoLog(path)) return 0;
  const bool faults = plan_.write_one_in || plan_.sync_one_in || plan_.read_one_in ||
                      plan_.space_left >= 0 || plan_.reads_left >= 0;
  if (!faults) return 0;  // counts are of calls made while faults are on
  // The caller's calls and the background threads' draw from two streams,
  // so that the faults of the caller's calls are the same in every run.
  std::mt19937_64& rng = std::this_thread::get_id() == fault_thread_ ? rng_ : background_rng_;
  auto one_in = [&](uint32_t n) { return n > 0 && rng() % n == 0; };
  switch (call) {
    case Call::kWrite:
    case Call::kChange:
      ++counts_.writes;
      if (one_in(plan_.write_one_in)) {
        ++counts_.failed_writes;
        return EIO;
      }
      if (plan_.space_left >= 0 && bytes > 0) {
        if (static_cast<int64_t>(bytes) > plan_.space_left) {
          ++counts_.no_space;
          return ENOSPC;
        }
        plan_.space_left -= static_cast<int64_t>(bytes);
      }
      return 0;
    case Call::kSync:
      ++counts_.syncs;
      if (one_in(plan_.sync_one_in)) {
        ++counts_.failed_syncs;
        return EIO;
      }
      return 0;
    case Call::kRead:
      ++counts_.reads;
      if (plan_.reads_left == 0 || one_in(plan_.read_one_in)) {
        ++counts_.failed_reads;
        return EIO;
      }
      if (plan_.reads_left > 0) --plan_.reads_left;
      return 0;
  }
  return 0;
}

void FaultFs::Created(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  synced_[path] = 0;
  pending_.push_back(Entry{.kind = Entry::kCreate, .path = path, .dir = Dirname(path)});
}

void FaultFs::Opened(const std::string& path, int64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = synced_.find(path);
  if (it == synced_.end()) {
    synced_[path] = size;
  } else {
    it->second = std::min(it->second, size);
  }
}

void FaultFs::Synced(const std::string& path, int64_t length) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = synced_.find(path);
  if (it != synced_.end()) it->second = std::max(it->second, length);
  // An untracked file is wholly on the disk already.
}

void FaultFs::SyncedDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const Entry& e) { return e.dir == dir; }),
                 pending_.end());
}

void FaultFs::Renaming(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  Entry e{.kind = Entry::kRename, .path = from, .to = to, .dir = Dirname(to)};
  if (Exists(to)) {
    e.had_old = true;
    auto it = synced_.find(to);
    e.old_bytes = ReadPrefix(to, it == synced_.end() ? -1 : it->second);
  }
  auto it = synced_.find(from);
  if (it != synced_.end()) {
    e.from_tracked = true;
    e.from_synced = it->second;
    synced_[to] = it->second;
    synced_.erase(from);
  } else {
    synced_.erase(to);
  }
  pending_.push_back(std::move(e));
}

void FaultFs::Deleting(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (!Exists(path)) return;
  auto it = synced_.find(path);
  Entry e{.kind = Entry::kUnlink, .path = path, .dir = Dirname(path), .had_old = true};
  e.old_bytes = ReadPrefix(path, it == synced_.end() ? -1 : it->second);
  if (it != synced_.end()) synced_.erase(it);
  pending_.push_back(std::move(e));
}

DropStats FaultFs::DropUnsynced() {
  std::lock_guard<std::mutex> l(mu_);
  DropStats stats;
  for (auto e = pending_.rbegin(); e != pending_.rend(); ++e) {
    ++stats.entries_undone;
    switch (e->kind) {
      case Entry::kCreate:
        ::unlink(e->path.c_str());
        synced_.erase(e->path);
        break;
      case Entry::kRename:
        if (Exists(e->to)) ::rename(e->to.c_str(), e->path.c_str());
        synced_.erase(e->to);
        if (e->from_tracked) synced_[e->path] = e->from_synced;
        if (e->had_old) WriteWhole(e->to, e->old_bytes);
        break;
      case Entry::kUnlink:
        WriteWhole(e->path, e->old_bytes);
        synced_.erase(e->path);
        break;
    }
  }
  pending_.clear();
  for (const auto& [path, length] : synced_) {
    const int64_t size = SizeOf(path);
    if (size > length) {
      if (::truncate(path.c_str(), length) == 0) {
        ++stats.files_truncated;
        stats.bytes_dropped += size - length;
      }
    }
  }
  synced_.clear();
  power_off_ = false;
  cut_countdown_ = -1;
  return stats;
}

}  // namespace refstore::testing
