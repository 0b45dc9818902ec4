// Store-level tests of the semantics the public scenarios leave out, through
// the public API only (plus one test that damages a record on purpose).
#include "refstore/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "rocksdb/db.h"

namespace refstore {
namespace {

constexpr char kManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndex[] = "application/vnd.oci.image.index.v1+json";
constexpr char kLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kConfig[] = "application/vnd.oci.image.config.v1+json";
constexpr int kShared = 5555;  // the layer every test image shares

std::string Digest(int n, char lead = '0') {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%c%063x", lead, n);
  return std::string("sha256:") + buf;
}
Descriptor D(const char* type, int n, int64_t size) { return {type, Digest(n), size}; }

// "r<n>:1" (built with StrCat: GCC 12 warns falsely on "r" + std::to_string).
std::string RepoName(int n) { return absl::StrCat("r", n, ":1"); }

absl::Time T(int64_t seconds) { return absl::FromUnixSeconds(1767225600 + seconds); }
OpContext Ctx(int64_t seconds = 0, std::string ns = "default") {
  return {std::move(ns), T(seconds)};
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("refstore-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(const StoreOptions& options = {}) {
    store_.reset();
    auto s = Store::Open(dir_.string(), options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // Closes the store, lets `damage` change its database directly (a test of
  // what check finds), and opens it again.
  void Damage(const std::function<void(rocksdb::DB*,
                                       const std::vector<rocksdb::ColumnFamilyHandle*>&)>& damage) {
    store_.reset();
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : internal::kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_.string(), cfs, &handles, &raw).ok());
    damage(raw, handles);
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
    Reopen();
  }
  // Creates image n: manifest n, config 1000+n, a shared layer and a unique one.
  std::string Create(int n, std::optional<std::string> name, OpContext ctx = Ctx(),
                     std::map<std::string, std::string> labels = {}) {
    auto id = store_->CreateImage(
        ctx,
        {.name = name,
         .target = D(kManifest, n, 100),
         .content = {D(kConfig, 1000 + n, 10), D(kLayer, kShared, 5000), D(kLayer, 2000 + n, 700)},
         .labels = labels});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
  void ExpectClean() {
    auto problems = store_->Check();
    ASSERT_TRUE(problems.ok()) << problems.status();
    for (const auto& p : refstore::Faults(*problems))
      ADD_FAILURE() << p.category << " " << p.subject << " " << p.detail;
  }
  std::vector<std::string> Names(const std::string& ref, OpContext ctx = Ctx()) {
    auto d = store_->Inspect(ctx, ref);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->summary.names : std::vector<std::string>{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, FailedCreateChangesNothing) {
  Create(1, "a:1");
  // Layer 1 is recorded with size 5000; another size for it is refused whole.
  auto bad = store_->CreateImage(
      Ctx(),
      {.name = "b:1", .target = D(kManifest, 2, 100), .content = {D(kLayer, kShared, 4999)}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->size(), 1u);
  // The same digest twice in one request with two sizes is refused too.
  bad = store_->CreateImage(
      Ctx(), {.target = D(kManifest, 3, 100), .content = {D(kLayer, 9, 1), D(kLayer, 9, 2)}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectClean();
}

TEST_F(StoreTest, CreatingAnExistingImageOnlyAddsTheName) {
  std::string id = Create(1, "a:1");
  Create(1, "b:1");
  EXPECT_EQ(Names(id), (std::vector<std::string>{"a:1", "b:1"}));
  auto du = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(du.ok());
  EXPECT_EQ(du->total_count, 1);
  EXPECT_EQ(du->size, 100 + 10 + 5000 + 700);
  EXPECT_EQ(du->shared_size, 0);  // counted once, not shared with itself
  ExpectClean();
}

TEST_F(StoreTest, BlobSharedAcrossNamespacesIsFreedByTheLastOne) {
  Create(1, "a:1", Ctx(0, "one"));
  Create(2, "b:1", Ctx(0, "two"));  // shares layer 1 (5000 bytes)
  auto r1 = store_->RemoveImage(Ctx(0, "one"), "a:1", false);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->space_reclaimed, 100 + 10 + 700);
  // Names and holders never cross namespaces.
  EXPECT_EQ(store_->RemoveImage(Ctx(0, "one"), "b:1", false).status().message(),
            "No such image: b:1");
  auto r2 = store_->RemoveImage(Ctx(0, "two"), "b:1", false);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->space_reclaimed, 100 + 10 + 700 + 5000);
  ExpectClean();
}

TEST_F(StoreTest, SameImageInTwoNamespacesIsSharedForSizes) {
  Create(1, "a:1", Ctx(0, "one"));
  Create(1, "a:1", Ctx(0, "two"));
  auto d = store_->Inspect(Ctx(0, "one"), "a:1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->summary.shared_size, d->summary.size);
  EXPECT_EQ(d->summary.unique_size, 0);
  auto r = store_->RemoveImage(Ctx(0, "one"), "a:1", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->space_reclaimed, 0);  // the other namespace still uses it all
  ExpectClean();
}

TEST_F(StoreTest, RepoDigestCoveringEveryNameIsRemovalById) {
  std::string id = Create(1, "a:1");
  ASSERT_TRUE(store_->Tag(Ctx(), "a:1", "a:2").ok());
  std::string cid(64, 'c');
  ASSERT_TRUE(store_->CreateContainer(Ctx(), cid, "a:1", /*running=*/true).ok());
  auto r = store_->RemoveImage(Ctx(), "a@" + id, /*force=*/true);
  EXPECT_EQ(r.status().message(),
            "conflict: unable to delete 000000000000 (cannot be forced) - image is being used "
            "by running container cccccccccccc");
  ASSERT_TRUE(store_->StopContainer(Ctx(), cid).ok());
  r = store_->RemoveImage(Ctx(), "a@" + id, /*force=*/false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  r = store_->RemoveImage(Ctx(), "a@" + id, /*force=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted.size(), 3u);
  // The stopped container still points at the ID and holds it again when the
  // image comes back.
  Create(1, std::nullopt);
  auto pruned = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->images_deleted, 0);
  ExpectClean();
}

TEST_F(StoreTest, RepoDigestRemovesEveryTagOfItsRepositoryWithoutForce) {
  std::string id = Create(1, "a:1");
  ASSERT_TRUE(store_->Tag(Ctx(), "a:1", "a:2").ok());
  auto r = store_->RemoveImage(Ctx(), "a@" + id, /*force=*/false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, (std::vector<DeleteEntry>{{DeleteEntry::Kind::kUntagged, "a:1"},
                                                  {DeleteEntry::Kind::kUntagged, "a:2"},
                                                  {DeleteEntry::Kind::kDeleted, id}}));
  ExpectClean();
}

TEST_F(StoreTest, TagMovesANameAndLeavesTheOldImageDangling) {
  std::string old_id = Create(1, "a:1", Ctx(0));
  std::string new_id = Create(2, std::nullopt, Ctx(10));
  ASSERT_TRUE(store_->Tag(Ctx(20), new_id, "a:1").ok());
  EXPECT_TRUE(Names(old_id).empty());
  EXPECT_EQ(Names("a:1"), std::vector<std::string>{"a:1"});
  EXPECT_EQ(store_->Tag(Ctx(), "a:1", "x@" + new_id).message(),
            "refusing to create a tag with a digest reference");
  EXPECT_EQ(store_->Tag(Ctx(), "a:1", "sha256:abc").message(),
            "refusing to create an ambiguous tag using digest algorithm as name");
  // The old image dangles since the move (t=20): until=15s before t=30 keeps it.
  auto kept = store_->Prune(Ctx(30), {.filters = {{"until", {"15s"}}}});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->images_deleted, 0);
  auto pruned = store_->Prune(Ctx(30), {});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->images_deleted, 1);
  EXPECT_EQ(pruned->deleted[0], (DeleteEntry{DeleteEntry::Kind::kUntagged, old_id}));
  ExpectClean();
}

TEST_F(StoreTest, UntilSelectingSomeNamesUntagsThem) {
  std::string id = Create(1, "a:old", Ctx(0));
  ASSERT_TRUE(store_->Tag(Ctx(100), "a:old", "a:new").ok());
  auto r = store_->Prune(Ctx(200), {.all = true, .filters = {{"until", {"150s"}}}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, (std::vector<DeleteEntry>{{DeleteEntry::Kind::kUntagged, "a:old"}}));
  EXPECT_EQ(Names(id), std::vector<std::string>{"a:new"});
  ExpectClean();
}

TEST_F(StoreTest, PruneAllKeepsTheNameAContainerWasCreatedWith) {
  std::string id = Create(1, "a:1");
  ASSERT_TRUE(store_->Tag(Ctx(), "a:1", "z:9").ok());
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'c'), "a:1", false).ok());
  auto r = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, (std::vector<DeleteEntry>{{DeleteEntry::Kind::kUntagged, "z:9"}}));
  EXPECT_EQ(Names(id), std::vector<std::string>{"a:1"});
  ExpectClean();
}

TEST_F(StoreTest, AContainerCreatedWithANameThatIsAlsoAnIdPrefixProtectsTheName) {
  // "0000" is both the exact name 0000:latest and a prefix of image 1's ID;
  // for a container the exact name wins (SEMANTICS §3.2), so it is the name
  // the container was created with and prune -a keeps it (§5).
  std::string id = Create(1, "0000");
  ASSERT_TRUE(id.starts_with("sha256:0000"));
  ASSERT_TRUE(store_->Tag(Ctx(), "0000", "zzz:9").ok());
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'c'), "0000", false).ok());
  auto r = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, (std::vector<DeleteEntry>{{DeleteEntry::Kind::kUntagged, "zzz:9"}}));
  EXPECT_EQ(Names(id), std::vector<std::string>{"0000:latest"});
  // Created by the full ID instead, the container protects no name: the
  // lexicographically last one is kept.
  ASSERT_TRUE(store_->Tag(Ctx(), "0000", "zzz:9").ok());
  ASSERT_TRUE(store_->RemoveContainer(Ctx(), std::string(64, 'c')).ok());
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'd'), id, false).ok());
  r = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, (std::vector<DeleteEntry>{{DeleteEntry::Kind::kUntagged, "0000:latest"}}));
  EXPECT_EQ(Names(id), std::vector<std::string>{"zzz:9"});
  ExpectClean();
}

