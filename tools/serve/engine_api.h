// engine_api.h: the Docker Engine API subset an image store serves, over a
// Store: the routes, docker's JSON bodies, error bodies ({"message": ...})
// and HTTP statuses, and API version negotiation. tools/README.md "refstore
// serve" lists the endpoints and where refstore's answers differ from
// dockerd's.
//
// Routes (each also under a /v1.NN prefix, 1.24 <= NN <= 1.47):
//   GET|HEAD /_ping, GET /version, GET /info
//   GET /images/json, GET /images/{name}/json, DELETE /images/{name},
//   POST /images/prune, POST /images/{name}/tag, GET /system/df,
//   POST /images/load, GET /images/get, GET /images/{name}/get
//   GET /containers/json, POST /containers/create,
//   GET /containers/{id}/json, POST /containers/{id}/start|stop,
//   DELETE /containers/{id}
// Anything else: 404 {"message": "page not found"}, as dockerd.
//
// Statuses: a NotFound status 404, InvalidArgument and OutOfRange 400,
// FailedPrecondition, Aborted and AlreadyExists 409 (docker's conflicts),
// Unavailable 503, anything else 500;
// the body is docker's {"message": "<the status's message>"}.
//
// Thread-safety: Handle may be called from many threads at once (the
// Store is thread-safe).
#ifndef REFSTORE_TOOLS_SERVE_ENGINE_API_H_
#define REFSTORE_TOOLS_SERVE_ENGINE_API_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "refstore/store.h"
#include "serve/http_server.h"

namespace refstore_tool {

inline constexpr char kMaxApiVersion[] = "1.47";
inline constexpr char kMinApiVersion[] = "1.24";

struct EngineApiOptions {
  std::string ns = "default";
  std::string store_dir;            // shown by /info; its content/blobs/sha256 is read by save
  std::string spool_dir;            // where load extracts archives
  std::function<absl::Time()> now;  // the clock ("now" of every change)
  std::string version;              // refstore's version
};

class EngineApi {
 public:
  EngineApi(refstore::Store* store, EngineApiOptions options);

  HttpResponse Handle(HttpRequest& request);

  // Whether a request's body goes to a file (docker load's archive).
  static bool SpoolsBody(std::string_view method, std::string_view path);

  // docker's status for a store error, and its body.
  static int HttpStatus(const absl::Status& status);
  static HttpResponse Error(const absl::Status& status);

 private:
  HttpResponse Route(HttpRequest& r, std::string_view path, int minor);
  HttpResponse Ping(const HttpRequest& r);
  HttpResponse Version();
  HttpResponse Info();
  HttpResponse ListImages(const HttpRequest& r, int minor);
  HttpResponse InspectImage(std::string_view name);
  HttpResponse RemoveImage(const HttpRequest& r, std::string_view name);
  HttpResponse PruneImages(const HttpRequest& r);
  HttpResponse TagImage(const HttpRequest& r, std::string_view name);
  HttpResponse DiskUsage(int minor);
  HttpResponse LoadImages(const HttpRequest& r);
  HttpResponse SaveImages(const std::vector<std::string>& names);
  HttpResponse ListContainers(const HttpRequest& r);
  HttpResponse InspectContainer(std::string_view id);
  HttpResponse CreateContainer(const HttpRequest& r);
  HttpResponse ContainerVerb(std::string_view id, std::string_view verb);
  HttpResponse RemoveContainer(const HttpRequest& r, std::string_view id);

  refstore::OpContext Ctx() const;
  // docker's container lookup: a full ID, a name, or a unique ID prefix.
  absl::StatusOr<refstore::ContainerInfo> FindContainer(std::string_view id);

  refstore::Store* store_;
  EngineApiOptions options_;
};

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_SERVE_ENGINE_API_H_
