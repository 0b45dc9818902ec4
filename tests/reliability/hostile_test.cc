// Hostile stores (issue 6, item 8): the read-only calls run against stores
// damaged on purpose (bit flips and truncation in SST, MANIFEST, WAL and
// CURRENT files; a symbolic link leading out of the store) must not crash,
// must fail with a clear error or answer, and must not change a byte of the
// store. Each damage is applied to a fresh copy of one generated store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "refstore/content/sha256.h"
#include "refstore/store.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;

constexpr char kManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";

std::string Digest(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return std::string("sha256:") + buf;
}
OpContext Ctx() { return {"default", absl::FromUnixSeconds(1767225600)}; }

// Every file under `root` (symlinks not followed) with its SHA-256, and
// every symlink with its target.
std::map<std::string, std::string> Fingerprint(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    if (e.is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(e.path()).string();
    } else if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      out[rel] = content::Sha256Hex(bytes);
    }
  }
  return out;
}

class HostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = new fs::path(fs::temp_directory_path() /
                         ("refstore-hostile-base-" + std::to_string(::getpid())));
    fs::remove_all(*base_);
    StoreOptions o;
    o.content_store = false;
    auto store = Store::Open(base_->string(), o);
    ASSERT_TRUE(store.ok()) << store.status();
    // Enough records for several SST files after the flush on close, and a
    // WAL that holds the last writes (written after a manual reopen).
    for (int i = 0; i < 3000; ++i) {
      auto id =
          (*store)->CreateImage(Ctx(), {.name = absl::StrCat("r", i % 50, ":", i),
                                        .target = {kManifest, Digest(i + 1), 100 + i},
                                        .content = {{kLayer, Digest(100000 + i % 300), 5000}}});
      ASSERT_TRUE(id.ok()) << id.status();
    }
    store->reset();
    auto again = Store::Open(base_->string(), {});
    ASSERT_TRUE(again.ok());
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE((*again)->RemoveImage(Ctx(), absl::StrCat("r", i % 50, ":", i), false).ok());
    }
    // Leave the last writes in the WAL: a copy is taken while it is open.
    wal_copy_ = new fs::path(base_->string() + "-with-wal");
    fs::remove_all(*wal_copy_);
    fs::copy(*base_, *wal_copy_, fs::copy_options::recursive);
    fs::remove(*wal_copy_ / "LOCK");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*base_);
    fs::remove_all(*wal_copy_);
    delete base_;
    delete wal_copy_;
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-hostile-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A copy of the store with its WAL.
  void Copy() { fs::copy(*wal_copy_, dir_, fs::copy_options::recursive); }

  std::vector<fs::path> FilesEndingWith(std::string_view suffix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<fs::path> FilesStartingWith(std::string_view prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static void FlipBits(const fs::path& p, int flips, uint64_t seed) {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<uint64_t>(fs::file_size(p));
    ASSERT_GT(size, 0u) << p;
    std::mt19937_64 rng(seed);
    for (int i = 0; i < flips; ++i) {
      const uint64_t at = rng() % size;
      f.seekg(static_cast<std::streamoff>(at));
      char c;
      f.read(&c, 1);
      c = static_cast<char>(c ^ (1 << (rng() % 8)));
      f.seekp(static_cast<std::streamoff>(at));
      f.write(&c, 1);
    }
  }
  static void Truncate(const fs::path& p, double keep) {
    fs::resize_file(p, static_cast<uintmax_t>(static_cast<double>(fs::file_size(p)) * keep));
  }

  // Runs every read-only call against the damaged store: each returns a
  // status (an error must say something), nothing crashes, and no byte of
  // the store changes. Returns how many calls failed.
  int ReadEverything() {
    const auto before = Fingerprint(dir_);
    int failures = 0;
    auto note = [&](const absl::Status& s) {
      if (!s.ok()) {
        ++failures;
        EXPECT_FALSE(s.message().empty()) << s;
      }
    };
    {
      auto store = Store::Open(dir_.string(), {.read_only = true});
      note(store.status());
      if (store.ok()) {
        Store& st = **store;
        note(st.ListImages(Ctx(), {}).status());
        note(st.Inspect(Ctx(), "r1:51").status());
        note(st.GetDiskUsage(Ctx()).status());
        note(st.Check().status());
        note(st.Explain(Ctx(), Digest(100001)).status());
        note(st.Stats().status());
        note(st.ListContainers(Ctx()).status());
        note(st.ListLeases(Ctx()).status());
        note(st.Prune(Ctx(), {.all = true, .dry_run = true}).status());
      }
    }
    EXPECT_EQ(Fingerprint(dir_), before) << "a read-only call changed the store";
    return failures;
  }

  static fs::path* base_;
  static fs::path* wal_copy_;
  fs::path dir_;
};

fs::path* HostileTest::base_ = nullptr;
fs::path* HostileTest::wal_copy_ = nullptr;

TEST_F(HostileTest, UndamagedStoreReadsCleanly) {
  Copy();
  EXPECT_EQ(ReadEverything(), 0);
}

TEST_F(HostileTest, BitFlipsInTableFiles) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    fs::remove_all(dir_);
    Copy();
    auto ssts = FilesEndingWith(".sst");
    ASSERT_FALSE(ssts.empty());
    FlipBits(ssts[seed % ssts.size()], static_cast<int>(seed * 3), seed);
    ReadEverything();
  }
}

