#include "refstore/content/oci_layout.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "refstore/content/sha256.h"

namespace refstore::content {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kRefName[] = "org.opencontainers.image.ref.name";

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/oci_layout_test.XXXXXX";
    char* made = ::mkdtemp(templ.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << templ;
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json Desc(const LayoutBlob& b) {
  return Json{{"mediaType", b.media_type}, {"digest", b.digest}, {"size", b.size}};
}

// Writes an OCI image layout: blobs under their real SHA-256 (unless told
// otherwise), manifests, indexes and index.json.
class LayoutWriter {
 public:
  explicit LayoutWriter(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_ / "blobs" / "sha256");
    WriteFile(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }
  const fs::path& dir() const { return dir_; }

  // The descriptor of `bytes`, written or not.
  static LayoutBlob DescribeBytes(const std::string& media_type, const std::string& bytes) {
    return LayoutBlob{media_type, "sha256:" + Sha256Hex(bytes), static_cast<int64_t>(bytes.size())};
  }
  LayoutBlob Blob(const std::string& media_type, const std::string& bytes) {
    LayoutBlob b = DescribeBytes(media_type, bytes);
    WriteFile(BlobPath(b), bytes);
    return b;
  }
  LayoutBlob Config(const std::string& tag) {
    return Blob(kConfigType, Json{{"architecture", "amd64"}, {"os", "linux"}, {"tag", tag}}.dump());
  }
  LayoutBlob Layer(const std::string& bytes) { return Blob(kLayerType, bytes); }

  static std::string ManifestBytes(const LayoutBlob& config, const std::vector<LayoutBlob>& layers,
                                   bool with_media_type = true) {
    Json m = {{"schemaVersion", 2}, {"config", Desc(config)}, {"layers", Json::array()}};
    if (with_media_type) m["mediaType"] = kManifestType;
    for (const LayoutBlob& l : layers) m["layers"].push_back(Desc(l));
    return m.dump();
  }
  LayoutBlob Manifest(const LayoutBlob& config, const std::vector<LayoutBlob>& layers,
                      bool with_media_type = true) {
    return Blob(kManifestType, ManifestBytes(config, layers, with_media_type));
  }
  LayoutBlob Index(const std::vector<LayoutBlob>& manifests) {
    Json idx = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", Json::array()}};
    for (const LayoutBlob& m : manifests) idx["manifests"].push_back(Desc(m));
    return Blob(kIndexType, idx.dump());
  }
  // A layout's image: a config and `layers`, under a manifest.
  LayoutBlob Image(const std::string& name, const std::vector<LayoutBlob>& layers) {
    return Manifest(Config(name), layers);
  }

  // index.json entries: the descriptor with annotations.
  static Json Entry(const LayoutBlob& target, const std::string& ref_name = "",
                    const std::string& containerd_name = "") {
    Json e = Desc(target);
    if (!ref_name.empty()) e["annotations"][kRefName] = ref_name;
    if (!containerd_name.empty()) e["annotations"]["io.containerd.image.name"] = containerd_name;
    return e;
  }
  void WriteIndexJson(const std::vector<Json>& entries) {
    Json idx = {{"schemaVersion", 2}, {"manifests", entries}};
    WriteFile(dir_ / "index.json", idx.dump());
  }

  fs::path BlobPath(const LayoutBlob& b) const { return BlobPathOfHex(b.digest.substr(7)); }
  fs::path BlobPathOfHex(const std::string& hex) const { return dir_ / "blobs" / "sha256" / hex; }
  std::string PathString(const LayoutBlob& b) const { return BlobPath(b).string(); }

 private:
  fs::path dir_;
};

std::vector<std::string> Digests(const std::vector<LayoutBlob>& blobs) {
  std::vector<std::string> out;
  for (const LayoutBlob& b : blobs) out.push_back(b.digest);
  return out;
}

const LayoutImage* FindByTag(const Layout& layout, const std::string& tag) {
  for (const LayoutImage& img : layout.images) {
    if (std::find(img.tags.begin(), img.tags.end(), tag) != img.tags.end()) return &img;
  }
  return nullptr;
}

const LayoutImage* FindByDigest(const Layout& layout, const std::string& digest) {
  for (const LayoutImage& img : layout.images) {
    if (img.target.digest == digest) return &img;
  }
  return nullptr;
}

::testing::AssertionResult SameBlob(const LayoutBlob& got, const LayoutBlob& want) {
  if (got.media_type == want.media_type && got.digest == want.digest && got.size == want.size) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got {" << got.media_type << ", " << got.digest << ", " << got.size << "} want {"
         << want.media_type << ", " << want.digest << ", " << want.size << "}";
}

// Whether `text` contains `part`.
::testing::AssertionResult Has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// --- Valid layouts ---------------------------------------------------------

TEST(OciLayoutTest, KnownMediaTypes) {
  EXPECT_TRUE(KnownMediaType(kManifestType));
  EXPECT_TRUE(KnownMediaType(kIndexType));
  EXPECT_TRUE(KnownMediaType("application/vnd.docker.distribution.manifest.v2+json"));
  EXPECT_TRUE(KnownMediaType("application/vnd.docker.distribution.manifest.list.v2+json"));
  EXPECT_TRUE(KnownMediaType("application/vnd.docker.container.image.v1+json"));
  EXPECT_TRUE(KnownMediaType("application/vnd.oci.image.layer.v1.tar+zstd"));
  EXPECT_TRUE(KnownMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"));
  EXPECT_TRUE(KnownMediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
  EXPECT_TRUE(KnownMediaType("application/vnd.oci.empty.v1+json"));
  EXPECT_FALSE(KnownMediaType("application/vnd.oci.image.layer.v1.tar+bzip2"));
  EXPECT_FALSE(KnownMediaType(""));
  EXPECT_FALSE(KnownMediaType("application/vnd.cncf.helm.config.v1+json"));
}

TEST(OciLayoutTest, SingleManifestWithConfigAndTwoLayers) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  LayoutBlob config = w.Config("app");
  LayoutBlob l1 = w.Layer("layer one bytes");
  LayoutBlob l2 = w.Layer("layer two bytes");
  LayoutBlob manifest = w.Manifest(config, {l1, l2});
  w.WriteIndexJson({LayoutWriter::Entry(manifest, "example.com/team/app:1.0"),
                    LayoutWriter::Entry(manifest, "latest")});

  auto layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 1u);
  const LayoutImage& img = layout->images[0];
  EXPECT_EQ(img.error, "");
  EXPECT_TRUE(SameBlob(img.target, manifest));
  ASSERT_EQ(img.content.size(), 3u);
  EXPECT_TRUE(SameBlob(img.content[0], config));
  EXPECT_TRUE(SameBlob(img.content[1], l1));
  EXPECT_TRUE(SameBlob(img.content[2], l2));
  EXPECT_EQ(img.names, std::vector<std::string>{"example.com/team/app:1.0"});
  EXPECT_EQ(img.tags, std::vector<std::string>{"latest"});

  // ReadImage reads the same image from the blobs alone.
  LayoutImage direct = ReadImage(tmp.path().string(), manifest);
  EXPECT_EQ(direct.error, "");
  EXPECT_EQ(Digests(direct.content), Digests(img.content));
  EXPECT_TRUE(direct.names.empty());
}

TEST(OciLayoutTest, EntriesOfTheSameManifestMerge) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  LayoutBlob m = w.Image("app", {w.Layer("only layer")});
  LayoutBlob other = w.Image("other", {w.Layer("other layer")});
  w.WriteIndexJson({
      LayoutWriter::Entry(m, "v1"),
      LayoutWriter::Entry(other, "stable"),
      LayoutWriter::Entry(m, "v2"),
      LayoutWriter::Entry(m, "v1"),  // repeated: once
      // containerd's full name wins over its ref.name.
      LayoutWriter::Entry(m, "v1", "docker.io/library/app:v1"),
      LayoutWriter::Entry(m, "registry.local:5000/app@sha256:" + std::string(64, 'a')),
  });
  auto layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 2u);
  const LayoutImage& img = layout->images[0];
  EXPECT_EQ(img.error, "");
  EXPECT_EQ(img.target.digest, m.digest);
  EXPECT_EQ(img.tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(img.names,
            (std::vector<std::string>{"docker.io/library/app:v1",
                                      "registry.local:5000/app@sha256:" + std::string(64, 'a')}));
  EXPECT_EQ(img.content.size(), 2u);
  EXPECT_EQ(layout->images[1].target.digest, other.digest);
  EXPECT_EQ(layout->images[1].tags, std::vector<std::string>{"stable"});
}

TEST(OciLayoutTest, TwoImagesSharingALayerEachListIt) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  LayoutBlob base = w.Layer("shared base layer");
  LayoutBlob a_top = w.Layer("a's own layer");
  LayoutBlob b_top = w.Layer("b's own layer");
  LayoutBlob ca = w.Config("a");
  LayoutBlob cb = w.Config("b");
  LayoutBlob a = w.Manifest(ca, {base, a_top});
  // b's manifest carries no mediaType (as umoci writes them): inferred.
  LayoutBlob b = w.Manifest(cb, {base, b_top}, /*with_media_type=*/false);
  w.WriteIndexJson({LayoutWriter::Entry(a, "a"), LayoutWriter::Entry(b, "b")});

  auto layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 2u);
  EXPECT_EQ(layout->images[0].error, "");
  EXPECT_EQ(layout->images[1].error, "");
  EXPECT_EQ(Digests(layout->images[0].content),
            (std::vector<std::string>{ca.digest, base.digest, a_top.digest}));
  EXPECT_EQ(Digests(layout->images[1].content),
            (std::vector<std::string>{cb.digest, base.digest, b_top.digest}));
}

