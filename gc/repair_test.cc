// Check and Repair on each kind of damage: the damage is made behind the
// store's back, Check must name it, Repair must leave a store that Check
// finds clean, and content something still holds must survive.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "refstore/content/content_dir.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "refstore/store.h"
#include "rocksdb/db.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using test_oci::Blob;
using test_oci::Image;
using test_oci::MakeImage;
using Handles = std::vector<rocksdb::ColumnFamilyHandle*>;

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }
Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }
std::string Raw(const Blob& b) { return internal::HexToRaw(b.digest); }

class RepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-repair-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open();
    // a:1 and b:1 share a layer; c:1 is used by a container.
    a_ = MakeImage("a", {"shared layer", "a layer"});
    b_ = MakeImage("b", {"shared layer", "b layer"});
    c_ = MakeImage("c", {"c layer"});
    Pull(a_, "a:1");
    Pull(b_, "b:1");
    Pull(c_, "c:1");
    ASSERT_TRUE(store_->CreateContainer(Ctx(), std::string(64, 'c'), "c:1", true).ok());
    ExpectClean();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    StoreOptions o;
    o.content_store = true;
    auto s = Store::Open(dir_.string(), o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Pull(const Image& img, const std::string& name) {
    ASSERT_TRUE(store_->CreateLease(Ctx(), "pull", std::nullopt).ok());
    for (const Blob& b : img.all()) {
      absl::Status s = store_->WriteBlob(Ctx(), "pull", Desc(b), content::StringReader(b.bytes));
      ASSERT_TRUE(s.ok()) << s;
    }
    CreateImageRequest req{.name = name, .target = Desc(img.target), .lease = "pull"};
    for (const Blob& b : img.content) req.content.push_back(Desc(b));
    ASSERT_TRUE(store_->CreateImage(Ctx(), req).ok());
    ASSERT_TRUE(store_->DeleteLease(Ctx(), "pull").ok());
  }
  fs::path BlobPath(const Blob& b) const { return dir_ / "content/blobs/sha256" / b.hex(); }

  // Closes the store, lets `damage` change the database directly, reopens.
  void Damage(const std::function<void(rocksdb::DB*, const Handles&)>& damage) {
    store_.reset();
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : internal::kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    Handles handles;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_.string(), cfs, &handles, &raw).ok());
    damage(raw, handles);
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
    Open();
  }

  std::map<std::string, int> FaultCategories() {
    CheckOptions o;
    o.now = T(0);
    auto problems = store_->Check(o);
    EXPECT_TRUE(problems.ok()) << problems.status();
    std::map<std::string, int> out;
    if (problems.ok()) {
      for (const auto& p : Faults(*problems)) ++out[p.category];
    }
    return out;
  }
  void ExpectClean() {
    auto faults = FaultCategories();
    for (const auto& [c, n] : faults) ADD_FAILURE() << n << " x " << c;
  }
  // Check reports `category`; Repair fixes everything; the images named in
  // `survivors` are still there with all their files.
  void ExpectRepaired(const std::string& category, const std::vector<const Image*>& survivors) {
    auto before = FaultCategories();
    EXPECT_GT(before[category], 0) << "check did not report " << category;
    auto r = store_->Repair(Ctx());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->found.empty());
    EXPECT_FALSE(r->actions.empty());
    ExpectClean();
    for (const Image* img : survivors) {
      auto d = store_->Inspect(Ctx(), img->target.digest);
      EXPECT_TRUE(d.ok()) << img->target.digest << ": " << d.status();
      for (const Blob& b : img->all()) EXPECT_TRUE(fs::exists(BlobPath(b))) << b.digest;
    }
    // A second repair has nothing to do.
    auto again = store_->Repair(Ctx());
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->found.empty());
    EXPECT_TRUE(again->actions.empty()) << again->actions.front();
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  Image a_, b_, c_;
};

