#include "refstore/db/read_only.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <random>
#include <thread>

#include "refstore/db/rocks_options.h"
#include "refstore/db/txn.h"
#include "refstore/format/keys.h"
#include "refstore/util/posix_file.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// An info log that writes nothing: a read-only open must not create LOG.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Attempts of one read-only open, and the pauses between them: a random
// pause up to 2 ms, doubling to 100 ms, at most kOpenBudget in all. (A
// writer of short `apply` calls changes the MANIFEST a few times per call;
// an open overlaps one of those changes in well under half of the attempts.)
constexpr int kOpenAttempts = 40;
constexpr std::chrono::milliseconds kOpenBudget{10000};
// Rounds of re-verifying check's file findings: pauses from 20 ms doubling
// to 320 ms, about 2.5 s in all.
constexpr int kReverifyRounds = 9;

// What a reader needs to know that nothing was recorded while it opened:
// the MANIFEST CURRENT names and that MANIFEST's length (a MANIFEST only
// grows, and a new one has a new name).
struct Fingerprint {
  bool ok = false;
  bool has_current = false;
  std::string current;
  int64_t manifest_size = -1;
  friend bool operator==(const Fingerprint& a, const Fingerprint& b) {
    return a.ok == b.ok && a.current == b.current && a.manifest_size == b.manifest_size;
  }
};

Fingerprint TakeFingerprint(std::string_view path) {
  Fingerprint f;
  const std::string current = Cat(path, "/CURRENT");
  UniqueFd fd;
  if (Open(current, O_RDONLY, &fd) != 0) return f;
  char buf[256];
  absl::StatusOr<size_t> n = ReadFull(fd.get(), buf, sizeof buf, current);
  fd.reset();
  f.has_current = true;
  if (!n.ok() || *n == 0) return f;
  f.current.assign(buf, *n);
  std::string name = f.current;
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  if (name.empty() || name.find('/') != std::string::npos) return f;
  struct stat st;
  if (::stat(Cat(path, "/", name).c_str(), &st) != 0) return f;
  f.manifest_size = st.st_size;
  f.ok = true;
  return f;
}

// A failure an open can meet when a writer deletes or replaces a file
// between RocksDB's reading of the MANIFEST and its opening of the files
// the MANIFEST lists (an SST compacted away, a WAL flushed and deleted, the
// MANIFEST replaced by a new writer's open).
bool MayBeARace(const rocksdb::Status& s) {
  return s.IsIOError() || s.IsCorruption() || s.IsNotFound() || s.IsTryAgain() ||
         s.IsIncomplete() || s.IsPathNotFound();
}

void Close(ReadOnlyDb& ro) {
  if (ro.db == nullptr) return;
  for (auto* h : ro.handles) ro.db->DestroyColumnFamilyHandle(h);
  ro.handles.clear();
  ro.db->Close().PermitUncheckedError();
  delete ro.db;
  ro.db = nullptr;
}

std::minstd_rand& Rng() {
  thread_local std::minstd_rand rng(
      static_cast<unsigned>(::getpid()) * 2654435761u ^ static_cast<unsigned>(::clock()) ^
      static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  return rng;
}

// Sleeps a random time in [cap/2, cap].
void Pause(std::chrono::microseconds cap) {
  const auto lo = cap.count() / 2;
  std::uniform_int_distribution<int64_t> d(lo, std::max<int64_t>(lo, cap.count()));
  std::this_thread::sleep_for(std::chrono::microseconds(d(Rng())));
}

// A fresh read-only view with the store's own options, for re-verifying.
absl::StatusOr<ReadOnlyDb> OpenFreshView(std::string_view path) {
  rocksdb::DBOptions options = RocksDbOptions(/*create_if_missing=*/false);
  auto cache = NewRocksCache();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, RocksCfOptions(cache, name));
  return OpenReadOnly(path, options, descriptors);
}

absl::StatusOr<bool> Has(const ReadOnlyDb& view, Cf cf, const std::string& key) {
  std::string value;
  rocksdb::Status s = view.db->Get({}, view.handles[cf], key, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return RocksError(s, Printable(key));
  return true;
}

constexpr char kBlobWithoutFile[] = "blob_without_file";
constexpr char kFileWithoutRecord[] = "file_without_record";

}  // namespace