TEST(OciLayoutTest, NestedIndexContentExcludesTheTarget) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  LayoutBlob shared = w.Layer("shared by both platforms");
  LayoutBlob amd_cfg = w.Config("amd64");
  LayoutBlob amd_layer = w.Layer("amd64 binaries");
  LayoutBlob arm_cfg = w.Config("arm64");
  LayoutBlob arm_layer = w.Layer("arm64 binaries");
  LayoutBlob amd = w.Manifest(amd_cfg, {shared, amd_layer});
  LayoutBlob arm = w.Manifest(arm_cfg, {shared, arm_layer});
  LayoutBlob inner = w.Index({amd, arm});
  LayoutBlob outer = w.Index({inner});
  w.WriteIndexJson({LayoutWriter::Entry(outer, "multi")});

  auto layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 1u);
  const LayoutImage& img = layout->images[0];
  EXPECT_EQ(img.error, "");
  EXPECT_TRUE(SameBlob(img.target, outer));
  // Depth first, distinct, without the target.
  std::vector<LayoutBlob> want = {inner, amd, amd_cfg, shared, amd_layer, arm, arm_cfg, arm_layer};
  ASSERT_EQ(img.content.size(), want.size()) << ::testing::PrintToString(Digests(img.content));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(SameBlob(img.content[i], want[i])) << i;
}

TEST(OciLayoutTest, AcceptsLayoutVersion1xAndDockerTypes) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  WriteFile(tmp.path() / "oci-layout", R"({"imageLayoutVersion":"1.1.0"})");
  LayoutBlob cfg = w.Blob("application/vnd.docker.container.image.v1+json", "{\"os\":\"linux\"}");
  LayoutBlob layer = w.Blob("application/vnd.docker.image.rootfs.diff.tar.gzip", "gz bytes");
  Json m = {{"schemaVersion", 2},
            {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
            {"config", Desc(cfg)},
            {"layers", {Desc(layer)}}};
  LayoutBlob manifest = w.Blob("application/vnd.docker.distribution.manifest.v2+json", m.dump());
  w.WriteIndexJson({LayoutWriter::Entry(manifest, "docker")});
  auto layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 1u);
  EXPECT_EQ(layout->images[0].error, "");
  EXPECT_EQ(Digests(layout->images[0].content),
            (std::vector<std::string>{cfg.digest, layer.digest}));
}