TEST_F(RepairTest, CountDrift) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    internal::BlobRecord b{.size = a_.content[1].size(), .media_type = a_.content[1].media_type};
    b.Use("default").refs = 7;
    ASSERT_TRUE(db->Put({}, h[internal::kBlobs], Raw(a_.content[1]), internal::EncodeBlob(b)).ok());
  });
  ExpectRepaired("count_drift", {&a_, &b_, &c_});
}

TEST_F(RepairTest, ImageWithoutDigestReference) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(
        db->Delete({}, h[internal::kRefs], internal::DigestRefKey("default", Raw(a_.target))).ok());
  });
  ExpectRepaired("image_without_digest_ref", {&a_, &b_, &c_});
}

TEST_F(RepairTest, DigestReferenceWithoutImage) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(db->Put({}, h[internal::kRefs],
                        internal::DigestRefKey("default", std::string(32, '\x42')), "")
                    .ok());
  });
  ExpectRepaired("digest_ref_without_image", {&a_, &b_, &c_});
}

TEST_F(RepairTest, NameToMissingImage) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(db->Put({}, h[internal::kRefs],
                        internal::NameKey("default", "docker.io/library/x:1"),
                        std::string(32, '\x42'))
                    .ok());
  });
  ExpectRepaired("name_to_missing_image", {&a_, &b_, &c_});
}

// The `names` family (format version 2) against the named references.
TEST_F(RepairTest, NameEntryMissingIsWrittenBack) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(
        db->Delete({}, h[internal::kNames],
                   internal::ImageNameKey("default", Raw(a_.target), "docker.io/library/a:1"))
            .ok());
  });
  EXPECT_GT(FaultCategories()["dangling_index"], 0);  // no name entry, yet not dangling
  ExpectRepaired("name_not_in_image", {&a_, &b_, &c_});
  auto d = store_->Inspect(Ctx(), "a:1");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->summary.names, std::vector<std::string>{"a:1"});
}

TEST_F(RepairTest, NameEntryOfMissingImage) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(
        db->Put({}, h[internal::kNames],
                internal::ImageNameKey("default", std::string(32, '\x42'), "docker.io/library/x:1"),
                internal::EncodeNameValue(1))
            .ok());
  });
  ExpectRepaired("name_of_missing_image", {&a_, &b_, &c_});
}

TEST_F(RepairTest, NameEntryWithoutReferenceGoes) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(db->Put({}, h[internal::kNames],
                        internal::ImageNameKey("default", Raw(b_.target), "docker.io/library/zz:9"),
                        internal::EncodeNameValue(1))
                    .ok());
  });
  ExpectRepaired("name_mismatch", {&a_, &b_, &c_});
  auto d = store_->Inspect(Ctx(), "b:1");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->summary.names, std::vector<std::string>{"b:1"});
}

TEST_F(RepairTest, BlobWithoutFileRemovesOnlyTheImagesThatNeedIt) {
  fs::remove(BlobPath(a_.content[2]));  // a's own layer
  ExpectRepaired("blob_without_file", {&b_, &c_});
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), "a:1").status()));
  EXPECT_TRUE(fs::exists(BlobPath(a_.content[1])));  // the shared layer stays, b holds it
  EXPECT_FALSE(fs::exists(BlobPath(a_.target)));     // a's other files were collected
}

TEST_F(RepairTest, FileWithoutRecordIsCollected) {
  Image stray = MakeImage("stray", {});
  test_oci::WriteFile(BlobPath(stray.content[0]), stray.content[0].bytes);  // a config alone
  ExpectRepaired("file_without_record", {&a_, &b_, &c_});
  EXPECT_FALSE(fs::exists(BlobPath(stray.content[0])));
}

TEST_F(RepairTest, StrayEntryIsDeleted) {
  const fs::path stray = dir_ / "content/blobs/sha256/not-a-digest";
  test_oci::WriteFile(stray, "x");
  ExpectRepaired("stray_file", {&a_, &b_, &c_});
  EXPECT_FALSE(fs::exists(stray));
}

TEST_F(RepairTest, FileOfTheWrongSize) {
  fs::resize_file(BlobPath(b_.content[2]), 3);
  ExpectRepaired("file_wrong_size", {&a_, &c_});
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), "b:1").status()));
}