TEST_F(StoreTest, DanglingFilterOverridesAll) {
  std::string dangling = Create(1, std::nullopt);
  std::string named = Create(2, "a:1");
  auto ids = [&](const ListOptions& o) {
    std::vector<std::string> out;
    auto images = store_->ListImages(Ctx(), o);
    EXPECT_TRUE(images.ok()) << images.status();
    if (images.ok())
      for (const auto& i : *images) out.push_back(i.id);
    return out;
  };
  EXPECT_EQ(ids({.all = false}), std::vector<std::string>{named});
  EXPECT_EQ(ids({.all = false, .filters = {{"dangling", {"true"}}}}),
            std::vector<std::string>{dangling});
  EXPECT_EQ(ids({.all = true, .filters = {{"dangling", {"1"}}}}),
            std::vector<std::string>{dangling});
  EXPECT_EQ(ids({.all = true, .filters = {{"dangling", {"false"}}}}),
            std::vector<std::string>{named});
  EXPECT_EQ(ids({.all = false, .filters = {{"dangling", {"0"}}}}), std::vector<std::string>{named});
}

TEST_F(StoreTest, ASecondWriterIsToldTheStoreIsInUseAndMayWait) {
  Create(1, "a:1");
  auto second = Store::Open(dir_.string(), {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(), "store is in use by another process: " + dir_.string());
  // With lock_wait, Open waits for the holder to close the store.
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(300));
    store_.reset();
  });
  const absl::Time start = absl::Now();
  auto waited = Store::Open(dir_.string(), {.lock_wait = absl::Seconds(30)});
  closer.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  auto images = (*waited)->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->size(), 1u);
  // A bounded wait that runs out is Unavailable again.
  auto timed_out = Store::Open(dir_.string(), {.lock_wait = absl::Milliseconds(200)});
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(StoreTest, SizesWhoseSumDoesNotFitAreRefused) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // One image: a target of 100 bytes and a layer of 2^63-1 do not fit.
  auto one = store_->CreateImage(
      Ctx(), {.name = "big:1", .target = D(kManifest, 1, 100), .content = {D(kLayer, 2001, kMax)}});
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument) << one.status();
  // Two images of 2^62 and 2^62-1 bytes fit (2^63-1 together); one more
  // byte does not, and changes nothing.
  for (int i = 2; i <= 3; ++i) {
    const int64_t size = (int64_t{1} << 62) - (i - 2);
    auto ok = store_->CreateImage(Ctx(), {.name = RepoName(i),
                                          .target = D(kManifest, i, 0),
                                          .content = {D(kLayer, 2000 + i, size)}});
    EXPECT_TRUE(ok.ok()) << ok.status();
  }
  auto third = store_->CreateImage(
      Ctx(), {.name = "r4:1", .target = D(kManifest, 4, 0), .content = {D(kLayer, 2004, 1)}});
  EXPECT_EQ(third.status().code(), absl::StatusCode::kInvalidArgument) << third.status();
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  ASSERT_EQ(images->size(), 2u);
  for (const auto& i : *images) EXPECT_GE(i.size, (int64_t{1} << 62) - 1);
  auto du = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(du.ok());
  EXPECT_EQ(du->size, kMax);
  EXPECT_EQ(du->reclaimable, kMax);
  auto pruned = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->space_reclaimed, kMax);
  ExpectClean();
}

