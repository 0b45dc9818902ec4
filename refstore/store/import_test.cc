// Import of OCI image layouts into stores with and without a content store:
// layouts written here, and layouts made by umoci and skopeo (Debian's
// packages, installed by scripts/setup.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "nlohmann/json.hpp"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using test_oci::Blob;
using test_oci::Image;
using test_oci::MakeImage;

absl::Time T(int64_t s) { return absl::FromUnixSeconds(1767225600 + s); }
OpContext Ctx(int64_t s = 0) { return {"default", T(s)}; }

class ImportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ =
        fs::temp_directory_path() / ("refstore-import-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StoreOptions o;
    o.content_store = GetParam();
    auto s = Store::Open((dir_ / "store").string(), o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void ExpectClean() {
    auto problems = store_->Check();
    ASSERT_TRUE(problems.ok()) << problems.status();
    for (const auto& p : Faults(*problems)) {
      ADD_FAILURE() << p.category << " " << p.subject << " " << p.detail;
    }
    auto garbage = store_->Collect();  // nothing is left for the collector
    ASSERT_TRUE(garbage.ok());
    EXPECT_EQ(garbage->files_deleted, 0);
  }
  // Files of the content store (empty without one).
  std::set<std::string> Files() const {
    std::set<std::string> out;
    if (!GetParam()) return out;
    for (const auto& e : fs::directory_iterator(dir_ / "store/content/blobs/sha256")) {
      out.insert(e.path().filename().string());
    }
    return out;
  }
  int64_t Size(const Image& img) const {
    int64_t n = 0;
    for (const Blob& b : img.all()) n += b.size();
    return n;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(ImportTest, ImportsImagesWithTheirNamesAndCountsSharedContentOnce) {
  Image a = MakeImage("a", {"shared layer", "a layer"});
  Image b = MakeImage("b", {"shared layer", "b layer"});
  test_oci::WriteLayout(dir_ / "app", {{a, {"v1", "v2"}}, {b, {"example.com/team/b:2.0"}}});
  auto r = store_->ImportLayout(Ctx(), (dir_ / "app").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 2u);
  EXPECT_EQ(r->images[0].id, a.target.digest);
  EXPECT_EQ(r->images[0].error, "");
  EXPECT_EQ(r->images[0].names, (std::vector<std::string>{"app:v1", "app:v2"}));
  EXPECT_EQ(r->images[1].names, (std::vector<std::string>{"example.com/team/b:2.0"}));

  auto ia = store_->Inspect(Ctx(), "app:v2");
  ASSERT_TRUE(ia.ok()) << ia.status();
  EXPECT_EQ(ia->summary.id, a.target.digest);
  EXPECT_EQ(ia->summary.size, Size(a));
  auto df = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(df.ok());
  EXPECT_EQ(df->total_count, 2);
  EXPECT_EQ(df->size, Size(a) + Size(b) - a.content[1].size());  // the shared layer once
  EXPECT_EQ(df->shared_size, a.content[1].size());
  if (GetParam()) {
    EXPECT_EQ(Files().size(), 7u);
    EXPECT_EQ(r->blobs_written, 7);
    EXPECT_EQ(r->bytes_written, df->size);
  }
  ExpectClean();

  // Importing again changes nothing.
  auto again = store_->ImportLayout(Ctx(), (dir_ / "app").string(), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->blobs_written, 0);
  auto df2 = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(df2.ok());
  EXPECT_EQ(df2->size, df->size);
  ExpectClean();
}

// As docker shows a loaded image: its config's "created" is its creation
// time (whole seconds), its config's labels its labels; a config without a
// usable "created" leaves the import's time.
TEST_P(ImportTest, ImagesTakeTheirConfigsCreationTimeAndLabels) {
  Image dated = MakeImage("dated", {"one"});
  nlohmann::json config = nlohmann::json::parse(dated.content[0].bytes);
  config["created"] = "2023-11-14T22:13:20.123456789Z";
  dated.content[0] = test_oci::MakeBlob(test_oci::kConfigType, config.dump());
  nlohmann::json manifest = nlohmann::json::parse(dated.target.bytes);
  manifest["config"] = test_oci::DescriptorJson(dated.content[0]);
  dated.target = test_oci::MakeBlob(test_oci::kManifestType, manifest.dump());
  Image plain = MakeImage("plain", {"two"});
  Image bad = MakeImage("bad", {"three"});
  config = nlohmann::json::parse(bad.content[0].bytes);
  config["created"] = "0001-01-01T00:00:00Z";  // outside the times a store keeps
  bad.content[0] = test_oci::MakeBlob(test_oci::kConfigType, config.dump());
  manifest = nlohmann::json::parse(bad.target.bytes);
  manifest["config"] = test_oci::DescriptorJson(bad.content[0]);
  bad.target = test_oci::MakeBlob(test_oci::kManifestType, manifest.dump());
  test_oci::WriteLayout(dir_ / "app", {{dated, {"dated"}}, {plain, {"plain"}}, {bad, {"bad"}}});
  auto r = store_->ImportLayout(Ctx(30), (dir_ / "app").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  auto d = store_->Inspect(Ctx(40), "app:dated");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->summary.created, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(d->summary.labels, (std::map<std::string, std::string>{{"text", "dated"}}));
  EXPECT_EQ(d->summary.last_used, T(30));
  auto p = store_->Inspect(Ctx(40), "app:plain");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->summary.created, T(30));
  EXPECT_EQ(p->summary.labels, (std::map<std::string, std::string>{{"text", "plain"}}));
  auto b = store_->Inspect(Ctx(40), "app:bad");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->summary.created, T(30));
  // Lists are newest first by that time; label filters see the labels.
  auto list = store_->ListImages(Ctx(40), {.filters = {{"label", {"text=dated"}}}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, dated.target.digest);
  ExpectClean();
}

TEST_P(ImportTest, TheRepositoryOfBareTagsCanBeGiven) {
  Image a = MakeImage("a", {"layer"});
  test_oci::WriteLayout(dir_ / "layout", {{a, {"latest"}}});
  ImportOptions o;
  o.repository = "registry.local/base";
  auto r = store_->ImportLayout(Ctx(), (dir_ / "layout").string(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].names, (std::vector<std::string>{"registry.local/base:latest"}));
  EXPECT_TRUE(store_->Inspect(Ctx(), "registry.local/base").ok());
}

TEST_P(ImportTest, ABadImageImportsNothingOfItselfAndDoesNotStopTheOthers) {
  Image good = MakeImage("good", {"shared layer", "good layer"});
  Image bad = MakeImage("bad", {"shared layer", "bad layer"});
  test_oci::WriteLayout(dir_ / "l", {{good, {"good"}}, {bad, {"bad"}}});
  // bad's own layer is altered: wrong digest.
  test_oci::WriteFile(dir_ / "l/blobs/sha256" / bad.content[2].hex(), "bad layeR");
  auto r = store_->ImportLayout(Ctx(), (dir_ / "l").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 2u);
  EXPECT_EQ(r->images[0].error, "");
  EXPECT_NE(r->images[1].error.find(bad.content[2].hex()), std::string::npos) << r->images[1].error;
  EXPECT_TRUE(store_->Inspect(Ctx(), "l:good").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), "l:bad").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), bad.target.digest).status()));
  if (GetParam()) {
    std::set<std::string> want;
    for (const Blob& b : good.all()) want.insert(b.hex());
    EXPECT_EQ(Files(), want);  // nothing of bad stayed
  }
  auto df = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(df.ok());
  EXPECT_EQ(df->size, Size(good));
  ExpectClean();
}

