#include "refstore/content/content_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "refstore/content/sha256.h"

namespace refstore::content {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// Each test gets a fresh directory; the content root is <tmp>/root and does
// not exist until Open creates it.
class ContentDirTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "content_dir_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ + "/root";
  }
  void TearDown() override { fs::remove_all(tmp_); }

  ContentDir OpenOrDie() {
    absl::StatusOr<ContentDir> cd = ContentDir::Open(root_);
    EXPECT_TRUE(cd.ok()) << cd.status();
    return *std::move(cd);
  }

  // Ingests and publishes `data`, returning its hex.
  std::string Put(ContentDir& cd, std::string_view data) {
    std::string hex = Sha256Hex(data);
    absl::StatusOr<IngestFile> f =
        cd.Ingest(hex, static_cast<int64_t>(data.size()), StringReader(data));
    EXPECT_TRUE(f.ok()) << f.status();
    if (f.ok()) {
      EXPECT_TRUE(cd.Publish(*f).ok());
    }
    return hex;
  }

  std::string tmp_;
  std::string root_;
};

TEST_F(ContentDirTest, OpenCreatesLayout) {
  ContentDir cd = OpenOrDie();
  EXPECT_EQ(cd.root(), root_);
  EXPECT_TRUE(fs::is_directory(root_ + "/blobs/sha256"));
  EXPECT_TRUE(fs::is_directory(root_ + "/ingest"));
  EXPECT_EQ(ReadFile(root_ + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_TRUE(List(root_ + "/ingest").empty());
  EXPECT_EQ(cd.BlobPath(std::string(64, 'a')), root_ + "/blobs/sha256/" + std::string(64, 'a'));

  // Opening again keeps what is there.
  WriteFile(root_ + "/blobs/sha256/" + std::string(64, 'b'), "x");
  ContentDir again = OpenOrDie();
  EXPECT_EQ(ReadFile(root_ + "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(List(root_ + "/blobs/sha256"), std::vector<std::string>{std::string(64, 'b')});

  // A trailing slash names the same root.
  absl::StatusOr<ContentDir> slash = ContentDir::Open(root_ + "/");
  ASSERT_TRUE(slash.ok()) << slash.status();
  EXPECT_EQ(slash->root(), root_);
}

TEST_F(ContentDirTest, IngestThenPublish) {
  ContentDir cd = OpenOrDie();
  const std::string data = "hello, blob";
  const std::string hex = Sha256Hex(data);
  absl::StatusOr<IngestFile> f = cd.Ingest(hex, data.size(), StringReader(data));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->hex, hex);
  EXPECT_EQ(f->size, static_cast<int64_t>(data.size()));
  EXPECT_TRUE(f->temp_path.starts_with(root_ + "/ingest/")) << f->temp_path;
  EXPECT_EQ(ReadFile(f->temp_path), data);
  // Not visible before Publish.
  absl::StatusOr<std::optional<int64_t>> size = cd.BlobSize(hex);
  ASSERT_TRUE(size.ok());
  EXPECT_FALSE(size->has_value());

  ASSERT_TRUE(cd.Publish(*f).ok());
  size = cd.BlobSize(hex);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, std::optional<int64_t>(data.size()));
  EXPECT_EQ(ReadFile(cd.BlobPath(hex)), data);
  EXPECT_TRUE(List(root_ + "/ingest").empty());
}

TEST_F(ContentDirTest, EmptyBlob) {
  ContentDir cd = OpenOrDie();
  std::string hex = Put(cd, "");
  absl::StatusOr<std::optional<int64_t>> size = cd.BlobSize(hex);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, std::optional<int64_t>(0));
}

TEST_F(ContentDirTest, IngestMismatchesLeaveNoFile) {
  ContentDir cd = OpenOrDie();
  const std::string data = "0123456789";
  const std::string hex = Sha256Hex(data);

  absl::StatusOr<IngestFile> f = cd.Ingest(hex, 12, StringReader(data));  // too short
  ASSERT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), "size of sha256:" + hex + " is 10 bytes, expected 12");

  f = cd.Ingest(hex, 8, StringReader(data));  // too long
  ASSERT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("size of sha256:" + hex), std::string::npos);

  const std::string other = "abcdefghij";  // right size, wrong bytes
  f = cd.Ingest(hex, 10, StringReader(other));
  ASSERT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), "digest of the written bytes is sha256:" + Sha256Hex(other) +
                                      ", expected sha256:" + hex);

  // A failing reader: its error comes back.
  f = cd.Ingest(hex, 10, [](char*, size_t) -> absl::StatusOr<size_t> {
    return absl::UnavailableError("network down");
  });
  EXPECT_EQ(f.status().code(), absl::StatusCode::kUnavailable);

  EXPECT_TRUE(List(root_ + "/ingest").empty());
  EXPECT_TRUE(List(root_ + "/blobs/sha256").empty());
}

