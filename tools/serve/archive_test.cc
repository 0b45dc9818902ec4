// Tests of the docker load and save archives: tars written here with
// libarchive, extracted, converted and imported into fresh stores.
#include "serve/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "refstore/content/sha256.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore_tool {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using refstore::test_oci::Blob;
using refstore::test_oci::Image;
using refstore::test_oci::MakeBlob;
using refstore::test_oci::MakeImage;

constexpr char kGzipLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";

refstore::OpContext Ctx() { return {"default", absl::FromUnixSeconds(1767225600)}; }

// One entry of a tar written by WriteTar.
struct TarEntry {
  enum Type { kFile, kDir, kSymlink, kHardlink };
  std::string name;
  std::string data;  // kFile: the bytes; kSymlink, kHardlink: the target
  Type type = kFile;
};

// Writes `entries` as a pax tar (gzip compressed when `gzip`) to `path`.
void WriteTar(const fs::path& path, const std::vector<TarEntry>& entries, bool gzip = false) {
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                                   archive_write_free);
  ASSERT_EQ(archive_write_set_format_pax_restricted(a.get()), ARCHIVE_OK);
  if (gzip) {
    ASSERT_EQ(archive_write_add_filter_gzip(a.get()), ARCHIVE_OK);
  }
  ASSERT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  for (const TarEntry& t : entries) {
    std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                           archive_entry_free);
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_perm(e.get(), 0644);
    switch (t.type) {
      case TarEntry::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(t.data.size()));
        break;
      case TarEntry::kDir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), t.data.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_hardlink(e.get(), t.data.c_str());
        break;
    }
    ASSERT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK) << archive_error_string(a.get());
    if (t.type == TarEntry::kFile && !t.data.empty()) {
      ASSERT_EQ(archive_write_data(a.get(), t.data.data(), t.data.size()),
                static_cast<la_ssize_t>(t.data.size()));
    }
  }
  ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
}

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The bytes of a tar holding the files `files` (a layer).
std::string LayerTar(const fs::path& scratch, const std::vector<TarEntry>& files) {
  WriteTar(scratch, files);
  std::string bytes = ReadBytes(scratch);
  fs::remove(scratch);
  return bytes;
}

// The entries of an OCI layout tar of `image` named `full` (empty: no name).
std::vector<TarEntry> LayoutEntries(const Image& image, const std::string& full) {
  Json d = refstore::test_oci::DescriptorJson(image.target);
  if (!full.empty()) d["annotations"] = {{"io.containerd.image.name", full}};
  Json index = {{"schemaVersion", 2}, {"manifests", Json::array({d})}};
  std::vector<TarEntry> out = {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                               {"index.json", index.dump()},
                               {"blobs/", "", TarEntry::kDir},
                               {"blobs/sha256/", "", TarEntry::kDir}};
  for (const Blob& b : image.all()) out.push_back({"blobs/sha256/" + b.hex(), b.bytes});
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/archive_test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    stores_.clear();
    fs::remove_all(dir_);
  }

  refstore::Store& OpenStore(const std::string& name, bool content_store = true) {
    refstore::StoreOptions o;
    o.content_store = content_store;
    auto s = refstore::Store::Open((dir_ / name).string(), o);
    EXPECT_TRUE(s.ok()) << s.status();
    stores_.push_back(std::move(*s));
    return *stores_.back();
  }
  std::string BlobDir(const std::string& store) const {
    return (dir_ / store / "content" / "blobs" / "sha256").string();
  }

  // Extracts `entries` (written as a tar) into dir_/<name> and returns the
  // status of ExtractLoadArchive.
  absl::Status Load(const std::vector<TarEntry>& entries, const std::string& name,
                    bool gzip = false) {
    const fs::path tar = dir_ / (name + ".tar");
    WriteTar(tar, entries, gzip);
    return ExtractLoadArchive(tar.string(), (dir_ / name).string());
  }

  // The docker archive of DockerArchive(): two images sharing a layer, the
  // first tagged twice, the second untagged.
  struct DockerImages {
    std::string config_a, config_b, layer_shared, layer_gzip;
    std::vector<TarEntry> entries;
  };
  DockerImages DockerArchive() {
    DockerImages d;
    d.config_a = R"({"architecture":"amd64","os":"linux","config":{"Labels":{"x":"a"}}})";
    d.config_b = R"({"architecture":"amd64","os":"linux","config":{"Labels":{"x":"b"}}})";
    d.layer_shared =
        LayerTar(dir_ / "l1.tar", {{"etc/", "", TarEntry::kDir}, {"etc/hostname", "shared\n"}});
    d.layer_gzip = std::string("\x1f\x8b\x08\x00", 4) + "not really gzip";
    const std::string hex_a = refstore::content::Sha256Hex(d.config_a);
    Json manifest = Json::array({{{"Config", hex_a + ".json"},
                                  {"RepoTags", {"foo:latest", "registry.example.com/team/foo:1.0"}},
                                  {"Layers", {"aaa/layer.tar"}}},
                                 {{"Config", "b.json"},
                                  {"RepoTags", nullptr},
                                  {"Layers", {"./aaa/layer.tar", "bbb/layer.tar"}}}});
    d.entries = {{"manifest.json", manifest.dump()},
                 {hex_a + ".json", d.config_a},
                 {"b.json", d.config_b},
                 {"aaa/", "", TarEntry::kDir},
                 {"aaa/layer.tar", d.layer_shared},
                 {"bbb/layer.tar", d.layer_gzip},
                 {"repositories", R"({"foo":{"latest":"x"}})"}};
    return d;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<refstore::Store>> stores_;
};

