// Tests of a store with a content store: writing blobs under a lease, the
// collector, and adoption, through the public API.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "refstore/content/content_dir.h"
#include "refstore/store.h"
#include "refstore/util/strcat.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using internal::Cat;
using test_oci::Blob;
using test_oci::Image;
using test_oci::MakeImage;

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }

Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

class ContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-content-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open(bool collect = true) {
    store_.reset();
    StoreOptions o;
    o.content_store = true;
    o.collect_after_changes = collect;
    auto s = Store::Open(dir_.string(), o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  fs::path BlobPath(const Blob& b) const { return dir_ / "content/blobs/sha256" / b.hex(); }

  // Pulls `img` as an engine does: a lease, each blob written under it, the
  // image created under it, the lease deleted.
  std::string Pull(const Image& img, std::optional<std::string> name) {
    const std::string lease = "pull-" + img.target.hex().substr(0, 8);
    EXPECT_TRUE(store_->CreateLease(Ctx(), lease, std::nullopt).ok());
    for (const Blob& b : img.all()) {
      absl::Status s = store_->WriteBlob(Ctx(), lease, Desc(b), content::StringReader(b.bytes));
      EXPECT_TRUE(s.ok()) << s;
    }
    CreateImageRequest req{.name = name, .target = Desc(img.target), .lease = lease};
    for (const Blob& b : img.content) req.content.push_back(Desc(b));
    auto id = store_->CreateImage(Ctx(), req);
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(store_->DeleteLease(Ctx(), lease).ok());
    return id.ok() ? *id : "";
  }

  // Every file of the content store, by hex.
  std::set<std::string> Files() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "content/blobs/sha256")) {
      out.insert(e.path().filename().string());
    }
    return out;
  }
  int64_t FileBytes() const {
    int64_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "content/blobs/sha256")) {
      n += static_cast<int64_t>(e.file_size());
    }
    return n;
  }

  void ExpectClean() {
    CheckOptions o;
    o.now = T(0);
    auto problems = store_->Check(o);
    ASSERT_TRUE(problems.ok()) << problems.status();
    for (const auto& p : Faults(*problems)) {
      ADD_FAILURE() << p.category << " " << p.subject << " " << p.detail;
    }
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ContentTest, PulledImageHasEveryBlobAsAFile) {
  Image img = MakeImage("a", {"layer one", "layer two"});
  std::string id = Pull(img, "a:1");
  EXPECT_EQ(id, img.target.digest);
  EXPECT_EQ(Files().size(), 4u);
  for (const Blob& b : img.all()) {
    ASSERT_TRUE(fs::exists(BlobPath(b))) << b.digest;
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(BlobPath(b))), b.size());
  }
  EXPECT_TRUE(fs::is_empty(dir_ / "content/ingest"));
  EXPECT_TRUE(fs::exists(dir_ / "content/oci-layout"));
  ExpectClean();
}

TEST_F(ContentTest, WrongBytesAreRefusedAndLeaveNothing) {
  Image img = MakeImage("a", {"layer"});
  ASSERT_TRUE(store_->CreateLease(Ctx(), "l", std::nullopt).ok());
  const Blob& layer = img.content[1];
  std::string wrong = layer.bytes;
  wrong[0] ^= 1;
  absl::Status s = store_->WriteBlob(Ctx(), "l", Desc(layer), content::StringReader(wrong));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  std::string shorter = layer.bytes.substr(1);
  s = store_->WriteBlob(Ctx(), "l", Desc(layer), content::StringReader(shorter));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(Files().empty());
  EXPECT_TRUE(fs::is_empty(dir_ / "content/ingest"));
  auto df = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(df.ok());
  EXPECT_EQ(df->size, 0);
  ExpectClean();
}

TEST_F(ContentTest, WriteNeedsALease) {
  Image img = MakeImage("a", {});
  absl::Status s =
      store_->WriteBlob(Ctx(), "nope", Desc(img.target), content::StringReader(img.target.bytes));
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_TRUE(Files().empty());
}