TEST_F(HostileTest, TruncatedTableFile) {
  Copy();
  auto ssts = FilesEndingWith(".sst");
  ASSERT_FALSE(ssts.empty());
  Truncate(ssts.back(), 0.5);
  EXPECT_GT(ReadEverything(), 0);
}

TEST_F(HostileTest, DamagedManifest) {
  for (double keep : {0.0, 0.3, 0.9}) {
    fs::remove_all(dir_);
    Copy();
    auto manifests = FilesStartingWith("MANIFEST-");
    ASSERT_FALSE(manifests.empty());
    Truncate(manifests.back(), keep);
    ReadEverything();
  }
  fs::remove_all(dir_);
  Copy();
  FlipBits(FilesStartingWith("MANIFEST-").back(), 8, 42);
  ReadEverything();
}

TEST_F(HostileTest, DamagedWriteAheadLog) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    fs::remove_all(dir_);
    Copy();
    auto logs = FilesEndingWith(".log");
    ASSERT_FALSE(logs.empty()) << "the copy should hold a WAL";
    FlipBits(logs.back(), 5, seed);
    ReadEverything();
  }
  fs::remove_all(dir_);
  Copy();
  Truncate(FilesEndingWith(".log").back(), 0.5);
  ReadEverything();
}

TEST_F(HostileTest, DamagedOrMissingCurrent) {
  Copy();
  { std::ofstream(dir_ / "CURRENT", std::ios::trunc) << "MANIFEST-999999\n"; }
  EXPECT_GT(ReadEverything(), 0);
  fs::remove_all(dir_);
  Copy();
  { std::ofstream(dir_ / "CURRENT", std::ios::trunc) << "\x01\x02garbage"; }
  EXPECT_GT(ReadEverything(), 0);
  fs::remove_all(dir_);
  Copy();
  fs::remove(dir_ / "CURRENT");
  EXPECT_GT(ReadEverything(), 0);
}

TEST_F(HostileTest, SymlinkLeadingOutOfTheStore) {
  Copy();
  // A table file replaced by a link to a file outside the store: RocksDB
  // reads through it (the target is not changed, and the damage is found).
  const fs::path outside = dir_.string() + "-outside";
  fs::remove_all(outside);
  fs::create_directories(outside);
  auto ssts = FilesEndingWith(".sst");
  ASSERT_FALSE(ssts.empty());
  { std::ofstream(outside / "decoy", std::ios::binary) << std::string(4096, 'x'); }
  fs::remove(ssts.front());
  fs::create_symlink(outside / "decoy", ssts.front());
  const auto outside_before = Fingerprint(outside);
  ReadEverything();
  EXPECT_EQ(Fingerprint(outside), outside_before);
  fs::remove_all(outside);
}

}  // namespace
}  // namespace refstore
