// The calls beyond docker's: pins, last-used times, prune's keep,
// max_storage, references and unused_for, list filters before/since,
// container and lease listings, Explain, Stats, and read-only opening.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "refstore/content/sha256.h"
#include "refstore/store.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;

constexpr char kManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";

std::string Digest(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return std::string("sha256:") + buf;
}
absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }
std::string Cid(int n) { return Digest(n).substr(7); }

class BeyondTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-beyond-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open({});
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open(const StoreOptions& o) {
    store_.reset();
    auto s = Store::Open(dir_.string(), o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // Image n at time t: manifest n (100 bytes), a layer of `layer` bytes
  // (unique: 10000 + n) and the shared layer 1 (1000 bytes).
  std::string Create(int n, std::optional<std::string> name, int64_t t, int64_t layer = 500) {
    auto id = store_->CreateImage(
        Ctx(t), {.name = name,
                 .target = {kManifest, Digest(n), 100},
                 .content = {{kLayer, Digest(10000 + n), layer}, {kLayer, Digest(1), 1000}}});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  std::set<std::string> Ids() {
    auto images = store_->ListImages(Ctx(10000), {});
    EXPECT_TRUE(images.ok());
    std::set<std::string> out;
    if (images.ok()) {
      for (const auto& i : *images) out.insert(i.id);
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(BeyondTest, PinnedImagesSurvivePruneAndNeedForce) {
  Create(2, "a:1", 0);
  Create(3, "b:1", 0);
  ASSERT_TRUE(store_->Pin(Ctx(), "a:1", true).ok());
  auto detail = store_->Inspect(Ctx(), "a:1");
  ASSERT_TRUE(detail.ok());
  EXPECT_TRUE(detail->summary.pinned);
  auto pruned = store_->Prune(Ctx(10), {.all = true});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(Ids(), (std::set<std::string>{Digest(2)}));
  auto rm = store_->RemoveImage(Ctx(), "a:1", false);
  EXPECT_TRUE(absl::IsFailedPrecondition(rm.status())) << rm.status();
  EXPECT_EQ(rm.status().message(), "conflict: unable to remove pinned image a:1 (must be forced)");
  ASSERT_TRUE(store_->Pin(Ctx(), "a:1", false).ok());
  ASSERT_TRUE(store_->Pin(Ctx(), "a:1", true).ok());
  EXPECT_TRUE(store_->RemoveImage(Ctx(), "a:1", true).ok());
  EXPECT_TRUE(Ids().empty());
  EXPECT_TRUE(absl::IsNotFound(store_->Pin(Ctx(), "a:1", true)));
}

TEST_F(BeyondTest, LastUsedFollowsContainersAndDrivesUnusedFor) {
  Create(2, "old:1", 0);
  Create(3, "used:1", 0);
  Create(4, "new:1", 900);
  ASSERT_TRUE(store_->CreateContainer(Ctx(500), Cid(7), "used:1", false).ok());
  ASSERT_TRUE(store_->RemoveContainer(Ctx(600), Cid(7)).ok());
  auto images = store_->ListImages(Ctx(1000), {});
  ASSERT_TRUE(images.ok());
  std::map<std::string, absl::Time> used;
  for (const auto& i : *images) used[i.names[0]] = i.last_used;
  EXPECT_EQ(used["old:1"], T(0));  // never used: its creation
  EXPECT_EQ(used["used:1"], T(500));
  // Unused for 600 s at t=1000: old (unused for 1000 s) only; used (500 s)
  // and new (100 s) stay.
  PruneOptions o{.all = true};
  o.unused_for = absl::Seconds(600);
  auto pruned = store_->Prune(Ctx(1000), o);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(Ids(), (std::set<std::string>{Digest(3), Digest(4)}));
  // Starting a container is a use too.
  ASSERT_TRUE(store_->CreateContainer(Ctx(1100), Cid(8), "new:1", false).ok());
  ASSERT_TRUE(store_->StartContainer(Ctx(1200), Cid(8)).ok());
  auto d = store_->Inspect(Ctx(1300), "new:1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->summary.last_used, T(1200));
}

TEST_F(BeyondTest, KeepKeepsTheNewestOfEachRepository) {
  Create(2, "app:1", 0);
  Create(3, "app:2", 10);
  Create(4, "app:3", 20);
  Create(5, "db:1", 5);
  Create(6, "db:2", 15);
  ASSERT_TRUE(store_->Tag(Ctx(30), "app:1", "tools:x").ok());  // app:1 is also tools' newest
  PruneOptions o{.all = true, .keep = 1};
  auto dry = store_->Prune(Ctx(100), {.all = true, .keep = 1, .dry_run = true});
  ASSERT_TRUE(dry.ok());
  auto pruned = store_->Prune(Ctx(100), o);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->images_deleted, 2);  // app:2 and db:1
  EXPECT_EQ(dry->images_deleted, pruned->images_deleted);
  EXPECT_EQ(dry->space_reclaimed, pruned->space_reclaimed);
  EXPECT_EQ(Ids(), (std::set<std::string>{Digest(2), Digest(4), Digest(6)}));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Prune(Ctx(100), {.keep = -1}).status()));
}

TEST_F(BeyondTest, MaxStorageRemovesLeastRecentlyUsedUntilItFits) {
  // Each image: 100 + 500 own bytes; the shared layer 1000 once.
  for (int i = 0; i < 5; ++i) Create(2 + i, absl::StrCat("r", i, ":1"), i * 10);
  ASSERT_TRUE(store_->CreateContainer(Ctx(100), Cid(9), "r0:1", false).ok());
  ASSERT_TRUE(store_->RemoveContainer(Ctx(101), Cid(9)).ok());  // r0 used last
  auto df = store_->GetDiskUsage(Ctx(200));
  ASSERT_TRUE(df.ok());
  ASSERT_EQ(df->size, 1000 + 5 * 600);
  // Fit in 2,900 bytes: two images must go, the least recently used: r1, r2.
  PruneOptions o{.all = true, .max_storage = 2900};
  auto dry = store_->Prune(Ctx(200), {.all = true, .max_storage = 2900, .dry_run = true});
  auto pruned = store_->Prune(Ctx(200), o);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(pruned->images_deleted, 2);
  EXPECT_EQ(pruned->space_reclaimed, 1200);
  EXPECT_EQ(dry->space_reclaimed, 1200);
  EXPECT_EQ(Ids(), (std::set<std::string>{Digest(2), Digest(5), Digest(6)}));
  // Already fits: nothing goes.
  auto none = store_->Prune(Ctx(200), o);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->images_deleted, 0);
}

TEST_F(BeyondTest, PruneByReferenceGlob) {
  Create(2, "app:1", 0);
  Create(3, "tools:1", 0);
  ASSERT_TRUE(store_->Tag(Ctx(), "app:1", "app:latest").ok());
  ASSERT_TRUE(store_->Tag(Ctx(), "tools:1", "app:tools").ok());
  Create(4, std::nullopt, 0);  // dangling: never matched by a glob
  PruneOptions o{.all = true};
  o.references = {"app:*"};
  auto pruned = store_->Prune(Ctx(10), o);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  // app:1/app:latest goes whole; tools:1 only loses app:tools.
  EXPECT_EQ(Ids(), (std::set<std::string>{Digest(3), Digest(4)}));
  auto tools = store_->Inspect(Ctx(), "tools:1");
  ASSERT_TRUE(tools.ok());
  EXPECT_EQ(tools->summary.names, (std::vector<std::string>{"tools:1"}));
  // The oplog's prune keeps refusing the key.
  auto bad = store_->Prune(Ctx(10), {.all = true, .filters = {{"reference", {"x"}}}});
  EXPECT_EQ(bad.status().message(), "invalid filter 'reference'");
}

TEST_F(BeyondTest, ListBeforeAndSinceAndRepoDigests) {
  Create(2, "a:1", 0);
  Create(3, "b:1", 10);
  Create(4, "c:1", 20);
  ASSERT_TRUE(store_->Tag(Ctx(30), "b:1", "example.com/b:2").ok());
  auto before = store_->ListImages(Ctx(100), {.filters = {{"before", {"c:1"}}}});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 2u);
  EXPECT_EQ((*before)[0].id, Digest(3));
  auto since = store_->ListImages(Ctx(100), {.filters = {{"since", {"a:1"}}}});
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ((*since)[1].id, Digest(3));
  EXPECT_EQ((*since)[1].repo_digests,
            (std::vector<std::string>{"b@" + Digest(3), "example.com/b@" + Digest(3)}));
  auto missing = store_->ListImages(Ctx(100), {.filters = {{"since", {"zzz"}}}});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

TEST_F(BeyondTest, ListsContainersAndLeases) {
  Create(2, "a:1", 0);
  ASSERT_TRUE(store_->CreateContainer(Ctx(5), Cid(7), "a:1", true).ok());
  ASSERT_TRUE(store_->CreateContainer(Ctx(6), Cid(8), "a:1", false).ok());
  ASSERT_TRUE(store_->RemoveImage(Ctx(7), Digest(2), true).status().code() ==
              absl::StatusCode::kFailedPrecondition);  // running: cannot be forced
  ASSERT_TRUE(store_->StopContainer(Ctx(8), Cid(7)).ok());
  ASSERT_TRUE(store_->RemoveImage(Ctx(9), Digest(2), true).ok());
  auto cs = store_->ListContainers(Ctx());
  ASSERT_TRUE(cs.ok());
  ASSERT_EQ(cs->size(), 2u);
  EXPECT_EQ((*cs)[0].id, Cid(8));  // newest first
  EXPECT_EQ((*cs)[0].image_id, Digest(2));
  EXPECT_FALSE((*cs)[0].image_exists);
  EXPECT_FALSE((*cs)[1].running);

  ASSERT_TRUE(store_->CreateLease(Ctx(), "l1", T(100)).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(), "l1", {{kLayer, Digest(77), 42}}).ok());
  auto ls = store_->ListLeases(Ctx());
  ASSERT_TRUE(ls.ok());
  ASSERT_EQ(ls->size(), 1u);
  EXPECT_EQ((*ls)[0].id, "l1");
  EXPECT_EQ((*ls)[0].expires, T(100));
  ASSERT_EQ((*ls)[0].content.size(), 1u);
  EXPECT_EQ((*ls)[0].content[0].size, 42);
}

TEST_F(BeyondTest, ExplainsImagesAndBlobs) {
  Create(2, "a:1", 0);
  Create(3, "b:1", 0);
  ASSERT_TRUE(store_->CreateContainer(Ctx(), Cid(7), "a:1", false).ok());
  ASSERT_TRUE(store_->Pin(Ctx(), "b:1", true).ok());
  ASSERT_TRUE(store_->CreateLease(Ctx(), "l", T(50)).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(), "l", {{kLayer, Digest(1), 1000}}).ok());
  auto a = store_->Explain(Ctx(), "a:1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Explanation::Kind::kImage);
  EXPECT_EQ(a->names, (std::vector<std::string>{"a:1"}));
  ASSERT_EQ(a->containers.size(), 1u);
  EXPECT_EQ(a->containers[0].id, Cid(7));
  EXPECT_EQ(a->size, 1600);
  auto b = store_->Explain(Ctx(), "b:1");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->pinned);
  auto shared = store_->Explain(Ctx(100), Digest(1));
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(shared->kind, Explanation::Kind::kBlob);
  EXPECT_EQ(shared->images,
            (std::vector<std::string>{"default/" + Digest(2), "default/" + Digest(3)}));
  EXPECT_EQ(shared->leases, (std::vector<std::string>{"default/l (expired)"}));
  EXPECT_TRUE(absl::IsNotFound(store_->Explain(Ctx(), Digest(999)).status()));
}

