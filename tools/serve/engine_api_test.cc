// Tests of EngineApi: requests handed to Handle directly (no socket) over a
// real Store in a temporary directory, with images made by the Store API.
#include "serve/engine_api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "refstore/content/sha256.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore_tool {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t kNow = 1767225600;  // the API's clock
constexpr int64_t kSharedLayerSize = 1000;

// A digest of `what` (a fake blob: the store here keeps no content).
std::string Digest(const std::string& what) {
  return "sha256:" + refstore::content::Sha256Hex(what);
}

// The JSON object keys of `j`, in order.
std::vector<std::string> Keys(const Json& j) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  return keys;
}

// The header `name` of `r` (exact case, as EngineApi sets them), or "".
std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class EngineApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/engine_api_test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "spool");
    auto store = refstore::Store::Open((dir_ / "store").string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    EngineApiOptions options;
    options.ns = "default";
    options.store_dir = (dir_ / "store").string();
    options.spool_dir = (dir_ / "spool").string();
    options.now = [] { return absl::FromUnixSeconds(kNow); };
    options.version = "9.9.9-test";
    api_ = std::make_unique<EngineApi>(store_.get(), options);
  }

  void TearDown() override {
    api_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static refstore::OpContext Ctx(int64_t t = kNow) { return {"default", absl::FromUnixSeconds(t)}; }

  // Image `n` created at time `t`: a manifest (100 bytes), a layer of its
  // own (500 bytes) and the layer every image shares (1000 bytes).
  std::string MakeImage(int n, std::optional<std::string> name, int64_t t = kNow - 1000) {
    auto id = store_->CreateImage(
        Ctx(t),
        {.name = std::move(name),
         .target = {refstore::test_oci::kManifestType, Digest("manifest" + std::to_string(n)), 100},
         .content = {{refstore::test_oci::kLayerType, Digest("layer" + std::to_string(n)), 500},
                     {refstore::test_oci::kLayerType, Digest("shared"), kSharedLayerSize}}});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  // A container `id` (64 hex) of `image`, made by the Store API.
  void MakeContainer(const std::string& id, const std::string& image, bool running) {
    auto made = store_->CreateContainer(Ctx(), id, image, running);
    ASSERT_TRUE(made.ok()) << made.status();
  }

  HttpResponse Call(const std::string& method, const std::string& path, Pairs query = {},
                    std::string body = "", Pairs headers = {}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    r.body = std::move(body);
    r.body_bytes = static_cast<int64_t>(r.body.size());
    r.headers = std::move(headers);
    return api_->Handle(r);
  }

  // The response's body as JSON (discarded when it is not JSON).
  static Json Body(const HttpResponse& r) { return Json::parse(r.body, nullptr, false); }
  static std::string MessageOf(const HttpResponse& r) {
    Json j = Body(r);
    if (!j.is_object() || !j.contains("message") || !j["message"].is_string()) return "<none>";
    return j["message"].get<std::string>();
  }

  // POST /containers/create of `image`; the new container's ID.
  std::string CreateContainer(const std::string& image) {
    HttpResponse r = Call("POST", "/containers/create", {}, Json{{"Image", image}}.dump(),
                          {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    Json j = Body(r);
    return j.is_object() && j.contains("Id") ? j["Id"].get<std::string>() : "";
  }

  std::vector<refstore::ContainerInfo> Containers() {
    auto all = store_->ListContainers(Ctx());
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<refstore::ContainerInfo>{};
  }

  // The entry of `list` whose "Id" is `id` (null when none).
  static Json Find(const Json& list, const std::string& id) {
    for (const auto& e : list) {
      if (e.is_object() && e.contains("Id") && e["Id"] == id) return e;
    }
    return Json(nullptr);
  }

  fs::path dir_;
  std::unique_ptr<refstore::Store> store_;
  std::unique_ptr<EngineApi> api_;
};

TEST_F(EngineApiTest, Ping) {
  for (const std::string method : {"GET", "HEAD"}) {
    SCOPED_TRACE(method);
    HttpResponse r = Call(method, "/_ping");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "OK");
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache, no-store, must-revalidate");
    EXPECT_EQ(HeaderOf(r, "Pragma"), "no-cache");
    EXPECT_EQ(r.file_fd, -1);
  }
  EXPECT_EQ(Call("GET", "/v1.47/_ping").status, 200);
}

TEST_F(EngineApiTest, Version) {
  for (const std::string path : {"/version", "/v1.41/version"}) {
    SCOPED_TRACE(path);
    HttpResponse r = Call("GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
    Json j = Body(r);
    EXPECT_EQ(j["Version"], "9.9.9-test");
    EXPECT_EQ(j["ApiVersion"], "1.47");
    EXPECT_EQ(j["MinAPIVersion"], "1.24");
    EXPECT_EQ(j["Os"], "linux");
    EXPECT_EQ(j["Components"][0]["Name"], "Engine");
  }
}

TEST_F(EngineApiTest, Info) {
  const std::string id = MakeImage(1, "web:1.0");
  MakeContainer(std::string(64, 'a'), id, /*running=*/true);
  MakeContainer(std::string(64, 'b'), id, /*running=*/false);
  HttpResponse r = Call("GET", "/info");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Body(r);
  EXPECT_EQ(j["Containers"], 2);
  EXPECT_EQ(j["ContainersRunning"], 1);
  EXPECT_EQ(j["ContainersStopped"], 1);
  EXPECT_EQ(j["Images"], 1);
  EXPECT_EQ(j["ServerVersion"], "9.9.9-test");
  EXPECT_EQ(j["DockerRootDir"], (dir_ / "store").string());
}

TEST_F(EngineApiTest, VersionPrefixes) {
  for (const std::string path : {"/v1.24/_ping", "/v1.41/_ping", "/v1.44/_ping", "/v1.47/_ping"}) {
    EXPECT_EQ(Call("GET", path).status, 200) << path;
  }

  HttpResponse r = Call("GET", "/v1.99/images/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  EXPECT_EQ(MessageOf(r), "client version 1.99 is too new. Maximum supported API version is 1.47");
  r = Call("GET", "/v1.48/_ping");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r), "client version 1.48 is too new. Maximum supported API version is 1.47");
  r = Call("GET", "/v2.0/_ping");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r), "client version 2.0 is too new. Maximum supported API version is 1.47");

  r = Call("GET", "/v1.23/_ping");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r),
            "client version 1.23 is too old. Minimum supported API version is 1.24, please "
            "upgrade your client to a newer version");
  r = Call("GET", "/v1.12/images/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r),
            "client version 1.12 is too old. Minimum supported API version is 1.24, please "
            "upgrade your client to a newer version");
  EXPECT_EQ(Call("GET", "/v0.50/_ping").status, 400);

  // Not a version prefix: routed as it is, and found nowhere.
  for (const std::string path : {"/vx.y/_ping", "/v1/_ping", "/v1.47x/_ping", "/v1.47"}) {
    r = Call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "{\"message\":\"page not found\"}\n") << path;
  }

  // No prefix: the latest version (no VirtualSize since 1.44).
  MakeImage(1, "web:1.0");
  Json latest = Body(Call("GET", "/images/json"));
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_FALSE(latest[0].contains("VirtualSize"));
  Json v143 = Body(Call("GET", "/v1.43/images/json"));
  ASSERT_EQ(v143.size(), 1u);
  EXPECT_TRUE(v143[0].contains("VirtualSize"));
}

