// A child process pulls, tags, pins, removes, prunes and collects images, and
// creates leases and containers, on a store with a content store opened with
// sync_writes; the parent kills it with SIGKILL at random moments: exactly
// after an acknowledged operation, a random delay after one (so that the kill
// lands inside an operation), or shortly after the child announced a prune, a
// collection or a step of a pull.
//
// The child reports every store call on a pipe as JSON lines, before the call
// (what it is about to do, with its arguments) and after it returns (the
// status and the result: deleted and untagged entries, reclaimed bytes, image
// IDs); see expected_state.h. The parent keeps the expected state (images and
// their names and pins, containers, leases and their blobs) from the
// acknowledged results, outside the store, as db_stress does.
//
// After each kill the parent reopens the store and requires:
//  - Check, digests verified, finds no fault;
//  - after one collection: no fault, no garbage left, an empty ingest/;
//  - the store's state is the expected state: every acknowledged image, name,
//    pin, container and lease there, every acknowledged removal absent. The
//    operation in flight when the child died may be applied or not (a prune
//    in part: any subset of what a prune may delete); the parent adopts what
//    the store shows for it;
//  - every blob of every image and every blob a lease holds is a file of its
//    size, and there is no other file;
//  - on a hard-linked copy with every lease deleted and one more collection,
//    the files are exactly the images' blobs.
// Anything else is a problem, printed with the seed and the round.
//
// GC_CRASH_ROUNDS sets the number of kills (default 200). Reproduce a failure
// with --gtest_random_seed=<seed> (the seed is printed): the plan of every
// round (the child's operations, kill points, delays) follows from it; only
// where a delayed kill lands depends on timing.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "expected_state.h"
#include "nlohmann/json.hpp"
#include "refstore/content/content_dir.h"
#include "refstore/content/sha256.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_oci::Blob;
using test_oci::Image;
using test_oci::MakeImage;

constexpr char kChildFlag[] = "--gc-crash-child=";

constexpr int kPoolImages = 40;
constexpr int kSharedLayers = 15;
constexpr int kKeepLeases = 6;
constexpr int kContainers = 6;
constexpr int kRepos = 8;
constexpr int kTags = 3;

// Exit codes of the child (anything but death by SIGKILL fails the test).
enum ChildExit {
  kExitBadArg = 2,
  kExitOpen = 3,
  kExitReport = 5,
  kExitExec = 6,
  kExitPull = 10,
  kExitRmi = 11,
  kExitPrune = 12,
  kExitCollect = 13,
  kExitLease = 14,
  kExitContainer = 15,
  kExitTag = 16,
  kExitPin = 17,
};

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }

Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

// `size` bytes of pseudo-random letters, the same on every call.
std::string Filler(const std::string& head, size_t size, uint32_t seed) {
  std::string s = head;
  std::mt19937 g(seed);
  while (s.size() < size) s.push_back(static_cast<char>('a' + g() % 26));
  return s;
}

// The fixed pool of images (the same in the parent and every child): each
// has one to three of the shared layers (from a few bytes to 450 KB, so that
// writing them takes time) and a layer of its own. Images k and k+32 share
// their config; image 0 lists one layer twice.
std::vector<Image> Pool() {
  static const size_t kSizes[kSharedLayers] = {37,     512,    1000,   4096,   9000,
                                               20000,  65536,  100000, 150000, 200000,
                                               260000, 300000, 350000, 400000, 450000};
  std::vector<std::string> shared;
  for (int i = 0; i < kSharedLayers; ++i) {
    shared.push_back(Filler("shared layer " + std::to_string(i) + "\n", kSizes[i], 1000 + i));
  }
  std::mt19937 g(20240601);
  std::vector<Image> pool;
  for (int k = 0; k < kPoolImages; ++k) {
    std::vector<std::string> layers;
    std::set<int> picked;
    const int n = 1 + static_cast<int>(g() % 3);
    while (static_cast<int>(picked.size()) < n) {
      int i = static_cast<int>(g() % kSharedLayers);
      if (picked.insert(i).second) layers.push_back(shared[i]);
    }
    layers.push_back(Filler("layer of image " + std::to_string(k) + "\n", 100 + g() % 3000, k));
    if (k == 0) layers.push_back(layers[0]);
    pool.push_back(MakeImage("config " + std::to_string(k % 32), layers));
  }
  return pool;
}

std::string Name(std::mt19937_64& rng) {
  int repo = static_cast<int>(rng() % kRepos);
  int tag = static_cast<int>(rng() % kTags);
  std::string name = "r";  // (built by appending: GCC 12 warns falsely on "r" + std::string)
  name += std::to_string(repo);
  name += ":t";
  name += std::to_string(tag);
  return name;
}

