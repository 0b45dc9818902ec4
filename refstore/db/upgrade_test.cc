// The upgrade of a format version 1 store (names inside the image records)
// to version 2. A store is made with the current build and rewritten, record
// by record, into version 1's layout (the bytes version 1 wrote, produced
// here by a writer of the old layout, and no `names` family); tests/cli's
// upgrade test opens a store written by the version 1 build itself.
#include "refstore/db/upgrade.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "refstore/db/seams.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "refstore/store.h"
#include "rocksdb/db.h"

namespace refstore {
namespace {

using internal::ImageRecord;
using internal::NameEntry;

constexpr char kManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";

std::string Digest(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return std::string("sha256:") + buf;
}
absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s, std::string ns = "default") { return {std::move(ns), T(s)}; }

// Version 1's image record (record version 2): every field, names included.
std::string LegacyImage(const ImageRecord& r, const std::vector<NameEntry>& names) {
  std::string out(1, '\x02');
  auto u64 = [&](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  auto i64 = [&](int64_t v) {
    u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  };
  auto str = [&](std::string_view v) {
    u64(v.size());
    out.append(v);
  };
  auto desc = [&](const internal::StoredDescriptor& d) {
    str(d.raw_digest);
    i64(d.size);
    str(d.media_type);
  };
  desc(r.target);
  u64(r.content.size());
  for (const auto& d : r.content) desc(d);
  u64(r.labels.size());
  for (const auto& [k, v] : r.labels) {
    str(k);
    str(v);
  }
  i64(r.created_ns);
  u64(names.size());
  for (const auto& n : names) {
    str(n.full);
    i64(n.created_ns);
  }
  i64(r.dangling_since_ns);
  u64(r.holders);
  std::string owned(1, r.target.owned ? 1 : 0);
  for (const auto& d : r.content) owned.push_back(d.owned ? 1 : 0);
  str(owned);
  i64(r.last_used_ns);
  u64(r.pinned ? 1 : 0);
  return out;
}

class UpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("refstore-upgrade-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // 30 images in two namespaces: several names each (made at different
  // times), some dangling, one held by a container, one pinned.
  void Populate() {
    auto store = Store::Open(dir_.string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 30; ++i) {
      const std::string ns = i % 3 == 0 ? "other" : "default";
      auto id = (*store)->CreateImage(
          Ctx(i, ns), {.name = absl::StrCat("r", i % 7, ":", i),
                       .target = {kManifest, Digest(i + 1), 100 + i},
                       .content = {{kLayer, Digest(1000), 5000}, {kLayer, Digest(2000 + i), 70}}});
      ASSERT_TRUE(id.ok()) << id.status();
      for (int t = 0; t < i % 4; ++t) {
        ASSERT_TRUE(
            (*store)->Tag(Ctx(100 + i * 10 + t, ns), *id, absl::StrCat("t", t, "/x:", i)).ok());
      }
      if (i % 5 == 4) {
        ASSERT_TRUE(
            (*store)->RemoveImage(Ctx(500 + i, ns), absl::StrCat("r", i % 7, ":", i), false).ok());
      }
    }
    // A name moves from image 2 to image 8 (both in "default"), which
    // leaves image 2 dangling.
    ASSERT_TRUE((*store)->Tag(Ctx(900), "r1:8", "r2:2").ok());
    ASSERT_TRUE((*store)->CreateContainer(Ctx(901), std::string(64, 'c'), "r1:1", true).ok());
    ASSERT_TRUE((*store)->Pin(Ctx(902), "r3:10", true).ok());
  }

  // What the upgrade must keep: every namespace's listing and what a prune
  // with an until filter (names' creation times) would remove.
  std::string Observe(Store& store) {
    std::string out;
    for (const std::string ns : {"default", "other"}) {
      auto list = store.ListImages(Ctx(2000, ns), {.all = true});
      EXPECT_TRUE(list.ok()) << list.status();
      if (!list.ok()) return "";
      for (const auto& s : *list) {
        absl::StrAppend(&out, ns, " ", s.id, " ", s.size, " ", s.containers, " ", s.pinned);
        for (const auto& n : s.names) absl::StrAppend(&out, " ", n);
        out += "\n";
      }
      auto pruned = store.Prune(
          Ctx(2000, ns),
          {.all = true,
           .filters = {{"until",
                        {absl::FormatTime(absl::RFC3339_sec, T(125), absl::UTCTimeZone())}}},
           .dry_run = true});
      EXPECT_TRUE(pruned.ok()) << pruned.status();
      if (!pruned.ok()) return "";
      for (const auto& e : pruned->deleted) {
        absl::StrAppend(&out, ns, " prune ", e.kind == DeleteEntry::Kind::kDeleted ? "D " : "U ",
                        e.ref, "\n");
      }
    }
    return out;
  }

  // Rewrites the closed store into format version 1's layout.
  void Downgrade() {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : internal::kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir_.string(), cfs, &h, &raw).ok());
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, h[internal::kImages]));
    rocksdb::WriteBatch batch;
    int images = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto rec = internal::DecodeImage(it->value().ToStringView(), "test");
      ASSERT_TRUE(rec.ok()) << rec.status();
      std::vector<NameEntry> names;
      std::unique_ptr<rocksdb::Iterator> n(raw->NewIterator({}, h[internal::kNames]));
      const std::string prefix = it->key().ToString();
      for (n->Seek(prefix); n->Valid() && n->key().starts_with(prefix); n->Next()) {
        auto created = internal::DecodeNameValue(n->value().ToStringView(), "test");
        ASSERT_TRUE(created.ok());
        names.push_back({n->key().ToString().substr(prefix.size()), *created});
      }
      ASSERT_TRUE(batch.Put(h[internal::kImages], it->key(), LegacyImage(*rec, names)).ok());
      ++images;
    }
    it.reset();
    // Populate's 30, less the 2 that lost their only name to rmi (the
    // other 4 rmi calls untag).
    EXPECT_EQ(images, 28);
    ASSERT_TRUE(batch.Put(h[internal::kDefault], "format_version", "1").ok());
    ASSERT_TRUE(raw->Write({}, &batch).ok());
    ASSERT_TRUE(raw->DropColumnFamily(h[internal::kNames]).ok());
    for (auto* c : h) raw->DestroyColumnFamilyHandle(c);
    delete raw;
  }

  // Populates the store, observes it, and rewrites it into version 1's
  // layout: what the upgraded store must show again.
  std::string PopulateObserveDowngrade() {
    Populate();
    std::string before;
    {
      auto store = Store::Open(dir_.string(), {});
      EXPECT_TRUE(store.ok()) << store.status();
      if (store.ok()) before = Observe(**store);
    }
    Downgrade();
    return before;
  }
  // Opens the store for writing (which upgrades it) and expects it to show
  // `before` and check clean.
  void ExpectUpgraded(const std::string& before) {
    auto store = Store::Open(dir_.string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(Observe(**store), before);
    auto problems = (*store)->Check();
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(Faults(*problems).empty());
  }

  std::string FormatVersion() {
    auto store = Store::Open(dir_.string(), {.read_only = true});
    if (!store.ok()) return std::string(store.status().message());
    auto stats = (*store)->Stats();
    return stats.ok() ? stats->format_version : std::string(stats.status().message());
  }

  std::filesystem::path dir_;
};