TEST_F(EngineApiTest, ListImagesShape) {
  const std::string tagged = MakeImage(1, "example.com/team/web:1.0", kNow - 2000);
  const std::string dangling = MakeImage(2, std::nullopt, kNow - 1000);
  auto summaries = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(summaries.ok()) << summaries.status();

  HttpResponse r = Call("GET", "/images/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  Json list = Body(r);
  ASSERT_TRUE(list.is_array()) << r.body;
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["Id"], dangling);  // newest first
  EXPECT_EQ(list[1]["Id"], tagged);
  const std::vector<std::string> keys = {"Containers", "Created",    "Id",
                                         "Labels",     "ParentId",   "RepoDigests",
                                         "RepoTags",   "SharedSize", "Size"};
  for (const auto& img : list) {
    SCOPED_TRACE(img.dump());
    EXPECT_EQ(Keys(img), keys);
    EXPECT_EQ(img["Containers"], -1);
    EXPECT_EQ(img["SharedSize"], -1);
    EXPECT_EQ(img["ParentId"], "");
    EXPECT_TRUE(img["Labels"].is_null());
    EXPECT_EQ(img["Size"], 100 + 500 + kSharedLayerSize);
  }
  EXPECT_EQ(list[1]["Created"], kNow - 2000);
  EXPECT_EQ(list[1]["RepoTags"], Json::array({"example.com/team/web:1.0"}));
  for (const auto& s : *summaries) {
    if (s.id == tagged) {
      EXPECT_FALSE(s.repo_digests.empty());
      EXPECT_EQ(list[1]["RepoDigests"], Json(s.repo_digests));
    }
  }
  EXPECT_EQ(list[0]["RepoTags"], Json::array());
  EXPECT_EQ(list[0]["RepoDigests"], Json::array());

  // Below 1.44: VirtualSize, and the <none> placeholders of a dangling image.
  list = Body(Call("GET", "/v1.43/images/json"));
  ASSERT_EQ(list.size(), 2u);
  std::vector<std::string> old_keys = keys;
  old_keys.push_back("VirtualSize");
  for (const auto& img : list) {
    EXPECT_EQ(Keys(img), old_keys);
    EXPECT_EQ(img["VirtualSize"], img["Size"]);
  }
  EXPECT_EQ(list[0]["RepoTags"], Json::array({"<none>:<none>"}));
  EXPECT_EQ(list[0]["RepoDigests"], Json::array({"<none>@<none>"}));
  EXPECT_EQ(list[1]["RepoTags"], Json::array({"example.com/team/web:1.0"}));
  EXPECT_EQ(Body(Call("GET", "/v1.44/images/json"))[0]["RepoTags"], Json::array());
}