TEST(OciLayoutTest, FindRootsReturnsTheTopsOfTwoImages) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  // Image 1: index -> two platform manifests.
  LayoutBlob shared = w.Layer("common");
  LayoutBlob m1 = w.Manifest(w.Config("p1"), {shared, w.Layer("p1 layer")});
  LayoutBlob m2 = w.Manifest(w.Config("p2"), {shared, w.Layer("p2 layer")}, false);
  LayoutBlob index = w.Index({m1, m2});
  // Image 2: a manifest without mediaType, sharing a layer with image 1.
  LayoutBlob single = w.Manifest(w.Config("single"), {shared}, /*with_media_type=*/false);
  // Blobs that are not manifests: ignored.
  LayoutBlob not_json = w.Layer("\x1f\x8b not json at all");
  LayoutBlob json_config = w.Config("looks like json");
  // No index.json: FindRoots does not need it.
  std::vector<std::string> hexes;
  for (const auto& entry : fs::directory_iterator(tmp.path() / "blobs" / "sha256")) {
    hexes.push_back(entry.path().filename().string());
  }
  hexes.push_back("not-a-hex");  // ignored
  std::reverse(hexes.begin(), hexes.end());

  std::vector<LayoutImage> roots = FindRoots(tmp.path().string(), hexes);
  ASSERT_EQ(roots.size(), 2u);
  std::vector<std::string> want = {index.digest, single.digest};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(roots[0].target.digest, want[0]);
  EXPECT_EQ(roots[1].target.digest, want[1]);
  for (const LayoutImage& r : roots) {
    EXPECT_EQ(r.error, "") << r.target.digest;
    if (r.target.digest == index.digest) {
      EXPECT_TRUE(SameBlob(r.target, index));
      EXPECT_EQ(r.content.size(), 7u);  // m1, cfg, shared, layer, m2, cfg, layer
      auto d = Digests(r.content);
      EXPECT_NE(std::find(d.begin(), d.end(), m1.digest), d.end());
      EXPECT_NE(std::find(d.begin(), d.end(), m2.digest), d.end());
    } else {
      // Inferred as an OCI manifest.
      EXPECT_TRUE(SameBlob(r.target, single));
      EXPECT_EQ(r.content.size(), 2u);
    }
  }
  // Only the platform manifests given: each is its own root.
  std::vector<LayoutImage> platform =
      FindRoots(tmp.path().string(), {m2.digest.substr(7), m1.digest.substr(7)});
  ASSERT_EQ(platform.size(), 2u);
  EXPECT_LT(platform[0].target.digest, platform[1].target.digest);
  (void)not_json;
  (void)json_config;
}

TEST(OciLayoutTest, VerifyDigestsOffChecksSizesOnly) {
  TempDir tmp;
  LayoutWriter w(tmp.path());
  LayoutBlob layer = w.Layer("original bytes");
  LayoutBlob m = w.Image("app", {layer});
  w.WriteIndexJson({LayoutWriter::Entry(m, "app")});
  WriteFile(w.BlobPath(layer), "0riginal bytes");  // same size, other bytes
  ReadOptions no_hash;
  no_hash.verify_digests = false;
  auto layout = ReadLayout(tmp.path().string(), no_hash);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->images[0].error, "");
  layout = ReadLayout(tmp.path().string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_NE(layout->images[0].error, "");
}

// --- Malformed layouts -----------------------------------------------------

// A layout with a valid image tagged "good" beside the faulty one(s): the
// faults must not spoil it.
class MalformedTest : public ::testing::Test {
 protected:
  MalformedTest() : w_(tmp_.path()) {
    good_layer_ = w_.Layer("good layer");
    good_ = w_.Image("good", {good_layer_});
  }
  std::string Dir() const { return tmp_.path().string(); }

  // Reads the layout with `bad` tagged "bad" and "good"; returns the bad
  // image's error after checking the good one.
  std::string BadImageError(const LayoutBlob& bad, const ReadOptions& options = {}) {
    w_.WriteIndexJson({LayoutWriter::Entry(bad, "bad"), LayoutWriter::Entry(good_, "good")});
    auto layout = ReadLayout(Dir(), options);
    EXPECT_TRUE(layout.ok()) << layout.status();
    if (!layout.ok()) return "";
    const LayoutImage* good = FindByTag(*layout, "good");
    const LayoutImage* img = FindByTag(*layout, "bad");
    EXPECT_NE(good, nullptr);
    EXPECT_NE(img, nullptr);
    if (good == nullptr || img == nullptr) return "";
    EXPECT_EQ(good->error, "");
    EXPECT_TRUE(SameBlob(good->target, good_));
    EXPECT_EQ(Digests(good->content).size(), 2u);
    EXPECT_NE(img->error, "") << "the bad image reads OK";
    return img->error;
  }

  TempDir tmp_;
  LayoutWriter w_;
  LayoutBlob good_layer_;
  LayoutBlob good_;
};

TEST_F(MalformedTest, MissingBlob) {
  LayoutBlob missing = LayoutWriter::DescribeBytes(kLayerType, "never written");
  LayoutBlob m = w_.Image("bad", {w_.Layer("present"), missing});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(missing)));
  EXPECT_TRUE(Has(error, "missing"));
}

