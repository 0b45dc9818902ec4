// A child process pulls, removes, prunes and collects images on a store with a
// content store, and the parent kills it with SIGKILL at random moments:
// exactly after an acknowledged step, a random delay after one (so that the
// kill lands inside a step), or shortly after the child announced a prune or
// a collection. After each kill the parent reopens the store, collects once,
// and requires that Check finds no fault and no garbage left, that the
// temporary directory is empty, and, independently of Check, that the blob
// files are exactly what the images and leases can hold: no file without a
// record, no record without a file.
//
// The child writes one byte to stdout before some steps ('w' pull, 'r' rmi,
// 'p' prune, 'c' collect, 'l' lease writes, 'd' lease deletion, 'k'
// container) and 'a' after every step; the last byte in the pipe after the
// kill tells where the child died ("prune" includes the collection a prune
// runs after itself when collect_after_changes is set; "collect" is an
// explicit Collect).
//
// Reproduce a failure with --gtest_random_seed=<seed> (the seed is printed):
// the plan of every round (child seeds, kill points, delays) follows from it;
// only where a delayed kill lands depends on timing.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gc/sha256.h"
#include "gc/test_image.h"
#include "refstore/store.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using gc::testing::Blob;
using gc::testing::Image;
using gc::testing::MakeImage;

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
  kExitAck = 5,
  kExitExec = 6,
  kExitPull = 10,
  kExitRmi = 11,
  kExitPrune = 12,
  kExitCollect = 13,
  kExitLease = 14,
  kExitContainer = 15,
};

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }

Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

BlobReader Reader(const std::string& bytes) {
  auto pos = std::make_shared<size_t>(0);
  return [&bytes, pos](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    size_t n = std::min(cap, bytes.size() - *pos);
    std::copy_n(bytes.data() + *pos, n, buf);
    *pos += n;
    return n;
  };
}

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

std::string ContainerId(int c) { return gc::Sha256Hex("container " + std::to_string(c)); }
std::string PullLease(int k) { return "pull-" + std::to_string(k); }
std::string KeepLease(int n) { return "keep-" + std::to_string(n); }

void Say(char c) {
  if (write(STDOUT_FILENO, &c, 1) != 1) _exit(kExitAck);
}

[[noreturn]] void Die(int code, const char* what, const absl::Status& s) {
  std::fprintf(stderr, "gc_crash child: %s: unexpected %s\n", what, s.ToString().c_str());
  _exit(code);
}

// OK, or an error a random step may meet on a correct store: NotFound, or a
// conflict (FailedPrecondition).
bool Expected(const absl::Status& s) {
  return s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s);
}

