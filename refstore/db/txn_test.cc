#include "refstore/db/txn.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "refstore/db/bulk_write.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "tests/support/raw_db.h"

namespace refstore::internal {
namespace {

// RocksDB's statuses become codes a caller can act on (store.h "Errors"),
// each naming the key.
TEST(RocksErrorTest, MapsToCodesACallerCanActOn) {
  struct Case {
    rocksdb::Status in;
    absl::StatusCode want;
  };
  const Case cases[] = {
      {rocksdb::Status::Corruption("block checksum mismatch"), absl::StatusCode::kDataLoss},
      {rocksdb::Status::PathNotFound("000123.sst"), absl::StatusCode::kDataLoss},
      {rocksdb::Status::NoSpace("write"), absl::StatusCode::kResourceExhausted},
      {rocksdb::Status::IOError("While appending to file: 000007.log: No space left on device"),
       absl::StatusCode::kResourceExhausted},
      {rocksdb::Status::IOError("While open a file for random read: EIO"),
       absl::StatusCode::kUnavailable},
      {rocksdb::Status::Busy(), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TryAgain(), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TimedOut(), absl::StatusCode::kUnavailable},
      {rocksdb::Status::NotSupported("x"), absl::StatusCode::kInternal},
      {rocksdb::Status::InvalidArgument("x"), absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    absl::Status s = RocksError(c.in, "images/default/abc");
    EXPECT_EQ(s.code(), c.want) << c.in.ToString();
    EXPECT_NE(s.message().find("images/default/abc"), std::string_view::npos) << s;
    EXPECT_NE(s.message().find(c.in.ToString()), std::string_view::npos) << s;
  }
}

// Txn on a database with every column family (GetImages).
class TxnDbTest : public RawDbTest {
 protected:
  static ImageRecord Image(char fill, int64_t size) {
    return ImageRecord{.target = {std::string(32, fill), size, "application/x-test", true}};
  }
};

// GetImages answers as GetImage of each ID would, in the order asked, in
// every mode: missing IDs are nullopt, a corrupt record is DataLoss naming
// its key, and an indexed Txn sees its own writes.
TEST_F(TxnDbTest, GetImagesAnswersAsGetImageOfEachInTheOrderAsked) {
  for (char c : {'a', 'c', 'e'}) {
    ASSERT_TRUE(db_->Put({}, handles_[kImages], ImageKey("ns", std::string(32, c)),
                         EncodeImage(Image(c, c)))
                    .ok());
  }
  const std::string a(32, 'a'), b(32, 'b'), c(32, 'c'), e(32, 'e');
  for (Txn::Mode mode : {Txn::Mode::kIndexed, Txn::Mode::kDiscard, Txn::Mode::kAppendOnly}) {
    Txn txn(db_.get(), &handles_, nullptr, mode);
    // Sorted and unsorted requests, with a missing ID in the middle.
    for (const std::vector<std::string_view>& ids :
         {std::vector<std::string_view>{a, b, c, e}, std::vector<std::string_view>{e, b, a}}) {
      auto got = txn.GetImages("ns", ids);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->size(), ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        auto one = txn.GetImage("ns", ids[i]);
        ASSERT_TRUE(one.ok());
        ASSERT_EQ((*got)[i].has_value(), one->has_value()) << i;
        if (one->has_value()) {
          EXPECT_EQ((*got)[i]->target.raw_digest, ids[i]);
          EXPECT_EQ((*got)[i]->target.size, (*one)->target.size);
        }
      }
      EXPECT_FALSE((*got)[1].has_value());  // b, missing, is second in both
    }
    EXPECT_TRUE(txn.GetImages("ns", {}).ok());
  }
  // A bulk Txn reads through the same MultiGet as a discarding one.
  BulkWrite bulk(dir_.string(), (dir_ / "bulk.tmp").string());
  Txn bulk_txn(db_.get(), &handles_, bulk);
  auto in_bulk = bulk_txn.GetImages("ns", {e, a, b});
  ASSERT_TRUE(in_bulk.ok()) << in_bulk.status();
  EXPECT_EQ((*in_bulk)[0]->target.raw_digest, e);
  EXPECT_EQ((*in_bulk)[1]->target.raw_digest, a);
  EXPECT_FALSE((*in_bulk)[2].has_value());
  // An indexed Txn reads its own writes.
  Txn indexed(db_.get(), &handles_, nullptr, Txn::Mode::kIndexed);
  indexed.PutImage("ns", b, Image('b', 7));
  auto got = indexed.GetImages("ns", {a, b});
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE((*got)[1].has_value());
  EXPECT_EQ((*got)[1]->target.size, 7);
  // A corrupt record is DataLoss naming the image, in the MultiGet path too.
  ASSERT_TRUE(db_->Put({}, handles_[kImages], ImageKey("ns", c), "\x09garbage").ok());
  Txn discard(db_.get(), &handles_, nullptr, Txn::Mode::kDiscard);
  auto bad = discard.GetImages("ns", {a, c});
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
  EXPECT_NE(bad.status().message().find(RawToHex(c)), std::string_view::npos) << bad.status();
}

}  // namespace
}  // namespace refstore::internal