TEST_F(StoreTest, PruneReportsChildManifestsOfAnIndexOnce) {
  // Two multi-platform images sharing one platform manifest.
  auto mk = [&](int n, const char* name) {
    return store_->CreateImage(Ctx(), {.name = std::string(name),
                                       .target = D(kIndex, n, 300),
                                       .content = {D(kManifest, 50, 100), D(kManifest, 60 + n, 100),
                                                   D(kLayer, 70, 1000)}});
  };
  ASSERT_TRUE(mk(1, "m:1").ok());
  ASSERT_TRUE(mk(2, "m:2").ok());
  auto r = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(r.ok());
  std::multiset<std::string> deleted;
  for (const auto& e : r->deleted) {
    if (e.kind == DeleteEntry::Kind::kDeleted) deleted.insert(e.ref);
  }
  EXPECT_EQ(deleted,
            (std::multiset<std::string>{Digest(1), Digest(2), Digest(50), Digest(61), Digest(62)}));
  EXPECT_EQ(r->space_reclaimed, 300 * 2 + 100 * 3 + 1000);
  ExpectClean();
}

TEST_F(StoreTest, PruneReportsAnImageThatIsAlsoAChildManifestOnce) {
  // Image M is a plain manifest; index B lists M as a platform manifest.
  // Whichever goes first, M's digest is reported once.
  for (int index : {1, 99}) {  // B's ID before, then after M's (digest 50)
    SetUp();
    ASSERT_TRUE(store_
                    ->CreateImage(Ctx(), {.name = std::string("m:1"),
                                          .target = D(kManifest, 50, 100),
                                          .content = {D(kLayer, 70, 1000)}})
                    .ok());
    ASSERT_TRUE(store_
                    ->CreateImage(Ctx(), {.name = std::string("b:1"),
                                          .target = D(kIndex, index, 300),
                                          .content = {D(kManifest, 50, 100), D(kLayer, 70, 1000)}})
                    .ok());
    auto r = store_->Prune(Ctx(), {.all = true});
    ASSERT_TRUE(r.ok());
    std::multiset<std::string> deleted;
    for (const auto& e : r->deleted) {
      if (e.kind == DeleteEntry::Kind::kDeleted) deleted.insert(e.ref);
    }
    EXPECT_EQ(deleted, (std::multiset<std::string>{Digest(50), Digest(index)})) << index;
    EXPECT_EQ(r->space_reclaimed, 100 + 300 + 1000);
    ExpectClean();
    TearDown();
  }
  SetUp();
}