TEST_P(ImportTest, MalformedLayoutsAreRefusedNamingTheFile) {
  Image a = MakeImage("a", {"layer"});
  test_oci::WriteLayout(dir_ / "l", {{a, {"x"}}});
  test_oci::WriteFile(dir_ / "l/index.json", "{not json");
  auto r = store_->ImportLayout(Ctx(), (dir_ / "l").string(), {});
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("index.json"), std::string::npos) << r.status();

  fs::remove(dir_ / "l/oci-layout");
  r = store_->ImportLayout(Ctx(), (dir_ / "l").string(), {});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("oci-layout"), std::string::npos) << r.status();

  r = store_->ImportLayout(Ctx(), (dir_ / "missing").string(), {});
  EXPECT_FALSE(r.ok());
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
  EXPECT_TRUE(Files().empty());
  ExpectClean();
}

TEST_P(ImportTest, MissingBlobAndSymlinkedBlobAreErrorsOfTheirImage) {
  Image a = MakeImage("a", {"a layer"});
  Image b = MakeImage("b", {"b layer"});
  test_oci::WriteLayout(dir_ / "l", {{a, {"a"}}, {b, {"b"}}});
  fs::remove(dir_ / "l/blobs/sha256" / a.content[1].hex());
  // b's layer becomes a symlink to a file outside the layout.
  test_oci::WriteFile(dir_ / "outside", b.content[1].bytes);
  fs::path link = dir_ / "l/blobs/sha256" / b.content[1].hex();
  fs::remove(link);
  fs::create_symlink(dir_ / "outside", link);
  auto r = store_->ImportLayout(Ctx(), (dir_ / "l").string(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 2u);
  EXPECT_NE(r->images[0].error.find(a.content[1].hex()), std::string::npos) << r->images[0].error;
  EXPECT_NE(r->images[1].error.find(b.content[1].hex()), std::string::npos) << r->images[1].error;
  auto images = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());
  EXPECT_TRUE(Files().empty());
  ExpectClean();
}

