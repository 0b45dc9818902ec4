// BulkWrite: the same writes committed as a write batch and as ingested
// table files leave the same database; the last write of a key wins; keys
// with any bytes; a failed commit changes nothing and leaves no file.
#include "refstore/db/bulk_write.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "refstore/db/txn.h"
#include "tests/support/raw_db.h"

namespace refstore::internal {
namespace {

namespace fs = std::filesystem;
using Contents = std::map<std::pair<int, std::string>, std::string>;

class BulkWriteTest : public RawDbTest {
 protected:
  Contents Read() {
    Contents out;
    for (int cf = 0; cf < kCfCount; ++cf) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, handles_[cf]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        out[{cf, it->key().ToString()}] = it->value().ToString();
      }
      EXPECT_TRUE(it->status().ok());
    }
    return out;
  }
  std::string TableDir() const { return (DbDir() / kBulkDirName).string(); }
  absl::Status Commit(BulkWrite& bulk, uint64_t batch_max) {
    return bulk.Commit(db_.get(), handles_, batch_max, [&](rocksdb::WriteBatch& b) {
      rocksdb::Status s = db_->Write({}, &b);
      return s.ok() ? absl::OkStatus() : absl::InternalError(s.ToString());
    });
  }
};

// Random writes over a small key space (so keys are written many times, put
// after delete and delete after put), with \0 and \xff in keys, on a
// database that already has some of the keys; applied to a map as well.
Contents Workload(BulkWrite& bulk, rocksdb::DB* db,
                  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<Cf> used = {kImages, kRefs, kBlobs, kNames, kStats};
  auto key = [&] {
    // Built with append: "literal" + std::to_string(...) draws a false
    // -Wrestrict from GCC 12 in Release.
    std::string k = "k";
    k.append(std::to_string(rng() % 300));
    if (rng() % 4 == 0) k += std::string("\0", 1);
    if (rng() % 4 == 0) k += "\xff";
    if (rng() % 8 == 0) k += std::string("\0\0", 2);
    return k;
  };
  Contents want;
  for (int i = 0; i < 200; ++i) {  // already stored
    const Cf cf = used[rng() % used.size()];
    const std::string k = key(), v = "old" + std::to_string(i);
    EXPECT_TRUE(db->Put({}, cfs[cf], k, v).ok());
    want[{cf, k}] = v;
  }
  for (int i = 0; i < 5000; ++i) {
    const Cf cf = used[rng() % used.size()];
    const std::string k = key();
    if (rng() % 3 == 0) {
      EXPECT_TRUE(bulk.Delete(cf, k).ok());
      want.erase({cf, k});
    } else {
      std::string v = "v";
      v.append(std::to_string(i)).append(rng() % 3, '\0');
      EXPECT_TRUE(bulk.Put(cf, k, v).ok());
      want[{cf, k}] = v;
    }
  }
  return want;
}

TEST_F(BulkWriteTest, AsOneWriteBatch) {
  BulkWrite bulk(dir_.string(), TableDir());
  const Contents want = Workload(bulk, db_.get(), handles_, 1);
  ASSERT_TRUE(Commit(bulk, /*batch_max=*/1000000).ok());
  EXPECT_FALSE(bulk.ingested());
  EXPECT_EQ(Read(), want);
  EXPECT_FALSE(fs::exists(TableDir()));
}

TEST_F(BulkWriteTest, AsIngestedTableFiles) {
  {
    BulkWrite bulk(dir_.string(), TableDir());
    const Contents want = Workload(bulk, db_.get(), handles_, 1);
    ASSERT_TRUE(Commit(bulk, /*batch_max=*/0).ok());
    EXPECT_TRUE(bulk.ingested());
    EXPECT_EQ(Read(), want);
  }
  EXPECT_FALSE(fs::exists(TableDir())) << "table files left behind";
  // Still there after a reopen (the files are the database's now).
  const Contents before = Read();
  Close();
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Read(), before);
}

TEST_F(BulkWriteTest, NothingToWrite) {
  BulkWrite bulk(dir_.string(), TableDir());
  ASSERT_TRUE(db_->Put({}, handles_[kImages], "a", "1").ok());
  ASSERT_TRUE(Commit(bulk, 0).ok());
  EXPECT_FALSE(bulk.ingested());
  EXPECT_EQ(Read().size(), 1u);
}

TEST_F(BulkWriteTest, AFailedCommitChangesNothing) {
  ASSERT_TRUE(db_->Put({}, handles_[kImages], "a", "1").ok());
  const Contents before = Read();
  {
    // The table directory cannot be made (its parent is missing).
    BulkWrite bulk(dir_.string(), (dir_ / "missing" / "bulk").string());
    ASSERT_TRUE(bulk.Delete(kImages, "a").ok());
    ASSERT_TRUE(bulk.Put(kRefs, "b", "2").ok());
    absl::Status s = Commit(bulk, 0);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("missing"), std::string_view::npos) << s;
  }
  EXPECT_EQ(Read(), before);
  {
    // The batch writer fails.
    BulkWrite bulk(dir_.string(), TableDir());
    ASSERT_TRUE(bulk.Delete(kImages, "a").ok());
    absl::Status s = bulk.Commit(db_.get(), handles_, 10,
                                 [](rocksdb::WriteBatch&) { return absl::UnavailableError("no"); });
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(Read(), before);
}

}  // namespace
}  // namespace refstore::internal