TEST_F(StoreTest, ChangesMadeDuringAPruneWaitForItAndSeeItsResult) {
  // Batches of two candidates; while the prune decides (on_progress runs
  // then, with the write lock held), another thread starts a container on a
  // candidate and removes another. Both wait for the prune, which removes
  // all six at once; then they find nothing: no writer is undone, and the
  // prune's decisions were made on one state.
  Reopen({.prune_batch = 2});
  std::vector<std::string> ids;
  for (int i = 1; i <= 6; ++i) ids.push_back(Create(i, RepoName(i)));
  std::thread writer;
  absl::Status container_status, remove_status;
  std::atomic<bool> writer_started{false};
  PruneOptions opts{
      .all = true, .on_progress = [&](const Progress& p) {
        if (writer_started.exchange(true)) return;
        EXPECT_EQ(p.images_scanned, 2);
        writer = std::thread([&] {
          container_status =
              store_->CreateContainer(Ctx(), std::string(64, 'e'), ids[5], false).status();
          remove_status = store_->RemoveImage(Ctx(), ids[4], false).status();
        });
      }};
  auto r = store_->Prune(Ctx(), opts);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(writer_started);
  writer.join();
  EXPECT_EQ(r->images_deleted, 6);
  EXPECT_EQ(container_status.code(), absl::StatusCode::kNotFound) << container_status;
  EXPECT_EQ(remove_status.code(), absl::StatusCode::kNotFound) << remove_status;
  auto left = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  ExpectClean();
}

