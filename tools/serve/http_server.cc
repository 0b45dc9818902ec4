// http_server.cc: HttpServer over libmicrohttpd (thread per connection).
#include "serve/http_server.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "refstore/filters.h"

namespace refstore_tool {

std::string HttpRequest::Query(std::string_view key, bool* present) const {
  for (const auto& [k, v] : query) {
    if (k == key) {
      if (present != nullptr) *present = true;
      return v;
    }
  }
  if (present != nullptr) *present = false;
  return "";
}

std::vector<std::string> HttpRequest::QueryAll(std::string_view key) const {
  std::vector<std::string> values;
  for (const auto& [k, v] : query) {
    if (k == key) values.push_back(v);
  }
  return values;
}

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

namespace {

HttpResponse Typed(int status, const char* type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", type);
  r.body = std::move(body);
  return r;
}

}  // namespace

HttpResponse HttpResponse::Json(int status, std::string body) {
  return Typed(status, "application/json", std::move(body));
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  return Typed(status, "text/plain; charset=utf-8", std::move(body));
}

// One request's state between libmicrohttpd's calls.
struct HttpServer::Connection {
  HttpRequest request;
  absl::Time start;
  bool spool = false;
  int spool_fd = -1;
  bool too_large = false;
  bool responded = false;
  bool started = false;  // OnRequest has seen the request
  int64_t limit = 0;
  std::string error;  // a failure while receiving (the spool file could not be written)
};

namespace {

MHD_Result CollectPair(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* pairs = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  pairs->emplace_back(key == nullptr ? "" : key, value == nullptr ? "" : value);
  return MHD_YES;
}

MHD_Result Access(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char*, const char* upload_data, size_t* upload_data_size, void** state) {
  int r = static_cast<HttpServer*>(cls)->OnRequest(connection, url, method, upload_data,
                                                   upload_data_size, state);
  return r ? MHD_YES : MHD_NO;
}

void Completed(void* cls, MHD_Connection*, void** state, MHD_RequestTerminationCode reason) {
  static_cast<HttpServer*>(cls)->OnCompleted(state, static_cast<int>(reason));
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// A chunked body served from a string the response owns.
struct StreamSource {
  std::string body;
  size_t pos = 0;
};

ssize_t ReadStream(void* cls, uint64_t, char* buf, size_t max) {
  auto* src = static_cast<StreamSource*>(cls);
  if (src->pos >= src->body.size()) return MHD_CONTENT_READER_END_OF_STREAM;
  const size_t n = std::min(max, src->body.size() - src->pos);
  std::memcpy(buf, src->body.data() + src->pos, n);
  src->pos += n;
  return static_cast<ssize_t>(n);
}

void FreeStream(void* cls) { delete static_cast<StreamSource*>(cls); }

std::string ErrorBody(std::string_view message) {
  return nlohmann::json{{"message", std::string(message)}}.dump() + "\n";
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, Handler handler) {
  if (options.listen_fd < 0) return absl::InvalidArgumentError("no listening socket");
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options), std::move(handler)));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                   MHD_USE_ITC | MHD_USE_ERROR_LOG;
  server->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Access, server.get(), MHD_OPTION_LISTEN_SOCKET,
      server->options_.listen_fd, MHD_OPTION_NOTIFY_COMPLETED, &Completed, server.get(),
      MHD_OPTION_CONNECTION_LIMIT, server->options_.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
      server->options_.connection_timeout_seconds, MHD_OPTION_END);
  if (server->daemon_ == nullptr) return absl::InternalError("libmicrohttpd could not start");
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (daemon_ == nullptr) return;
  MHD_socket fd = MHD_quiesce_daemon(daemon_);
  MHD_stop_daemon(daemon_);
  if (fd != MHD_INVALID_SOCKET) ::close(fd);
  daemon_ = nullptr;
}