TEST_F(UpgradeTest, WriterUpgradesAndKeepsEveryNameAndTime) {
  const std::string before = PopulateObserveDowngrade();
  ASSERT_NE(before.find(" prune U "), std::string::npos) << before;

  // A reader never writes: it says what to do.
  auto ro = Store::Open(dir_.string(), {.read_only = true});
  ASSERT_EQ(ro.status().code(), absl::StatusCode::kFailedPrecondition) << ro.status();
  EXPECT_NE(ro.status().message().find("has format version 1"), std::string::npos);
  EXPECT_NE(ro.status().message().find("to upgrade it"), std::string::npos);

  ExpectUpgraded(before);
  EXPECT_EQ(FormatVersion(), "3");
}

TEST_F(UpgradeTest, UpgradeCutShortIsFinishedByTheNextWriter) {
  const std::string before = PopulateObserveDowngrade();
  // Two batches of 4 images are written, then the upgrade stops as a crash
  // before the third batch would.
  internal::Seams seams{.upgrade_batch_images = 4, .upgrade_max_batches = 2};
  auto cut = internal::OpenWithSeams(dir_.string(), {}, seams);
  ASSERT_EQ(cut.status().code(), absl::StatusCode::kAborted) << cut.status();
  {
    auto ro = Store::Open(dir_.string(), {.read_only = true});
    EXPECT_EQ(ro.status().code(), absl::StatusCode::kFailedPrecondition) << ro.status();
  }
  // The store is half upgraded: 8 records moved, the version still "1".
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : internal::kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    ASSERT_TRUE(rocksdb::DB::OpenForReadOnly({}, dir_.string(), cfs, &h, &raw).ok());
    int moved = 0, legacy = 0;
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, h[internal::kImages]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++(internal::IsLegacyImageRecord(it->value().ToStringView()) ? legacy : moved);
    }
    it.reset();
    std::string version;
    EXPECT_TRUE(raw->Get({}, h[internal::kDefault], "format_version", &version).ok());
    for (auto* c : h) raw->DestroyColumnFamilyHandle(c);
    delete raw;
    EXPECT_EQ(moved, 8);
    EXPECT_EQ(legacy, 20);
    EXPECT_EQ(version, "1");
  }
  ExpectUpgraded(before);
}

}  // namespace
}  // namespace refstore