TEST_F(EngineApiTest, ListImagesSharedSize) {
  const std::string a = MakeImage(1, "a:1");
  MakeImage(2, "b:1");
  MakeContainer(std::string(64, 'c'), a, /*running=*/false);
  for (const std::string v : {"1", "true"}) {
    Json list = Body(Call("GET", "/images/json", {{"shared-size", v}}));
    ASSERT_EQ(list.size(), 2u);
    for (const auto& img : list) {
      EXPECT_EQ(img["SharedSize"], kSharedLayerSize);
      EXPECT_EQ(img["Containers"], -1);  // as dockerd: counted only by /system/df
    }
  }
  for (const std::string v : {"0", "false", ""}) {
    Json list = Body(Call("GET", "/images/json", {{"shared-size", v}}));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]["SharedSize"], -1) << v;
  }
  // shared-size came with 1.42.
  Json list = Body(Call("GET", "/v1.41/images/json", {{"shared-size", "1"}}));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["SharedSize"], -1);
  list = Body(Call("GET", "/v1.42/images/json", {{"shared-size", "1"}}));
  EXPECT_EQ(list[0]["SharedSize"], kSharedLayerSize);
}

TEST_F(EngineApiTest, ListImagesFilters) {
  const std::string tagged = MakeImage(1, "example.com/team/web:1.0", kNow - 2000);
  const std::string dangling = MakeImage(2, std::nullopt, kNow - 1000);
  auto ids = [this](const std::string& filters) {
    HttpResponse r = Call("GET", "/images/json", {{"filters", filters}});
    EXPECT_EQ(r.status, 200) << filters << ": " << r.body;
    std::vector<std::string> out;
    for (const auto& img : Body(r)) out.push_back(img["Id"].get<std::string>());
    return out;
  };
  const std::vector<std::string> only_dangling = {dangling};
  const std::vector<std::string> only_tagged = {tagged};
  EXPECT_EQ(ids(R"({"dangling":{"true":true}})"), only_dangling);
  EXPECT_EQ(ids(R"({"dangling":["true"]})"), only_dangling);
  EXPECT_EQ(ids(R"({"dangling":{"false":true}})"), only_tagged);
  EXPECT_EQ(ids(R"({"dangling":["false"]})"), only_tagged);
  EXPECT_EQ(ids(R"({"reference":{"example.com/team/web":true}})"), only_tagged);
  EXPECT_EQ(ids(R"({})"), (std::vector<std::string>{dangling, tagged}));

  for (const std::string bad : {"{", "not json", "[]", "\"dangling\"", R"({"dangling":"true"})",
                                R"({"dangling":[true]})", R"({"dangling":{"true":"yes"}})",
                                R"({"no-such-key":["x"]})", R"({"dangling":["maybe"]})"}) {
    HttpResponse r = Call("GET", "/images/json", {{"filters", bad}});
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_NE(MessageOf(r).find("invalid filter"), std::string::npos) << bad << ": " << r.body;
  }
}