std::string ContainerId(int c) { return content::Sha256Hex("container " + std::to_string(c)); }
std::string PullLease(int k) { return "pull-" + std::to_string(k); }
std::string KeepLease(int n) { return "keep-" + std::to_string(n); }

// ---------------------------------------------------------------------------
// The child.

// Writes the child's report lines to stdout (the pipe), numbering operations
// from `seq`.
class Reporter {
 public:
  explicit Reporter(int64_t seq) : seq_(seq) {}

  // Announces `op`; returns its number.
  int64_t Begin(json op) {
    op["b"] = seq_;
    Write(op);
    return seq_++;
  }
  void End(int64_t seq, const absl::Status& s, json result = json::object()) {
    result["e"] = seq;
    result["code"] = absl::StatusCodeToString(s.code());
    if (!s.ok()) result["msg"] = std::string(s.message());
    Write(result);
  }

 private:
  static void Write(const json& j) {
    const std::string line = j.dump() + "\n";
    size_t off = 0;
    while (off < line.size()) {
      const ssize_t n = write(STDOUT_FILENO, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(kExitReport);
      off += static_cast<size_t>(n);
    }
  }
  int64_t seq_;
};

[[noreturn]] void Die(int code, const char* what, const absl::Status& s) {
  std::fprintf(stderr, "gc_crash child: %s: unexpected %s\n", what, s.ToString().c_str());
  _exit(code);
}

// OK, or an error a random step may meet on a correct store: NotFound, or a
// conflict (FailedPrecondition).
bool Expected(const absl::Status& s) {
  return s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s);
}

json Entries(const std::vector<DeleteEntry>& deleted) {
  json out = json::array();
  for (const DeleteEntry& e : deleted) {
    out.push_back({e.kind == DeleteEntry::Kind::kUntagged ? "U" : "D", e.ref});
  }
  return out;
}

json DescJson(const Blob& b) { return json::array({b.digest, b.size()}); }