TEST_F(ContentTest, ImageWithoutItsFilesIsRefused) {
  Image img = MakeImage("a", {"layer"});
  CreateImageRequest req{.name = "a:1", .target = Desc(img.target)};
  for (const Blob& b : img.content) req.content.push_back(Desc(b));
  auto id = store_->CreateImage(Ctx(), req);
  EXPECT_TRUE(absl::IsNotFound(id.status())) << id.status();
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
  ExpectClean();
}

TEST_F(ContentTest, PruneReclaimsExactlyTheBytesItDeletes) {
  Image a = MakeImage("a", {"shared base layer", "a's own layer"});
  Image b = MakeImage("b", {"shared base layer", "b's own, longer, layer"});
  Pull(a, "a:1");
  Pull(b, "b:1");
  EXPECT_EQ(Files().size(), 7u);  // the shared layer once
  const int64_t before = FileBytes();
  auto rm = store_->RemoveImage(Ctx(), "a:1", false);
  ASSERT_TRUE(rm.ok()) << rm.status();
  EXPECT_GT(rm->space_reclaimed, 0);
  EXPECT_EQ(rm->collected.bytes_deleted, rm->space_reclaimed);
  EXPECT_EQ(FileBytes(), before - rm->space_reclaimed);
  EXPECT_TRUE(fs::exists(BlobPath(a.content[1])));  // still b's
  auto pruned = store_->Prune(Ctx(), {.all = true});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->collected.bytes_deleted, pruned->space_reclaimed);
  EXPECT_EQ(pruned->collected.files_deleted, 4);
  EXPECT_TRUE(Files().empty());
  EXPECT_EQ(before, rm->space_reclaimed + pruned->space_reclaimed);
  ExpectClean();
}

TEST_F(ContentTest, GarbageReferencedAgainIsNotDeleted) {
  Open(/*collect=*/false);
  Image a = MakeImage("a", {"layer"});
  Pull(a, "a:1");
  auto rm = store_->RemoveImage(Ctx(), "a:1", false);
  ASSERT_TRUE(rm.ok());
  EXPECT_EQ(rm->collected.files_deleted, 0);
  CheckOptions o;
  auto problems = store_->Check(o);
  ASSERT_TRUE(problems.ok());
  EXPECT_EQ(problems->size(), 3u);  // three garbage_pending notes
  for (const auto& p : *problems) {
    EXPECT_EQ(p.category, "garbage_pending");
    EXPECT_TRUE(p.info);
  }
  // Pulled again before the collector ran: the old files are reused.
  Pull(a, "a:1");
  auto collected = store_->Collect();
  ASSERT_TRUE(collected.ok());
  EXPECT_EQ(collected->files_deleted, 0);
  EXPECT_EQ(Files().size(), 3u);
  ExpectClean();
  auto again = store_->Check();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());  // no garbage left either
}

TEST_F(ContentTest, CollectorResumesWhenAFileIsAlreadyGone) {
  Open(/*collect=*/false);
  Image a = MakeImage("a", {"layer"});
  Pull(a, "a:1");
  ASSERT_TRUE(store_->RemoveImage(Ctx(), "a:1", false).ok());
  // A collector that crashed after deleting this file, before its record.
  fs::remove(BlobPath(a.content[1]));
  auto collected = store_->Collect();
  ASSERT_TRUE(collected.ok());
  EXPECT_EQ(collected->files_deleted, 2);
  EXPECT_EQ(collected->records_dropped, 1);
  EXPECT_EQ(collected->bytes_deleted, a.target.size() + a.content[0].size());
  EXPECT_TRUE(Files().empty());
  auto problems = store_->Check();
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_F(ContentTest, CollectorRemovesLeftoverTemporaryFiles) {
  test_oci::WriteFile(dir_ / "content/ingest/abc.123.tmp", "half a blob");
  auto collected = store_->Collect();
  ASSERT_TRUE(collected.ok());
  EXPECT_EQ(collected->temp_files_deleted, 1);
  EXPECT_TRUE(fs::is_empty(dir_ / "content/ingest"));
}

TEST_F(ContentTest, RewriteUnderALiveLeaseWhileCollectingKeepsTheBlob) {
  Open(/*collect=*/false);
  Image a = MakeImage("a", {"a layer that comes and goes"});
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop) {
      auto c = store_->Collect();
      ASSERT_TRUE(c.ok()) << c.status();
    }
  });
  for (int i = 0; i < 200; ++i) {
    Pull(a, "a:1");
    for (const Blob& b : a.all()) ASSERT_TRUE(fs::exists(BlobPath(b))) << i;
    ASSERT_TRUE(store_->RemoveImage(Ctx(), "a:1", false).ok());
  }
  Pull(a, "a:1");
  stop = true;
  collector.join();
  for (const Blob& b : a.all()) EXPECT_TRUE(fs::exists(BlobPath(b)));
  ExpectClean();
}

