#include "refstore/db/txn.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace refstore::internal