TEST_F(EngineApiTest, InspectImageByNamesWithSlashesAndColons) {
  const std::string id = MakeImage(1, "example.com/team/web:1.0");
  const std::string other = MakeImage(2, "localhost:5000/team/app:2");
  for (const std::string& path : std::vector<std::string>{
           "/images/example.com/team/web:1.0/json", "/v1.41/images/example.com/team/web:1.0/json",
           "/images/" + id + "/json", "/images/" + id.substr(7, 12) + "/json"}) {
    SCOPED_TRACE(path);
    HttpResponse r = Call("GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = Body(r);
    EXPECT_EQ(j["Id"], id);
    EXPECT_EQ(j["RepoTags"], Json::array({"example.com/team/web:1.0"}));
    EXPECT_EQ(j["Size"], 100 + 500 + kSharedLayerSize);
  }
  HttpResponse r = Call("GET", "/images/localhost:5000/team/app:2/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["Id"], other);
  EXPECT_EQ(Call("HEAD", "/images/example.com/team/web:1.0/json").status, 200);

  r = Call("GET", "/images/nosuch/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(MessageOf(r), "No such image: nosuch:latest");
  r = Call("GET", "/images/example.com/team/web:2.0/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(MessageOf(r), "No such image: example.com/team/web:2.0");
}

TEST_F(EngineApiTest, RemoveImage) {
  HttpResponse r = Call("DELETE", "/images/x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(MessageOf(r), "No such image: x:latest");

  const std::string id = MakeImage(1, "example.com/team/web:1.0");
  ASSERT_TRUE(store_->Tag(Ctx(), id, "example.com/team/web:2.0").ok());
  // One of two names: only untagged.
  r = Call("DELETE", "/images/example.com/team/web:2.0");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json::array({Json{{"Untagged", "example.com/team/web:2.0"}}}));
  EXPECT_TRUE(store_->Inspect(Ctx(), id).ok());

  // The last name: untagged and deleted.
  r = Call("DELETE", "/v1.41/images/example.com/team/web:1.0");
  ASSERT_EQ(r.status, 200) << r.body;
  Json entries = Body(r);
  ASSERT_TRUE(entries.is_array()) << r.body;
  ASSERT_GE(entries.size(), 2u) << r.body;
  EXPECT_EQ(entries.front(), (Json{{"Untagged", "example.com/team/web:1.0"}}));
  EXPECT_EQ(entries.back(), (Json{{"Deleted", id}}));
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), id).status()));
}

