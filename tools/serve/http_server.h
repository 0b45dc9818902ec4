// http_server.h: an HTTP/1.1 server on a listening socket the caller made
// (a Unix socket, or loopback TCP), over GNU libmicrohttpd: a thread per
// connection, keep-alive, chunked request bodies. A request's body is read
// whole before the handler runs: into memory up to `max_body_bytes`, or,
// for the requests `spool` selects (docker load's archives), into a
// temporary file up to `max_spool_bytes`. A body over its limit is answered
// 413 without calling the handler; a client that disconnects before its
// request is complete never reaches the handler (its temporary file is
// removed). Every request the server began (its headers read and the
// handler's first call made) ends with one line in the request log, also
// when its client leaves before the body is complete ("aborted"); a client
// that leaves while libmicrohttpd still reads its request's first bytes
// leaves no line (libmicrohttpd reports only requests it handed over).
//
// Example:
//   HttpServer::Options options;
//   options.listen_fd = fd;
//   auto server = HttpServer::Start(options, [](HttpRequest& r) {
//     return HttpResponse::Json(200, "{}");
//   });
//   ...
//   (*server)->Stop();
//
// Thread-safety: the handler runs on many threads at once (one per
// connection); Start and Stop are called from one thread.
#ifndef REFSTORE_TOOLS_SERVE_HTTP_SERVER_H_
#define REFSTORE_TOOLS_SERVE_HTTP_SERVER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace refstore_tool {

struct HttpRequest {
  std::string method;                                        // "GET", "HEAD", "POST", "DELETE", ...
  std::string path;                                          // decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;                                          // the body, unless spooled
  std::string body_file;  // the spooled body's file (removed after the handler)
  int64_t body_bytes = 0;

  // The first value of query key `key`, or "" (`*present` tells whether
  // the key was there).
  std::string Query(std::string_view key, bool* present = nullptr) const;
  std::vector<std::string> QueryAll(std::string_view key) const;
  // A header's value (name compared without case), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When >= 0, the body is this file's `file_size` bytes instead of `body`
  // (the server closes it).
  int file_fd = -1;
  int64_t file_size = 0;
  // Send `body` with chunked transfer encoding, as dockerd sends its JSON
  // message streams (docker load's lines): clients read such a body as a
  // stream of JSON documents, a sized one as a single document.
  bool chunked = false;

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body);
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(HttpRequest&)>;

  struct Options {
    int listen_fd = -1;  // bound and listening; the server closes it on Stop
    int64_t max_body_bytes = 1 << 20;
    int64_t max_spool_bytes = int64_t{64} << 30;
    std::string spool_dir;  // where spooled bodies go
    // Which requests spool their body to a file (from method and path).
    std::function<bool(std::string_view method, std::string_view path)> spool;
    unsigned connection_limit = 256;
    unsigned connection_timeout_seconds = 0;  // 0: none (docker load can be slow)
    FILE* log = nullptr;                      // the request log (JSON Lines); nullptr: none
    // Headers added to every response (docker's "Server", "Api-Version").
    std::vector<std::pair<std::string, std::string>> common_headers;
  };

  // Starts serving on the calling process's new threads.
  // Errors: InvalidArgument (no listen_fd), Internal (libmicrohttpd could
  // not start).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Handler handler);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, lets the requests being handled finish, closes every
  // connection. Idempotent.
  void Stop();

  // Internal: libmicrohttpd's callbacks reach these.
  struct Connection;
  int OnRequest(void* connection, const char* url, const char* method, const char* upload_data,
                size_t* upload_data_size, void** state);
  void OnCompleted(void** state, int reason);

 private:
  HttpServer(Options options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}
  void Log(const Connection& c, int status, bool aborted);

  Options options_;
  Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  std::mutex log_mu_;
};

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_SERVE_HTTP_SERVER_H_
