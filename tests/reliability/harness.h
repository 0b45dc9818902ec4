// harness.h: a store over FaultFs beside a shadow store on the plain file
// system, both fed the same operations (power_loss_test, io_fault_test).
//
// The shadow never fails, so after each operation it holds the state the
// operation must lead to; the store under test is compared with it. After a
// recovery the shadow is replaced by a copy of the recovered store.
#ifndef REFSTORE_TESTS_RELIABILITY_HARNESS_H_
#define REFSTORE_TESTS_RELIABILITY_HARNESS_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fault_fs.h"
#include "refstore/db/seams.h"
#include "refstore/store.h"
#include "workload.h"

namespace refstore::testing {

inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

inline uint64_t SeedFrom(const char* name) {
  if (const char* v = std::getenv(name); v && *v) return std::strtoull(v, nullptr, 10);
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

class Harness {
 public:
  Harness(uint64_t seed, StoreOptions options)
      : fs_(seed ^ 0x5eed), shadow_fs_(0), options_(options) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/refstore-fault-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) std::abort();
    dir_ = buf.data();
    real_path_ = dir_ + "/real";
    shadow_path_ = dir_ + "/shadow";
  }
  ~Harness() {
    real_.reset();
    shadow_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  FaultFs& fs() { return fs_; }
  Store* real() { return real_.get(); }
  Store* shadow() { return shadow_.get(); }
  const std::string& real_path() const { return real_path_; }

  absl::Status OpenReal() { return Open(real_path_, fs_, real_); }
  void CloseReal() { real_.reset(); }
  // The shadow goes through a FaultFs that never fails, only so that its
  // syncs cost nothing.
  absl::Status OpenShadow() { return Open(shadow_path_, shadow_fs_, shadow_); }

  // Replaces the shadow with a copy of the store under test (which is
  // closed for the copy and reopened).
  absl::Status ResyncShadow() {
    real_.reset();
    shadow_.reset();
    std::error_code ec;
    std::filesystem::remove_all(shadow_path_, ec);
    shadow_fs_.DropUnsynced();  // forgets what it tracked of the old shadow
    std::filesystem::copy(real_path_, shadow_path_, std::filesystem::copy_options::recursive, ec);
    if (ec) return absl::InternalError("copy to shadow: " + ec.message());
    if (absl::Status s = OpenShadow(); !s.ok()) return s;
    return OpenReal();
  }

 private:
  absl::Status Open(const std::string& path, FaultFs& fs, std::unique_ptr<Store>& store) {
    store.reset();
    internal::Seams seams{.env = fs.env(), .content_hooks = fs.content_hooks(), .tune = Tune};
    auto s = internal::OpenWithSeams(path, options_, seams);
    if (!s.ok()) return s.status();
    store = std::move(*s);
    return absl::OkStatus();
  }

  // RocksDB retries a write that failed with a retryable error (a full
  // disk) in the background, once a second by default, and closing waits
  // for the retry: here every millisecond. (It also sleeps a second after a
  // failed flush: FaultFs's Env makes that a millisecond.)
  static void Tune(rocksdb::DBOptions& o) { o.bgerror_resume_retry_interval = 1000; }

  FaultFs fs_;
  FaultFs shadow_fs_;
  StoreOptions options_;
  std::string dir_, real_path_, shadow_path_;
  std::unique_ptr<Store> real_, shadow_;
};

// The lines of `expected` missing from `actual` ("-") and the other way
// round ("+"), at most 12: what a failure message shows of two Dumps.
inline std::string LineDiff(const std::string& expected, const std::string& actual) {
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    size_t start = 0;
    while (start < s.size()) {
      size_t end = s.find('\n', start);
      if (end == std::string::npos) end = s.size();
      v.push_back(s.substr(start, end - start));
      start = end + 1;
    }
    return v;
  };
  std::vector<std::string> e = lines(expected), a = lines(actual);
  std::string out;
  int shown = 0;
  for (const auto& l : e) {
    if (std::find(a.begin(), a.end(), l) == a.end() && shown++ < 12) out += "\n  - " + l;
  }
  for (const auto& l : a) {
    if (std::find(e.begin(), e.end(), l) == e.end() && shown++ < 12) out += "\n  + " + l;
  }
  return out;
}

// Faults of Check with digests verified, as one line ("" when none).
inline std::string CheckFaults(Store& store) {
  CheckOptions o;
  auto problems = store.Check(o);
  if (!problems.ok()) return "check failed: " + std::string(problems.status().message());
  std::string out;
  for (const Problem& p : Faults(*problems)) {
    out += p.category + " " + p.subject + " " + p.detail + "; ";
  }
  return out;
}

}  // namespace refstore::testing

#endif  // REFSTORE_TESTS_RELIABILITY_HARNESS_H_
