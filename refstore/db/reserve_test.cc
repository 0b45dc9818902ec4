#include "refstore/db/reserve.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace refstore::internal {
namespace {

class ReserveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("refstore-reserve-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  int64_t Allocated() {
    struct stat st;
    if (::stat((dir_ / "RESERVE").c_str(), &st) != 0) return -1;
    return st.st_blocks * 512;
  }
  std::filesystem::path dir_;
};

TEST_F(ReserveTest, SizeIsOnePercentBetweenOneAnd64MiB) {
  const int64_t size = ReserveBytes(dir_.string());
  EXPECT_GE(size, int64_t{1} << 20);
  EXPECT_LE(size, int64_t{64} << 20);
  EXPECT_EQ(ReserveBytes((dir_ / "missing").string()), 0);
  EXPECT_EQ(AvailableBytes((dir_ / "missing").string()), -1);
}

TEST_F(ReserveTest, MadeWhenItFitsAndReleased) {
  const int64_t size = ReserveBytes(dir_.string());
  if (AvailableBytes(dir_.string()) < 3 * size) GTEST_SKIP() << "not enough free space here";
  EXPECT_FALSE(ReleaseReserve(dir_.string()));  // none yet
  EnsureReserve(dir_.string(), 2);
  EXPECT_GE(Allocated(), size);     // really allocated, not a sparse file
  EnsureReserve(dir_.string(), 2);  // already there: unchanged
  EXPECT_GE(Allocated(), size);
  EXPECT_TRUE(ReleaseReserve(dir_.string()));
  EXPECT_EQ(Allocated(), -1);
}

TEST_F(ReserveTest, NotMadeWhereItDoesNotFit) {
  // A filesystem never has a million times the reserve available here.
  EnsureReserve(dir_.string(), 1000000);
  EXPECT_EQ(Allocated(), -1);
}

}  // namespace
}  // namespace refstore::internal