TEST_F(MalformedTest, MissingManifestBlobKeepsContentEmpty) {
  LayoutBlob missing = LayoutWriter::DescribeBytes(kManifestType, "{}");
  std::string error = BadImageError(missing);
  EXPECT_TRUE(Has(error, w_.PathString(missing)));
}

TEST_F(MalformedTest, WrongSize) {
  LayoutBlob layer = w_.Layer("twelve bytes");
  LayoutBlob wrong = layer;
  wrong.size += 1;
  LayoutBlob m = w_.Image("bad", {wrong});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(layer)));
  EXPECT_TRUE(Has(error, "is 12 bytes, its descriptor says 13"));
}

TEST_F(MalformedTest, WrongDigest) {
  LayoutBlob layer = w_.Layer("the bytes as written");
  LayoutBlob m = w_.Image("bad", {layer});
  WriteFile(w_.BlobPath(layer), "the bytes as altered");  // same size
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(layer)));
  EXPECT_TRUE(Has(error, "does not match its digest"));
  // Without hashing, the same layout reads OK (sizes agree).
  ReadOptions no_hash;
  no_hash.verify_digests = false;
  auto layout = ReadLayout(Dir(), no_hash);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(FindByTag(*layout, "bad")->error, "");
}

TEST_F(MalformedTest, AlteredManifest) {
  LayoutBlob m = w_.Image("bad", {w_.Layer("x")});
  std::string bytes = ReadFileText(w_.BlobPath(m));
  bytes[bytes.size() - 1] = ' ';  // '}' -> ' ': same size, other digest
  WriteFile(w_.BlobPath(m), bytes);
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m)));
  EXPECT_TRUE(Has(error, "does not match its digest"));
}

TEST_F(MalformedTest, BadJsonInManifest) {
  LayoutBlob m = w_.Blob(kManifestType, R"({"schemaVersion": 2, "config": )");
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m) + ": not valid JSON"));
}

TEST_F(MalformedTest, ManifestMediaTypeDiffersFromDescriptor) {
  Json doc = {{"schemaVersion", 2},
              {"mediaType", kIndexType},
              {"config", Desc(w_.Config("c"))},
              {"layers", Json::array()}};
  LayoutBlob m = w_.Blob(kManifestType, doc.dump());
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m)));
  EXPECT_TRUE(Has(error, "does not match its descriptor's " + std::string(kManifestType)));
}

TEST_F(MalformedTest, InferredKindDiffersFromDescriptor) {
  // An index without mediaType, listed as a manifest.
  Json doc = {{"schemaVersion", 2}, {"manifests", {Desc(good_)}}};
  LayoutBlob m = w_.Blob(kManifestType, doc.dump());
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m) + ": content is not an image manifest"));
}

TEST_F(MalformedTest, UnknownLayerMediaType) {
  LayoutBlob odd = w_.Blob("application/x-mystery", "???");
  LayoutBlob m = w_.Image("bad", {w_.Layer("fine"), odd});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m) + ": layers[1]: unknown media type"));
  EXPECT_TRUE(Has(error, "application/x-mystery"));
}

TEST_F(MalformedTest, UnknownTargetMediaType) {
  LayoutBlob m = w_.Image("bad", {w_.Layer("fine")});
  m.media_type = "application/vnd.example.thing";
  std::string error = BadImageError(m);
  EXPECT_TRUE(
      Has(error, (tmp_.path() / "index.json").string() + ": manifests[0]: unknown media type"));
}

TEST_F(MalformedTest, LayerIsNotAnIndexEntry) {
  LayoutBlob layer = w_.Layer("not a manifest");
  std::string error = BadImageError(layer);
  EXPECT_TRUE(Has(error, "is not a manifest or an index"));
  EXPECT_TRUE(Has(error, (tmp_.path() / "index.json").string()));
}

// A manifest whose layer descriptor is `layer` verbatim.
LayoutBlob ManifestWithRawLayer(LayoutWriter& w, const Json& layer) {
  Json doc = {{"schemaVersion", 2},
              {"mediaType", kManifestType},
              {"config", Desc(w.Config("raw"))},
              {"layers", {layer}}};
  return w.Blob(kManifestType, doc.dump());
}

TEST_F(MalformedTest, DigestLeavingTheLayout) {
  // A file the traversal would reach, if it were followed.
  WriteFile(tmp_.path() / "escape", "x");
  LayoutBlob m = ManifestWithRawLayer(
      w_, Json{{"mediaType", kLayerType}, {"digest", "sha256:../../escape"}, {"size", 1}});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m) + ": layers[0]: invalid digest"));
}

TEST_F(MalformedTest, UnsupportedDigestAlgorithm) {
  LayoutBlob m = ManifestWithRawLayer(
      w_,
      Json{{"mediaType", kLayerType}, {"digest", "sha512:" + std::string(128, 'a')}, {"size", 1}});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(m) + ": layers[0]: unsupported digest algorithm"));
}

TEST_F(MalformedTest, UppercaseHexIsInvalid) {
  std::string hex = Sha256Hex("x");
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  LayoutBlob m = ManifestWithRawLayer(
      w_, Json{{"mediaType", kLayerType}, {"digest", "sha256:" + hex}, {"size", 1}});
  EXPECT_TRUE(Has(BadImageError(m), "invalid digest"));
}

TEST_F(MalformedTest, NegativeOrFractionalSize) {
  LayoutBlob layer = w_.Layer("sized");
  LayoutBlob m = ManifestWithRawLayer(
      w_, Json{{"mediaType", kLayerType}, {"digest", layer.digest}, {"size", -5}});
  EXPECT_TRUE(Has(BadImageError(m), w_.PathString(m) + ": layers[0]: negative descriptor size"));
  LayoutBlob m2 = ManifestWithRawLayer(
      w_, Json{{"mediaType", kLayerType}, {"digest", layer.digest}, {"size", 5.5}});
  EXPECT_TRUE(Has(BadImageError(m2), "integer \"size\""));
}