TEST_F(EngineApiTest, RemoveImageUsedByAContainerIsAConflict) {
  const std::string id = MakeImage(1, "app:1");
  MakeContainer(std::string(64, 'a'), id, /*running=*/false);
  HttpResponse r = Call("DELETE", "/images/app:1");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(MessageOf(r).rfind("conflict: ", 0), 0u) << r.body;
  EXPECT_TRUE(store_->Inspect(Ctx(), "app:1").ok());

  // A running container's image: by ID, a conflict even with force; by
  // name with force, only the name goes (SEMANTICS.md §4).
  const std::string running = MakeImage(2, "run:1");
  MakeContainer(std::string(64, 'b'), running, /*running=*/true);
  r = Call("DELETE", "/images/" + running, {{"force", "1"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(MessageOf(r).find("(cannot be forced) - image is being used by running container"),
            std::string::npos)
      << r.body;
  r = Call("DELETE", "/images/run:1", {{"force", "1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json::array({Json{{"Untagged", "run:1"}}}));
  EXPECT_TRUE(store_->Inspect(Ctx(), running).ok());

  // A stopped container's image goes with force.
  r = Call("DELETE", "/images/app:1", {{"force", "true"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(Ctx(), "app:1").status()));
}

TEST_F(EngineApiTest, PruneImages) {
  HttpResponse r = Call("POST", "/images/prune");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"ImagesDeleted\":null,\"SpaceReclaimed\":0}\n");

  const std::string tagged = MakeImage(1, "web:1.0");
  const std::string dangling = MakeImage(2, std::nullopt);
  const std::string used = MakeImage(3, "used:1");
  MakeContainer(std::string(64, 'a'), used, /*running=*/false);
  auto before = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(before.ok());

  // Dangling images only.
  r = Call("POST", "/images/prune");
  ASSERT_EQ(r.status, 200) << r.body;
  auto after = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(after.ok());
  Json j = Body(r);
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"ImagesDeleted", "SpaceReclaimed"}));
  // A dangling image's entries: Untagged of its ID, then Deleted (SEMANTICS.md §5).
  EXPECT_EQ(j["ImagesDeleted"],
            Json::array({Json{{"Untagged", dangling}}, Json{{"Deleted", dangling}}}));
  EXPECT_EQ(j["SpaceReclaimed"], before->size - after->size);
  EXPECT_EQ(j["SpaceReclaimed"], 600);  // its manifest and its own layer
  EXPECT_TRUE(store_->Inspect(Ctx(), "web:1.0").ok());

  // Nothing left to prune.
  EXPECT_EQ(Call("POST", "/images/prune").body, "{\"ImagesDeleted\":null,\"SpaceReclaimed\":0}\n");

  // dangling=false (docker image prune -a): every unused image.
  r = Call("POST", "/images/prune", {{"filters", R"({"dangling":["false"]})"}});
  ASSERT_EQ(r.status, 200) << r.body;
  j = Body(r);
  ASSERT_TRUE(j["ImagesDeleted"].is_array()) << r.body;
  EXPECT_EQ(j["ImagesDeleted"].front(), (Json{{"Untagged", "web:1.0"}}));
  EXPECT_EQ(j["ImagesDeleted"].back(), (Json{{"Deleted", tagged}}));
  EXPECT_EQ(j["SpaceReclaimed"], 600);
  auto left = store_->ListImages(Ctx(), {});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, used);

  r = Call("POST", "/images/prune", {{"filters", "{"}});
  EXPECT_EQ(r.status, 400);
  r = Call("POST", "/images/prune", {{"filters", R"({"reference":["x"]})"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Call("GET", "/images/prune").status, 404);
}

TEST_F(EngineApiTest, TagImage) {
  const std::string id = MakeImage(1, "example.com/team/web:1.0");
  HttpResponse r = Call("POST", "/images/example.com/team/web:1.0/tag",
                        {{"repo", "localhost:5000/other"}, {"tag", "2"}});
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body, "");
  auto tagged = store_->Inspect(Ctx(), "localhost:5000/other:2");
  ASSERT_TRUE(tagged.ok()) << tagged.status();
  EXPECT_EQ(tagged->summary.id, id);

  // No tag: latest.
  r = Call("POST", "/v1.41/images/" + id.substr(7, 12) + "/tag", {{"repo", "mirror"}});
  EXPECT_EQ(r.status, 201) << r.body;
  auto latest = store_->Inspect(Ctx(), "mirror:latest");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->summary.id, id);

  r = Call("POST", "/images/nosuch/tag", {{"repo", "x"}, {"tag", "1"}});
  EXPECT_EQ(r.status, 404) << r.body;
  r = Call("POST", "/images/example.com/team/web:1.0/tag", {{"repo", "UPPER"}, {"tag", "1"}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(EngineApiTest, SystemDf) {
  const std::string a = MakeImage(1, "a:1", kNow - 2000);
  const std::string b = MakeImage(2, std::nullopt, kNow - 1000);
  const std::string cid = std::string(64, 'd');
  MakeContainer(cid, a, /*running=*/true);
  auto usage = store_->GetDiskUsage(Ctx());
  ASSERT_TRUE(usage.ok()) << usage.status();

  HttpResponse r = Call("GET", "/system/df");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Body(r);
  EXPECT_EQ(j["LayersSize"], usage->size);
  EXPECT_EQ(j["LayersSize"], 2 * 600 + kSharedLayerSize);
  ASSERT_EQ(j["Images"].size(), 2u);
  Json ja = Find(j["Images"], a);
  Json jb = Find(j["Images"], b);
  ASSERT_FALSE(ja.is_null());
  ASSERT_FALSE(jb.is_null());
  EXPECT_EQ(ja["Containers"], 1);
  EXPECT_EQ(jb["Containers"], 0);
  EXPECT_EQ(ja["SharedSize"], kSharedLayerSize);
  EXPECT_EQ(jb["SharedSize"], kSharedLayerSize);
  ASSERT_EQ(j["Containers"].size(), 1u);
  EXPECT_EQ(j["Containers"][0]["Id"], cid);
  EXPECT_EQ(j["Containers"][0]["State"], "running");
  EXPECT_EQ(j["Volumes"], Json::array());
  EXPECT_EQ(j["BuildCache"], Json::array());
  EXPECT_FALSE(j.contains("BuilderSize"));
  EXPECT_EQ(Body(Call("GET", "/v1.41/system/df"))["BuilderSize"], 0);
}

TEST_F(EngineApiTest, CreateContainer) {
  const std::string image = MakeImage(1, "web:1.0");
  HttpResponse r = Call("POST", "/containers/create", {}, R"({"Image":"web:1.0","Cmd":["sh"]})",
                        {{"Content-Type", "application/json; charset=utf-8"}});
  ASSERT_EQ(r.status, 201) << r.body;
  Json j = Body(r);
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"Id", "Warnings"}));
  const std::string id = j["Id"];
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(j["Warnings"], Json::array());
  std::vector<refstore::ContainerInfo> all = Containers();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, id);
  EXPECT_EQ(all[0].image_id, image);
  EXPECT_FALSE(all[0].running);

  // Without a Content-Type, and by image ID.
  r = Call("POST", "/v1.41/containers/create", {}, Json{{"Image", image}}.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_NE(Body(r)["Id"], id);
  EXPECT_EQ(Containers().size(), 2u);
}

TEST_F(EngineApiTest, CreateContainerErrors) {
  MakeImage(1, "web:1.0");
  const Pairs json_type = {{"Content-Type", "application/json"}};
  for (const std::string body : {"{", "not json", "{\"Image\":"}) {
    HttpResponse r = Call("POST", "/containers/create", {}, body, json_type);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(MessageOf(r).rfind("invalid JSON", 0), 0u) << body << ": " << r.body;
  }
  HttpResponse r = Call("POST", "/containers/create", {}, "", json_type);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r), "invalid JSON: got EOF while reading request body");
  r = Call("POST", "/containers/create", {}, "[]", json_type);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(MessageOf(r).rfind("invalid JSON", 0), 0u) << r.body;

  for (const std::string body : {"{}", R"({"Image":""})", R"({"Image":5})", R"({"image":"web"})"}) {
    r = Call("POST", "/containers/create", {}, body, json_type);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(MessageOf(r), "no image specified: the request has no \"Image\"") << body;
  }

  r = Call("POST", "/containers/create", {}, R"({"Image":"nosuch"})", json_type);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(MessageOf(r), "No such image: nosuch:latest");

  r = Call("POST", "/containers/create", {}, R"({"Image":"web:1.0"})",
           {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(MessageOf(r).find("unsupported Content-Type header (text/plain)"), std::string::npos)
      << r.body;
  EXPECT_TRUE(Containers().empty());
}

TEST_F(EngineApiTest, StartStopAndRemoveContainer) {
  MakeImage(1, "web:1.0");
  const std::string id = CreateContainer("web:1.0");
  ASSERT_EQ(id.size(), 64u);

  HttpResponse r = Call("POST", "/containers/" + id + "/start");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
  ASSERT_EQ(Containers().size(), 1u);
  EXPECT_TRUE(Containers()[0].running);
  r = Call("POST", "/containers/" + id + "/start");
  EXPECT_EQ(r.status, 304) << r.body;
  EXPECT_EQ(r.body, "");

  // A unique prefix finds it.
  EXPECT_EQ(Call("POST", "/v1.41/containers/" + id.substr(0, 12) + "/stop").status, 204);
  EXPECT_FALSE(Containers()[0].running);
  EXPECT_EQ(Call("POST", "/containers/" + id.substr(0, 5) + "/stop").status, 304);
  EXPECT_EQ(Call("POST", "/containers/" + id.substr(0, 12) + "/start").status, 204);

  // Running: DELETE needs force.
  r = Call("DELETE", "/containers/" + id);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(MessageOf(r), "<none>");
  ASSERT_EQ(Containers().size(), 1u);
  r = Call("DELETE", "/containers/" + id.substr(0, 12), {{"force", "1"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(Containers().empty());

  r = Call("DELETE", "/containers/" + id);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(MessageOf(r), "No such container: " + id);

  // A stopped one goes without force.
  const std::string other = CreateContainer("web:1.0");
  EXPECT_EQ(Call("DELETE", "/containers/" + other).status, 204);
  EXPECT_TRUE(Containers().empty());
}

TEST_F(EngineApiTest, UnknownAndAmbiguousContainers) {
  const std::string image = MakeImage(1, "web:1.0");
  for (const auto& [method, path] : Pairs{{"DELETE", "/containers/x"},
                                          {"POST", "/containers/x/start"},
                                          {"POST", "/containers/x/stop"}}) {
    HttpResponse r = Call(method, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(MessageOf(r), "No such container: x") << path;
  }

  const std::string one = "abc1" + std::string(60, '0');
  const std::string two = "abc2" + std::string(60, '0');
  MakeContainer(one, image, /*running=*/false);
  MakeContainer(two, image, /*running=*/false);
  HttpResponse r = Call("POST", "/containers/abc/start");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(MessageOf(r), "multiple IDs found with provided prefix: abc");
  EXPECT_EQ(Call("DELETE", "/containers/abc").status, 400);
  EXPECT_EQ(Containers().size(), 2u);
  // Longer prefixes and full IDs are unique.
  EXPECT_EQ(Call("POST", "/containers/abc1/start").status, 204);
  EXPECT_EQ(Call("POST", "/containers/" + two + "/start").status, 204);
  for (const auto& c : Containers()) EXPECT_TRUE(c.running) << c.id;
}

TEST_F(EngineApiTest, ListContainers) {
  const std::string image = MakeImage(1, "web:1.0");
  const std::string running = std::string(64, 'a');
  const std::string stopped = std::string(64, 'b');
  MakeContainer(running, image, /*running=*/true);
  MakeContainer(stopped, image, /*running=*/false);

  HttpResponse r = Call("GET", "/containers/json");
  ASSERT_EQ(r.status, 200) << r.body;
  Json list = Body(r);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["Id"], running);
  EXPECT_EQ(list[0]["State"], "running");
  EXPECT_EQ(list[0]["ImageID"], image);
  EXPECT_FALSE(list[0].contains("SizeRw"));

  list = Body(Call("GET", "/containers/json", {{"all", "1"}, {"size", "1"}}));
  ASSERT_EQ(list.size(), 2u);
  Json s = Find(list, stopped);
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["State"], "exited");
  EXPECT_TRUE(s.contains("SizeRw"));
  EXPECT_EQ(Body(Call("GET", "/containers/json", {{"all", "0"}})).size(), 1u);
  EXPECT_EQ(Body(Call("GET", "/containers/json", {{"all", "false"}})).size(), 1u);
}

TEST_F(EngineApiTest, UnknownRoutesAndWrongMethodsAreNotFound) {
  MakeImage(1, "web:1.0");
  const Pairs requests = {
      {"GET", "/"},
      {"GET", "/nope"},
      {"POST", "/_ping"},
      {"DELETE", "/_ping"},
      {"POST", "/version"},
      {"PUT", "/images/json"},
      {"POST", "/images/json"},
      {"GET", "/images/"},
      {"GET", "/images/web:1.0"},
      {"POST", "/images/web:1.0/json"},
      {"PUT", "/images/web:1.0/tag"},
      {"GET", "/images/web:1.0/tag"},
      {"GET", "/images/load"},
      {"POST", "/system/df"},
      {"GET", "/containers/create"},
      {"POST", "/containers/json"},
      {"GET", "/containers/"},
      {"GET", "/containers/abc"},
      {"GET", "/containers/abc/start"},
      {"POST", "/containers/abc/restart"},
      {"POST", "/containers/abc"},
      {"GET", "/v1.47/"},
      {"GET", "/v1.41/nope"},
  };
  for (const auto& [method, path] : requests) {
    HttpResponse r = Call(method, path);
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(r.body, "{\"message\":\"page not found\"}\n") << method << " " << path;
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json") << method << " " << path;
  }
  EXPECT_EQ(Containers().size(), 0u);
}

TEST_F(EngineApiTest, HttpStatusOfEachCode) {
  using C = absl::StatusCode;
  // engine_api.h: NotFound 404, InvalidArgument 400, FailedPrecondition,
  // Aborted and AlreadyExists 409; the code adds OutOfRange 400 and
  // Unavailable 503 (as dockerd's errdefs); anything else 500.
  const std::vector<std::pair<C, int>> want = {
      {C::kCancelled, 500},        {C::kUnknown, 500},           {C::kInvalidArgument, 400},
      {C::kDeadlineExceeded, 500}, {C::kNotFound, 404},          {C::kAlreadyExists, 409},
      {C::kPermissionDenied, 500}, {C::kResourceExhausted, 500}, {C::kFailedPrecondition, 409},
      {C::kAborted, 409},          {C::kOutOfRange, 400},        {C::kUnimplemented, 500},
      {C::kInternal, 500},         {C::kUnavailable, 503},       {C::kDataLoss, 500},
      {C::kUnauthenticated, 500},
  };
  for (const auto& [code, status] : want) {
    const absl::Status s(code, "the message");
    EXPECT_EQ(EngineApi::HttpStatus(s), status) << s;
    HttpResponse r = EngineApi::Error(s);
    EXPECT_EQ(r.status, status) << s;
    EXPECT_EQ(r.body, "{\"message\":\"the message\"}\n") << s;
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  }
}

TEST_F(EngineApiTest, SpoolsOnlyTheLoadBody) {
  EXPECT_TRUE(EngineApi::SpoolsBody("POST", "/images/load"));
  EXPECT_TRUE(EngineApi::SpoolsBody("POST", "/v1.47/images/load"));
  EXPECT_FALSE(EngineApi::SpoolsBody("GET", "/images/load"));
  EXPECT_FALSE(EngineApi::SpoolsBody("POST", "/images/prune"));
  EXPECT_FALSE(EngineApi::SpoolsBody("POST", "/containers/create"));
}

TEST_F(EngineApiTest, ConcurrentCreatesFromManyThreads) {
  MakeImage(1, "web:1.0");
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &created] {
      for (int i = 0; i < kEach; ++i) {
        HttpRequest r;
        r.method = "POST";
        r.path = "/containers/create";
        r.body = R"({"Image":"web:1.0"})";
        if (api_->Handle(r).status == 201) created.fetch_add(1);
        HttpRequest list;
        list.method = "GET";
        list.path = "/images/json";
        EXPECT_EQ(api_->Handle(list).status, 200);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), kThreads * kEach);
  std::set<std::string> ids;
  for (const auto& c : Containers()) ids.insert(c.id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace refstore_tool