// The child: `arg` is "<dir>:<seed>:<first step>:<first operation number>".
// Never returns.
[[noreturn]] void ChildMain(const std::string& arg) {
  std::vector<std::string> parts;
  size_t end = arg.size();
  for (int i = 0; i < 3; ++i) {
    const size_t colon = arg.rfind(':', end - 1);
    if (colon == std::string::npos || colon == 0) _exit(kExitBadArg);
    parts.insert(parts.begin(), arg.substr(colon + 1, end - colon - 1));
    end = colon;
  }
  const std::string dir = arg.substr(0, end);
  const uint64_t seed = std::stoull(parts[0]);
  const int64_t first_step = std::stoll(parts[1]);
  Reporter report(std::stoll(parts[2]));
  std::mt19937_64 rng(seed);

  StoreOptions o;
  o.content_store = true;
  o.sync_writes = true;  // an acknowledged operation must survive the kill
  o.prune_batch = 2;     // prunes of several atomic writes
  o.collect_after_changes = rng() % 2 == 0;
  auto opened = Store::Open(dir, o);
  if (!opened.ok()) Die(kExitOpen, "open", opened.status());
  Store& store = **opened;
  const std::vector<Image> pool = Pool();

  for (int64_t i = 0;; ++i) {
    const OpContext ctx{"default", T(first_step + i)};
    const int op = static_cast<int>(rng() % 100);
    if (op < 34) {
      // Pull: a lease, every blob written under it, the image created under
      // it (with a name, maybe one in use, which then moves), the lease
      // deleted. A lease left by a killed pull is reused.
      const int k = static_cast<int>(rng() % kPoolImages);
      const Image& img = pool[k];
      const std::string lease = PullLease(k);
      int64_t n = report.Begin({{"op", "create_lease"}, {"lease", lease}, {"pull", k}});
      absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
      report.End(n, s);
      if (!s.ok() && !absl::IsAlreadyExists(s)) Die(kExitPull, "pull lease", s);
      for (const Blob& blob : img.all()) {
        n = report.Begin({{"op", "write_blob"},
                          {"lease", lease},
                          {"digest", blob.digest},
                          {"size", blob.size()},
                          {"pull", k}});
        s = store.WriteBlob(ctx, lease, Desc(blob), content::StringReader(blob.bytes));
        report.End(n, s);
        if (!s.ok()) Die(kExitPull, "pull write", s);
      }
      CreateImageRequest req{.target = Desc(img.target), .lease = lease};
      json announce = {{"op", "create_image"},
                       {"target", DescJson(img.target)},
                       {"content", json::array()},
                       {"lease", lease},
                       {"pull", k}};
      if (rng() % 10 != 0) {
        req.name = Name(rng);
        announce["name"] = *req.name;
      }
      for (const Blob& blob : img.content) {
        req.content.push_back(Desc(blob));
        announce["content"].push_back(DescJson(blob));
      }
      n = report.Begin(announce);
      auto id = store.CreateImage(ctx, req);
      report.End(n, id.status(), id.ok() ? json{{"id", *id}} : json::object());
      if (!id.ok()) Die(kExitPull, "pull create", id.status());
      n = report.Begin({{"op", "delete_lease"}, {"lease", lease}, {"pull", k}});
      auto freed = store.DeleteLease(ctx, lease);
      report.End(n, freed.status(),
                 freed.ok() ? json{{"freed", freed->space_reclaimed}} : json::object());
      if (!freed.ok()) Die(kExitPull, "pull lease delete", freed.status());
    } else if (op < 38) {
      const std::string source =
          rng() % 2 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
      const std::string target = Name(rng);
      const int64_t n = report.Begin({{"op", "tag"}, {"source", source}, {"target", target}});
      absl::Status s = store.Tag(ctx, source, target);
      report.End(n, s);
      if (!s.ok() && !absl::IsNotFound(s)) Die(kExitTag, "tag", s);
    } else if (op < 48) {
      const std::string ref = rng() % 4 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
      const bool force = rng() % 3 == 0;
      const int64_t n = report.Begin({{"op", "rmi"}, {"ref", ref}, {"force", force}});
      auto rm = store.RemoveImage(ctx, ref, force);
      json result = json::object();
      if (rm.ok()) {
        result = {{"entries", Entries(rm->deleted)},
                  {"reclaimed", rm->space_reclaimed},
                  {"collected", rm->collected.bytes_deleted}};
      }
      report.End(n, rm.status(), result);
      if (!Expected(rm.status())) Die(kExitRmi, "rmi", rm.status());
    } else if (op < 56) {
      PruneOptions po;
      po.all = rng() % 3 == 0;
      const int64_t n = report.Begin({{"op", "prune"}, {"all", po.all}});
      auto pruned = store.Prune(ctx, po);
      json result = json::object();
      if (pruned.ok()) {
        result = {{"entries", Entries(pruned->deleted)},
                  {"reclaimed", pruned->space_reclaimed},
                  {"images", pruned->images_deleted},
                  {"collected", pruned->collected.bytes_deleted}};
      }
      report.End(n, pruned.status(), result);
      if (!pruned.ok()) Die(kExitPrune, "prune", pruned.status());
    } else if (op < 66) {
      const int64_t n = report.Begin({{"op", "collect"}});
      auto collected = store.Collect();
      report.End(n, collected.status(),
                 collected.ok() ? json{{"files", collected->files_deleted},
                                       {"bytes", collected->bytes_deleted}}
                                : json::object());
      if (!collected.ok()) Die(kExitCollect, "collect", collected.status());
    } else if (op < 78) {
      // A lease holding a few pool blobs; sometimes left in place, when it
      // must keep them.
      const std::string lease = KeepLease(static_cast<int>(rng() % kKeepLeases));
      int64_t n = report.Begin({{"op", "create_lease"}, {"lease", lease}});
      absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
      report.End(n, s);
      if (!s.ok() && !absl::IsAlreadyExists(s)) Die(kExitLease, "lease create", s);
      const int count = 1 + static_cast<int>(rng() % 4);
      for (int j = 0; j < count; ++j) {
        const std::vector<Blob> blobs = pool[rng() % kPoolImages].all();
        const Blob& blob = blobs[rng() % blobs.size()];
        n = report.Begin({{"op", "write_blob"},
                          {"lease", lease},
                          {"digest", blob.digest},
                          {"size", blob.size()}});
        s = store.WriteBlob(ctx, lease, Desc(blob), content::StringReader(blob.bytes));
        report.End(n, s);
        if (!s.ok()) Die(kExitLease, "lease write", s);
      }
      if (rng() % 2 == 0) {
        n = report.Begin({{"op", "delete_lease"}, {"lease", lease}});
        auto freed = store.DeleteLease(ctx, lease);
        report.End(n, freed.status(),
                   freed.ok() ? json{{"freed", freed->space_reclaimed}} : json::object());
        if (!freed.ok()) Die(kExitLease, "lease delete", freed.status());
      }
    } else if (op < 82) {
      const std::string ref = rng() % 2 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
      const bool pinned = rng() % 2 == 0;
      const int64_t n = report.Begin({{"op", "pin"}, {"ref", ref}, {"pinned", pinned}});
      absl::Status s = store.Pin(ctx, ref, pinned);
      report.End(n, s);
      if (!s.ok() && !absl::IsNotFound(s)) Die(kExitPin, "pin", s);
    } else {
      const std::string cid = ContainerId(static_cast<int>(rng() % kContainers));
      const int what = static_cast<int>(rng() % 4);
      if (what <= 1) {
        std::string ref = rng() % 2 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
        const bool running = rng() % 2 == 0;
        const int64_t n = report.Begin(
            {{"op", "create_container"}, {"id", cid}, {"ref", ref}, {"running", running}});
        auto id = store.CreateContainer(ctx, cid, ref, running);
        report.End(n, id.status(), id.ok() ? json{{"id", *id}} : json::object());
        if (!Expected(id.status()) && !absl::IsAlreadyExists(id.status())) {
          Die(kExitContainer, "container create", id.status());
        }
      } else if (what == 2) {
        int64_t n = report.Begin({{"op", "remove_container"}, {"id", cid}});
        absl::Status s = store.RemoveContainer(ctx, cid);
        report.End(n, s);
        if (absl::IsFailedPrecondition(s)) {  // running: stop it first
          n = report.Begin({{"op", "stop_container"}, {"id", cid}});
          s = store.StopContainer(ctx, cid);
          report.End(n, s);
          if (!s.ok()) Die(kExitContainer, "container stop", s);
          n = report.Begin({{"op", "remove_container"}, {"id", cid}});
          s = store.RemoveContainer(ctx, cid);
          report.End(n, s);
          if (!s.ok()) Die(kExitContainer, "container remove after stop", s);
        } else if (!Expected(s)) {
          Die(kExitContainer, "container remove", s);
        }
      } else {
        const bool start = rng() % 2 == 0;
        const int64_t n =
            report.Begin({{"op", start ? "start_container" : "stop_container"}, {"id", cid}});
        absl::Status s = start ? store.StartContainer(ctx, cid) : store.StopContainer(ctx, cid);
        report.End(n, s);
        if (!Expected(s)) Die(kExitContainer, "container start/stop", s);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The parent.

// Whole lines from a pipe; a last line without its newline (the child died
// writing it) is dropped.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool Next(std::string* line) {
    for (;;) {
      const size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line->assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      char chunk[65536];
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
};

// Blob files of the content store at `dir`: hex -> size.
std::map<std::string, int64_t> Files(const fs::path& dir, std::vector<std::string>* strays) {
  std::map<std::string, int64_t> out;
  for (const auto& e : fs::directory_iterator(dir / "content/blobs/sha256")) {
    if (!e.is_regular_file() || e.is_symlink()) {
      strays->push_back(e.path().string());
      continue;
    }
    out[e.path().filename().string()] = static_cast<int64_t>(e.file_size());
  }
  return out;
}

// Whether `p` is one of RocksDB's informational log files (LOG, LOG.old.*),
// which each open adds and no read needs.
bool IsInfoLog(const fs::path& p) { return p.filename().string().rfind("LOG", 0) == 0; }

// Deletes the informational logs of the closed store at `dir` but the newest
// `keep` (every open adds one: they would grow the copies quadratically).
void TrimInfoLogs(const fs::path& dir, size_t keep) {
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("LOG.old.", 0) == 0) old.push_back(e.path());
  }
  std::sort(old.begin(), old.end());  // LOG.old.<microseconds>
  for (size_t i = 0; i + keep < old.size(); ++i) fs::remove(old[i]);
}

// Copies the closed store at `from` to `to`, without its informational logs;
// the blob files (which are never written once published) as hard links.
void CopyStore(const fs::path& from, const fs::path& to) {
  const fs::path blobs = from / "content/blobs/sha256";
  fs::create_directories(to);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const fs::path target = to / fs::relative(e.path(), from);
    if (e.path().parent_path() == from && IsInfoLog(e.path())) continue;
    if (e.is_directory()) {
      fs::create_directories(target);
    } else if (e.path().parent_path() == blobs) {
      fs::create_hard_link(e.path(), target);
    } else {
      fs::copy_file(e.path(), target);
    }
  }
}

struct Totals {
  int kills = 0;
  int kills_in_prune = 0, kills_in_collect = 0, kills_in_pull = 0, kills_in_other = 0,
      kills_between = 0;
  int kills_exact = 0, kills_delayed = 0, kills_at_marker = 0, kills_at_pull = 0;
  std::map<std::string, int> in_flight_outcomes;  // "prune: none" -> kills
  int64_t acks = 0;           // acknowledged operations, all verified after a kill
  int64_t acks_lost = 0;      // acknowledged operations the store did not keep
  int64_t blobs_checked = 0;  // blob references checked against their files
  int64_t blobs_missing = 0;  // of them, no file or a file of another size
  int64_t problems = 0;
  CollectResult collected;  // the parent's collections, summed
  int leases_left = 0;      // leases alive after the kills (summed over rounds)
  double child_secs = 0, verify_secs = 0;
  std::map<std::string, double> phase_secs;  // parts of verify_secs
};

// Adds the time since `*t` to `*secs` and restarts `*t`.
void Lap(std::chrono::steady_clock::time_point* t, double* secs) {
  const auto now = std::chrono::steady_clock::now();
  *secs += std::chrono::duration<double>(now - *t).count();
  *t = now;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class GcCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string base = "refstore-gc-crash-" + std::to_string(::getpid());
    dir_ = fs::temp_directory_path() / base;
    copy_ = fs::temp_directory_path() / (base + "-copy");
    fs::remove_all(dir_);
    fs::remove_all(copy_);
    seed_ = static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
    pool_ = Pool();
    for (const Image& img : pool_) {
      std::set<std::string> blobs;
      for (const Blob& b : img.all()) {
        pool_sizes_[b.hex()] = b.size();
        blobs.insert(b.hex());
      }
      pool_by_id_[img.target.digest] = blobs;
    }
  }
  void TearDown() override {
    fs::remove_all(copy_);
    if (!HasFailure()) {
      fs::remove_all(dir_);
    } else {
      std::fprintf(stderr, "store kept at %s (seed %llu)\n", dir_.c_str(),
                   static_cast<unsigned long long>(seed_));
    }
  }

  std::string At(int round) const {
    return "seed " + std::to_string(seed_) + " round " + std::to_string(round);
  }

  void Problem(int round, const std::string& what) {
    ++totals_.problems;
    ADD_FAILURE() << At(round) << ": " << what;
  }

  // Check: no fault; with `after_collect`, no garbage left either.
  void ExpectClean(Store& store, int round, const char* which, bool verify_digests,
                   bool after_collect) {
    CheckOptions co;
    co.verify_digests = verify_digests;
    auto problems = store.Check(co);
    if (!problems.ok())
      return Problem(round, std::string(which) + ": Check: " + problems.status().ToString());
    for (const auto& p : *problems) {
      if (!p.info) {
        Problem(round,
                std::string(which) + ": fault " + p.category + " " + p.subject + " " + p.detail);
      } else if (after_collect && p.category == "garbage_pending") {
        Problem(round,
                std::string(which) + ": garbage left after Collect: " + p.subject + " " + p.detail);
      }
    }
  }

  // Whether blob `digest` of `whose` is a file of `size` bytes (counted).
  void ExpectFile(const fs::path& dir, int round, const std::string& whose,
                  const std::string& digest, int64_t size) {
    ++totals_.blobs_checked;
    std::error_code ec;
    const fs::path file = dir / "content/blobs/sha256" / digest.substr(7);
    const auto on_disk = fs::file_size(file, ec);
    if (ec) {
      ++totals_.blobs_missing;
      Problem(round, whose + " blob " + digest + " has no file: " + ec.message());
    } else if (static_cast<int64_t>(on_disk) != size) {
      ++totals_.blobs_missing;
      Problem(round, whose + " blob " + digest + " is a file of " + std::to_string(on_disk) +
                         " bytes, not " + std::to_string(size));
    }
  }

  // Reads the state the expected state describes, and checks that every
  // image is a pool image with exactly its blobs, each a file of its size,
  // and every lease's blob a file of its size. `held` gets the hexes of the
  // images' and (with `leases`) the leases' blobs.
  std::optional<stress::StoreModel> Observe(Store& store, const fs::path& dir, int round,
                                            std::set<std::string>* held, bool leases) {
    stress::StoreModel m;
    const OpContext ctx{"default", T(0)};
    auto images = store.ListImages(ctx, {.all = true});
    if (!images.ok()) {
      Problem(round, "ListImages: " + images.status().ToString());
      return std::nullopt;
    }
    for (const ImageSummary& s : *images) {
      m.images[s.id] = {std::set<std::string>(s.names.begin(), s.names.end()), s.pinned};
      auto d = store.Inspect(ctx, s.id);
      if (!d.ok()) {
        Problem(round, "inspect " + s.id + ": " + d.status().ToString());
        continue;
      }
      std::vector<Descriptor> all{d->target};
      all.insert(all.end(), d->content.begin(), d->content.end());
      std::set<std::string> hexes;
      for (const Descriptor& desc : all) {
        const std::string hex = desc.digest.substr(7);
        hexes.insert(hex);
        held->insert(hex);
        auto pool = pool_sizes_.find(hex);
        if (pool == pool_sizes_.end() || pool->second != desc.size) {
          Problem(round, "image " + s.id + " lists " + desc.digest + " of size " +
                             std::to_string(desc.size) + ", not a pool blob of that size");
        }
        ExpectFile(dir, round, "image " + s.id, desc.digest, desc.size);
      }
      auto pool = pool_by_id_.find(s.id);
      if (pool == pool_by_id_.end() || pool->second != hexes) {
        Problem(round, "image " + s.id + " is not a pool image with its exact blobs");
      }
    }
    auto containers = store.ListContainers(ctx);
    if (!containers.ok()) {
      Problem(round, "ListContainers: " + containers.status().ToString());
      return std::nullopt;
    }
    for (const ContainerInfo& c : *containers) {
      m.containers[c.id] = {c.image_id, c.running, {}};
      if (c.image_exists != m.images.contains(c.image_id)) {
        Problem(round, "container " + c.id + " says image_exists " +
                           (c.image_exists ? "true" : "false") + " for " + c.image_id);
      }
    }
    if (!leases) return m;
    auto ls = store.ListLeases(ctx);
    if (!ls.ok()) {
      Problem(round, "ListLeases: " + ls.status().ToString());
      return std::nullopt;
    }
    for (const LeaseInfo& l : *ls) {
      auto& blobs = m.leases[l.id];
      for (const Descriptor& d : l.content) {
        blobs.insert(d.digest);
        held->insert(d.digest.substr(7));
        auto pool = pool_sizes_.find(d.digest.substr(7));
        if (pool == pool_sizes_.end() || pool->second != d.size) {
          Problem(round, "lease " + l.id + " holds " + d.digest + " of size " +
                             std::to_string(d.size) + ", not a pool blob of that size");
        }
        ExpectFile(dir, round, "lease " + l.id, d.digest, d.size);
      }
    }
    return m;
  }

  // Reopens the store after a kill and checks it (see the top).
  void Verify(int round) {
    StoreOptions o;
    o.content_store = true;
    auto t = std::chrono::steady_clock::now();
    auto& phase = totals_.phase_secs;
    {
      auto opened = Store::Open(dir_.string(), o);
      if (!opened.ok()) return Problem(round, "reopen: " + opened.status().ToString());
      Store& store = **opened;
      Lap(&t, &phase["open"]);
      ExpectClean(store, round, "after the kill", /*verify_digests=*/true,
                  /*after_collect=*/false);
      Lap(&t, &phase["check"]);
      auto collected = store.Collect();
      if (!collected.ok()) return Problem(round, "collect: " + collected.status().ToString());
      totals_.collected.files_deleted += collected->files_deleted;
      totals_.collected.bytes_deleted += collected->bytes_deleted;
      totals_.collected.records_dropped += collected->records_dropped;
      totals_.collected.temp_files_deleted += collected->temp_files_deleted;
      // Collect only deletes files: those left were hashed above.
      ExpectClean(store, round, "after the collection", /*verify_digests=*/false,
                  /*after_collect=*/true);
      if (!fs::is_empty(dir_ / "content/ingest")) {
        Problem(round, "temporary files left in ingest/ after Collect");
      }
      Lap(&t, &phase["collect"]);

      std::set<std::string> held;
      auto actual = Observe(store, dir_, round, &held, /*leases=*/true);
      if (!actual) return;
      const std::optional<json> flight = expected_.in_flight();
      auto verdict = expected_.Verify(*actual);
      for (const auto& p : verdict.problems) Problem(round, p);
      totals_.acks_lost += static_cast<int64_t>(verdict.lost.size());
      if (flight) {
        ++totals_.in_flight_outcomes[Str(*flight, "op") + ": " + verdict.in_flight_outcome];
      }

      std::vector<std::string> strays;
      const auto files = Files(dir_, &strays);
      for (const auto& s : strays) Problem(round, "stray entry " + s);
      for (const auto& [hex, size] : files) {
        if (!held.contains(hex)) {
          Problem(round, "file sha256:" + hex + " (" + std::to_string(size) +
                             " bytes) is neither an image's blob nor a lease's, after Collect");
        }
      }
    }
    Lap(&t, &phase["compare"]);
    if (HasFailure()) return;

    // On a copy: with every lease the children may have left deleted, the
    // files are exactly the images' blobs.
    fs::remove_all(copy_);
    CopyStore(dir_, copy_);
    {
      o.collect_after_changes = false;  // one collection after all the deletions
      auto opened = Store::Open(copy_.string(), o);
      if (!opened.ok()) return Problem(round, "open the copy: " + opened.status().ToString());
      Store& store = **opened;
      const OpContext ctx{"default", T(0)};
      for (const auto& [lease, blobs] : expected_.model().leases) {
        auto freed = store.DeleteLease(ctx, lease);
        if (freed.ok()) {
          ++totals_.leases_left;
        } else {
          Problem(round, "copy: delete lease " + lease + ": " + freed.status().ToString());
        }
      }
      auto collected = store.Collect();
      if (!collected.ok()) return Problem(round, "copy: collect: " + collected.status().ToString());
      // The same files were hashed above.
      ExpectClean(store, round, "copy without leases", /*verify_digests=*/false,
                  /*after_collect=*/true);
      std::vector<std::string> strays;
      const auto files = Files(copy_, &strays);
      std::set<std::string> held;
      Observe(store, copy_, round, &held, /*leases=*/false);
      for (const auto& [hex, size] : files) {
        if (!held.contains(hex)) {
          Problem(round, "without leases, file sha256:" + hex + " (" + std::to_string(size) +
                             " bytes) belongs to no image");
        }
      }
      if (!fs::is_empty(copy_ / "content/ingest")) Problem(round, "copy: ingest/ not empty");
    }
    fs::remove_all(copy_);
    TrimInfoLogs(dir_, 4);
    Lap(&t, &phase["copy"]);
  }

  fs::path dir_, copy_;
  uint64_t seed_ = 0;
  std::vector<Image> pool_;
  std::map<std::string, int64_t> pool_sizes_;                // hex -> size
  std::map<std::string, std::set<std::string>> pool_by_id_;  // digest -> hexes
  stress::ExpectedState expected_;
  Totals totals_;
};