TEST_F(StoreTest, APruneSeesTheChangesCommittedBeforeIt) {
  // on_entry runs after the commit, outside the lock: it may write. A
  // second prune sees what the first callback changed.
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) ids.push_back(Create(i, RepoName(i)));
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'e'), ids[2], false).ok());
  bool wrote = false;
  PruneOptions opts{.all = true, .on_entry = [&](const DeleteEntry&) {
                      if (wrote) return;
                      wrote = true;
                      EXPECT_TRUE(store_->RemoveContainer(Ctx(), std::string(64, 'e')).ok());
                    }};
  auto r = store_->Prune(Ctx(), opts);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images_deleted, 2);
  ASSERT_TRUE(wrote);
  auto again = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->images_deleted, 1);
  ExpectClean();
}

TEST_F(StoreTest, ExpiredLeaseProtectsNothing) {
  ASSERT_TRUE(store_->CreateLease(Ctx(0), "pull", T(100)).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(0), "pull", {D(kLayer, kShared, 5000)}).ok());
  Create(1, "a:1");
  // Before expiry the lease keeps the layer; after it, rmi frees the layer.
  auto r = store_->RemoveImage(Ctx(200), "a:1", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->space_reclaimed, 100 + 10 + 5000 + 700);
  ExpectClean();
  // The expired lease still exists until a prune removes it; nothing is
  // counted twice.
  auto p = store_->Prune(Ctx(300), {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->space_reclaimed, 0);
  EXPECT_EQ(store_->DeleteLease(Ctx(300), "pull").status().code(), absl::StatusCode::kNotFound);
  ExpectClean();
}