// Every name in `dir` (recursively), relative to it.
std::set<std::string> Tree(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

TEST_F(ArchiveTest, ExtractsAnOciLayoutThatImports) {
  Image img = MakeImage("app", {"layer one", "layer two"});
  std::vector<TarEntry> entries = LayoutEntries(img, "docker.io/library/app:v1");
  entries.push_back({"manifest.json", "[]"});  // docker 25's, ignored
  ASSERT_TRUE(Load(entries, "layout", /*gzip=*/true).ok());
  EXPECT_EQ(ReadBytes(dir_ / "layout" / "manifest.json"), "[]");

  refstore::Store& store = OpenStore("store");
  auto r = store.ImportLayout(Ctx(), (dir_ / "layout").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 1u);
  EXPECT_EQ(r->images[0].error, "");
  EXPECT_EQ(r->images[0].id, img.target.digest);
  EXPECT_EQ(r->images[0].names, std::vector<std::string>{"app:v1"});
  auto detail = store.Inspect(Ctx(), "app:v1");
  ASSERT_TRUE(detail.ok()) << detail.status();
  EXPECT_EQ(detail->summary.id, img.target.digest);
}

TEST_F(ArchiveTest, ConvertsADockerArchiveThatImportsWithItsNames) {
  DockerImages d = DockerArchive();
  ASSERT_TRUE(Load(d.entries, "docker").ok());
  const fs::path layout = dir_ / "docker";
  EXPECT_FALSE(fs::exists(layout / "aaa" / "layer.tar"));  // moved into blobs
  EXPECT_FALSE(fs::exists(layout / "b.json"));
  EXPECT_TRUE(fs::exists(layout / "blobs/sha256" / refstore::content::Sha256Hex(d.layer_shared)));

  Json index = Json::parse(ReadBytes(layout / "index.json"));
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "docker.io/library/foo:latest");
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
  EXPECT_EQ(index["manifests"][1]["annotations"]["io.containerd.image.name"],
            "registry.example.com/team/foo:1.0");
  EXPECT_FALSE(index["manifests"][2].contains("annotations"));
  EXPECT_EQ(Json::parse(ReadBytes(layout / "oci-layout")),
            Json::parse(R"({"imageLayoutVersion":"1.0.0"})"));

  refstore::Store& store = OpenStore("store");
  auto r = store.ImportLayout(Ctx(), layout.string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 2u);
  for (const auto& image : r->images) EXPECT_EQ(image.error, "");

  auto a = store.Inspect(Ctx(), "foo");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->summary.names,
            (std::vector<std::string>{"foo:latest", "registry.example.com/team/foo:1.0"}));
  EXPECT_EQ(a->target.media_type, "application/vnd.oci.image.manifest.v1+json");
  std::set<std::string> content;
  for (const auto& c : a->content) content.insert(c.digest);
  EXPECT_EQ(content,
            (std::set<std::string>{"sha256:" + refstore::content::Sha256Hex(d.config_a),
                                   "sha256:" + refstore::content::Sha256Hex(d.layer_shared)}));

  auto list = store.ListImages(Ctx(), {});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  const auto untagged =
      std::find_if(list->begin(), list->end(), [](const auto& s) { return s.names.empty(); });
  ASSERT_NE(untagged, list->end());
  auto b = store.Inspect(Ctx(), untagged->id);
  ASSERT_TRUE(b.ok()) << b.status();
  const std::string gzip_digest = "sha256:" + refstore::content::Sha256Hex(d.layer_gzip);
  bool found_gzip = false;
  for (const auto& c : b->content) {
    if (c.digest == gzip_digest) {
      found_gzip = true;
      EXPECT_EQ(c.media_type, kGzipLayerType);
    }
  }
  EXPECT_TRUE(found_gzip);
}

