// A change that commits returns its result: when the collection run after
// it (StoreOptions::collect_after_changes) fails, the failure is reported
// beside the result (CollectResult::error), never as the call's error, and
// the freed files stay recorded as garbage for the next Collect (store.h).
// The collection is made to fail by content-directory hooks that refuse to
// unlink blob files (EIO), as an undeletable file would.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <string>

#include "refstore/content/content_dir.h"
#include "refstore/content/file_hooks.h"
#include "refstore/db/seams.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using test_oci::Blob;
using test_oci::Image;
using test_oci::MakeImage;

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }
Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

// Fails every unlink of a blob file while `fail` is set.
class RefuseUnlink : public content::FileHooks {
 public:
  int Before(content::FileEvent event, const std::string& path, const std::string& to,
             size_t bytes) override {
    if (event != content::FileEvent::kUnlink || !fail.load()) return 0;
    if (path.find("/blobs/sha256/") == std::string::npos) return 0;
    ++refused;
    return EIO;
  }
  std::atomic<bool> fail{false};
  std::atomic<int> refused{0};
};

class CollectErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-collect-error-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    StoreOptions o;
    o.content_store = true;
    internal::Seams seams;
    seams.content_hooks = &hooks_;
    auto s = internal::OpenWithSeams(dir_.string(), o, seams);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path BlobPath(const Blob& b) const { return dir_ / "content/blobs/sha256" / b.hex(); }

  // Writes `img`'s blobs under `lease` (created here) and, when `name` is
  // set, creates the image under it.
  void Write(const Image& img, const std::string& lease, std::optional<std::string> name) {
    ASSERT_TRUE(store_->CreateLease(Ctx(), lease, std::nullopt).ok());
    for (const Blob& b : img.all()) {
      absl::Status s = store_->WriteBlob(Ctx(), lease, Desc(b), content::StringReader(b.bytes));
      ASSERT_TRUE(s.ok()) << s;
    }
    if (!name) return;
    CreateImageRequest req{.name = name, .target = Desc(img.target), .lease = lease};
    for (const Blob& b : img.content) req.content.push_back(Desc(b));
    auto id = store_->CreateImage(Ctx(), req);
    ASSERT_TRUE(id.ok()) << id.status();
  }
  void Pull(const Image& img, const std::string& name) {
    const std::string lease = "pull";
    Write(img, lease, name);
    auto deleted = store_->DeleteLease(Ctx(), lease);
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(deleted->collected.error, "");
  }

  // The files stay recorded as garbage: a Check finds no fault, and once
  // unlinks work again Collect deletes every one of them.
  void ExpectCollectedLater(const Image& img, int64_t bytes) {
    for (const Blob& b : img.all()) EXPECT_TRUE(fs::exists(BlobPath(b))) << b.digest;
    CheckOptions o;
    o.now = T(0);
    auto problems = store_->Check(o);
    ASSERT_TRUE(problems.ok()) << problems.status();
    EXPECT_TRUE(Faults(*problems).empty());
    hooks_.fail = false;
    auto collected = store_->Collect();
    ASSERT_TRUE(collected.ok()) << collected.status();
    EXPECT_EQ(collected->files_deleted, static_cast<int64_t>(img.all().size()));
    EXPECT_EQ(collected->bytes_deleted, bytes);
    for (const Blob& b : img.all()) EXPECT_FALSE(fs::exists(BlobPath(b))) << b.digest;
  }

  fs::path dir_;
  RefuseUnlink hooks_;
  std::unique_ptr<Store> store_;
};

TEST_F(CollectErrorTest, RemoveImageReturnsItsResultAndTheCollectionError) {
  Image a = MakeImage("a", {"layer of a"});
  Pull(a, "a:1");
  hooks_.fail = true;
  auto removed = store_->RemoveImage(Ctx(), "a:1", /*force=*/false);
  ASSERT_TRUE(removed.ok()) << removed.status();
  ASSERT_EQ(removed->deleted.size(), 2u);  // Untagged a:1, Deleted sha256:...
  EXPECT_EQ(removed->deleted.back().kind, DeleteEntry::Kind::kDeleted);
  EXPECT_GT(removed->space_reclaimed, 0);
  EXPECT_NE(removed->collected.error, "");
  EXPECT_GT(hooks_.refused.load(), 0);
  EXPECT_EQ(store_->Inspect(Ctx(), "a:1").status().code(), absl::StatusCode::kNotFound);
  ExpectCollectedLater(a, removed->space_reclaimed);
}

TEST_F(CollectErrorTest, PruneReturnsItsResultAndTheCollectionError) {
  Image a = MakeImage("a", {"layer of a"});
  Pull(a, "a:1");
  hooks_.fail = true;
  auto pruned = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->images_deleted, 1);
  EXPECT_EQ(pruned->error, "");  // the prune itself finished
  EXPECT_NE(pruned->collected.error, "");
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
  ExpectCollectedLater(a, pruned->space_reclaimed);
}

TEST_F(CollectErrorTest, DeleteLeaseReturnsItsResultAndTheCollectionError) {
  // Content written under a lease and never made an image: the lease alone
  // holds it, and deleting the lease frees it.
  Image a = MakeImage("a", {"layer of an aborted pull"});
  Write(a, "pull", std::nullopt);
  hooks_.fail = true;
  auto deleted = store_->DeleteLease(Ctx(), "pull");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  int64_t bytes = 0;
  for (const Blob& b : a.all()) bytes += b.size();
  EXPECT_EQ(deleted->space_reclaimed, bytes);
  EXPECT_NE(deleted->collected.error, "");
  auto leases = store_->ListLeases(Ctx());
  ASSERT_TRUE(leases.ok());
  EXPECT_TRUE(leases->empty());  // the deletion is committed
  ExpectCollectedLater(a, bytes);
}

TEST_F(CollectErrorTest, ACollectionThatWorksReportsNoError) {
  Image a = MakeImage("a", {"layer of a"});
  Write(a, "pull", std::nullopt);
  auto deleted = store_->DeleteLease(Ctx(), "pull");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->collected.error, "");
  EXPECT_EQ(deleted->collected.bytes_deleted, deleted->space_reclaimed);
  for (const Blob& b : a.all()) EXPECT_FALSE(fs::exists(BlobPath(b)));
}

}  // namespace
}  // namespace refstore