TEST_F(MalformedTest, TraversalDigestInIndexJson) {
  w_.WriteIndexJson({Json{{"mediaType", kManifestType},
                          {"digest", "sha256:../../../etc/passwd"},
                          {"size", 10},
                          {"annotations", {{kRefName, "bad"}}}},
                     Json{{"mediaType", kManifestType},
                          {"digest", "md5:d41d8cd98f00b204e9800998ecf8427e"},
                          {"size", 10},
                          {"annotations", {{kRefName, "md5"}}}},
                     LayoutWriter::Entry(good_, "good")});
  auto layout = ReadLayout(Dir());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 3u);
  const std::string index_json = (tmp_.path() / "index.json").string();
  EXPECT_TRUE(Has(FindByTag(*layout, "bad")->error, index_json + ": manifests[0]: invalid digest"));
  EXPECT_EQ(FindByTag(*layout, "bad")->target.digest, "");
  EXPECT_TRUE(Has(FindByTag(*layout, "md5")->error,
                  index_json + ": manifests[1]: unsupported digest algorithm"));
  EXPECT_EQ(FindByTag(*layout, "good")->error, "");
}

TEST_F(MalformedTest, BlobIsASymlink) {
  // The real bytes live outside the layout; the blob path links to them.
  TempDir outside;
  const std::string bytes = "layer bytes kept elsewhere";
  LayoutBlob layer = LayoutWriter::DescribeBytes(kLayerType, bytes);
  WriteFile(outside.path() / "layer", bytes);
  fs::create_symlink(outside.path() / "layer", w_.BlobPath(layer));
  LayoutBlob m = w_.Image("bad", {layer});
  std::string error = BadImageError(m);
  EXPECT_TRUE(Has(error, w_.PathString(layer) + ": is a symbolic link"));
}

TEST_F(MalformedTest, BlobIsADirectory) {
  LayoutBlob layer = LayoutWriter::DescribeBytes(kLayerType, "dir");
  fs::create_directory(w_.BlobPath(layer));
  LayoutBlob m = w_.Image("bad", {layer});
  EXPECT_TRUE(Has(BadImageError(m), w_.PathString(layer) + ": is a directory"));
}

TEST_F(MalformedTest, ManifestLargerThanTheLimit) {
  LayoutBlob m = w_.Image("bad", {w_.Layer("x")});
  w_.WriteIndexJson({LayoutWriter::Entry(m, "bad")});
  ReadOptions small;
  small.max_manifest_size = m.size - 1;
  auto layout = ReadLayout(Dir(), small);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_TRUE(Has(layout->images[0].error, w_.PathString(m)));
  EXPECT_TRUE(Has(layout->images[0].error, "larger than the limit"));
  small.max_manifest_size = m.size;
  layout = ReadLayout(Dir(), small);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->images[0].error, "");
}

TEST_F(MalformedTest, SameDigestListedWithAnotherSize) {
  LayoutBlob other = good_;
  other.size += 100;
  w_.WriteIndexJson({LayoutWriter::Entry(good_, "good"), LayoutWriter::Entry(other, "liar")});
  auto layout = ReadLayout(Dir());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 1u);
  EXPECT_TRUE(Has(layout->images[0].error, "index.json: manifests[1]"));
  EXPECT_EQ(layout->images[0].tags, (std::vector<std::string>{"good", "liar"}));
}

// An index (under a fake digest) whose entries are `entries`, each a
// (fake hex, size) of another index; sizes are the fixed point.
std::string IndexBytes(const std::vector<std::pair<std::string, int64_t>>& entries) {
  Json doc = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", Json::array()}};
  for (const auto& [hex, size] : entries) {
    doc["manifests"].push_back(
        Json{{"mediaType", kIndexType}, {"digest", "sha256:" + hex}, {"size", size}});
  }
  return doc.dump();
}

TEST_F(MalformedTest, IndexCycle) {
  // Real digests make a cycle impossible: fake ones, read without hashing.
  // Self: H lists H.
  const std::string h = Sha256Hex("self cycle");
  int64_t n = 0;
  for (int i = 0; i < 5; ++i) n = static_cast<int64_t>(IndexBytes({{h, n}}).size());
  WriteFile(w_.BlobPathOfHex(h), IndexBytes({{h, n}}));
  LayoutBlob self{kIndexType, "sha256:" + h, n};

  // Two: A lists B, B lists A.
  const std::string a = Sha256Hex("cycle a");
  const std::string b = Sha256Hex("cycle b");
  int64_t na = 0;
  int64_t nb = 0;
  for (int i = 0; i < 5; ++i) {
    na = static_cast<int64_t>(IndexBytes({{b, nb}}).size());
    nb = static_cast<int64_t>(IndexBytes({{a, na}}).size());
  }
  WriteFile(w_.BlobPathOfHex(a), IndexBytes({{b, nb}}));
  WriteFile(w_.BlobPathOfHex(b), IndexBytes({{a, na}}));
  ASSERT_EQ(fs::file_size(w_.BlobPathOfHex(a)), static_cast<uintmax_t>(na));
  ASSERT_EQ(fs::file_size(w_.BlobPathOfHex(b)), static_cast<uintmax_t>(nb));
  LayoutBlob two{kIndexType, "sha256:" + a, na};

  ReadOptions no_hash;
  no_hash.verify_digests = false;
  std::string error = BadImageError(self, no_hash);
  EXPECT_TRUE(Has(error, w_.BlobPathOfHex(h).string() + ": manifests[0]"));
  EXPECT_TRUE(Has(error, "cycle"));

  error = BadImageError(two, no_hash);
  EXPECT_TRUE(Has(error, w_.BlobPathOfHex(b).string() + ": manifests[0]"));
  EXPECT_TRUE(Has(error, "cycle"));

  LayoutImage direct = ReadImage(Dir(), two, no_hash);
  EXPECT_TRUE(Has(direct.error, "cycle"));
  // A stays out of its own content; B, reached, is listed.
  EXPECT_EQ(Digests(direct.content), std::vector<std::string>{"sha256:" + b});

  // With hashing the fakes are caught first.
  EXPECT_TRUE(Has(BadImageError(two), "does not match its digest"));
}

