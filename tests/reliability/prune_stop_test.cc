// A prune commits one batch of images at a time. When a later batch fails
// (here: every write of the database fails from the second batch on), the
// batches already committed stay removed, and the call returns their result
// with the error beside it (PruneResult::error), never as the call's error:
// an error would say that nothing changed (store.h). Entries of the batch
// that failed are not reported.
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
  void Open() {
    store_.reset();
    StoreOptions o;
    o.prune_batch = 1;  // one image per atomic write
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

  FaultFs fs_{7};
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(PruneStopTest, AFailedBatchAfterACommittedOneIsReportedBesideItsResult) {
  for (int i = 1; i <= 3; ++i) Create(i);
  PruneOptions options;
  options.all = true;
  std::vector<DeleteEntry> seen;
  options.on_entry = [&](const DeleteEntry& e) { seen.push_back(e); };
  options.on_progress = [&](const Progress& p) {
    // After the first batch's commit: every later write fails.
    if (p.images_deleted == 1) fs_.SetFaults(FaultPlan{.write_one_in = 1});
  };
  auto pruned = store_->Prune(Ctx(10), options);
  fs_.SetFaults(FaultPlan{});
  ASSERT_TRUE(pruned.ok()) << "a committed batch must not be an error: " << pruned.status();
  EXPECT_NE(pruned->error, "");
  EXPECT_EQ(pruned->images_deleted, 1);
  EXPECT_GT(pruned->space_reclaimed, 0);
  // The first image's entries only: Untagged and Deleted of one digest.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].ref, seen[1].ref);
  EXPECT_EQ(seen[1].kind, DeleteEntry::Kind::kDeleted);

  // What the result says is what the store has, after a reopen too.
  Open();
  auto images = store_->ListImages(Ctx(10), {});
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->size(), 2u);
  for (const ImageSummary& s : *images) EXPECT_NE(s.id, seen[1].ref);
  CheckOptions c;
  c.now = T(10);
  auto problems = store_->Check(c);
  ASSERT_TRUE(problems.ok()) << problems.status();
  EXPECT_TRUE(Faults(*problems).empty());
}

TEST_F(PruneStopTest, AFailureBeforeTheFirstCommitIsTheCallsError) {
  for (int i = 1; i <= 2; ++i) Create(i);
  fs_.SetFaults(FaultPlan{.write_one_in = 1});
  auto pruned = store_->Prune(Ctx(10), {.all = true});
  fs_.SetFaults(FaultPlan{});
  EXPECT_FALSE(pruned.ok());
  Open();
  auto images = store_->ListImages(Ctx(10), {});
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->size(), 2u);  // nothing changed
}

}  // namespace
}  // namespace refstore::testing