TEST_F(RepairTest, FileOfTheWrongDigest) {
  std::string bytes = c_.content[1].bytes;
  bytes[0] ^= 1;
  test_oci::WriteFile(BlobPath(c_.content[1]), bytes);
  ExpectRepaired("file_wrong_digest", {&a_, &b_});
  // The container of the image whose content was lost is information now.
  auto problems = store_->Check();
  ASSERT_TRUE(problems.ok());
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].category, "container_without_image");
  EXPECT_TRUE((*problems)[0].info);
}

TEST_F(RepairTest, GarbageNotYetCollectedAndExpiredLease) {
  store_.reset();
  StoreOptions o;
  o.content_store = true;
  o.collect_after_changes = false;
  store_ = std::move(*Store::Open(dir_.string(), o));
  ASSERT_TRUE(store_->RemoveImage(Ctx(), "a:1", false).ok());
  ASSERT_TRUE(store_->CreateLease(Ctx(), "old", T(10)).ok());
  CheckOptions co;
  co.now = T(20);
  auto problems = store_->Check(co);
  ASSERT_TRUE(problems.ok());
  std::set<std::string> notes;
  for (const auto& p : *problems) {
    EXPECT_TRUE(p.info) << p.category;
    notes.insert(p.category);
  }
  EXPECT_EQ(notes, (std::set<std::string>{"expired_lease", "garbage_pending"}));
  auto r = store_->Repair(Ctx(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->collected.files_deleted, 3);  // a's manifest, config and own layer
  problems = store_->Check(co);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_F(RepairTest, StatsHoldersDanglingOwnersAndLeaseIndex) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    internal::NsStats wrong{.images = 99};
    ASSERT_TRUE(db->Put({}, h[internal::kStats], "default", internal::EncodeStats(wrong)).ok());
    ASSERT_TRUE(db->Delete({}, h[internal::kHolders],
                           internal::HolderKey("default", Raw(c_.target), std::string(32, '\xcc')))
                    .ok());
    ASSERT_TRUE(
        db->Put({}, h[internal::kDangling], internal::DanglingKey("default", Raw(a_.target)), "")
            .ok());
    ASSERT_TRUE(db->Put({}, h[internal::kBlobLeases],
                        internal::BlobLeaseKey(Raw(a_.target), "default", "ghost"), "")
                    .ok());
  });
  auto faults = FaultCategories();
  EXPECT_GT(faults["stats_drift"], 0);
  EXPECT_GT(faults["holder_index"], 0);
  EXPECT_GT(faults["dangling_index"], 0);
  EXPECT_GT(faults["lease_index"], 0);
  ExpectRepaired("stats_drift", {&a_, &b_, &c_});
}

TEST_F(RepairTest, OwnerMismatchAndCorruptRecord) {
  Damage([&](rocksdb::DB* db, const Handles& h) {
    // c's layer names c as its owner, which c's record does not say (c was
    // pulled under a lease: nothing of it is owned); b's image record
    // becomes garbage bytes.
    std::string v;
    ASSERT_TRUE(db->Get({}, h[internal::kBlobs], Raw(c_.content[1]), &v).ok());
    auto b = internal::DecodeBlob(v, "");
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(b->owner_id.empty());
    b->owner_ns = "default";
    b->owner_id = Raw(c_.target);
    ASSERT_TRUE(
        db->Put({}, h[internal::kBlobs], Raw(c_.content[1]), internal::EncodeBlob(*b)).ok());
    ASSERT_TRUE(db->Put({}, h[internal::kImages], internal::ImageKey("default", Raw(b_.target)),
                        "\x01\xff\xff")
                    .ok());
  });
  auto faults = FaultCategories();
  EXPECT_GT(faults["owner_mismatch"], 0);
  ExpectRepaired("corrupt_record", {&a_, &c_});
  // b's record is gone; its own files were collected, the shared one stays.
  EXPECT_FALSE(fs::exists(BlobPath(b_.content[2])));
  EXPECT_TRUE(fs::exists(BlobPath(b_.content[1])));
}

