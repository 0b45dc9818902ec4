// engine_api.cc: the Engine API routes over a Store.
//
// moby sources followed (github.com/moby/moby, API 1.47):
//   api/server/router/image/image_routes.go   /images/*: RepoTags and
//       RepoDigests "<none>" placeholders below 1.44, VirtualSize below 1.44,
//       Containers and SharedSize -1 unless asked, 201 for tag
//   api/server/router/system/system_routes.go /_ping headers, /system/df
//   api/server/router/container/container_routes.go  create (201, "invalid
//       JSON: ..."), start/stop (204, 304 when nothing changes), delete
//   api/server/middleware/version.go  "client version X is too new/old"
//   api/server/httpstatus/status.go   errdefs classes -> statuses
//   api/types/filters/parse.go        {"key":{"value":true}} and the older
//       {"key":["value"]} forms
#include "serve/engine_api.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"
#include "refstore/filters.h"
#include "serve/archive.h"
#include "views.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxMinor = 47;
constexpr int kMinMinor = 24;

HttpResponse JsonResponse(int status, const Json& body) {
  return HttpResponse::Json(status,
                            body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

HttpResponse Message(int status, std::string_view message) {
  return JsonResponse(status, Json{{"message", std::string(message)}});
}

HttpResponse NoContent(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// docker's boolean query values (httputils.BoolValue): anything but "",
// "0", "no", "false", "none" (case-insensitive) is true.
bool BoolQuery(const HttpRequest& r, std::string_view key) {
  std::string v = r.Query(key);
  for (char& ch : v) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

// The `filters` query value: {"key": {"value": true}} or {"key": ["value"]}.
absl::StatusOr<refstore::Filters> ParseFilters(const HttpRequest& r) {
  refstore::Filters filters;
  const std::string text = r.Query("filters");
  if (text.empty()) return filters;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("invalid filter: the filters parameter is not a JSON object");
  }
  for (const auto& [key, values] : j.items()) {
    std::vector<std::string>& out = filters[key];
    if (values.is_object()) {
      for (const auto& [value, on] : values.items()) {
        if (!on.is_boolean()) return absl::InvalidArgumentError("invalid filter '" + key + "'");
        if (on.get<bool>()) out.push_back(value);
      }
    } else if (values.is_array()) {
      for (const auto& value : values) {
        if (!value.is_string()) return absl::InvalidArgumentError("invalid filter '" + key + "'");
        out.push_back(value.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError("invalid filter '" + key + "'");
    }
  }
  return filters;
}

// An image as docker's image.Summary.
Json ImageSummaryJson(const refstore::ImageSummary& img, int minor, bool counts, bool shared) {
  const ImageNames names = SplitNames(img);
  Json j;
  j["Containers"] = counts ? img.containers : -1;
  j["Created"] = absl::ToUnixSeconds(img.created);
  j["Id"] = img.id;
  j["Labels"] = img.labels.empty() ? Json(nullptr) : Json(img.labels);
  j["ParentId"] = "";
  if (names.dangling && minor < 44) {
    j["RepoDigests"] = Json::array({"<none>@<none>"});
    j["RepoTags"] = Json::array({"<none>:<none>"});
  } else {
    j["RepoDigests"] = names.repo_digests;
    j["RepoTags"] = names.repo_tags;
  }
  j["SharedSize"] = shared ? img.shared_size : -1;
  j["Size"] = img.size;
  if (minor < 44) j["VirtualSize"] = img.size;
  return j;
}

// A container as docker's container.Summary.
Json ContainerSummaryJson(const refstore::ContainerInfo& c, bool sizes) {
  Json j;
  j["Id"] = c.id;
  j["Names"] = c.name.empty() ? Json::array() : Json::array({"/" + c.name});
  j["Image"] = c.image_id;
  j["ImageID"] = c.image_id;
  j["Command"] = "";
  j["Created"] = absl::ToUnixSeconds(c.created);
  j["Ports"] = Json::array();
  if (sizes) {
    j["SizeRw"] = 0;
    j["SizeRootFs"] = 0;
  }
  j["Labels"] = Json::object();
  j["State"] = c.running ? "running" : "exited";
  j["Status"] = ContainerStatus(c);
  j["HostConfig"] = Json{{"NetworkMode", "none"}};
  j["NetworkSettings"] = Json{{"Networks", Json::object()}};
  j["Mounts"] = Json::array();
  return j;
}

Json DeleteEntriesJson(const std::vector<refstore::DeleteEntry>& entries) {
  if (entries.empty()) return Json(nullptr);
  Json list = Json::array();
  for (const refstore::DeleteEntry& e : entries) {
    list.push_back(
        Json{{e.kind == refstore::DeleteEntry::Kind::kDeleted ? "Deleted" : "Untagged", e.ref}});
  }
  return list;
}

// Parses "/v1.NN" at the front of `path`: the minor version, or -1 for
// none; `rest` is the path after it.
absl::StatusOr<int> ApiMinor(std::string_view path, std::string_view* rest) {
  *rest = path;
  if (!StartsWith(path, "/v")) return -1;
  const size_t slash = path.find('/', 1);
  std::string_view version =
      path.substr(2, slash == std::string_view::npos ? path.npos : slash - 2);
  const size_t dot = version.find('.');
  int major = 0, minor = 0;
  if (dot == std::string_view::npos ||
      !absl::SimpleAtoi(std::string(version.substr(0, dot)), &major) ||
      !absl::SimpleAtoi(std::string(version.substr(dot + 1)), &minor)) {
    return -1;  // not a version prefix: routed as it is (and not found)
  }
  *rest = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  if (major > 1 || (major == 1 && minor > kMaxMinor)) {
    return absl::InvalidArgumentError("client version " + std::string(version) +
                                      " is too new. Maximum supported API version is " +
                                      kMaxApiVersion);
  }
  if (major < 1 || minor < kMinMinor) {
    return absl::InvalidArgumentError("client version " + std::string(version) +
                                      " is too old. Minimum supported API version is " +
                                      kMinApiVersion +
                                      ", please upgrade your client to a newer version");
  }
  return minor;
}

// Bare tags of an OCI archive (org.opencontainers.image.ref.name without
// io.containerd.image.name) name no image: docker's load of such an archive
// loads the image by ID. The annotation is dropped before the import.
absl::Status DropBareTags(const std::string& dir) {
  const std::string path = dir + "/index.json";
  std::ifstream in(path);
  if (!in) return absl::OkStatus();
  nlohmann::json index = nlohmann::json::parse(in, nullptr, false);
  if (index.is_discarded() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return absl::OkStatus();  // the import reports it
  }
  bool changed = false;
  for (auto& m : index["manifests"]) {
    if (!m.is_object() || !m.contains("annotations") || !m["annotations"].is_object()) continue;
    auto& ann = m["annotations"];
    if (!ann.contains("io.containerd.image.name") &&
        ann.contains("org.opencontainers.image.ref.name")) {
      ann.erase("org.opencontainers.image.ref.name");
      changed = true;
    }
  }
  if (!changed) return absl::OkStatus();
  std::ofstream out(path, std::ios::trunc);
  out << index.dump();
  if (!out.flush()) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace

EngineApi::EngineApi(refstore::Store* store, EngineApiOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.now) options_.now = [] { return absl::Now(); };
}

refstore::OpContext EngineApi::Ctx() const {
  return {.ns = options_.ns, .now = absl::FromUnixSeconds(absl::ToUnixSeconds(options_.now()))};
}

bool EngineApi::SpoolsBody(std::string_view method, std::string_view path) {
  return method == "POST" && EndsWith(path, "/images/load");
}

int EngineApi::HttpStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpResponse EngineApi::Error(const absl::Status& status) {
  return Message(HttpStatus(status), std::string(status.message()));
}

HttpResponse EngineApi::Handle(HttpRequest& r) {
  std::string_view rest;
  absl::StatusOr<int> minor = ApiMinor(r.path, &rest);
  if (!minor.ok()) return Error(minor.status());
  return Route(r, rest, *minor < 0 ? kMaxMinor : *minor);
}

HttpResponse EngineApi::Route(HttpRequest& r, std::string_view path, int minor) {
  const std::string& m = r.method;
  const bool get = m == "GET" || m == "HEAD";
  if (path == "/_ping" && get) return Ping(r);
  if (path == "/version" && get) return Version();
  if (path == "/info" && get) return Info();
  if (path == "/system/df" && get) return DiskUsage(minor);
  if (path == "/images/json" && get) return ListImages(r, minor);
  if (path == "/images/prune" && m == "POST") return PruneImages(r);
  if (path == "/images/load" && m == "POST") return LoadImages(r);
  if (path == "/images/get" && get) return SaveImages(r.QueryAll("names"));
  if (path == "/containers/json" && get) return ListContainers(r);
  if (path == "/containers/create" && m == "POST") return CreateContainer(r);
  constexpr std::string_view kImages = "/images/";
  if (StartsWith(path, kImages) && path.size() > kImages.size()) {
    std::string_view name = path.substr(kImages.size());
    if (get && EndsWith(name, "/json") && name.size() > 5) {
      return InspectImage(name.substr(0, name.size() - 5));
    }
    if (get && EndsWith(name, "/get") && name.size() > 4) {
      return SaveImages({std::string(name.substr(0, name.size() - 4))});
    }
    if (m == "POST" && EndsWith(name, "/tag") && name.size() > 4) {
      return TagImage(r, name.substr(0, name.size() - 4));
    }
    if (m == "DELETE") return RemoveImage(r, name);
  }
  constexpr std::string_view kContainers = "/containers/";
  if (StartsWith(path, kContainers) && path.size() > kContainers.size()) {
    std::string_view id = path.substr(kContainers.size());
    const size_t slash = id.find('/');
    if (slash == std::string_view::npos) {
      if (m == "DELETE") return RemoveContainer(r, id);
    } else if (get && id.substr(slash) == "/json") {
      return InspectContainer(id.substr(0, slash));
    } else if (m == "POST") {
      std::string_view verb = id.substr(slash + 1);
      if (verb == "start" || verb == "stop") return ContainerVerb(id.substr(0, slash), verb);
    }
  }
  return Message(404, "page not found");
}

HttpResponse EngineApi::Ping(const HttpRequest&) {
  HttpResponse r = HttpResponse::Text(200, "OK");
  r.headers.emplace_back("Builder-Version", "");
  r.headers.emplace_back("Cache-Control", "no-cache, no-store, must-revalidate");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

HttpResponse EngineApi::Version() {
  struct utsname u {};
  uname(&u);
  Json j;
  j["Platform"] = Json{{"Name", "refstore"}};
  j["Components"] = Json::array({Json{{"Name", "Engine"},
                                      {"Version", options_.version},
                                      {"Details", Json{{"ApiVersion", kMaxApiVersion},
                                                       {"MinAPIVersion", kMinApiVersion},
                                                       {"Os", "linux"},
                                                       {"Arch", "amd64"}}}}});
  j["Version"] = options_.version;
  j["ApiVersion"] = kMaxApiVersion;
  j["MinAPIVersion"] = kMinApiVersion;
  j["GitCommit"] = "";
  j["GoVersion"] = "";
  j["Os"] = "linux";
  j["Arch"] = "amd64";
  j["KernelVersion"] = u.release;
  j["BuildTime"] = "";
  return JsonResponse(200, j);
}

HttpResponse EngineApi::Info() {
  absl::StatusOr<std::vector<refstore::ContainerInfo>> containers = store_->ListContainers(Ctx());
  if (!containers.ok()) return Error(containers.status());
  absl::StatusOr<refstore::DiskUsage> usage = store_->GetDiskUsage(Ctx());
  if (!usage.ok()) return Error(usage.status());
  int64_t running = 0;
  for (const auto& c : *containers) running += c.running ? 1 : 0;
  struct utsname u {};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  Json j;
  j["ID"] = "";
  j["Containers"] = containers->size();
  j["ContainersRunning"] = running;
  j["ContainersPaused"] = 0;
  j["ContainersStopped"] = static_cast<int64_t>(containers->size()) - running;
  j["Images"] = usage->total_count;
  j["Driver"] = "refstore";
  j["DriverStatus"] = Json::array(
      {Json::array({"Store", options_.store_dir}), Json::array({"Namespace", options_.ns}),
       Json::array({"Content store", store_->HasContentStore() ? "yes" : "no"})});
  j["Plugins"] =
      Json{{"Volume", Json::array()}, {"Network", Json::array()}, {"Log", Json::array()}};
  j["MemoryLimit"] = false;
  j["SwapLimit"] = false;
  j["NEventsListener"] = 0;
  j["KernelVersion"] = u.release;
  j["OperatingSystem"] = "refstore";
  j["OSType"] = "linux";
  j["Architecture"] = u.machine;
  j["NCPU"] = sysconf(_SC_NPROCESSORS_ONLN);
  j["MemTotal"] = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  j["DockerRootDir"] = options_.store_dir;
  j["Name"] = host;
  j["Labels"] = Json::array();
  j["ServerVersion"] = options_.version;
  j["Runtimes"] = Json::object();
  j["DefaultRuntime"] = "";
  j["Swarm"] = Json{{"NodeID", ""},
                    {"NodeAddr", ""},
                    {"LocalNodeState", "inactive"},
                    {"ControlAvailable", false},
                    {"Error", ""},
                    {"RemoteManagers", nullptr}};
  j["LiveRestoreEnabled"] = false;
  j["Isolation"] = "";
  j["SecurityOptions"] = Json::array();
  j["Warnings"] = Json::array();
  return JsonResponse(200, j);
}

HttpResponse EngineApi::ListImages(const HttpRequest& r, int minor) {
  absl::StatusOr<refstore::Filters> filters = ParseFilters(r);
  if (!filters.ok()) return Error(filters.status());
  refstore::ListOptions options;
  options.all = true;  // docker lists dangling images; -a only adds intermediate ones
  options.filters = *std::move(filters);
  // Below 1.41 dockerd still takes `filter=<ref>` as a reference filter.
  if (const std::string legacy = r.Query("filter"); minor < 41 && !legacy.empty()) {
    options.filters["reference"].push_back(legacy);
  }
  absl::StatusOr<std::vector<refstore::ImageSummary>> images = store_->ListImages(Ctx(), options);
  if (!images.ok()) return Error(images.status());
  const bool shared = minor >= 42 && BoolQuery(r, "shared-size");
  Json list = Json::array();
  for (const refstore::ImageSummary& img : *images) {
    list.push_back(ImageSummaryJson(img, minor, /*counts=*/false, shared));
  }
  return JsonResponse(200, list);
}

HttpResponse EngineApi::InspectImage(std::string_view name) {
  absl::StatusOr<refstore::ImageDetail> detail = store_->Inspect(Ctx(), name);
  if (!detail.ok()) return Error(detail.status());
  return JsonResponse(200, InspectJson(*detail));
}

HttpResponse EngineApi::RemoveImage(const HttpRequest& r, std::string_view name) {
  // noprune: refstore's images have no parent images to keep.
  absl::StatusOr<refstore::RemoveResult> removed =
      store_->RemoveImage(Ctx(), name, BoolQuery(r, "force"));
  if (!removed.ok()) return Error(removed.status());
  Json list = DeleteEntriesJson(removed->deleted);
  return JsonResponse(200, list.is_null() ? Json::array() : list);
}

HttpResponse EngineApi::PruneImages(const HttpRequest& r) {
  absl::StatusOr<refstore::Filters> filters = ParseFilters(r);
  if (!filters.ok()) return Error(filters.status());
  refstore::PruneOptions options;
  options.all = false;  // docker's client sends dangling=false for -a
  options.filters = *std::move(filters);
  absl::StatusOr<refstore::PruneResult> pruned = store_->Prune(Ctx(), options);
  if (!pruned.ok()) return Error(pruned.status());
  if (!pruned->error.empty()) return Message(500, pruned->error);
  return JsonResponse(200, Json{{"ImagesDeleted", DeleteEntriesJson(pruned->deleted)},
                                {"SpaceReclaimed", pruned->space_reclaimed}});
}

HttpResponse EngineApi::TagImage(const HttpRequest& r, std::string_view name) {
  const std::string repo = r.Query("repo");
  const std::string tag = r.Query("tag");
  std::string target = repo;
  if (!tag.empty()) target += ":" + tag;
  absl::Status s = store_->Tag(Ctx(), name, target);
  if (!s.ok()) return Error(s);
  return NoContent(201);
}

HttpResponse EngineApi::DiskUsage(int minor) {
  absl::StatusOr<refstore::DiskUsage> usage = store_->GetDiskUsage(Ctx());
  if (!usage.ok()) return Error(usage.status());
  absl::StatusOr<std::vector<refstore::ImageSummary>> images =
      store_->ListImages(Ctx(), refstore::ListOptions{.all = true});
  if (!images.ok()) return Error(images.status());
  absl::StatusOr<std::vector<refstore::ContainerInfo>> containers = store_->ListContainers(Ctx());
  if (!containers.ok()) return Error(containers.status());
  Json j;
  j["LayersSize"] = usage->size;
  Json list = Json::array();
  for (const auto& img : *images) list.push_back(ImageSummaryJson(img, minor, true, true));
  j["Images"] = list;
  Json cs = Json::array();
  for (const auto& c : *containers) cs.push_back(ContainerSummaryJson(c, /*sizes=*/true));
  j["Containers"] = cs;
  j["Volumes"] = Json::array();
  j["BuildCache"] = Json::array();
  if (minor < 42) j["BuilderSize"] = 0;
  return JsonResponse(200, j);
}

HttpResponse EngineApi::LoadImages(const HttpRequest& r) {
  std::string dir = options_.spool_dir + "/load-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return Message(500,
                   "cannot create a directory in " + options_.spool_dir + ": " + strerror(errno));
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  // As dockerd: 200 and a JSON message stream; a failure is its last line
  // (moby's postImagesLoad writes streamformatter.FormatError).
  HttpResponse out = HttpResponse::Json(200, "");
  out.chunked = true;
  std::string& body = out.body;
  auto line = [&body](const Json& j) {
    body += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  };
  auto fail = [&](const absl::Status& status) {
    // The spooled file's and the directory's names mean nothing to a client.
    std::string message(status.message());
    for (const std::string& path : {r.body_file, dir}) {
      for (size_t at; !path.empty() && (at = message.find(path)) != std::string::npos;) {
        message.replace(at, path.size(), path == dir ? "the archive" : "the request body");
      }
    }
    line(Json{{"errorDetail", Json{{"message", message}}}, {"error", message}});
    return out;
  };
  absl::Status s = ExtractLoadArchive(r.body_file, dir);
  if (s.ok()) s = DropBareTags(dir);
  if (!s.ok()) return fail(s);
  refstore::ImportOptions options;
  options.repository = "unnamed";  // bare tags were dropped: never used
  absl::StatusOr<refstore::ImportResult> imported = store_->ImportLayout(Ctx(), dir, options);
  if (!imported.ok()) return fail(imported.status());
  for (const refstore::ImportedImage& img : imported->images) {
    if (!img.error.empty()) {
      line(Json{{"errorDetail", Json{{"message", img.error}}}, {"error", img.error}});
    } else if (img.names.empty()) {
      line(Json{{"stream", "Loaded image ID: " + img.id + "\n"}});
    } else {
      for (const std::string& name : img.names) {
        line(Json{{"stream", "Loaded image: " + name + "\n"}});
      }
    }
  }
  return out;
}

HttpResponse EngineApi::SaveImages(const std::vector<std::string>& names) {
  if (names.empty()) return Message(400, "no image names given");
  std::string path = options_.spool_dir + "/save-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) {
    return Message(500, "cannot create a file in " + options_.spool_dir + ": " + strerror(errno));
  }
  unlink(path.c_str());
  absl::Status s =
      WriteSaveArchive(*store_, Ctx(), names, options_.store_dir + "/content/blobs/sha256", fd);
  struct stat st {};
  if (s.ok() && (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
    s = absl::InternalError("cannot read back the archive: " + std::string(strerror(errno)));
  }
  if (!s.ok()) {
    close(fd);
    return Error(s);
  }
  HttpResponse r;
  r.headers.emplace_back("Content-Type", "application/x-tar");
  r.file_fd = fd;
  r.file_size = st.st_size;
  return r;
}

absl::StatusOr<refstore::ContainerInfo> EngineApi::FindContainer(std::string_view id) {
  absl::StatusOr<std::vector<refstore::ContainerInfo>> all = store_->ListContainers(Ctx());
  if (!all.ok()) return all.status();
  // docker's daemon.GetContainer: the full ID, then a name, then a
  // unique ID prefix.
  std::string_view name = id;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  for (const auto& c : *all) {
    if (c.id == id) return c;
  }
  for (const auto& c : *all) {
    if (!c.name.empty() && c.name == name) return c;
  }
  const refstore::ContainerInfo* found = nullptr;
  for (const auto& c : *all) {
    if (!id.empty() && StartsWith(c.id, id)) {
      if (found != nullptr) {
        return absl::InvalidArgumentError("multiple IDs found with provided prefix: " +
                                          std::string(id));
      }
      found = &c;
    }
  }
  if (found == nullptr) return absl::NotFoundError("No such container: " + std::string(id));
  return *found;
}

// docker's container.InspectResponse, with what a store records.
HttpResponse EngineApi::InspectContainer(std::string_view id) {
  absl::StatusOr<refstore::ContainerInfo> c = FindContainer(id);
  if (!c.ok()) return Error(c.status());
  const std::string created = refstore::FormatRfc3339(c->created);
  Json j;
  j["Id"] = c->id;
  j["Created"] = created;
  j["Path"] = "";
  j["Args"] = Json::array();
  j["State"] = Json{{"Status", c->running ? "running" : "exited"},
                    {"Running", c->running},
                    {"Paused", false},
                    {"Restarting", false},
                    {"OOMKilled", false},
                    {"Dead", false},
                    {"Pid", 0},
                    {"ExitCode", 0},
                    {"Error", ""},
                    {"StartedAt", "0001-01-01T00:00:00Z"},
                    {"FinishedAt", "0001-01-01T00:00:00Z"}};
  j["Image"] = c->image_id;
  j["Name"] = c->name.empty() ? "" : "/" + c->name;
  j["RestartCount"] = 0;
  j["Driver"] = "refstore";
  j["Platform"] = "linux";
  j["HostConfig"] = Json{{"NetworkMode", "none"}};
  j["Mounts"] = Json::array();
  j["Config"] = Json{{"Image", c->image_id}, {"Labels", Json::object()}};
  j["NetworkSettings"] = Json{{"Networks", Json::object()}};
  return JsonResponse(200, j);
}

HttpResponse EngineApi::ListContainers(const HttpRequest& r) {
  absl::StatusOr<std::vector<refstore::ContainerInfo>> all = store_->ListContainers(Ctx());
  if (!all.ok()) return Error(all.status());
  const bool show_all = BoolQuery(r, "all");
  const bool sizes = BoolQuery(r, "size");
  Json list = Json::array();
  for (const auto& c : *all) {
    if (show_all || c.running) list.push_back(ContainerSummaryJson(c, sizes));
  }
  return JsonResponse(200, list);
}

HttpResponse EngineApi::CreateContainer(const HttpRequest& r) {
  const std::string type = r.Header("Content-Type");
  if (!type.empty() && type.find("application/json") == std::string::npos) {
    return Message(400,
                   "unsupported Content-Type header (" + type + "): must be 'application/json'");
  }
  if (r.body.empty()) return Message(400, "invalid JSON: got EOF while reading request body");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Message(400, "invalid JSON: the request body is not a JSON document");
  }
  if (!body.is_object()) return Message(400, "invalid JSON: the request body is not an object");
  auto image = body.find("Image");
  if (image == body.end() || !image->is_string() || image->get<std::string>().empty()) {
    return Message(400, "no image specified: the request has no \"Image\"");
  }
  const std::string id = NewContainerId();
  absl::StatusOr<std::string> image_id = store_->CreateContainer(
      Ctx(), id, image->get<std::string>(), /*running=*/false, r.Query("name"));
  if (!image_id.ok()) return Error(image_id.status());
  return JsonResponse(201, Json{{"Id", id}, {"Warnings", Json::array()}});
}

HttpResponse EngineApi::ContainerVerb(std::string_view id, std::string_view verb) {
  absl::StatusOr<refstore::ContainerInfo> c = FindContainer(id);
  if (!c.ok()) return Error(c.status());
  const bool start = verb == "start";
  if (c->running == start) return NoContent(304);
  absl::Status s =
      start ? store_->StartContainer(Ctx(), c->id) : store_->StopContainer(Ctx(), c->id);
  if (!s.ok()) return Error(s);
  return NoContent(204);
}

HttpResponse EngineApi::RemoveContainer(const HttpRequest& r, std::string_view id) {
  absl::StatusOr<refstore::ContainerInfo> c = FindContainer(id);
  if (!c.ok()) return Error(c.status());
  if (c->running && BoolQuery(r, "force")) {
    absl::Status s = store_->StopContainer(Ctx(), c->id);
    if (!s.ok()) return Error(s);
  }
  absl::Status s = store_->RemoveContainer(Ctx(), c->id);
  if (!s.ok()) return Error(s);
  return NoContent(204);
}

}  // namespace refstore_tool