TEST_F(StoreTest, TwoExpiredLeasesOnOneBlobDryRunAgreesWithPrune) {
  for (const char* id : {"a", "b"}) {
    ASSERT_TRUE(store_->CreateLease(Ctx(0), id, T(10)).ok());
    ASSERT_TRUE(store_->AddLeaseContent(Ctx(0), id, {D(kLayer, 77, 700), D(kLayer, 78, 5)}).ok());
  }
  auto dry = store_->Prune(Ctx(20), {.dry_run = true});
  ASSERT_TRUE(dry.ok()) << dry.status();
  auto real = store_->Prune(Ctx(20), {});
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_EQ(dry->space_reclaimed, 705);
  EXPECT_EQ(real->space_reclaimed, 705);
  ExpectClean();
}

TEST_F(StoreTest, DeletingALeaseFreesWhatOnlyItHeld) {
  ASSERT_TRUE(store_->CreateLease(Ctx(), "pull", std::nullopt).ok());
  ASSERT_TRUE(
      store_->AddLeaseContent(Ctx(), "pull", {D(kLayer, kShared, 5000), D(kLayer, 5, 42)}).ok());
  EXPECT_EQ(store_->CreateLease(Ctx(), "pull", std::nullopt).code(),
            absl::StatusCode::kAlreadyExists);
  Create(1, "a:1");
  auto freed = store_->DeleteLease(Ctx(), "pull");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->space_reclaimed, 42);  // layer 1 is still used by the image
  ExpectClean();
}

TEST_F(StoreTest, DryRunReportsExactlyWhatPruneDoesAndChangesNothing) {
  for (int i = 1; i <= 30; ++i) {
    Create(i, i % 3 == 0 ? std::nullopt : std::optional<std::string>(RepoName(i)), Ctx(i),
           {{"tier", i % 2 ? "a" : "b"}});
  }
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'd'), "r4:1", false).ok());
  for (bool all : {false, true}) {
    PruneOptions opts{.all = all, .filters = {{"label!", {"tier=b"}}}};
    auto before = store_->ListImages(Ctx(), {});
    opts.dry_run = true;
    auto dry = store_->Prune(Ctx(100), opts);
    ASSERT_TRUE(dry.ok());
    auto after = store_->ListImages(Ctx(), {});
    ASSERT_EQ(before->size(), after->size());
    opts.dry_run = false;
    auto real = store_->Prune(Ctx(100), opts);
    ASSERT_TRUE(real.ok());
    EXPECT_EQ(dry->space_reclaimed, real->space_reclaimed);
    EXPECT_EQ(std::multiset<std::string>(), std::multiset<std::string>());
    auto key = [](const std::vector<DeleteEntry>& v) {
      std::multiset<std::pair<int, std::string>> s;
      for (const auto& e : v) s.emplace(static_cast<int>(e.kind), e.ref);
      return s;
    };
    EXPECT_EQ(key(dry->deleted), key(real->deleted));
    EXPECT_GT(real->images_deleted, 0);
  }
  ExpectClean();
}