int RoundsWanted() {
  const char* env = std::getenv("GC_CRASH_ROUNDS");
  return env ? std::max(1, std::atoi(env)) : 200;
}

TEST_F(GcCrashTest, KilledAtRandomMomentsLosesNoAcknowledgedOperation) {
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed_);
  const int rounds = RoundsWanted();
  Totals& totals = totals_;
  int64_t step = 0;
  std::printf("seed %llu, %d rounds (reproduce with --gtest_random_seed=%llu)\n",
              static_cast<unsigned long long>(seed_), rounds,
              static_cast<unsigned long long>(seed_));
  std::fflush(stdout);
  for (int round = 0; round < rounds; ++round) {
    const auto round_started = std::chrono::steady_clock::now();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const int64_t first_seq = std::max<int64_t>(expected_.next_seq(), 0);
    const std::string arg = std::string(kChildFlag) + dir_.string() + ":" +
                            std::to_string(seed_ * 1000 + round) + ":" + std::to_string(step) +
                            ":" + std::to_string(first_seq);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl("/proc/self/exe", "gc_crash_test", arg.c_str(), static_cast<char*>(nullptr));
      _exit(kExitExec);
    }
    close(fds[1]);

    // The kill point: after `wanted` acknowledgments, exactly; or a delay
    // after it; or at the first prune or collection after it, or the first
    // blob write or image creation of a pull, a (shorter) delay into it.
    const int wanted = 1 + static_cast<int>(rng() % 60);
    const int m = static_cast<int>(rng() % 10);
    const int mode = m < 2 ? 0 : m < 5 ? 1 : m < 8 ? 2 : 3;
    const int delay_us = mode == 1   ? static_cast<int>(rng() % 20001)
                         : mode >= 2 ? static_cast<int>(rng() % 4) * static_cast<int>(rng() % 201)
                                     : 0;
    LineReader reader(fds[0]);
    std::deque<std::string> tail;  // the round's last lines, for a failure
    int acks = 0;
    bool eof = false;
    // Takes one line into the expected state; returns whether it is the
    // kill point.
    auto take = [&](const std::string& text) -> bool {
      tail.push_back(text);
      if (tail.size() > 40) tail.pop_front();
      json line = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (line.is_discarded() || !line.is_object()) {
        Problem(round, "bad report line: " + text);
        return false;
      }
      if (line.contains("b")) {
        const std::string p = expected_.Begin(line);
        if (!p.empty()) Problem(round, p);
        if (acks < wanted) return false;
        const std::string op = Str(line, "op");
        if (mode == 2) return op == "prune" || op == "collect";
        if (mode == 3) return line.contains("pull") && (op == "write_blob" || op == "create_image");
        return false;
      }
      for (const auto& p : expected_.End(line)) Problem(round, p);
      ++acks;
      if (mode <= 1) return acks == wanted;
      return acks >= wanted + 500;  // no marker came: kill anyway
    };
    std::string text;
    for (;;) {
      if (!reader.Next(&text)) {
        eof = true;
        break;
      }
      if (take(text)) break;
    }
    if (!eof && delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child wrote until it died.
    while (reader.Next(&text)) take(text);
    close(fds[0]);
    ASSERT_FALSE(eof) << "child ended early, status " << status << " (exit code "
                      << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", " << At(round) << ")";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << At(round);
    ++totals.kills;
    totals.acks += acks;
    (mode == 0   ? totals.kills_exact
     : mode == 1 ? totals.kills_delayed
     : mode == 2 ? totals.kills_at_marker
                 : totals.kills_at_pull)++;
    std::string died = "between operations";
    if (const auto& flight = expected_.in_flight()) {
      const std::string op = Str(*flight, "op");
      died = "in " + flight->dump();
      if (op == "prune") {
        ++totals.kills_in_prune;
      } else if (op == "collect") {
        ++totals.kills_in_collect;
      } else if (flight->contains("pull")) {
        ++totals.kills_in_pull;
      } else {
        ++totals.kills_in_other;
      }
    } else {
      ++totals.kills_between;
    }
    step += acks + 1;

    const auto killed = std::chrono::steady_clock::now();
    totals.child_secs += std::chrono::duration<double>(killed - round_started).count();
    Verify(round);
    totals.verify_secs +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    if (HasFailure()) {
      std::string lines;
      for (const auto& l : tail) lines += "  " + l + "\n";
      ADD_FAILURE() << At(round) << ": the child died " << died << " (kill mode " << mode << ", "
                    << wanted << " acks wanted, " << acks << " acknowledged, " << delay_us
                    << " us delay); its last report lines:\n"
                    << lines;
      break;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("seed %llu: kills %d, %.1f s (children %.1f s, checks %.1f s)\n",
              static_cast<unsigned long long>(seed_), totals.kills, secs, totals.child_secs,
              totals.verify_secs);
  for (const auto& [what, secs] : totals.phase_secs) {
    std::printf("  checks: %s %.1f s\n", what.c_str(), secs);
  }
  std::printf("kill modes: %d at an ack, %d delayed, %d at a prune/collect, %d at a pull step\n",
              totals.kills_exact, totals.kills_delayed, totals.kills_at_marker,
              totals.kills_at_pull);
  std::printf(
      "kills during prune %d, during collection %d, during pull %d, during another "
      "operation %d, between operations %d\n",
      totals.kills_in_prune, totals.kills_in_collect, totals.kills_in_pull, totals.kills_in_other,
      totals.kills_between);
  for (const auto& [what, n] : totals.in_flight_outcomes) {
    std::printf("  in flight %s: %d\n", what.c_str(), n);
  }
  std::printf(
      "parent's collections: %lld files, %lld bytes deleted, %lld records dropped, %lld "
      "temporary files; leases found alive after the kills (summed over rounds) %d\n",
      static_cast<long long>(totals.collected.files_deleted),
      static_cast<long long>(totals.collected.bytes_deleted),
      static_cast<long long>(totals.collected.records_dropped),
      static_cast<long long>(totals.collected.temp_files_deleted), totals.leases_left);
  std::printf(
      "acknowledged operations verified %lld, acknowledged operations lost %lld, "
      "referenced blobs checked %lld, referenced blobs missing %lld, problems %lld\n",
      static_cast<long long>(totals.acks), static_cast<long long>(totals.acks_lost),
      static_cast<long long>(totals.blobs_checked), static_cast<long long>(totals.blobs_missing),
      static_cast<long long>(totals.problems));
  EXPECT_EQ(totals.acks_lost, 0);
  EXPECT_EQ(totals.blobs_missing, 0);
  EXPECT_EQ(totals.problems, 0);
  if (!HasFailure()) {
    EXPECT_EQ(totals.kills, rounds);
  }
}

}  // namespace
}  // namespace refstore

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], refstore::kChildFlag, std::strlen(refstore::kChildFlag)) == 0) {
      refstore::ChildMain(argv[i] + std::strlen(refstore::kChildFlag));
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