// --- Faults of the layout itself ---------------------------------------------

class LayoutFaultTest : public ::testing::Test {
 protected:
  LayoutFaultTest() : w_(tmp_.path()) {
    m_ = w_.Image("app", {w_.Layer("layer")});
    w_.WriteIndexJson({LayoutWriter::Entry(m_, "app")});
  }
  std::string Dir() const { return tmp_.path().string(); }
  std::string PathOf(const std::string& rel) const { return (tmp_.path() / rel).string(); }

  TempDir tmp_;
  LayoutWriter w_;
  LayoutBlob m_;
};

TEST_F(LayoutFaultTest, ValidToStartWith) {
  auto layout = ReadLayout(Dir());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->images.size(), 1u);
  EXPECT_EQ(layout->images[0].error, "");
  // A trailing slash is the same directory.
  EXPECT_TRUE(ReadLayout(Dir() + "/").ok());
}

TEST_F(LayoutFaultTest, BadJsonInIndexJson) {
  WriteFile(tmp_.path() / "index.json", R"({"schemaVersion":2,"manifests":[)");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(layout.status())) << layout.status();
  EXPECT_TRUE(
      Has(std::string(layout.status().message()), PathOf("index.json") + ": not valid JSON"));
}

TEST_F(LayoutFaultTest, IndexJsonShape) {
  WriteFile(tmp_.path() / "index.json", R"({"schemaVersion":2})");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(Has(std::string(layout.status().message()), PathOf("index.json")));
  WriteFile(tmp_.path() / "index.json", R"({"schemaVersion":1,"manifests":[]})");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  WriteFile(tmp_.path() / "index.json", R"([1,2])");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  WriteFile(tmp_.path() / "index.json", R"({"manifests":[7]})");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  fs::remove(tmp_.path() / "index.json");
  layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(Has(std::string(layout.status().message()), PathOf("index.json")));
  // An empty layout is fine.
  WriteFile(tmp_.path() / "index.json", R"({"schemaVersion":2,"manifests":[]})");
  layout = ReadLayout(Dir());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_TRUE(layout->images.empty());
}

TEST_F(LayoutFaultTest, MissingOciLayout) {
  fs::remove(tmp_.path() / "oci-layout");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(layout.status())) << layout.status();
  EXPECT_TRUE(Has(std::string(layout.status().message()), PathOf("oci-layout")));
}