TEST_F(StoreTest, DiskUsageReclaimableEqualsPruneAll) {
  for (int i = 1; i <= 20; ++i) Create(i, RepoName(i % 7), Ctx(i));
  ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'e'), "r3:1", true).ok());
  ASSERT_TRUE(store_->CreateLease(Ctx(), "l", T(5)).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(), "l", {D(kLayer, 999, 77)}).ok());
  // Another namespace shares image 5's blobs; an expired lease (in a third
  // namespace) and a live one hold blobs of images that prune -a deletes.
  Create(5, "elsewhere:1", Ctx(0, "other"));
  ASSERT_TRUE(store_->CreateLease(Ctx(0, "third"), "old", T(10)).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(0, "third"), "old", {D(kLayer, 2006, 700)}).ok());
  ASSERT_TRUE(store_->CreateLease(Ctx(), "live", std::nullopt).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(), "live", {D(kLayer, 2007, 700)}).ok());
  auto du = store_->GetDiskUsage(Ctx(50));
  ASSERT_TRUE(du.ok());
  auto r = store_->Prune(Ctx(50), {.all = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(du->reclaimable, r->space_reclaimed);
  EXPECT_GT(r->space_reclaimed, 77);
  EXPECT_EQ(du->active, 1);
  ExpectClean();
}

TEST_F(StoreTest, SecondConcurrentPruneIsRefused) {
  for (int i = 1; i <= 3; ++i) Create(i, std::nullopt);
  absl::Status second, second_bad_filter;
  bool ran = false;
  PruneOptions opts{.on_progress = [&](const Progress&) {
    if (ran) return;
    ran = true;
    std::thread t([&] {
      second = store_->Prune(Ctx(), {}).status();
      // Busy is reported before the filters are looked at (docker's order).
      second_bad_filter = store_->Prune(Ctx(), {.filters = {{"zzz", {"1"}}}}).status();
    });
    t.join();
  }};
  auto first = store_->Prune(Ctx(), opts);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(ran);
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(second.message(), "a prune operation is already running");
  EXPECT_EQ(second_bad_filter.message(), "a prune operation is already running");
  // A prune refused for its filters releases the lock too.
  EXPECT_EQ(store_->Prune(Ctx(), {.filters = {{"zzz", {"1"}}}}).status().message(),
            "invalid filter 'zzz'");
  EXPECT_TRUE(store_->Prune(Ctx(), {}).ok());  // and the lock is released
}

TEST_F(StoreTest, ContainersValidateAndResolveFirst) {
  Create(1, "a:1");
  std::string cid(64, 'a');
  EXPECT_EQ(store_->CreateContainer(Ctx(), cid, "nope", false).status().message(),
            "No such image: nope:latest");
  ASSERT_TRUE(store_->CreateContainer(Ctx(), cid, "a:1", true).ok());
  EXPECT_EQ(store_->CreateContainer(Ctx(), cid, "a:1", false).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateContainer(Ctx(), "ABC", "a:1", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RemoveContainer(Ctx(), cid).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->StartContainer(Ctx(), cid).ok());  // already running: no change
  EXPECT_TRUE(store_->StopContainer(Ctx(), cid).ok());
  EXPECT_TRUE(store_->RemoveContainer(Ctx(), cid).ok());
  EXPECT_EQ(store_->StopContainer(Ctx(), cid).message(), "No such container: " + cid);
  ExpectClean();
}

TEST_F(StoreTest, ContainerNamesAreDockersAndUniquePerNamespace) {
  Create(1, "a:1");
  const std::string c1(64, 'a'), c2(64, 'b'), c3(64, 'c');
  ASSERT_TRUE(store_->CreateContainer(Ctx(), c1, "a:1", false, "/web-1").ok());
  auto taken = store_->CreateContainer(Ctx(), c2, "a:1", false, "web-1");
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.status().message(),
            "Conflict. The container name \"/web-1\" is already in use by container \"" + c1 +
                "\". You have to remove (or rename) that container to be able to reuse that name.");
  for (std::string_view bad : {"x", "-web", "web 1", "/", "w/eb", "web!"}) {
    auto s = store_->CreateContainer(Ctx(), c2, "a:1", false, bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.status().message(), "Invalid container name (" + std::string(bad) +
                                        "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  // Another namespace may use the name; an unnamed container has none.
  Create(1, "a:1", Ctx(1, "other"));
  EXPECT_TRUE(store_->CreateContainer(Ctx(2, "other"), c2, "a:1", false, "web-1").ok());
  EXPECT_TRUE(store_->CreateContainer(Ctx(), c3, "a:1", false).ok());
  // The name survives a start, a stop and a reopen, and is free again once
  // its container is removed.
  ASSERT_TRUE(store_->StartContainer(Ctx(), c1).ok());
  ASSERT_TRUE(store_->StopContainer(Ctx(), c1).ok());
  Reopen();
  auto list = store_->ListContainers(Ctx());
  ASSERT_TRUE(list.ok());
  std::map<std::string, std::string> names;
  for (const auto& c : *list) names[c.id] = c.name;
  EXPECT_EQ(names, (std::map<std::string, std::string>{{c1, "web-1"}, {c3, ""}}));
  ASSERT_TRUE(store_->RemoveContainer(Ctx(), c1).ok());
  EXPECT_TRUE(store_->CreateContainer(Ctx(), c1, "a:1", false, "web-1").ok());
  ExpectClean();
}

TEST_F(StoreTest, StateSurvivesReopen) {
  std::string id = Create(1, "a:1");
  Reopen();
  EXPECT_EQ(Names(id), std::vector<std::string>{"a:1"});
  ExpectClean();
}

TEST_F(StoreTest, CheckFindsACountThatDrifted) {
  Create(1, "a:1");
  Create(2, "b:1");  // both use the shared layer: a count of 2
  Damage([&](rocksdb::DB* raw, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    // The layer's count, behind the store's back.
    internal::BlobRecord b{.size = 5000, .media_type = kLayer};
    b.Use("default").refs = 3;
    ASSERT_TRUE(raw->Put({}, handles[internal::kBlobs], internal::HexToRaw(Digest(kShared)),
                         internal::EncodeBlob(b))
                    .ok());
  });
  auto problems = store_->Check();
  ASSERT_TRUE(problems.ok());
  // The df figures do not change (the layer was shared and stays shared),
  // only the count disagrees with a recount.
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].category, "count_drift");
  EXPECT_EQ((*problems)[0].subject, Digest(kShared));
}

TEST_F(StoreTest, CheckFindsAMissingAndAStrayBlobRecord) {
  Create(1, "a:1");
  Damage([&](rocksdb::DB* raw, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    ASSERT_TRUE(raw->Delete({}, handles[internal::kBlobs], internal::HexToRaw(Digest(1001))).ok());
    internal::BlobRecord stray{.size = 9, .media_type = kLayer};
    ASSERT_TRUE(raw->Put({}, handles[internal::kBlobs], internal::HexToRaw(Digest(424242)),
                         internal::EncodeBlob(stray))
                    .ok());
  });
  auto problems = store_->Check();
  ASSERT_TRUE(problems.ok());
  std::map<std::string, std::string> found;  // category -> subject
  for (const auto& p : refstore::Faults(*problems)) found[p.category] = p.subject;
  EXPECT_EQ(found["missing_blob"], Digest(1001));
  EXPECT_EQ(found["unreferenced_blob"], Digest(424242));
  EXPECT_EQ(found["stats_drift"], "default");  // the config's bytes left the figures
  EXPECT_EQ(found.size(), 3u);
}

TEST_F(StoreTest, OwnershipEndsWhenASecondImageOrALeaseUsesTheBlob) {
  Create(1, "a:1");  // owns its manifest, config and layers
  ASSERT_TRUE(store_->CreateLease(Ctx(), "l", std::nullopt).ok());
  ASSERT_TRUE(store_->AddLeaseContent(Ctx(), "l", {D(kConfig, 1001, 10)}).ok());
  Create(2, "b:1");  // shares the layer
  ExpectClean();     // check verifies every owner against the flags
  auto r = store_->RemoveImage(Ctx(), "a:1", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->space_reclaimed, 100 + 700);  // config held by the lease, layer by b
  ExpectClean();
  auto freed = store_->DeleteLease(Ctx(), "l");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->space_reclaimed, 10);
  ExpectClean();
}

}  // namespace
}  // namespace refstore
