// raw_db.h: a test fixture with a RocksDB database holding every column
// family of a store (kCfNames), in a fresh directory per test, for tests of
// the layers beneath the Store (Txn, BulkWrite, the checker's joins).
#ifndef TESTS_SUPPORT_RAW_DB_H_
#define TESTS_SUPPORT_RAW_DB_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "refstore/format/keys.h"
#include "rocksdb/db.h"

namespace refstore::internal {

class RawDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("refstore-") + info->test_suite_name() + "-" + std::to_string(::getpid()) +
            "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  // The database lives in dir_/db; the rest of dir_ is the test's.
  std::filesystem::path DbDir() const { return dir_ / "db"; }
  // Opens the database (creating it and its column families if missing).
  void Open() {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : kCfNames) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DBOptions o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, DbDir().string(), cfs, &handles_, &raw).ok());
    db_.reset(raw);
  }
  void Close() {
    if (!db_) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_.reset();
  }

  std::filesystem::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace refstore::internal

#endif  // TESTS_SUPPORT_RAW_DB_H_