int HttpServer::OnRequest(void* connection_ptr, const char* url, const char* method,
                          const char* upload_data, size_t* upload_data_size, void** state) {
  auto* connection = static_cast<MHD_Connection*>(connection_ptr);
  auto* c = static_cast<Connection*>(*state);
  if (c == nullptr) {
    c = new Connection;
    *state = c;
    c->start = absl::Now();
  }
  if (!c->started) {
    c->started = true;
    c->request.method = method;
    c->request.path = url;
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectPair, &c->request.query);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectPair, &c->request.headers);
    c->spool = options_.spool && options_.spool(c->request.method, c->request.path);
    c->limit = c->spool ? options_.max_spool_bytes : options_.max_body_bytes;
    const std::string length = c->request.Header("Content-Length");
    if (!length.empty() && strtoll(length.c_str(), nullptr, 10) > c->limit) c->too_large = true;
    return 1;
  }
  if (*upload_data_size > 0) {
    const size_t size = *upload_data_size;
    *upload_data_size = 0;
    c->request.body_bytes += static_cast<int64_t>(size);
    if (c->too_large || !c->error.empty()) return 1;  // read and dropped
    if (c->request.body_bytes > c->limit) {
      c->too_large = true;
      c->request.body.clear();
      return 1;
    }
    if (!c->spool) {
      c->request.body.append(upload_data, size);
      return 1;
    }
    if (c->spool_fd < 0) {
      std::string path = options_.spool_dir + "/body-XXXXXX";
      c->spool_fd = ::mkstemp(path.data());
      if (c->spool_fd < 0) {
        c->error =
            "cannot create a temporary file in " + options_.spool_dir + ": " + strerror(errno);
        return 1;
      }
      c->request.body_file = path;
    }
    if (!WriteAll(c->spool_fd, upload_data, size)) {
      c->error = "cannot write " + c->request.body_file + ": " + strerror(errno);
    }
    return 1;
  }

  // The whole request is in.
  HttpResponse response;
  if (c->spool_fd >= 0) {
    ::close(c->spool_fd);
    c->spool_fd = -1;
  }
  if (c->spool && c->request.body_file.empty() && c->error.empty()) {
    // An empty body: still a file, so the handler sees one shape.
    std::string path = options_.spool_dir + "/body-XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd >= 0) {
      ::close(fd);
      c->request.body_file = path;
    } else {
      c->error = "cannot create a temporary file in " + options_.spool_dir;
    }
  }
  if (c->too_large) {
    response = HttpResponse::Json(
        413, ErrorBody("request body is larger than " + std::to_string(c->limit) + " bytes"));
  } else if (!c->error.empty()) {
    response = HttpResponse::Json(500, ErrorBody(c->error));
  } else {
    try {
      response = handler_(c->request);
    } catch (const std::exception& e) {
      response = HttpResponse::Json(500, ErrorBody(e.what()));
    }
  }
  if (!c->request.body_file.empty()) {
    ::unlink(c->request.body_file.c_str());
    c->request.body_file.clear();
  }

  MHD_Response* mhd;
  if (response.file_fd >= 0) {
    mhd =
        MHD_create_response_from_fd64(static_cast<uint64_t>(response.file_size), response.file_fd);
  } else if (response.chunked) {
    auto* src = new StreamSource{std::move(response.body)};
    mhd = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, &ReadStream, src,
                                            &FreeStream);
    if (mhd == nullptr) delete src;
  } else {
    mhd = MHD_create_response_from_buffer(response.body.size(), response.body.data(),
                                          MHD_RESPMEM_MUST_COPY);
  }
  if (mhd == nullptr) return 0;
  for (const auto& [k, v] : options_.common_headers)
    MHD_add_response_header(mhd, k.c_str(), v.c_str());
  for (const auto& [k, v] : response.headers) MHD_add_response_header(mhd, k.c_str(), v.c_str());
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), mhd);
  MHD_destroy_response(mhd);
  c->responded = true;
  Log(*c, response.status, false);
  return queued == MHD_YES ? 1 : 0;
}

void HttpServer::OnCompleted(void** state, int reason) {
  auto* c = static_cast<Connection*>(*state);
  if (c == nullptr) return;
  *state = nullptr;
  if (c->spool_fd >= 0) ::close(c->spool_fd);
  if (!c->request.body_file.empty()) ::unlink(c->request.body_file.c_str());
  if (!c->responded) Log(*c, 0, reason != MHD_REQUEST_TERMINATED_COMPLETED_OK);
  delete c;
}

void HttpServer::Log(const Connection& c, int status, bool aborted) {
  if (options_.log == nullptr) return;
  nlohmann::ordered_json line;
  line["time"] = refstore::FormatRfc3339(absl::FromUnixSeconds(absl::ToUnixSeconds(c.start)));
  line["method"] = c.request.method;
  line["path"] = c.request.path;
  std::string query;
  for (const auto& [k, v] : c.request.query) {
    if (!query.empty()) query += '&';
    query += k + "=" + v;
  }
  if (!query.empty()) line["query"] = query;
  line["status"] = status;
  line["ms"] = absl::ToDoubleMilliseconds(absl::Now() - c.start);
  line["body_bytes"] = c.request.body_bytes;
  if (aborted) line["aborted"] = true;
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(log_mu_);
  fputs(text.c_str(), options_.log);
  fflush(options_.log);
}

}  // namespace refstore_tool