// The child: `arg` is "<dir>:<seed>:<first step>". Never returns.
[[noreturn]] void ChildMain(const std::string& arg) {
  const size_t b = arg.rfind(':');
  if (b == std::string::npos || b == 0) _exit(kExitBadArg);
  const size_t a = arg.rfind(':', b - 1);
  if (a == std::string::npos) _exit(kExitBadArg);
  const std::string dir = arg.substr(0, a);
  const uint64_t seed = std::stoull(arg.substr(a + 1, b - a - 1));
  const int64_t first_step = std::stoll(arg.substr(b + 1));
  std::mt19937_64 rng(seed);

  StoreOptions o;
  o.content_store = true;
  o.prune_batch = 2;  // prunes of several atomic writes
  o.collect_after_changes = rng() % 2 == 0;
  auto opened = Store::Open(dir, o);
  if (!opened.ok()) Die(kExitOpen, "open", opened.status());
  Store& store = **opened;
  const std::vector<Image> pool = Pool();

  for (int64_t i = 0;; ++i) {
    const OpContext ctx{"default", T(first_step + i)};
    const int op = static_cast<int>(rng() % 100);
    if (op < 38) {
      // Pull: a lease, every blob written under it, the image created under
      // it (with a name, maybe one in use, which then moves), the lease
      // deleted. A lease left by a killed pull is reused.
      Say('w');
      const int k = static_cast<int>(rng() % kPoolImages);
      const Image& img = pool[k];
      const std::string lease = PullLease(k);
      absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
      if (!s.ok() && !absl::IsAlreadyExists(s)) Die(kExitPull, "pull lease", s);
      for (const Blob& blob : img.all()) {
        s = store.WriteBlob(ctx, lease, Desc(blob), Reader(blob.bytes));
        if (!s.ok()) Die(kExitPull, "pull write", s);
      }
      CreateImageRequest req{.target = Desc(img.target), .lease = lease};
      if (rng() % 10 != 0) req.name = Name(rng);
      for (const Blob& blob : img.content) req.content.push_back(Desc(blob));
      auto id = store.CreateImage(ctx, req);
      if (!id.ok()) Die(kExitPull, "pull create", id.status());
      if (*id != img.target.digest) Die(kExitPull, "pull id", absl::InternalError(*id));
      auto freed = store.DeleteLease(ctx, lease);
      if (!freed.ok()) Die(kExitPull, "pull lease delete", freed.status());
    } else if (op < 48) {
      Say('r');
      std::string ref = rng() % 4 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
      const bool force = rng() % 3 == 0;
      auto rm = store.RemoveImage(ctx, ref, force);
      if (!Expected(rm.status())) Die(kExitRmi, "rmi", rm.status());
    } else if (op < 56) {
      PruneOptions po;
      po.all = rng() % 3 == 0;
      Say('p');
      auto pruned = store.Prune(ctx, po);
      if (!pruned.ok()) Die(kExitPrune, "prune", pruned.status());
    } else if (op < 68) {
      Say('c');
      auto collected = store.Collect();
      if (!collected.ok()) Die(kExitCollect, "collect", collected.status());
    } else if (op < 82) {
      // A lease holding a few pool blobs; sometimes left in place, when it
      // must keep them.
      Say('l');
      const std::string lease = KeepLease(static_cast<int>(rng() % kKeepLeases));
      absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
      if (!s.ok() && !absl::IsAlreadyExists(s)) Die(kExitLease, "lease create", s);
      const int count = 1 + static_cast<int>(rng() % 4);
      for (int j = 0; j < count; ++j) {
        const std::vector<Blob> blobs = pool[rng() % kPoolImages].all();
        const Blob& blob = blobs[rng() % blobs.size()];
        s = store.WriteBlob(ctx, lease, Desc(blob), Reader(blob.bytes));
        if (!s.ok()) Die(kExitLease, "lease write", s);
      }
      if (rng() % 2 == 0) {
        Say('d');
        auto freed = store.DeleteLease(ctx, lease);
        if (!freed.ok()) Die(kExitLease, "lease delete", freed.status());
      }
    } else {
      Say('k');
      const std::string cid = ContainerId(static_cast<int>(rng() % kContainers));
      const int what = static_cast<int>(rng() % 4);
      if (what <= 1) {
        std::string ref = rng() % 2 == 0 ? pool[rng() % kPoolImages].target.digest : Name(rng);
        const bool running = rng() % 2 == 0;
        auto id = store.CreateContainer(ctx, cid, ref, running);
        if (!Expected(id.status()) && !absl::IsAlreadyExists(id.status())) {
          Die(kExitContainer, "container create", id.status());
        }
      } else if (what == 2) {
        absl::Status s = store.RemoveContainer(ctx, cid);
        if (absl::IsFailedPrecondition(s)) {  // running: stop it first
          s = store.StopContainer(ctx, cid);
          if (!s.ok()) Die(kExitContainer, "container stop", s);
          s = store.RemoveContainer(ctx, cid);
          if (!s.ok()) Die(kExitContainer, "container remove after stop", s);
        } else if (!Expected(s)) {
          Die(kExitContainer, "container remove", s);
        }
      } else {
        absl::Status s =
            rng() % 2 == 0 ? store.StartContainer(ctx, cid) : store.StopContainer(ctx, cid);
        if (!Expected(s)) Die(kExitContainer, "container start/stop", s);
      }
    }
    Say('a');
  }
}

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