// --- Layouts made by real third-party tools --------------------------------

// Runs a shell command with its own HOME, caches and TMPDIR under `tmp`
// (skopeo run as root would otherwise write /var/lib/containers/cache);
// fails the test when it fails.
void Shell(const std::string& cmd, const fs::path& tmp) {
  for (const char* d : {"home", "config", "data", "cache", "run", "tmp"}) {
    fs::create_directories(tmp / d);
  }
  const std::string t = tmp.string();
  const std::string env = "env HOME=" + t + "/home XDG_CONFIG_HOME=" + t +
                          "/config XDG_DATA_HOME=" + t + "/data XDG_CACHE_HOME=" + t +
                          "/cache XDG_RUNTIME_DIR=" + t + "/run TMPDIR=" + t +
                          "/tmp _CONTAINERS_ROOTLESS_UID=65534 ";
  int rc = std::system((env + cmd + " >/dev/null 2>&1").c_str());
  ASSERT_EQ(rc, 0) << "command failed (run scripts/setup.sh for umoci and skopeo): " << cmd;
}

nlohmann::json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// What index.json of layout `dir` says: ref.name -> manifest digest.
std::map<std::string, std::string> IndexNames(const fs::path& dir) {
  std::map<std::string, std::string> out;
  const nlohmann::json index = ReadJson(dir / "index.json");
  for (const auto& m : index["manifests"]) {
    out[m["annotations"]["org.opencontainers.image.ref.name"]] = m["digest"];
  }
  return out;
}

// Sum of the file sizes of the manifest `digest`, its config and its layers.
int64_t ImageBytes(const fs::path& dir, const std::string& digest) {
  auto file = [&](const std::string& d) { return dir / "blobs/sha256" / d.substr(7); };
  int64_t n = static_cast<int64_t>(fs::file_size(file(digest)));
  nlohmann::json m = ReadJson(file(digest));
  n += static_cast<int64_t>(fs::file_size(file(m["config"]["digest"])));
  for (const auto& l : m["layers"]) n += static_cast<int64_t>(fs::file_size(file(l["digest"])));
  return n;
}

