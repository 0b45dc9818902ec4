#include "refstore/db/info_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace refstore::internal {
namespace {

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class InfoLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("refstore-info-log-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(InfoLogTest, WritesLinesOnceTheDirectoryExists) {
  auto log = NewInfoLog(dir_.string());
  ROCKSDB_NAMESPACE::Log(log.get(), "before %d", 1);  // no directory yet: dropped
  std::filesystem::create_directories(dir_);
  ROCKSDB_NAMESPACE::Log(log.get(), "hello %s", "world");
  ROCKSDB_NAMESPACE::Log(log.get(), "line %d\n", 2);
  const std::string text = Read(dir_ / "LOG");
  EXPECT_EQ(text.find("before"), std::string::npos);
  EXPECT_NE(text.find("hello world\n"), std::string::npos);
  EXPECT_NE(text.find("line 2\n"), std::string::npos);
  EXPECT_EQ(text.find("\n\n"), std::string::npos);  // one newline per line
}

TEST_F(InfoLogTest, KeepsOneOldFileOfBoundedSize) {
  std::filesystem::create_directories(dir_);
  auto log = NewInfoLog(dir_.string(), /*max_bytes=*/1000);
  for (int i = 0; i < 200; ++i) ROCKSDB_NAMESPACE::Log(log.get(), "message number %d", i);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    ++files;
    EXPECT_TRUE(e.path().filename() == "LOG" || e.path().filename() == "LOG.old") << e.path();
    EXPECT_LE(e.file_size(), 1000u + 1024u) << e.path();  // at most one line past the bound
  }
  EXPECT_EQ(files, 2);
  EXPECT_NE(Read(dir_ / "LOG").find("message number 199"), std::string::npos);
}

TEST_F(InfoLogTest, AWriteErrorIsDroppedNotFatal) {
  // /dev/full fails every write with ENOSPC, as a full disk does.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  std::filesystem::create_directories(dir_);
  std::filesystem::create_symlink("/dev/full", dir_ / "LOG");
  auto log = NewInfoLog(dir_.string());
  for (int i = 0; i < 10; ++i) ROCKSDB_NAMESPACE::Log(log.get(), "lost %d", i);
  SUCCEED() << "ten failed writes, no abort";
  EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "LOG"));
}

}  // namespace
}  // namespace refstore::internal
