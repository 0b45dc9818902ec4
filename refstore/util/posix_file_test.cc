#include "refstore/util/posix_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace refstore::internal {
namespace {

class PosixFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/posix_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  // A new file at `path` holding `data`, open for reading and writing at
  // its start.
  UniqueFd NewFile(const std::string& path, std::string_view data) {
    UniqueFd fd;
    EXPECT_EQ(Open(path, O_RDWR | O_CREAT | O_EXCL, &fd, 0644), 0);
    EXPECT_TRUE(WriteAll(fd.get(), data, path).ok());
    EXPECT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
    return fd;
  }
  std::string dir_;
};

TEST_F(PosixFileTest, WriteThenReadAllRoundTrips) {
  const std::string path = dir_ + "/f";
  UniqueFd fd;
  ASSERT_EQ(Open(path, O_WRONLY | O_CREAT | O_EXCL, &fd, 0644), 0);
  std::string data(100000, 'x');
  data[77777] = 'y';
  ASSERT_TRUE(WriteAll(fd.get(), data, path).ok());
  ASSERT_TRUE(Fsync(fd.get(), path).ok());
  EXPECT_EQ(fd.Close(), 0);
  EXPECT_FALSE(fd.valid());

  ASSERT_EQ(Open(path, O_RDONLY, &fd), 0);
  absl::StatusOr<std::string> got = ReadAll(fd.get(), path, data.size());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
}

TEST_F(PosixFileTest, ReadAllRefusesMoreThanTheLimit) {
  const std::string path = dir_ + "/f";
  UniqueFd fd = NewFile(path, "0123456789");
  absl::StatusOr<std::string> got = ReadAll(fd.get(), path, 9);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find(path), std::string::npos);
}

TEST_F(PosixFileTest, ReadFullStopsOnlyAtTheEnd) {
  const std::string path = dir_ + "/f";
  UniqueFd fd = NewFile(path, "abcdef");
  char buf[4];
  absl::StatusOr<size_t> n = ReadFull(fd.get(), buf, sizeof buf, path);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  n = ReadFull(fd.get(), buf, sizeof buf, path);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(std::string(buf, 2), "ef");
}

TEST_F(PosixFileTest, OpenNoFollowRefusesASymlink) {
  const std::string target = dir_ + "/target";
  const std::string link = dir_ + "/link";
  UniqueFd fd;
  ASSERT_EQ(Open(target, O_WRONLY | O_CREAT, &fd, 0644), 0);
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(OpenNoFollow(link, O_RDONLY, &fd), ELOOP);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(Open(link, O_RDONLY, &fd), 0);
  EXPECT_TRUE(fd.valid());
}

TEST_F(PosixFileTest, OpenReportsErrnoAndTheErrorCarriesPathAndText) {
  UniqueFd fd;
  const std::string missing = dir_ + "/missing";
  const int err = Open(missing, O_RDONLY, &fd);
  EXPECT_EQ(err, ENOENT);
  absl::Status s = PosixError("open", missing, err);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "open " + missing + ": No such file or directory");
  s = FsyncDir(missing);
  EXPECT_EQ(s.message(), "open " + missing + ": No such file or directory");
  // A full disk is store.h's ResourceExhausted, with the system's text.
  s = PosixError("write", missing, ENOSPC);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "write " + missing + ": No space left on device");
  EXPECT_EQ(PosixError("write", missing, EDQUOT).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(FsyncDir(dir_).ok());
}

TEST_F(PosixFileTest, UniqueFdMovesAndClosesOnce) {
  UniqueFd a;
  ASSERT_EQ(Open(dir_, O_RDONLY | O_DIRECTORY, &a), 0);
  const int raw = a.get();
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
  b.reset();
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed
  EXPECT_EQ(b.Close(), 0);               // nothing held: nothing to close
}

}  // namespace
}  // namespace refstore::internal