bool LockedByAnotherProcess(std::string_view path) {
  const std::string lock = Cat(path, "/LOCK");
  UniqueFd fd;
  if (Open(lock, O_RDONLY, &fd) != 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  return ::fcntl(fd.get(), F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

absl::StatusOr<ReadOnlyDb> OpenReadOnly(
    std::string_view path, const rocksdb::DBOptions& base,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors) {
  rocksdb::DBOptions options = base;
  options.create_if_missing = false;
  options.create_missing_column_families = false;
  options.info_log = std::make_shared<NullLogger>();
  // Every table file is opened (and kept open) by the open itself, so none
  // is opened later, after a writer's compaction may have deleted it.
  options.max_open_files = -1;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::microseconds pause{2000};
  rocksdb::Status last;
  int attempt = 0;
  for (;;) {
    ++attempt;
    const bool live = LockedByAnotherProcess(path);
    const Fingerprint before = TakeFingerprint(path);
    ReadOnlyDb out;
    last = rocksdb::DB::OpenForReadOnly(options, std::string(path), descriptors, &out.handles,
                                        &out.db);
    const Fingerprint after = TakeFingerprint(path);
    const bool stable = before == after;
    if (last.ok() && stable) return out;
    if (last.ok()) {
      // It read a MANIFEST that changed while it read the write-ahead logs
      // (a flush may have deleted a log it needed): not a consistent view.
      Close(out);
      last = rocksdb::Status::TryAgain("the store changed while it was opened");
    } else {
      Close(out);
      // A failure on a store nobody changes is the store's own; without
      // CURRENT there is no store (yet: the caller tells a store being
      // created by the lock).
      if (!MayBeARace(last) || (!before.has_current && !after.has_current) ||
          (stable && !live && !LockedByAnotherProcess(path))) {
        break;
      }
    }
    if (attempt >= kOpenAttempts || std::chrono::steady_clock::now() - start >= kOpenBudget) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      return RocksError(last, Cat(path, " (read-only; another process kept changing the store: ",
                                  attempt, " attempts in ", ms, " ms)"));
    }
    Pause(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(100000));
  }
  return RocksError(last, Cat(path, " (read-only)"));
}

absl::Status ReverifyFileFindings(std::string_view path, const content::ContentDir& content,
                                  std::vector<Problem>* problems) {
  struct Pending {
    size_t index;
    std::string hex;
    bool resolved = false;
  };
  std::vector<Pending> pending;
  for (size_t i = 0; i < problems->size(); ++i) {
    const Problem& p = (*problems)[i];
    if (p.info || (p.category != kBlobWithoutFile && p.category != kFileWithoutRecord)) continue;
    if (p.subject.size() != 7 + 64 || p.subject.compare(0, 7, "sha256:") != 0) continue;
    pending.push_back({i, p.subject.substr(7)});
  }
  if (pending.empty()) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  std::chrono::milliseconds pause{20};
  int rounds = 0;
  absl::Status view_error;
  for (; rounds < kReverifyRounds; ++rounds) {
    if (rounds > 0) {
      std::this_thread::sleep_for(pause);
      pause *= 2;
    }
    const bool live = LockedByAnotherProcess(path);
    absl::StatusOr<ReadOnlyDb> view = OpenFreshView(path);
    if (!view.ok()) {
      view_error = view.status();
      continue;
    }
    bool left = false;
    for (Pending& p : pending) {
      if (p.resolved) continue;
      // The view first, then the file: a blob's file is published before
      // its record is committed, and deleted after its record is gone.
      const std::string raw = HexToRaw(p.hex);
      absl::StatusOr<bool> blob = Has(*view, kBlobs, raw);
      absl::StatusOr<bool> garbage = Has(*view, kGarbage, raw);
      if (!blob.ok() || !garbage.ok()) {
        view_error = blob.ok() ? garbage.status() : blob.status();
        left = true;
        continue;
      }
      absl::StatusOr<std::optional<int64_t>> size = content.BlobSize(p.hex);
      const bool file = size.ok() && size->has_value();
      const bool gone = size.ok() && !size->has_value();
      if ((*problems)[p.index].category == kBlobWithoutFile) {
        p.resolved = !*blob || file;  // freed since, or its file is there now
      } else {
        p.resolved = *blob || *garbage || gone;  // recorded since, or collected
      }
      left = left || !p.resolved;
    }
    ReadOnlyDb v = *std::move(view);
    Close(v);
    if (!left) break;
    // A view of a store nobody held during the round is the final word.
    if (!live && !LockedByAnotherProcess(path)) {
      ++rounds;
      break;
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  const bool live = LockedByAnotherProcess(path);
  std::vector<bool> drop(problems->size(), false);
  for (const Pending& p : pending) {
    if (p.resolved) {
      drop[p.index] = true;
    } else if (live) {
      Problem& problem = (*problems)[p.index];
      problem.detail = Cat(
          problem.detail, " (may be transient: another process has the store open; seen again on ",
          rounds, " fresh views over ", ms, " ms",
          view_error.ok() ? "" : Cat("; ", std::string(view_error.message())), ")");
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < problems->size(); ++i) {
    if (drop[i]) continue;
    if (kept != i) (*problems)[kept] = std::move((*problems)[i]);
    ++kept;
  }
  problems->resize(kept);
  return absl::OkStatus();
}

}  // namespace refstore::internal