// Copies the closed store at `from` to `to`; the blob files (which are never
// written once published) as hard links.
void CopyStore(const fs::path& from, const fs::path& to) {
  const fs::path blobs = from / "content/blobs/sha256";
  fs::create_directories(to);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const fs::path target = to / fs::relative(e.path(), from);
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
  int rounds = 0;
  int64_t acks = 0;
  std::map<char, int> died_after;  // last byte before the kill -> kills
  int kills_exact = 0, kills_delayed = 0, kills_at_marker = 0;
  CollectResult collected;  // the parent's collections, summed
  int leases_left = 0;      // leases alive after the kills (summed over rounds)
  double child_secs = 0, verify_secs = 0;
};

const char* Where(char c) {
  switch (c) {
    case 'a': return "between steps";
    case 'w': return "pull";
    case 'r': return "rmi";
    case 'p': return "prune";
    case 'c': return "collect";
    case 'l': return "lease writes";
    case 'd': return "lease deletion";
    case 'k': return "container";
    default: return "before the first step";
  }
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

  // Check with digests: no fault, no garbage left (`dir` was just collected).
  void ExpectClean(Store& store, int round, const char* which, bool verify_digests) {
    CheckOptions co;
    co.verify_digests = verify_digests;
    auto problems = store.Check(co);
    ASSERT_TRUE(problems.ok()) << At(round) << ": " << problems.status();
    for (const Problem& p : *problems) {
      if (!p.info) {
        ADD_FAILURE() << At(round) << " (" << which << "): fault " << p.category << " "
                      << p.subject << " " << p.detail;
      } else if (p.category == "garbage_pending") {
        ADD_FAILURE() << At(round) << " (" << which << "): garbage left after Collect: "
                      << p.subject << " " << p.detail;
      }
    }
  }

  // Every image is a pool image with exactly its blobs, each a file of its
  // size. Returns the hexes of the images' blobs.
  std::set<std::string> ImageBlobs(Store& store, const fs::path& dir, int round) {
    std::set<std::string> out;
    const OpContext ctx{"default", T(0)};
    auto images = store.ListImages(ctx, {.all = true});
    EXPECT_TRUE(images.ok()) << At(round) << ": " << images.status();
    if (!images.ok()) return out;
    for (const ImageSummary& s : *images) {
      auto d = store.Inspect(ctx, s.id);
      EXPECT_TRUE(d.ok()) << At(round) << ": inspect " << s.id << ": " << d.status();
      if (!d.ok()) continue;
      std::vector<Descriptor> all{d->target};
      all.insert(all.end(), d->content.begin(), d->content.end());
      std::set<std::string> hexes;
      for (const Descriptor& desc : all) {
        const std::string hex = desc.digest.substr(7);
        hexes.insert(hex);
        out.insert(hex);
        auto pool = pool_sizes_.find(hex);
        EXPECT_TRUE(pool != pool_sizes_.end() && pool->second == desc.size)
            << At(round) << ": image " << s.id << " lists " << desc.digest << " of size "
            << desc.size << ", not a pool blob of that size";
        std::error_code ec;
        const fs::path file = dir / "content/blobs/sha256" / hex;
        const auto size = fs::file_size(file, ec);
        EXPECT_FALSE(ec) << At(round) << ": image " << s.id << " blob " << desc.digest
                         << " has no file: " << ec.message();
        if (!ec) {
          EXPECT_EQ(static_cast<int64_t>(size), desc.size)
              << At(round) << ": blob file " << desc.digest << " of image " << s.id;
        }
      }
      auto pool = pool_by_id_.find(s.id);
      EXPECT_TRUE(pool != pool_by_id_.end() && pool->second == hexes)
          << At(round) << ": image " << s.id << " is not a pool image with its exact blobs";
    }
    return out;
  }

  // Reopens the store after a kill, collects, and checks it (see the top).
  void Verify(int round, Totals& totals) {
    StoreOptions o;
    o.content_store = true;
    {
      auto opened = Store::Open(dir_.string(), o);
      ASSERT_TRUE(opened.ok()) << At(round) << ": " << opened.status();
      Store& store = **opened;
      auto collected = store.Collect();
      ASSERT_TRUE(collected.ok()) << At(round) << ": " << collected.status();
      totals.collected.files_deleted += collected->files_deleted;
      totals.collected.bytes_deleted += collected->bytes_deleted;
      totals.collected.records_dropped += collected->records_dropped;
      totals.collected.temp_files_deleted += collected->temp_files_deleted;
      ExpectClean(store, round, "after the kill", /*verify_digests=*/true);
      EXPECT_TRUE(fs::is_empty(dir_ / "content/ingest"))
          << At(round) << ": temporary files left in ingest/ after Collect";

      std::vector<std::string> strays;
      const auto files = Files(dir_, &strays);
      for (const auto& s : strays) ADD_FAILURE() << At(round) << ": stray entry " << s;
      const std::set<std::string> held = ImageBlobs(store, dir_, round);
      for (const auto& [hex, size] : files) {
        // Leases hold pool blobs only: a file is an image's or a pool blob.
        if (held.contains(hex)) continue;
        auto pool = pool_sizes_.find(hex);
        EXPECT_TRUE(pool != pool_sizes_.end() && pool->second == size)
            << At(round) << ": file sha256:" << hex << " (" << size
            << " bytes) is neither an image's blob nor a pool blob";
      }
    }
    if (HasFailure()) return;

    // On a copy: with every lease the children may have left deleted, the
    // files are exactly the images' blobs.
    fs::remove_all(copy_);
    CopyStore(dir_, copy_);
    {
      o.collect_after_changes = false;  // one collection after all the deletions
      auto opened = Store::Open(copy_.string(), o);
      ASSERT_TRUE(opened.ok()) << At(round) << ": " << opened.status();
      Store& store = **opened;
      const OpContext ctx{"default", T(0)};
      std::vector<std::string> leases;
      for (int k = 0; k < kPoolImages; ++k) leases.push_back(PullLease(k));
      for (int n = 0; n < kKeepLeases; ++n) leases.push_back(KeepLease(n));
      for (const auto& lease : leases) {
        auto freed = store.DeleteLease(ctx, lease);
        if (freed.ok()) {
          ++totals.leases_left;
        } else {
          EXPECT_TRUE(absl::IsNotFound(freed.status())) << At(round) << ": " << freed.status();
        }
      }
      auto collected = store.Collect();
      ASSERT_TRUE(collected.ok()) << At(round) << ": " << collected.status();
      // The same files were hashed above.
      ExpectClean(store, round, "copy without leases", /*verify_digests=*/false);
      std::vector<std::string> strays;
      const auto files = Files(copy_, &strays);
      const std::set<std::string> held = ImageBlobs(store, copy_, round);
      for (const auto& [hex, size] : files) {
        EXPECT_TRUE(held.contains(hex))
            << At(round) << ": without leases, file sha256:" << hex << " (" << size
            << " bytes) belongs to no image";
      }
      for (const auto& hex : held) {
        EXPECT_TRUE(files.contains(hex)) << At(round) << ": blob sha256:" << hex << " has no file";
      }
      EXPECT_TRUE(fs::is_empty(copy_ / "content/ingest")) << At(round);
    }
    fs::remove_all(copy_);
  }

  fs::path dir_, copy_;
  uint64_t seed_ = 0;
  std::vector<Image> pool_;
  std::map<std::string, int64_t> pool_sizes_;                  // hex -> size
  std::map<std::string, std::set<std::string>> pool_by_id_;  // digest -> hexes
};