TEST_F(ArchiveTest, RefusesUnsafeEntriesAndWritesNothingOutside) {
  const std::string abs = (dir_ / "abs-target").string();
  const std::vector<std::vector<TarEntry>> cases = {
      {{"../x", "escape"}},
      {{"a/../../x", "escape"}},
      {{abs, "absolute"}},
      {{"link", "/etc", TarEntry::kSymlink}, {"link/x", "through the link"}},
      {{"f", "file"}, {"hard", "f", TarEntry::kHardlink}},
  };
  const std::vector<std::string> names = {"../x", "a/../../x", abs, "link", "hard"};
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(names[i]);
    const std::string sub = "case" + std::to_string(i);
    fs::create_directories(dir_ / sub);
    const fs::path tar = dir_ / sub / "in.tar";
    WriteTar(tar, cases[i]);
    absl::Status st = ExtractLoadArchive(tar.string(), (dir_ / sub / "out").string());
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
    EXPECT_NE(st.message().find(names[i]), std::string::npos) << st;
    for (const std::string& name : Tree(dir_ / sub)) {
      EXPECT_TRUE(name == "in.tar" || name.starts_with("out")) << name;
    }
    EXPECT_FALSE(fs::exists(dir_ / "x"));
    EXPECT_FALSE(fs::exists(dir_ / sub / "x"));
    EXPECT_FALSE(fs::exists(abs));
    EXPECT_FALSE(fs::is_symlink(dir_ / sub / "out" / "link"));
    EXPECT_FALSE(fs::exists(dir_ / sub / "out" / "hard"));
  }
}

TEST_F(ArchiveTest, NotATarIsInvalidArgument) {
  const fs::path path = dir_ / "not.tar";
  std::ofstream(path) << std::string(2000, 'x') << "this is not a tar archive\n";
  absl::Status st = ExtractLoadArchive(path.string(), (dir_ / "out").string());
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;

  const fs::path empty = dir_ / "empty.tar";
  std::ofstream{empty};
  st = ExtractLoadArchive(empty.string(), (dir_ / "out2").string());
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;

  const std::string truncated = LayerTar(dir_ / "t.tar", {{"big", std::string(100000, 'b')}});
  std::ofstream(dir_ / "truncated.tar", std::ios::binary) << truncated.substr(0, 5000);
  st = ExtractLoadArchive((dir_ / "truncated.tar").string(), (dir_ / "out3").string());
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;

  st = ExtractLoadArchive((dir_ / "missing.tar").string(), (dir_ / "out4").string());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing.tar"), std::string::npos) << st;
}

TEST_F(ArchiveTest, NeitherIndexNorManifestIsInvalidArgument) {
  absl::Status st = Load({{"hello.txt", "hello"}}, "out");
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(st.message().find("neither index.json nor manifest.json"), std::string::npos) << st;
}

TEST_F(ArchiveTest, MissingLayerFileIsInvalidArgument) {
  Json manifest = Json::array(
      {{{"Config", "c.json"}, {"RepoTags", {"foo:1"}}, {"Layers", {"missing/layer.tar"}}}});
  absl::Status st =
      Load({{"manifest.json", manifest.dump()}, {"c.json", R"({"os":"linux"})"}}, "out");
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(st.message().find("missing/layer.tar"), std::string::npos) << st;
}

TEST_F(ArchiveTest, UnsafePathInManifestJsonIsInvalidArgument) {
  Json manifest =
      Json::array({{{"Config", "../c.json"}, {"RepoTags", nullptr}, {"Layers", Json::array()}}});
  absl::Status st = Load({{"manifest.json", manifest.dump()}}, "out");
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_NE(st.message().find("../c.json"), std::string::npos) << st;
}

// Writes the save archive of `refs` from `store` to dir_/<name>; returns its
// status.
absl::Status SaveTo(refstore::Store& store, const std::vector<std::string>& refs,
                    const std::string& blob_dir, const fs::path& out) {
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError("open " + out.string());
  absl::Status st = WriteSaveArchive(store, Ctx(), refs, blob_dir, fd);
  ::close(fd);
  return st;
}