TEST_F(RepairTest, LeaseHoldsAreKept) {
  // A live lease holding content nothing else uses survives repair.
  Image d = MakeImage("d", {"d layer"});
  ASSERT_TRUE(store_->CreateLease(Ctx(), "pulling", std::nullopt).ok());
  const Blob& layer = d.content[1];
  ASSERT_TRUE(
      store_->WriteBlob(Ctx(), "pulling", Desc(layer), content::StringReader(layer.bytes)).ok());
  Damage([&](rocksdb::DB* db, const Handles& h) {
    ASSERT_TRUE(db->Delete({}, h[internal::kBlobs], Raw(layer)).ok());
  });
  ExpectRepaired("missing_blob", {&a_, &b_, &c_});
  EXPECT_TRUE(fs::exists(BlobPath(layer)));
  auto freed = store_->DeleteLease(Ctx(), "pulling");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->space_reclaimed, layer.size());
  EXPECT_FALSE(fs::exists(BlobPath(layer)));
}

TEST_F(RepairTest, OwnedFlagsOfASharedBlobAreCleared) {
  // a and b both flag their shared layer owned: no blob has two owners.
  Damage([&](rocksdb::DB* db, const Handles& h) {
    for (const Image* img : {&a_, &b_}) {
      const std::string key = internal::ImageKey("default", Raw(img->target));
      std::string v;
      ASSERT_TRUE(db->Get({}, h[internal::kImages], key, &v).ok());
      auto rec = internal::DecodeImage(v, "");
      ASSERT_TRUE(rec.ok());
      for (auto& d : rec->content) d.owned = d.raw_digest == Raw(a_.content[1]);
      ASSERT_TRUE(db->Put({}, h[internal::kImages], key, internal::EncodeImage(*rec)).ok());
    }
  });
  ExpectRepaired("owner_mismatch", {&a_, &b_, &c_});
}

// Without a content store nothing says which size is right: the first image
// (in key order) declaring the blob wins, the other one goes.
TEST_F(RepairTest, ImageDeclaringAnotherSizeGoesWithoutAContentStore) {
  store_.reset();
  fs::remove_all(dir_);
  auto opened = Store::Open(dir_.string(), StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = std::move(*opened);
  auto digest = [](char c) { return "sha256:" + std::string(64, c); };
  const Descriptor layer{"application/vnd.oci.image.layer.v1.tar", digest('9'), 10};
  for (char c : {'1', '2'}) {
    CreateImageRequest req{.name = std::string("img") + c + ":1",
                           .target = {"application/vnd.oci.image.manifest.v1+json", digest(c), 5},
                           .content = {layer}};
    ASSERT_TRUE(store_->CreateImage(Ctx(), req).ok());
  }
  ExpectClean();
  store_.reset();
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : internal::kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    Handles h;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_.string(), cfs, &h, &raw).ok());
    const std::string key = internal::ImageKey("default", internal::HexToRaw(digest('2')));
    std::string v;
    ASSERT_TRUE(raw->Get({}, h[internal::kImages], key, &v).ok());
    auto rec = internal::DecodeImage(v, "");
    ASSERT_TRUE(rec.ok());
    rec->content[0].size = 11;
    ASSERT_TRUE(raw->Put({}, h[internal::kImages], key, internal::EncodeImage(*rec)).ok());
    for (auto* handle : h) raw->DestroyColumnFamilyHandle(handle);
    delete raw;
  }
  opened = Store::Open(dir_.string(), StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = std::move(*opened);
  EXPECT_GT(FaultCategories()["size_mismatch"], 0);
  auto r = store_->Repair(Ctx());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images_removed, 1);
  ExpectClean();
  EXPECT_TRUE(store_->Inspect(Ctx(), "img1:1").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), "img2:1").status()));
  auto again = store_->Repair(Ctx());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->actions.empty()) << again->actions.front();
}

}  // namespace
}  // namespace refstore