TEST_F(ContentTest, CheckOnAStoreChangingMeanwhileFindsNoFault) {
  // A store large enough that a check takes a while, and a few images that
  // come and go (freed, collected, pulled again) while checks run.
  for (int i = 0; i < 150; ++i) {
    // Cat, not "literal" + std::to_string(...): that draws a false
    // -Wrestrict from GCC 12 in Release.
    Pull(MakeImage(Cat("s", i), {"base", std::string(20000, 'a' + i % 26)}), Cat("static:", i));
  }
  std::vector<Image> images;
  for (int i = 0; i < 4; ++i) images.push_back(MakeImage(Cat("c", i), {"base", "own"}));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int round = 0; !stop; ++round) {
      const Image& img = images[round % images.size()];
      Pull(img, "r:" + std::to_string(round % images.size()));
      if (round % 2 == 1) {
        auto rm =
            store_->RemoveImage(Ctx(), "r:" + std::to_string((round - 1) % images.size()), false);
        ASSERT_TRUE(rm.ok() || absl::IsNotFound(rm.status())) << rm.status();
      }
    }
  });
  for (int i = 0; i < 40; ++i) {
    auto problems = store_->Check();
    ASSERT_TRUE(problems.ok()) << problems.status();
    for (const auto& p : Faults(*problems)) {
      ADD_FAILURE() << "check " << i << ": " << p.category << " " << p.subject << " " << p.detail;
    }
  }
  stop = true;
  writer.join();
  ExpectClean();
}

TEST_F(ContentTest, AdoptsAnImageAnotherProducerWrote) {
  Image a = MakeImage("foreign", {"foreign layer"});
  test_oci::WriteBlobs(dir_ / "content", {a});
  auto problems = store_->Check();
  ASSERT_TRUE(problems.ok());
  EXPECT_EQ(Faults(*problems).size(), 3u);  // file_without_record each
  auto adopted = store_->Adopt(Ctx());
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  ASSERT_EQ(adopted->images.size(), 1u);
  EXPECT_EQ(adopted->images[0].id, a.target.digest);
  EXPECT_EQ(adopted->images[0].error, "");
  auto detail = store_->Inspect(Ctx(), a.target.digest);
  ASSERT_TRUE(detail.ok()) << detail.status();
  EXPECT_TRUE(detail->summary.names.empty());  // a digest reference only
  EXPECT_EQ(detail->summary.size, a.target.size() + a.content[0].size() + a.content[1].size());
  ExpectClean();
}

TEST_F(ContentTest, MetadataOnlyStoreCannotGainContentOnceItHasBlobs) {
  store_.reset();
  fs::remove_all(dir_);
  {
    auto s = Store::Open(dir_.string(), {});
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE((*s)->HasContentStore());
    Image a = MakeImage("a", {});
    ASSERT_TRUE((*s)->CreateImage(Ctx(), {.target = Desc(a.target)}).ok());
    ASSERT_TRUE((*s)->CreateLease(Ctx(), "l", std::nullopt).ok());
    absl::Status w =
        (*s)->WriteBlob(Ctx(), "l", Desc(a.target), content::StringReader(a.target.bytes));
    EXPECT_TRUE(absl::IsFailedPrecondition(w)) << w;
  }
  StoreOptions o;
  o.content_store = true;
  auto s = Store::Open(dir_.string(), o);
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
}

}  // namespace
}  // namespace refstore