TEST_P(ImportTest, UmociAndSkopeoLayouts) {
  const fs::path l = dir_ / "umoci";
  const std::string L = l.string();
  // Three tags: base (an empty image), v1 (a layer on base), v2 (v1 plus a
  // second layer): v1 and v2 share v1's layer.
  Shell("umoci init --layout " + L, dir_ / "env");
  Shell("umoci new --image " + L + ":base", dir_ / "env");
  test_oci::WriteFile(dir_ / "files/hello", "hello from umoci\n");
  test_oci::WriteFile(dir_ / "files/world", "a second layer\n");
  // umoci writes layers as root, or with --rootless otherwise.
  const std::string insert = ::geteuid() == 0 ? "umoci insert" : "umoci insert --rootless";
  Shell(insert + " --image " + L + ":base --tag v1 " + (dir_ / "files/hello").string() +
            " /etc/hello",
        dir_ / "env");
  Shell(
      insert + " --image " + L + ":v1 --tag v2 " + (dir_ / "files/world").string() + " /etc/world",
      dir_ / "env");
  // skopeo copies v2 into a second layout under another tag.
  const fs::path s = dir_ / "skopeo";
  Shell("skopeo --insecure-policy copy oci:" + L + ":v2 oci:" + s.string() + ":copied",
        dir_ / "env");

  auto names = IndexNames(l);
  ASSERT_EQ(names.size(), 3u);
  ImportOptions o;
  o.repository = "umoci-test";
  auto r = store_->ImportLayout(Ctx(), L, o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 3u);
  for (const auto& img : r->images) {
    EXPECT_EQ(img.error, "") << img.id;
    ASSERT_EQ(img.names.size(), 1u);
    const std::string tag = img.names[0].substr(img.names[0].find(':') + 1);
    EXPECT_EQ(img.names[0], "umoci-test:" + tag);
    EXPECT_EQ(img.id, names[tag]);
    auto d = store_->Inspect(Ctx(), img.names[0]);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->summary.id, names[tag]);
    EXPECT_EQ(d->summary.size, ImageBytes(l, names[tag])) << tag;
  }
  // v1's layer is shared by v1 and v2: counted once in df.
  auto v1 = ReadJson(l / "blobs/sha256" / names["v1"].substr(7));
  auto v2 = ReadJson(l / "blobs/sha256" / names["v2"].substr(7));
  ASSERT_EQ(v1["layers"].size(), 1u);
  ASSERT_EQ(v2["layers"].size(), 2u);
  EXPECT_EQ(v1["layers"][0]["digest"], v2["layers"][0]["digest"]);
  auto df = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(df.ok());
  std::set<std::string> distinct;
  int64_t distinct_bytes = 0;
  for (const auto& [tag, digest] : names) {
    for (const std::string& d : std::vector<std::string>{digest}) {
      auto m = ReadJson(l / "blobs/sha256" / d.substr(7));
      std::vector<std::string> all{d, m["config"]["digest"]};
      for (const auto& x : m["layers"]) all.push_back(x["digest"]);
      for (const auto& x : all) {
        if (distinct.insert(x).second) {
          distinct_bytes += static_cast<int64_t>(fs::file_size(l / "blobs/sha256" / x.substr(7)));
        }
      }
    }
  }
  EXPECT_EQ(df->size, distinct_bytes);
  EXPECT_GT(df->shared_size, 0);

  // skopeo's copy: same layers; its manifest as skopeo wrote it.
  auto copied = IndexNames(s);
  ASSERT_EQ(copied.size(), 1u);
  auto rs = store_->ImportLayout(Ctx(), s.string(), {});
  ASSERT_TRUE(rs.ok()) << rs.status();
  ASSERT_EQ(rs->images.size(), 1u);
  EXPECT_EQ(rs->images[0].error, "");
  EXPECT_EQ(rs->images[0].names, (std::vector<std::string>{"skopeo:copied"}));
  EXPECT_EQ(rs->images[0].id, copied["copied"]);
  auto dc = store_->Inspect(Ctx(), "skopeo:copied");
  ASSERT_TRUE(dc.ok());
  EXPECT_EQ(dc->summary.size, ImageBytes(s, copied["copied"]));
  ExpectClean();
}

INSTANTIATE_TEST_SUITE_P(Stores, ImportTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Content" : "MetadataOnly"; });

}  // namespace
}  // namespace refstore