TEST_F(ContentDirTest, IngestStopsAsSoonAsTooLong) {
  ContentDir cd = OpenOrDie();
  int calls = 0;
  // An endless source: Ingest must give up rather than read forever.
  BlobReader endless = [&calls](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    ++calls;
    std::fill(buf, buf + cap, 'x');
    return cap;
  };
  absl::StatusOr<IngestFile> f = cd.Ingest(std::string(64, 'c'), 10, endless);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(List(root_ + "/ingest").empty());
}

TEST_F(ContentDirTest, InvalidHexRejected) {
  ContentDir cd = OpenOrDie();
  const std::string good = Sha256Hex("x");
  std::string upper = good;
  upper[0] = 'A';
  for (const std::string& hex :
       {std::string("../../../etc/passwd"), good.substr(1), good + "0", upper, "sha256:" + good,
        std::string(), "../ingest/" + good.substr(10)}) {
    SCOPED_TRACE(hex);
    EXPECT_EQ(cd.Ingest(hex, 1, StringReader("x")).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cd.BlobSize(hex).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cd.RemoveBlob(hex).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cd.HashBlob(hex).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cd.ReadBlob(hex, 100).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cd.Publish(IngestFile{hex, 1, root_ + "/ingest/x"}).code(),
              absl::StatusCode::kInvalidArgument);
  }
  // A temp path outside ingest/ is not renamed.
  WriteFile(tmp_ + "/outside", "x");
  EXPECT_EQ(cd.Publish(IngestFile{good, 1, tmp_ + "/outside"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(tmp_ + "/outside"));
  EXPECT_TRUE(List(root_ + "/ingest").empty());
  EXPECT_TRUE(List(root_ + "/blobs/sha256").empty());
}

TEST_F(ContentDirTest, DiscardRemovesTempFile) {
  ContentDir cd = OpenOrDie();
  absl::StatusOr<IngestFile> f = cd.Ingest(Sha256Hex("d"), 1, StringReader("d"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(List(root_ + "/ingest").size(), 1u);
  cd.Discard(*f);
  EXPECT_TRUE(List(root_ + "/ingest").empty());
  EXPECT_TRUE(List(root_ + "/blobs/sha256").empty());
}

TEST_F(ContentDirTest, RemoveBlob) {
  ContentDir cd = OpenOrDie();
  std::string hex = Put(cd, "twelve bytes");
  absl::StatusOr<int64_t> removed = cd.RemoveBlob(hex);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 12);
  EXPECT_FALSE(fs::exists(cd.BlobPath(hex)));
  removed = cd.RemoveBlob(hex);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 0);
  EXPECT_TRUE(cd.SyncBlobDir().ok());
}

// Only regular files named by 64 lowercase hex characters are blobs. A
// symlink (even with a valid name) or a directory is passed to `stray`, never
// followed; so is any other name.
TEST_F(ContentDirTest, ForEachBlobListsBlobsAndStrays) {
  ContentDir cd = OpenOrDie();
  std::string a = Put(cd, "a");
  std::string bb = Put(cd, "bb");
  const std::string dir = root_ + "/blobs/sha256/";
  WriteFile(dir + "junk", "junk");
  const std::string link_hex = std::string(64, 'e');
  fs::create_symlink(dir + a, dir + link_hex);
  const std::string dir_hex = std::string(64, 'f');
  fs::create_directory(dir + dir_hex);

  std::map<std::string, int64_t> blobs;
  std::vector<std::string> strays;
  absl::Status s = cd.ForEachBlob(
      [&](std::string_view hex, int64_t size) {
        blobs[std::string(hex)] = size;
        return absl::OkStatus();
      },
      [&](std::string_view name) { strays.emplace_back(name); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(blobs, (std::map<std::string, int64_t>{{a, 1}, {bb, 2}}));
  std::sort(strays.begin(), strays.end());
  EXPECT_EQ(strays, (std::vector<std::string>{link_hex, dir_hex, "junk"}));

  // Without a stray callback the others are skipped silently.
  blobs.clear();
  s = cd.ForEachBlob([&](std::string_view hex, int64_t size) {
    blobs[std::string(hex)] = size;
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(blobs.size(), 2u);

  // The first error of `fn` stops the walk and is returned.
  int calls = 0;
  s = cd.ForEachBlob([&](std::string_view, int64_t) {
    ++calls;
    return absl::AbortedError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_F(ContentDirTest, SymlinkBlobIsRejectedNotFollowed) {
  ContentDir cd = OpenOrDie();
  WriteFile(tmp_ + "/target", "secret");
  const std::string hex = Sha256Hex("secret");
  fs::create_symlink(tmp_ + "/target", cd.BlobPath(hex));
  EXPECT_EQ(cd.BlobSize(hex).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cd.HashBlob(hex).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cd.ReadBlob(hex, 100).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cd.RemoveBlob(hex).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_symlink(cd.BlobPath(hex)));
  EXPECT_EQ(ReadFile(tmp_ + "/target"), "secret");

  // A directory in a blob's place is not a blob either.
  const std::string dir_hex = Sha256Hex("dir");
  fs::create_directory(cd.BlobPath(dir_hex));
  EXPECT_EQ(cd.BlobSize(dir_hex).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cd.ReadBlob(dir_hex, 100).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContentDirTest, HashBlob) {
  ContentDir cd = OpenOrDie();
  std::string data(200000, 'q');  // more than one read buffer
  std::string hex = Put(cd, data);
  absl::StatusOr<std::string> h = cd.HashBlob(hex);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, hex);

  // A file corrupted on disk hashes to something else.
  WriteFile(cd.BlobPath(hex), "corrupt");
  h = cd.HashBlob(hex);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, Sha256Hex("corrupt"));

  EXPECT_EQ(cd.HashBlob(Sha256Hex("absent")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ContentDirTest, ReadBlobMaxSize) {
  ContentDir cd = OpenOrDie();
  const std::string data = R"({"schemaVersion":2})";
  std::string hex = Put(cd, data);
  absl::StatusOr<std::string> got = cd.ReadBlob(hex, data.size());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
  got = cd.ReadBlob(hex, int64_t{1} << 40);  // a large limit allocates nothing extra
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
  EXPECT_EQ(cd.ReadBlob(hex, data.size() - 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cd.ReadBlob(Sha256Hex("absent"), 100).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ContentDirTest, CleanIngestKeepsKeptPaths) {
  ContentDir cd = OpenOrDie();
  absl::StatusOr<IngestFile> kept = cd.Ingest(Sha256Hex("k"), 1, StringReader("k"));
  absl::StatusOr<IngestFile> lost = cd.Ingest(Sha256Hex("l"), 1, StringReader("l"));
  ASSERT_TRUE(kept.ok() && lost.ok());
  WriteFile(root_ + "/ingest/leftover", "crash");
  fs::create_directory(root_ + "/ingest/subdir");  // not a file: left alone

  absl::StatusOr<int> removed = cd.CleanIngest({kept->temp_path});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2);
  EXPECT_TRUE(fs::exists(kept->temp_path));
  EXPECT_FALSE(fs::exists(lost->temp_path));
  EXPECT_FALSE(fs::exists(root_ + "/ingest/leftover"));
  EXPECT_TRUE(fs::is_directory(root_ + "/ingest/subdir"));

  // The kept ingest can still be published.
  ASSERT_TRUE(cd.Publish(*kept).ok());
  EXPECT_EQ(ReadFile(cd.BlobPath(Sha256Hex("k"))), "k");
}

TEST_F(ContentDirTest, OpenRejectsSymlinkedParts) {
  fs::create_directory(tmp_ + "/elsewhere");
  fs::create_directory(tmp_ + "/elsewhere/sha256");
  for (const std::string part : {"blobs", "blobs/sha256", "ingest"}) {
    SCOPED_TRACE(part);
    fs::remove_all(root_);
    fs::create_directories(root_ + "/blobs");
    if (part == "blobs") fs::remove(root_ + "/blobs");
    fs::create_directory_symlink(tmp_ + "/elsewhere", root_ + "/" + part);
    absl::StatusOr<ContentDir> cd = ContentDir::Open(root_);
    ASSERT_EQ(cd.status().code(), absl::StatusCode::kInvalidArgument) << cd.status();
    EXPECT_NE(cd.status().message().find(root_ + "/" + part), std::string::npos) << cd.status();
  }
  // A root reached through a symlink is fine.
  fs::remove_all(root_);
  fs::create_directory(tmp_ + "/real");
  fs::create_directory_symlink(tmp_ + "/real", root_);
  absl::StatusOr<ContentDir> cd = ContentDir::Open(root_);
  ASSERT_TRUE(cd.ok()) << cd.status();
  EXPECT_TRUE(fs::is_directory(tmp_ + "/real/blobs/sha256"));
}

TEST_F(ContentDirTest, ConcurrentIngestOfSameDigest) {
  ContentDir cd = OpenOrDie();
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 256);
  const std::string hex = Sha256Hex(data);
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<IngestFile> f = cd.Ingest(hex, data.size(), StringReader(data));
      results[t] = f.ok() ? cd.Publish(*f) : f.status();
    });
  }
  for (auto& th : threads) th.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(List(root_ + "/blobs/sha256"), std::vector<std::string>{hex});
  EXPECT_EQ(ReadFile(cd.BlobPath(hex)), data);
  EXPECT_TRUE(List(root_ + "/ingest").empty());
}

}  // namespace
}  // namespace refstore::content