TEST_F(BeyondTest, StatsCountKeys) {
  Create(2, "a:1", 0);
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->format_version, "3");
  std::map<std::string, int64_t> keys;
  for (const auto& f : stats->families) keys[f.name] = f.keys;
  EXPECT_EQ(keys["images"], 1);
  EXPECT_EQ(keys["refs"], 2);  // the name and the digest reference
  EXPECT_EQ(keys["names"], 1);
  EXPECT_EQ(keys["blobs"], 3);
  EXPECT_GT(stats->disk_bytes, 0);
  EXPECT_FALSE(stats->secondary);
}

// Every file of the store with its SHA-256.
std::map<std::string, std::string> HashTree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out[fs::relative(e.path(), root).string()] = content::Sha256Hex(bytes);
  }
  return out;
}

TEST_F(BeyondTest, ReadOnlyChangesNoByteAndRefusesChanges) {
  Create(2, "a:1", 0);
  Create(3, std::nullopt, 0);
  store_.reset();  // flushed and closed
  const auto before = HashTree(dir_);
  {
    auto ro = Store::Open(dir_.string(), {.read_only = true});
    ASSERT_TRUE(ro.ok()) << ro.status();
    auto images = (*ro)->ListImages(Ctx(), {});
    ASSERT_TRUE(images.ok());
    EXPECT_EQ(images->size(), 2u);
    EXPECT_TRUE((*ro)->Check().ok());
    EXPECT_TRUE((*ro)->GetDiskUsage(Ctx()).ok());
    EXPECT_TRUE((*ro)->Explain(Ctx(), "a:1").ok());
    auto stats = (*ro)->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_FALSE(stats->secondary);
    auto rm = (*ro)->RemoveImage(Ctx(), "a:1", false);
    EXPECT_EQ(rm.status().message(), "the store is open read-only");
    EXPECT_TRUE(absl::IsFailedPrecondition((*ro)->Prune(Ctx(), {.all = true}).status()));
  }
  EXPECT_EQ(HashTree(dir_), before);
  EXPECT_FALSE(Store::Open((dir_ / "nope").string(), {.read_only = true}).ok());
  EXPECT_FALSE(fs::exists(dir_ / "nope"));
}