int RoundsWanted() {
  const char* env = std::getenv("GC_CRASH_ROUNDS");
  return env ? std::max(1, std::atoi(env)) : 60;
}

TEST_F(GcCrashTest, KilledDuringPruneAndCollectionLosesNothing) {
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed_);
  const int rounds = RoundsWanted();
  Totals totals;
  int64_t step = 0;
  std::printf("seed %llu, %d rounds\n", static_cast<unsigned long long>(seed_), rounds);
  for (int round = 0; round < rounds; ++round) {
    const auto round_started = std::chrono::steady_clock::now();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const std::string arg = std::string(kChildFlag) + dir_.string() + ":" +
                            std::to_string(seed_ * 1000 + round) + ":" + std::to_string(step);
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
    // after it; or at the first prune or collection after it, a (shorter)
    // delay into it.
    const int wanted = 1 + static_cast<int>(rng() % 45);
    const int mode = static_cast<int>(rng() % 3);
    const int delay_us = mode == 1   ? static_cast<int>(rng() % 20001)
                         : mode == 2 ? static_cast<int>(rng() % 4) * static_cast<int>(rng() % 201)
                                     : 0;
    int acks = 0;
    char last = 0, c;
    bool eof = false;
    for (;;) {
      if (read(fds[0], &c, 1) != 1) {
        eof = true;
        break;
      }
      last = c;
      if (c == 'a') ++acks;
      if (mode == 2 ? acks >= wanted && (c == 'p' || c == 'c') : acks == wanted) break;
      if (acks >= wanted + 500) break;  // no prune or collection came: kill anyway
    }
    if (!eof && delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Whatever the child wrote until it died: the last byte says where.
    while (read(fds[0], &c, 1) == 1) {
      last = c;
      if (c == 'a') ++acks;
    }
    close(fds[0]);
    ASSERT_FALSE(eof) << "child ended early, status " << status << " (exit code "
                      << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", " << At(round)
                      << ")";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << At(round);
    ++totals.rounds;
    totals.acks += acks;
    ++totals.died_after[last];
    (mode == 0 ? totals.kills_exact : mode == 1 ? totals.kills_delayed : totals.kills_at_marker)++;
    step += acks + 1;

    const auto killed = std::chrono::steady_clock::now();
    totals.child_secs += std::chrono::duration<double>(killed - round_started).count();
    Verify(round, totals);
    totals.verify_secs +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    if (HasFailure()) {
      ADD_FAILURE() << At(round) << ": the child died " << Where(last) << " (last byte '"
                    << last << "', kill mode " << mode << ", " << wanted << " acks wanted, "
                    << delay_us << " us delay)";
      break;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("rounds %d, steps acknowledged %lld, %.1f s (children %.1f s, checks %.1f s; "
              "seed %llu)\n",
              totals.rounds, static_cast<long long>(totals.acks), secs, totals.child_secs,
              totals.verify_secs, static_cast<unsigned long long>(seed_));
  std::printf("kill modes: %d at an ack, %d delayed, %d at a prune/collect marker\n",
              totals.kills_exact, totals.kills_delayed, totals.kills_at_marker);
  auto died = [&](char c) {
    auto it = totals.died_after.find(c);
    return it == totals.died_after.end() ? 0 : it->second;
  };
  std::printf("kills during prune %d, during collection %d\n", died('p'), died('c'));
  for (const auto& [byte, n] : totals.died_after) std::printf("  died %s: %d\n", Where(byte), n);
  std::printf(
      "parent's collections: %lld files, %lld bytes deleted, %lld records dropped, %lld "
      "temporary files; leases found alive after the kills (summed over rounds) %d\n",
      static_cast<long long>(totals.collected.files_deleted),
      static_cast<long long>(totals.collected.bytes_deleted),
      static_cast<long long>(totals.collected.records_dropped),
      static_cast<long long>(totals.collected.temp_files_deleted), totals.leases_left);
  if (!HasFailure()) {
    EXPECT_GE(totals.rounds, std::min(rounds, 50));
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