TEST_F(ArchiveTest, SavedArchiveLoadsIntoAnotherStore) {
  DockerImages d = DockerArchive();
  ASSERT_TRUE(Load(d.entries, "docker").ok());
  refstore::Store& first = OpenStore("first");
  auto imported = first.ImportLayout(Ctx(), (dir_ / "docker").string(), {});
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto a = first.Inspect(Ctx(), "foo:latest");
  ASSERT_TRUE(a.ok()) << a.status();
  auto list = first.ListImages(Ctx(), {});
  ASSERT_TRUE(list.ok());
  std::string untagged_id;
  for (const auto& s : *list) {
    if (s.names.empty()) untagged_id = s.id;
  }
  ASSERT_FALSE(untagged_id.empty());

  const std::vector<std::string> refs = {"foo", untagged_id.substr(7, 12)};
  absl::Status st = SaveTo(first, refs, BlobDir("first"), dir_ / "saved.tar");
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(SaveTo(first, refs, BlobDir("first"), dir_ / "again.tar").ok());
  EXPECT_EQ(ReadBytes(dir_ / "saved.tar"), ReadBytes(dir_ / "again.tar"));  // deterministic

  st = ExtractLoadArchive((dir_ / "saved.tar").string(), (dir_ / "loaded").string());
  ASSERT_TRUE(st.ok()) << st;
  Json manifest = Json::parse(ReadBytes(dir_ / "loaded" / "manifest.json"));
  ASSERT_EQ(manifest.size(), 2u);
  EXPECT_EQ(manifest[0]["RepoTags"], Json::array({"foo:latest"}));
  EXPECT_EQ(manifest[0]["Config"], "blobs/sha256/" + refstore::content::Sha256Hex(d.config_a));
  EXPECT_EQ(manifest[0]["Layers"],
            Json::array({"blobs/sha256/" + refstore::content::Sha256Hex(d.layer_shared)}));
  EXPECT_EQ(manifest[1]["RepoTags"], Json::array());
  Json index = Json::parse(ReadBytes(dir_ / "loaded" / "index.json"));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
            "docker.io/library/foo:latest");
  EXPECT_FALSE(index["manifests"][1].contains("annotations"));

  refstore::Store& second = OpenStore("second");
  auto r = second.ImportLayout(Ctx(), (dir_ / "loaded").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 2u);
  for (const auto& image : r->images) EXPECT_EQ(image.error, "");
  auto b = second.Inspect(Ctx(), "foo:latest");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->summary.id, a->summary.id);
  EXPECT_EQ(b->summary.names, std::vector<std::string>{"foo:latest"});
  EXPECT_EQ(b->summary.size, a->summary.size);
  auto u = second.Inspect(Ctx(), untagged_id);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->summary.names.empty());
}

TEST_F(ArchiveTest, SaveOfAnUnknownNameIsNotFound) {
  refstore::Store& store = OpenStore("store");
  absl::Status st = SaveTo(store, {"nosuch"}, BlobDir("store"), dir_ / "out.tar");
  EXPECT_TRUE(absl::IsNotFound(st)) << st;
  EXPECT_EQ(std::string(st.message()), "No such image: nosuch:latest");
}

TEST_F(ArchiveTest, SaveWithoutAContentStoreIsFailedPrecondition) {
  refstore::Store& store = OpenStore("store", /*content_store=*/false);
  absl::Status st = SaveTo(store, {"foo"}, BlobDir("store"), dir_ / "out.tar");
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_EQ(std::string(st.message()), "the store has no content store");
}

TEST_F(ArchiveTest, SaveWithAMissingBlobFileIsNotFound) {
  Image img = MakeImage("app", {"layer"});
  ASSERT_TRUE(Load(LayoutEntries(img, "docker.io/library/app:v1"), "layout").ok());
  refstore::Store& store = OpenStore("store");
  ASSERT_TRUE(store.ImportLayout(Ctx(), (dir_ / "layout").string(), {}).ok());
  fs::remove(fs::path(BlobDir("store")) / img.content[1].hex());
  absl::Status st = SaveTo(store, {"app:v1"}, BlobDir("store"), dir_ / "out.tar");
  EXPECT_TRUE(absl::IsNotFound(st)) << st;
  EXPECT_NE(st.message().find(img.content[1].digest), std::string::npos) << st;
}

}  // namespace
}  // namespace refstore_tool
