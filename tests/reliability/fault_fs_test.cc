#include "fault_fs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "refstore/content/content_dir.h"
#include "refstore/content/sha256.h"

namespace refstore::testing {
namespace {

namespace fs = std::filesystem;

class FaultFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fault-fs-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Creates `name` through the RocksDB side and appends `synced`, syncs,
  // then appends `unsynced`.
  void Write(FaultFs& f, const std::string& name, const std::string& synced,
             const std::string& unsynced) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    ASSERT_TRUE(f.file_system()->NewWritableFile(Path(name), {}, &file, nullptr).ok());
    ASSERT_TRUE(file->Append(synced, {}, nullptr).ok());
    ASSERT_TRUE(file->Sync({}, nullptr).ok());
    ASSERT_TRUE(file->Append(unsynced, {}, nullptr).ok());
    ASSERT_TRUE(file->Close({}, nullptr).ok());
  }
  void SyncDir(FaultFs& f) {
    std::unique_ptr<rocksdb::FSDirectory> d;
    ASSERT_TRUE(f.file_system()->NewDirectory(dir_.string(), {}, &d, nullptr).ok());
    ASSERT_TRUE(d->Fsync({}, nullptr).ok());
  }

  fs::path dir_;
};

TEST_F(FaultFsTest, NewFileWithoutDirectorySyncIsGone) {
  FaultFs f(1);
  Write(f, "a", "synced", "lost");
  EXPECT_EQ(Read(Path("a")), "syncedlost");
  DropStats d = f.DropUnsynced();
  EXPECT_FALSE(fs::exists(Path("a")));
  EXPECT_EQ(d.entries_undone, 1);
}

TEST_F(FaultFsTest, UnsyncedTailIsDropped) {
  FaultFs f(1);
  Write(f, "a", "synced", "lost");
  SyncDir(f);
  DropStats d = f.DropUnsynced();
  EXPECT_EQ(Read(Path("a")), "synced");
  EXPECT_EQ(d.bytes_dropped, 4);
}

TEST_F(FaultFsTest, UnsyncedRenameAndDeleteAreUndone) {
  FaultFs f(1);
  Write(f, "old", "old bytes", "");
  Write(f, "tmp", "new bytes", "");
  Write(f, "doomed", "keep me", "");
  SyncDir(f);
  ASSERT_TRUE(f.file_system()->RenameFile(Path("tmp"), Path("old"), {}, nullptr).ok());
  ASSERT_TRUE(f.file_system()->DeleteFile(Path("doomed"), {}, nullptr).ok());
  EXPECT_EQ(Read(Path("old")), "new bytes");
  EXPECT_FALSE(fs::exists(Path("doomed")));
  f.DropUnsynced();
  EXPECT_EQ(Read(Path("old")), "old bytes");
  EXPECT_EQ(Read(Path("tmp")), "new bytes");
  EXPECT_EQ(Read(Path("doomed")), "keep me");
}

TEST_F(FaultFsTest, SyncedRenameStays) {
  FaultFs f(1);
  Write(f, "tmp", "new", "");
  SyncDir(f);
  ASSERT_TRUE(f.file_system()->RenameFile(Path("tmp"), Path("cur"), {}, nullptr).ok());
  SyncDir(f);
  f.DropUnsynced();
  EXPECT_EQ(Read(Path("cur")), "new");
  EXPECT_FALSE(fs::exists(Path("tmp")));
}

TEST_F(FaultFsTest, PowerCutFailsTheNthChangeAndEveryLaterCall) {
  FaultFs f(1);
  f.CutAfter(2);  // two calls pass: create, append; the sync fails
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(f.file_system()->NewWritableFile(Path("a"), {}, &file, nullptr).ok());
  ASSERT_TRUE(file->Append("x", {}, nullptr).ok());
  EXPECT_TRUE(file->Sync({}, nullptr).IsIOError());
  EXPECT_TRUE(f.power_off());
  EXPECT_TRUE(file->Append("y", {}, nullptr).IsIOError());
  file.reset();
  f.DropUnsynced();
  EXPECT_FALSE(f.power_off());
  EXPECT_FALSE(fs::exists(Path("a")));
}

TEST_F(FaultFsTest, InjectedFaultsFailWithoutEffectAndDiskFills) {
  FaultFs f(1);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(f.file_system()->NewWritableFile(Path("a"), {}, &file, nullptr).ok());
  f.SetFaults(FaultPlan{.write_one_in = 1});
  EXPECT_TRUE(file->Append("x", {}, nullptr).IsIOError());
  f.SetFaults(FaultPlan{.space_left = 5});
  EXPECT_TRUE(file->Append("abc", {}, nullptr).ok());
  rocksdb::IOStatus full = file->Append("abc", {}, nullptr);
  EXPECT_TRUE(full.IsNoSpace()) << full.ToString();
  f.SetFaults(FaultPlan{.sync_one_in = 1});
  EXPECT_TRUE(file->Sync({}, nullptr).IsIOError());
  f.SetFaults(FaultPlan{});
  ASSERT_TRUE(file->Close({}, nullptr).ok());
  EXPECT_EQ(Read(Path("a")), "abc");
  FaultCounts c = f.counts();
  EXPECT_EQ(c.failed_writes, 1);
  EXPECT_EQ(c.no_space, 1);
  EXPECT_EQ(c.failed_syncs, 1);
}

TEST_F(FaultFsTest, ContentDirectoryFollowsTheSameRules) {
  FaultFs f(1);
  auto dir = content::ContentDir::Open(Path("content"), f.content_hooks());
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string a = "published and synced", b = "published, directory not synced";
  const std::string ha = content::Sha256Hex(a), hb = content::Sha256Hex(b);
  auto fa = dir->Ingest(ha, static_cast<int64_t>(a.size()), content::StringReader(a));
  ASSERT_TRUE(fa.ok());
  ASSERT_TRUE(dir->Publish(*fa).ok());
  auto fb = dir->Ingest(hb, static_cast<int64_t>(b.size()), content::StringReader(b));
  ASSERT_TRUE(fb.ok());
  ASSERT_TRUE(dir->Publish(*fb, /*sync_dir=*/false).ok());
  f.DropUnsynced();
  EXPECT_EQ(Read(dir->BlobPath(ha)), a);
  EXPECT_FALSE(fs::exists(dir->BlobPath(hb)));

  f.SetFaults(FaultPlan{.read_one_in = 1});
  EXPECT_FALSE(dir->HashBlob(ha).ok());
  f.SetFaults(FaultPlan{.write_one_in = 1});
  const std::string c = "never written";
  EXPECT_FALSE(
      dir->Ingest(content::Sha256Hex(c), static_cast<int64_t>(c.size()), content::StringReader(c))
          .ok());
}

}  // namespace
}  // namespace refstore::testing