constexpr char kWriterFlag[] = "--writer-child=";

// The writer: holds the store open and keeps creating images; writes one
// byte to stdout once the store is open. Runs in a fresh process (exec'd,
// not only forked: RocksDB's thread pools do not survive a fork).
[[noreturn]] void WriterMain(const std::string& dir) {
  auto s = Store::Open(dir, {});
  if (!s.ok()) _exit(3);
  char c = 'r';
  if (write(STDOUT_FILENO, &c, 1) != 1) _exit(4);
  for (int i = 0;; ++i) {
    (void)(*s)->CreateImage(
        Ctx(i), {.name = absl::StrCat("w:", i), .target = {kManifest, Digest(100000 + i), 10}});
    usleep(1000);
  }
}

TEST_F(BeyondTest, ReadOnlyBesideAWriterInAnotherProcessIsASecondary) {
  Create(2, "a:1", 0);
  store_.reset();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(ready[1], STDOUT_FILENO);
    close(ready[0]);
    close(ready[1]);
    std::string arg = std::string(kWriterFlag) + dir_.string();
    execl("/proc/self/exe", "beyond_test", arg.c_str(), static_cast<char*>(nullptr));
    _exit(6);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  for (int i = 0; i < 5; ++i) {
    auto ro = Store::Open(dir_.string(), {.read_only = true});
    ASSERT_TRUE(ro.ok()) << ro.status();
    auto stats = (*ro)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_TRUE(stats->secondary);
    auto images = (*ro)->ListImages(Ctx(), {});
    ASSERT_TRUE(images.ok()) << images.status();
    EXPECT_GE(images->size(), 1u);
    auto problems = (*ro)->Check();
    ASSERT_TRUE(problems.ok()) << problems.status();
    EXPECT_TRUE(Faults(*problems).empty());
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace refstore

int main(int argc, char** argv) {
  const size_t n = std::strlen(refstore::kWriterFlag);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], refstore::kWriterFlag, n) == 0) refstore::WriterMain(argv[i] + n);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
