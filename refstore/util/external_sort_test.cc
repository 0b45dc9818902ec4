// The external sorts: order, the run files they spill and remove, errors.
#include "refstore/util/external_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace refstore::internal {
namespace {

namespace fs = std::filesystem;

class SortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-sort-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  bool DirEmpty() const { return fs::is_empty(dir_); }

  fs::path dir_;
};

struct Rec {
  uint64_t key;
  uint64_t payload;
};
struct RecLess {
  bool operator()(const Rec& a, const Rec& b) const {
    return a.key != b.key ? a.key < b.key : a.payload < b.payload;
  }
};

TEST_F(SortTest, SortSpillsRunsAndMergesThemInOrder) {
  std::mt19937_64 rng(7);
  std::vector<Rec> all;
  {
    // 100 records per run: 10,050 records make 100 run files and 50 in memory.
    ExternalSorter<Rec, RecLess> sorter(dir_.string(), 100 * sizeof(Rec));
    for (uint64_t i = 0; i < 10050; ++i) {
      Rec r{rng() % 5000, i};
      all.push_back(r);
      ASSERT_TRUE(sorter.Add(r).ok());
    }
    EXPECT_EQ(sorter.runs(), 100u);
    EXPECT_FALSE(DirEmpty());
    ASSERT_TRUE(sorter.Finish().ok());
    std::sort(all.begin(), all.end(), RecLess());
    size_t i = 0;
    for (; sorter.Valid(); ++i) {
      ASSERT_LT(i, all.size());
      EXPECT_EQ(sorter.value().key, all[i].key);
      EXPECT_EQ(sorter.value().payload, all[i].payload);
      ASSERT_TRUE(sorter.Next().ok());
    }
    EXPECT_EQ(i, all.size());
  }
  EXPECT_TRUE(DirEmpty()) << "run files left behind";
}

TEST_F(SortTest, SortAbandonedHalfwayRemovesItsRuns) {
  {
    ExternalSorter<Rec, RecLess> sorter(dir_.string(), 10 * sizeof(Rec));
    for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(sorter.Add({100 - i, i}).ok());
    EXPECT_FALSE(DirEmpty());
  }
  EXPECT_TRUE(DirEmpty());
}

TEST_F(SortTest, SortFailsCleanlyWithoutAWritableDirectory) {
  ExternalSorter<Rec, RecLess> sorter((dir_ / "missing").string(), 2 * sizeof(Rec));
  ASSERT_TRUE(sorter.Add({1, 1}).ok());
  absl::Status s = sorter.Add({2, 2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
}

TEST_F(SortTest, SortWithNothingAdded) {
  ExternalSorter<Rec, RecLess> sorter(dir_.string());
  ASSERT_TRUE(sorter.Finish().ok());
  EXPECT_FALSE(sorter.Valid());
}

// Strings of every length from 0 to 300 bytes, with bytes >= 0x80 (which
// must sort after ASCII, as RocksDB's bytewise comparator sorts them) and
// duplicates, through a buffer of 4 KiB: many runs.
TEST_F(SortTest, StringsComeBackInBytewiseOrderAcrossRuns) {
  std::mt19937_64 rng(11);
  std::vector<std::string> all;
  {
    StringSorter sorter(dir_.string(), 4096);
    for (int i = 0; i < 5000; ++i) {
      std::string s(rng() % 301, '\0');
      for (char& c : s)
        c = static_cast<char>(rng() % 4 == 0 ? 0x80 + rng() % 128 : 'a' + rng() % 3);
      if (i % 10 == 0 && !all.empty()) s = all[rng() % all.size()];
      all.push_back(s);
      ASSERT_TRUE(sorter.Add(s).ok());
    }
    EXPECT_GT(sorter.runs(), 50u);
    EXPECT_EQ(sorter.count(), all.size());
    ASSERT_TRUE(sorter.Finish().ok());
    std::sort(all.begin(), all.end(), [](const std::string& a, const std::string& b) {
      return std::string_view(a).compare(b) < 0;  // memcmp order
    });
    size_t i = 0;
    for (; sorter.Valid(); ++i) {
      ASSERT_LT(i, all.size());
      ASSERT_EQ(sorter.value(), all[i]) << "at " << i;
      ASSERT_TRUE(sorter.Next().ok());
    }
    EXPECT_EQ(i, all.size());
  }
  EXPECT_TRUE(DirEmpty()) << "run files left behind";
}

TEST_F(SortTest, StringsSortedInMemoryWhenTheyFit) {
  StringSorter sorter(dir_.string());
  for (const char* s : {"b", "", "\xff", "a", "ab", "a"}) ASSERT_TRUE(sorter.Add(s).ok());
  ASSERT_TRUE(sorter.Finish().ok());
  EXPECT_EQ(sorter.runs(), 0u);
  std::vector<std::string> got;
  while (sorter.Valid()) {
    got.emplace_back(sorter.value());
    ASSERT_TRUE(sorter.Next().ok());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"", "a", "a", "ab", "b", "\xff"}));
  EXPECT_TRUE(DirEmpty());
}

TEST_F(SortTest, StringSortFailsCleanlyWithoutAWritableDirectory) {
  StringSorter sorter((dir_ / "missing").string(), 1);
  absl::Status s = sorter.Add("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_NE(s.message().find("missing"), std::string_view::npos) << s;
}

}  // namespace
}  // namespace refstore::internal