TEST_F(LayoutFaultTest, OciLayoutVersion) {
  WriteFile(tmp_.path() / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(Has(std::string(layout.status().message()), PathOf("oci-layout")));
  WriteFile(tmp_.path() / "oci-layout", R"({"imageLayoutVersion":"1.0"})");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  WriteFile(tmp_.path() / "oci-layout", R"({"imageLayoutVersion":1})");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  WriteFile(tmp_.path() / "oci-layout", "imageLayoutVersion 1.0.0");
  EXPECT_FALSE(ReadLayout(Dir()).ok());
  WriteFile(tmp_.path() / "oci-layout", R"({"imageLayoutVersion":"1.12.3"})");
  EXPECT_TRUE(ReadLayout(Dir()).ok());
}

TEST_F(LayoutFaultTest, OciLayoutIsASymlink) {
  TempDir outside;
  WriteFile(outside.path() / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  fs::remove(tmp_.path() / "oci-layout");
  fs::create_symlink(outside.path() / "oci-layout", tmp_.path() / "oci-layout");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(
      Has(std::string(layout.status().message()), PathOf("oci-layout") + ": is a symbolic link"));
}

TEST_F(LayoutFaultTest, BlobsDirectoryIsASymlink) {
  TempDir outside;
  fs::rename(tmp_.path() / "blobs", outside.path() / "blobs");
  fs::create_symlink(outside.path() / "blobs", tmp_.path() / "blobs");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(layout.status())) << layout.status();
  EXPECT_TRUE(
      Has(std::string(layout.status().message()), PathOf("blobs") + ": is a symbolic link"));
  // ReadImage and FindRoots refuse it too.
  EXPECT_TRUE(Has(ReadImage(Dir(), m_).error, PathOf("blobs") + ": is a symbolic link"));
  std::vector<LayoutImage> roots = FindRoots(Dir(), {m_.digest.substr(7)});
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_TRUE(Has(roots[0].error, PathOf("blobs")));
}

TEST_F(LayoutFaultTest, Sha256DirectoryIsASymlink) {
  TempDir outside;
  fs::rename(tmp_.path() / "blobs" / "sha256", outside.path() / "sha256");
  fs::create_symlink(outside.path() / "sha256", tmp_.path() / "blobs" / "sha256");
  auto layout = ReadLayout(Dir());
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(
      Has(std::string(layout.status().message()), PathOf("blobs/sha256") + ": is a symbolic link"));
}

TEST_F(LayoutFaultTest, MissingDirectory) {
  auto layout = ReadLayout(PathOf("nowhere"));
  ASSERT_FALSE(layout.ok());
  EXPECT_TRUE(absl::IsNotFound(layout.status())) << layout.status();
  EXPECT_TRUE(Has(std::string(layout.status().message()), PathOf("nowhere")));
}

TEST_F(LayoutFaultTest, LayoutReachedThroughASymlinkedDir) {
  // `dir` itself may be a symlink: it is resolved once.
  TempDir other;
  fs::create_symlink(tmp_.path(), other.path() / "link");
  auto layout = ReadLayout((other.path() / "link").string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->images[0].error, "");
}

// --- Layouts written by umoci and skopeo -------------------------------------

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `command` with sh; returns its exit code, `output` its stdout and
// stderr.
int RunShell(const std::string& command, std::string* output) {
  output->clear();
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ToolLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HaveTool("umoci")) << "umoci not found: run scripts/setup.sh";
    ASSERT_TRUE(HaveTool("skopeo")) << "skopeo not found: run scripts/setup.sh";
    for (const char* d : {"home", "config", "data", "cache", "run", "tmp"}) {
      fs::create_directories(tmp_.path() / d);
    }
    const fs::path& t = tmp_.path();
    // The tools see only this test's directories. As root, skopeo writes its
    // blob-info cache to /var/lib/containers/cache; c/image decides "root"
    // from _CONTAINERS_ROOTLESS_UID when set, so this keeps the cache under
    // XDG_DATA_HOME instead.
    env_ = "env HOME=" + ShellQuote((t / "home").string()) +
           " XDG_CONFIG_HOME=" + ShellQuote((t / "config").string()) +
           " XDG_DATA_HOME=" + ShellQuote((t / "data").string()) +
           " XDG_CACHE_HOME=" + ShellQuote((t / "cache").string()) +
           " XDG_RUNTIME_DIR=" + ShellQuote((t / "run").string()) +
           " TMPDIR=" + ShellQuote((t / "tmp").string()) + " _CONTAINERS_ROOTLESS_UID=65534 ";
    // umoci needs --rootless to write layers when not root.
    rootless_ = ::geteuid() != 0 ? " --rootless" : "";
  }

  // Runs a tool command line; fails the test when it fails.
  void Tool(const std::string& args) {
    std::string out;
    int rc = RunShell(env_ + args, &out);
    ASSERT_EQ(rc, 0) << args << "\n" << out;
  }
  std::string ToolOutput(const std::string& args) {
    std::string out;
    int rc = RunShell(env_ + args, &out);
    EXPECT_EQ(rc, 0) << args << "\n" << out;
    return out;
  }

  // tag -> digest, as index.json says.
  static std::map<std::string, std::string> IndexTags(const fs::path& layout) {
    std::map<std::string, std::string> tags;
    Json idx = Json::parse(ReadFileText(layout / "index.json"));
    for (const Json& e : idx["manifests"]) {
      tags[e["annotations"][kRefName].get<std::string>()] = e["digest"].get<std::string>();
    }
    return tags;
  }

  static int64_t FileSize(const fs::path& layout, const std::string& digest) {
    return static_cast<int64_t>(fs::file_size(layout / "blobs" / "sha256" / digest.substr(7)));
  }

  // The layers `umoci stat` lists for `image`: digest -> size.
  std::map<std::string, int64_t> StatLayers(const std::string& image) {
    std::map<std::string, int64_t> layers;
    std::string out = ToolOutput("umoci stat --json --image " + ShellQuote(image));
    Json stat = Json::parse(out, nullptr, false);
    EXPECT_FALSE(stat.is_discarded()) << out;
    if (stat.is_discarded()) return layers;
    for (const Json& h : stat["history"]) {
      if (h.contains("layer") && h["layer"].is_object()) {
        layers[h["layer"]["digest"].get<std::string>()] = h["layer"]["size"].get<int64_t>();
      }
    }
    return layers;
  }

  static void ExpectSizesAreFileSizes(const fs::path& dir, const LayoutImage& img) {
    EXPECT_EQ(img.target.size, FileSize(dir, img.target.digest)) << img.target.digest;
    for (const LayoutBlob& b : img.content) {
      EXPECT_EQ(b.size, FileSize(dir, b.digest)) << b.digest;
    }
  }

  static std::vector<std::string> ContentOfType(const LayoutImage& img, const std::string& type) {
    std::vector<std::string> out;
    for (const LayoutBlob& b : img.content) {
      if (b.media_type == type) out.push_back(b.digest);
    }
    return out;
  }

  TempDir tmp_;
  std::string env_;
  std::string rootless_;
};

