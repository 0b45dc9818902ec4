// A prune is one atomic change, whatever its size (as one write batch when
// small, as ingested table files when large): the expired leases of every
// namespace and the candidates together. When anything fails before the
// commit, the error is the call's and nothing changed, not even the leases'
// drop, after a reopen too (store.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fault_fs.h"
#include "refstore/db/seams.h"
#include "refstore/store.h"

namespace refstore::testing {
namespace {

namespace fs = std::filesystem;

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }

std::string Digest(int i) {
  std::string hex = absl::StrCat(i);
  hex.insert(0, 64 - hex.size(), '0');
  return "sha256:" + hex;
}

class PruneStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-prune-stop-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open(StoreOptions o = {}) {
    store_.reset();
    o.prune_batch = 1;  // one candidate at a time: progress after each
    internal::Seams seams{.env = fs_.env(), .content_hooks = fs_.content_hooks()};
    auto s = internal::OpenWithSeams(dir_.string(), o, seams);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Create(int i) {
    CreateImageRequest req{
        .target = {"application/vnd.oci.image.manifest.v1+json", Digest(i), 100 + i}};
    auto id = store_->CreateImage(Ctx(i), req);
    ASSERT_TRUE(id.ok()) << id.status();
  }

  void ExpectImages(size_t n) {
    auto images = store_->ListImages(Ctx(10), {});
    ASSERT_TRUE(images.ok()) << images.status();
    EXPECT_EQ(images->size(), n);
  }
  void ExpectClean() {
    CheckOptions c;
    c.now = T(100);
    auto problems = store_->Check(c);
    ASSERT_TRUE(problems.ok()) << problems.status();
    EXPECT_TRUE(Faults(*problems).empty());
  }

  FaultFs fs_{7};
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(PruneStopTest, AFailureWhileDecidingDropsNoLeaseAndRemovesNoImage) {
  ASSERT_TRUE(store_->CreateLease(Ctx(0), "pull", T(5)).ok());
  ASSERT_TRUE(store_
                  ->AddLeaseContent(Ctx(0), "pull",
                                    {{"application/vnd.oci.image.layer.v1.tar", Digest(900), 5000}})
                  .ok());
  for (int i = 1; i <= 3; ++i) Create(i);
  PruneOptions options;
  options.all = true;
  std::vector<DeleteEntry> seen;
  options.on_entry = [&](const DeleteEntry& e) { seen.push_back(e); };
  options.on_progress = [&](const Progress& p) {
    // While the prune decides: every write fails from now on.
    if (p.images_scanned == 1) fs_.SetFaults(FaultPlan{.write_one_in = 1});
  };
  auto pruned = store_->Prune(Ctx(10), options);
  fs_.SetFaults(FaultPlan{});
  EXPECT_FALSE(pruned.ok());
  EXPECT_TRUE(seen.empty());  // nothing committed, nothing reported

  Open();
  ExpectImages(3);
  EXPECT_TRUE(store_->DeleteLease(Ctx(10), "pull").ok()) << "the expired lease was dropped";
  ExpectClean();
}

TEST_F(PruneStopTest, AFailureBeforeAnythingCommitsIsTheCallsError) {
  for (int i = 1; i <= 2; ++i) Create(i);
  fs_.SetFaults(FaultPlan{.write_one_in = 1});
  auto pruned = store_->Prune(Ctx(10), {.all = true});
  fs_.SetFaults(FaultPlan{});
  EXPECT_FALSE(pruned.ok());
  Open();
  ExpectImages(2);  // nothing changed
}

TEST_F(PruneStopTest, AFailureWhileDecidingChangesNothing) {
  for (int i = 1; i <= 4; ++i) Create(i);
  PruneOptions options{.all = true, .on_progress = [&](const Progress& p) {
                         if (p.images_scanned == 2) fs_.SetFaults(FaultPlan{.write_one_in = 1});
                       }};
  auto pruned = store_->Prune(Ctx(10), options);
  fs_.SetFaults(FaultPlan{});
  EXPECT_FALSE(pruned.ok());  // no lease was dropped: the call's error
  Open();
  ExpectImages(4);
  ExpectClean();
}

TEST_F(PruneStopTest, ALargePruneIsIngestedAtOnceAndSurvivesAReopen) {
  Open({.bulk_ingest_writes = 0});  // every prune through table files
  for (int i = 1; i <= 20; ++i) Create(i);
  auto pruned = store_->Prune(Ctx(30), {.all = true});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->images_deleted, 20);
  EXPECT_EQ(pruned->deleted.size(), 40u);  // Untagged and Deleted of each
  Open({.bulk_ingest_writes = 0});
  ExpectImages(0);
  ExpectClean();
  EXPECT_FALSE(fs::exists(dir_ / "bulk.tmp"));
}

TEST_F(PruneStopTest, AnIngestionThatFailsChangesNothing) {
  // Faults on a share of the writes: the table files, their sync or the
  // ingestion fail somewhere; each prune is then whole or absent.
  Open({.bulk_ingest_writes = 0});
  for (int i = 1; i <= 30; ++i) Create(i);
  int failures = 0;
  for (int round = 0; round < 20; ++round) {
    fs_.SetFaults(FaultPlan{.write_one_in = 3, .sync_one_in = 3});
    auto pruned = store_->Prune(Ctx(40), {.all = true, .keep = 0});
    fs_.SetFaults(FaultPlan{});
    Open({.bulk_ingest_writes = 0});
    auto images = store_->ListImages(Ctx(40), {});
    ASSERT_TRUE(images.ok()) << images.status();
    if (pruned.ok() && pruned->error.empty()) {
      EXPECT_EQ(images->size(), 0u);
      break;
    }
    ++failures;
    EXPECT_EQ(images->size(), 30u) << "round " << round << ": a failed prune changed the store";
    ExpectClean();
  }
  EXPECT_GT(failures, 0) << "no fault reached the prune: the test tests nothing";
}

}  // namespace
}  // namespace refstore::testing