TEST_F(ToolLayoutTest, UmociAndSkopeoLayouts) {
  const fs::path l = tmp_.path() / "L";
  const fs::path l2 = tmp_.path() / "L2";
  const std::string lq = ShellQuote(l.string());
  WriteFile(tmp_.path() / "hello", "hello from umoci\n");
  WriteFile(tmp_.path() / "world", "a second layer\n");

  ASSERT_NO_FATAL_FAILURE(Tool("umoci init --layout " + lq));
  ASSERT_NO_FATAL_FAILURE(Tool("umoci new --image " + ShellQuote(l.string() + ":base")));
  ASSERT_NO_FATAL_FAILURE(Tool("umoci insert" + rootless_ + " --image " +
                               ShellQuote(l.string() + ":base") + " " +
                               ShellQuote((tmp_.path() / "hello").string()) + " /etc/hello"));
  ASSERT_NO_FATAL_FAILURE(Tool("umoci tag --image " + ShellQuote(l.string() + ":base") + " v2"));
  ASSERT_NO_FATAL_FAILURE(Tool("umoci insert" + rootless_ + " --image " +
                               ShellQuote(l.string() + ":base") + " --tag v3 " +
                               ShellQuote((tmp_.path() / "world").string()) + " /etc/world"));

  std::map<std::string, std::string> tags = IndexTags(l);
  ASSERT_EQ(tags.size(), 3u) << ReadFileText(l / "index.json");
  ASSERT_EQ(tags["base"], tags["v2"]);
  ASSERT_NE(tags["base"], tags["v3"]);

  auto layout = ReadLayout(l.string());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->images.size(), 2u);
  const LayoutImage* base = FindByTag(*layout, "base");
  const LayoutImage* v3 = FindByTag(*layout, "v3");
  ASSERT_NE(base, nullptr);
  ASSERT_NE(v3, nullptr);
  EXPECT_EQ(base->error, "");
  EXPECT_EQ(v3->error, "");
  EXPECT_EQ(base->tags, (std::vector<std::string>{"base", "v2"}));
  EXPECT_EQ(v3->tags, std::vector<std::string>{"v3"});
  EXPECT_TRUE(base->names.empty());
  EXPECT_EQ(base->target.digest, tags["base"]);
  EXPECT_EQ(v3->target.digest, tags["v3"]);
  EXPECT_EQ(base->target.media_type, kManifestType);
  ExpectSizesAreFileSizes(l, *base);
  ExpectSizesAreFileSizes(l, *v3);

  // umoci's manifests carry no mediaType (inferred); config then layers.
  ASSERT_EQ(base->content.size(), 2u);
  EXPECT_EQ(base->content[0].media_type, kConfigType);
  ASSERT_EQ(v3->content.size(), 3u);
  EXPECT_EQ(v3->content[0].media_type, kConfigType);
  EXPECT_NE(base->content[0].digest, v3->content[0].digest);

  // The layers are those umoci stat reports, with its sizes; base's layer
  // is shared by v3 and listed in both.
  std::map<std::string, int64_t> base_layers = StatLayers(l.string() + ":base");
  std::map<std::string, int64_t> v3_layers = StatLayers(l.string() + ":v3");
  ASSERT_EQ(base_layers.size(), 1u);
  ASSERT_EQ(v3_layers.size(), 2u);
  std::vector<std::string> base_content_layers = ContentOfType(*base, kLayerType);
  std::vector<std::string> v3_content_layers = ContentOfType(*v3, kLayerType);
  ASSERT_EQ(base_content_layers.size(), 1u);
  ASSERT_EQ(v3_content_layers.size(), 2u);
  EXPECT_EQ(base_content_layers[0], base_layers.begin()->first);
  EXPECT_EQ(v3_content_layers[0], base_content_layers[0]);  // shared, first
  for (const LayoutBlob& b : v3->content) {
    if (b.media_type != kLayerType) continue;
    ASSERT_TRUE(v3_layers.contains(b.digest)) << b.digest;
    EXPECT_EQ(v3_layers[b.digest], b.size);
  }

  // All of umoci's blobs: the roots are manifests (base, v3 and the empty
  // one `umoci new` wrote and `umoci insert` superseded), never a config or
  // a layer, and never each other's content.
  std::vector<std::string> hexes;
  for (const auto& e : fs::directory_iterator(l / "blobs" / "sha256")) {
    hexes.push_back(e.path().filename().string());
  }
  std::vector<LayoutImage> roots = FindRoots(l.string(), hexes);
  std::set<std::string> root_digests;
  for (const LayoutImage& r : roots) {
    EXPECT_EQ(r.error, "") << r.target.digest;
    EXPECT_EQ(r.target.media_type, kManifestType);
    EXPECT_EQ(r.target.size, FileSize(l, r.target.digest));
    root_digests.insert(r.target.digest);
  }
  EXPECT_TRUE(root_digests.contains(tags["base"]));
  EXPECT_TRUE(root_digests.contains(tags["v3"]));
  for (const LayoutImage* img : {base, v3}) {
    for (const LayoutBlob& b : img->content) EXPECT_FALSE(root_digests.contains(b.digest));
  }
  // Every blob is a root or the content of one.
  std::set<std::string> reached = root_digests;
  for (const LayoutImage& r : roots) {
    for (const LayoutBlob& b : r.content) reached.insert(b.digest);
  }
  EXPECT_EQ(reached.size(), hexes.size());

  // skopeo copies base into a new layout under the tag "copied". Same
  // format (OCI to OCI, nothing to recompress): the manifest is copied
  // byte for byte, so its digest is unchanged.
  const std::string copy = "skopeo --insecure-policy copy --quiet ";
  ASSERT_NO_FATAL_FAILURE(Tool(copy + ShellQuote("oci:" + l.string() + ":base") + " " +
                               ShellQuote("oci:" + l2.string() + ":copied")));
  auto copied = ReadLayout(l2.string());
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_EQ(copied->images.size(), 1u);
  const LayoutImage& c = copied->images[0];
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.tags, std::vector<std::string>{"copied"});
  EXPECT_EQ(c.target.digest, base->target.digest);
  EXPECT_EQ(c.target.size, base->target.size);
  EXPECT_EQ(Digests(c.content), Digests(base->content));
  ExpectSizesAreFileSizes(l2, c);

  // And v3 beside it: the shared layer is stored once, listed in both.
  ASSERT_NO_FATAL_FAILURE(Tool(copy + ShellQuote("oci:" + l.string() + ":v3") + " " +
                               ShellQuote("oci:" + l2.string() + ":v3copy")));
  copied = ReadLayout(l2.string());
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_EQ(copied->images.size(), 2u);
  const LayoutImage* c3 = FindByTag(*copied, "v3copy");
  ASSERT_NE(c3, nullptr);
  EXPECT_EQ(c3->error, "");
  EXPECT_EQ(c3->target.digest, v3->target.digest);
  EXPECT_EQ(Digests(c3->content), Digests(v3->content));
  ExpectSizesAreFileSizes(l2, *c3);
  EXPECT_NE(FindByDigest(*copied, base->target.digest), nullptr);
  size_t files = static_cast<size_t>(
      std::distance(fs::directory_iterator(l2 / "blobs" / "sha256"), fs::directory_iterator()));
  std::set<std::string> all;
  for (const LayoutImage& img : copied->images) {
    all.insert(img.target.digest);
    for (const LayoutBlob& b : img.content) all.insert(b.digest);
  }
  EXPECT_EQ(all.size(), files);  // 2 manifests, 2 configs, 2 layers (1 shared)
  EXPECT_EQ(files, 6u);
}

}  // namespace
}  // namespace refstore::content
