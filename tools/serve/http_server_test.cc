// Tests of HttpServer: a server on a real Unix socket in a temporary
// directory per test, and a raw HTTP/1.1 client written here (request bytes
// written as they are, responses parsed from the bytes read).
#include "serve/http_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace refstore_tool {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// A response as the client read it.
struct Response {
  int status = 0;
  Pairs headers;
  std::string body;

  // The first value of header `name` (compared without case), or "".
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
  bool HasHeader(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return true;
    }
    return false;
  }
};

// One client connection to a Unix socket. Reads give up after 20 seconds
// without a byte (a guard against a hung server, not a timing assertion).
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    timeval tv{};
    tv.tv_sec = 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (`head`: the answer to a HEAD request, no body).
  // Returns false when the connection ended (or timed out) before it was
  // whole.
  bool Read(Response* out, bool head = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    *out = Response();
    const std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return false;
    out->status = std::atoi(status_line.c_str() + 9);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      const std::string line = head_text.substr(
          start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) return false;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out->headers.emplace_back(line.substr(0, colon), value);
    }
    if (head || out->status == 204 || out->status == 304 || out->status < 200) return true;
    if (strcasecmp(out->Header("Transfer-Encoding").c_str(), "chunked") == 0) {
      return ReadChunked(&out->body);
    }
    if (out->HasHeader("Content-Length")) {
      const size_t length = std::stoull(out->Header("Content-Length"));
      while (buf_.size() < length) {
        if (!Fill()) return false;
      }
      out->body = buf_.substr(0, length);
      buf_.erase(0, length);
      return true;
    }
    while (Fill()) {
    }
    out->body = std::move(buf_);
    buf_.clear();
    return eof_;
  }

  // Reads until the server closes the connection; returns the bytes that
  // came (none expected) and whether it did close.
  bool ReadToEof(std::string* rest) {
    while (Fill()) {
    }
    *rest = std::move(buf_);
    buf_.clear();
    return eof_;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool Fill() {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (n < 0 && errno == ECONNRESET)) eof_ = true;
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  bool ReadChunked(std::string* body) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (!Fill()) return false;
      }
      const size_t size = std::stoull(buf_.substr(0, eol), nullptr, 16);
      buf_.erase(0, eol + 2);
      if (size == 0) {
        // Trailers (none expected), then the blank line.
        while ((eol = buf_.find("\r\n")) != 0) {
          if (eol == std::string::npos) {
            if (!Fill()) return false;
            continue;
          }
          buf_.erase(0, eol + 2);
        }
        buf_.erase(0, 2);
        return true;
      }
      while (buf_.size() < size + 2) {
        if (!Fill()) return false;
      }
      body->append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

// A request's bytes: `method target`, Host and Connection: close, `extra`
// header lines, Content-Length when `body` is not empty, and `body`.
std::string Request(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& extra = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  r += extra;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  return r + body;
}

// `n` bytes of a pattern that is not periodic in small powers of two.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

std::string ReadFileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// What the handler saw of a request (copied while it ran).
struct Seen {
  HttpRequest request;
  bool body_file_existed = false;
  std::string body_file_bytes;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/http_server_test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    spool_ = dir_ / "spool";
    fs::create_directories(spool_);
    socket_ = (dir_ / "s.sock").string();
    ASSERT_LT(socket_.size(), sizeof(sockaddr_un{}.sun_path));
  }

  void TearDown() override {
    server_.reset();
    if (log_ != nullptr) std::fclose(log_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts the server on a new listening socket at socket_; the handler is
  // `handler` (nullptr: one that answers 200 {"ok":true}), counted in calls_
  // and recorded in seen_.
  void Start(HttpServer::Options options, HttpServer::Handler handler = nullptr) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_.c_str(), socket_.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
    ASSERT_EQ(::listen(fd, 128), 0);
    options.listen_fd = fd;
    if (options.spool_dir.empty()) options.spool_dir = spool_.string();
    if (!handler) handler = [](HttpRequest&) { return HttpResponse::Json(200, "{\"ok\":true}"); };
    auto server =
        HttpServer::Start(std::move(options), [this, handler = std::move(handler)](HttpRequest& r) {
          calls_.fetch_add(1);
          Seen seen;
          seen.request = r;
          if (!r.body_file.empty()) {
            seen.body_file_existed = fs::exists(r.body_file);
            seen.body_file_bytes = ReadFileBytes(r.body_file);
          }
          {
            std::lock_guard<std::mutex> lock(mu_);
            seen_.push_back(std::move(seen));
          }
          return handler(r);
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // Sends `request` on a new connection and reads the response.
  Response Fetch(const std::string& request, bool head = false) {
    Client c(socket_);
    EXPECT_TRUE(c.connected()) << strerror(errno);
    EXPECT_TRUE(c.Send(request));
    Response r;
    EXPECT_TRUE(c.Read(&r, head)) << request.substr(0, 200);
    return r;
  }

  std::vector<Seen> SeenRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  // The names in the spool directory.
  std::vector<std::string> SpoolFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(spool_)) out.push_back(e.path().string());
    return out;
  }

  // Opens the request log (an anonymous temporary file).
  FILE* OpenLog() {
    log_ = std::tmpfile();
    EXPECT_NE(log_, nullptr);
    return log_;
  }

  // The request log's lines (the server flushes after each).
  std::vector<std::string> LogLines() {
    std::string text;
    char buf[4096];
    off_t offset = 0;
    ssize_t n;
    while ((n = ::pread(fileno(log_), buf, sizeof(buf), offset)) > 0) {
      text.append(buf, static_cast<size_t>(n));
      offset += n;
    }
    std::vector<std::string> lines;
    size_t start = 0, nl;
    while ((nl = text.find('\n', start)) != std::string::npos) {
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    EXPECT_EQ(start, text.size()) << "a partial line: " << text.substr(start);
    return lines;
  }

  // Polls `done` every 10 ms for up to 10 seconds; returns its last answer.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  fs::path dir_;
  fs::path spool_;
  std::string socket_;
  std::unique_ptr<HttpServer> server_;
  FILE* log_ = nullptr;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<Seen> seen_;
};

TEST(HttpServerStartTest, WithoutAListeningSocketIsInvalidArgument) {
  auto server = HttpServer::Start({}, [](HttpRequest&) { return HttpResponse::Text(200, ""); });
  EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << server.status();
}

TEST(HttpRequestTest, QueryAndHeaderAccessors) {
  HttpRequest r;
  r.query = {{"k", "1"}, {"x", "y"}, {"k", "2"}, {"e", ""}};
  r.headers = {{"Content-Type", "text/plain"}, {"X-A", "first"}, {"x-a", "second"}};
  bool present = false;
  EXPECT_EQ(r.Query("k", &present), "1");
  EXPECT_TRUE(present);
  EXPECT_EQ(r.Query("e", &present), "");
  EXPECT_TRUE(present);
  EXPECT_EQ(r.Query("missing", &present), "");
  EXPECT_FALSE(present);
  EXPECT_EQ(r.QueryAll("k"), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(r.QueryAll("missing").empty());
  EXPECT_EQ(r.Header("content-type"), "text/plain");
  EXPECT_EQ(r.Header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(r.Header("x-a"), "first");
  EXPECT_EQ(r.Header("Content-Typ"), "");
  EXPECT_EQ(r.Header("missing"), "");
}

TEST(HttpResponseTest, JsonAndTextSetTheContentType) {
  HttpResponse j = HttpResponse::Json(201, "{}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.body, "{}");
  EXPECT_EQ(j.headers, (Pairs{{"Content-Type", "application/json"}}));
  EXPECT_EQ(j.file_fd, -1);
  HttpResponse t = HttpResponse::Text(404, "no");
  EXPECT_EQ(t.status, 404);
  EXPECT_EQ(t.body, "no");
  EXPECT_EQ(t.headers, (Pairs{{"Content-Type", "text/plain; charset=utf-8"}}));
}

TEST_F(HttpServerTest, HandlerSeesMethodPathQueryHeadersAndBody) {
  Start({}, [](HttpRequest&) {
    HttpResponse r = HttpResponse::Json(201, "{\"created\":true}");
    r.headers.emplace_back("X-Reply", "yes");
    return r;
  });
  Response r =
      Fetch(Request("POST", "/images/a%20b%3Ac/tag?k=1&x=hello%20world&k=2&e=&k=3&plus=a+b%2Bc",
                    "payload bytes", "X-Custom-Header: Value One\r\n"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "{\"created\":true}");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-Reply"), "yes");

  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  const HttpRequest& q = seen[0].request;
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.path, "/images/a b:c/tag");
  EXPECT_EQ(q.QueryAll("k"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(q.Query("x"), "hello world");
  bool present = false;
  EXPECT_EQ(q.Query("e", &present), "");
  EXPECT_TRUE(present);
  q.Query("missing", &present);
  EXPECT_FALSE(present);
  EXPECT_EQ(q.Query("plus"), "a b+c");  // Go's url.Values encode a space as '+'
  ASSERT_EQ(q.query.size(), 6u);
  EXPECT_EQ(q.query[0], (std::pair<std::string, std::string>{"k", "1"}));
  EXPECT_EQ(q.query[1], (std::pair<std::string, std::string>{"x", "hello world"}));
  EXPECT_EQ(q.query[4], (std::pair<std::string, std::string>{"k", "3"}));
  EXPECT_EQ(q.Header("x-custom-header"), "Value One");
  EXPECT_EQ(q.Header("X-CUSTOM-HEADER"), "Value One");
  EXPECT_EQ(q.Header("host"), "localhost");
  EXPECT_EQ(q.Header("missing"), "");
  EXPECT_EQ(q.body, "payload bytes");
  EXPECT_EQ(q.body_bytes, 13);
  EXPECT_EQ(q.body_file, "");
}

TEST_F(HttpServerTest, GetWithoutBodyHasAnEmptyBody) {
  Start({});
  Response r = Fetch(Request("GET", "/x"));
  EXPECT_EQ(r.status, 200);
  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request.method, "GET");
  EXPECT_EQ(seen[0].request.path, "/x");
  EXPECT_TRUE(seen[0].request.query.empty());
  EXPECT_EQ(seen[0].request.body, "");
  EXPECT_EQ(seen[0].request.body_bytes, 0);
}

TEST_F(HttpServerTest, ChunkedRequestBodyArrivesWhole) {
  Start({});
  const std::string body = Pattern(70000);
  std::string chunked;
  for (size_t i = 0; i < body.size(); i += 30000) {
    const std::string part = body.substr(i, 30000);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", part.size());
    chunked += size + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  Response r = Fetch(Request("POST", "/chunked", "", "Transfer-Encoding: chunked\r\n") + chunked);
  EXPECT_EQ(r.status, 200);
  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request.body.size(), body.size());
  EXPECT_TRUE(seen[0].request.body == body);
  EXPECT_EQ(seen[0].request.body_bytes, static_cast<int64_t>(body.size()));
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413WithoutCallingTheHandler) {
  HttpServer::Options options;
  options.max_body_bytes = 16;
  options.common_headers = {{"Api-Version", "1.47"}};
  Start(options);

  // Announced by Content-Length.
  Response r = Fetch(Request("POST", "/big", std::string(100, 'x')));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("Api-Version"), "1.47");
  Json body = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["message"], "request body is larger than 16 bytes");
  EXPECT_EQ(calls_.load(), 0);

  // Only found while reading a chunked body.
  r = Fetch(Request("POST", "/big", "", "Transfer-Encoding: chunked\r\n") +
            "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(calls_.load(), 0);

  // At the limit: handled.
  r = Fetch(Request("POST", "/ok", std::string(16, 'y')));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(HttpServerTest, SpooledBodyArrivesAsAFileRemovedAfterTheHandler) {
  HttpServer::Options options;
  options.max_body_bytes = 16;  // spooled bodies have their own limit
  options.spool = [](std::string_view method, std::string_view path) {
    return method == "POST" && path == "/load";
  };
  Start(options);
  const std::string body = Pattern(300000);
  Response r = Fetch(Request("POST", "/load", body));
  EXPECT_EQ(r.status, 200);
  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  const HttpRequest& q = seen[0].request;
  EXPECT_EQ(q.body, "");
  EXPECT_EQ(q.body_bytes, static_cast<int64_t>(body.size()));
  ASSERT_FALSE(q.body_file.empty());
  EXPECT_EQ(fs::path(q.body_file).parent_path(), spool_);
  EXPECT_TRUE(seen[0].body_file_existed);
  EXPECT_EQ(seen[0].body_file_bytes.size(), body.size());
  EXPECT_TRUE(seen[0].body_file_bytes == body);
  // Removed before the response was sent.
  EXPECT_FALSE(fs::exists(q.body_file));
  EXPECT_TRUE(SpoolFiles().empty());
}

TEST_F(HttpServerTest, SpooledEmptyBodyIsAnEmptyFile) {
  HttpServer::Options options;
  options.spool = [](std::string_view, std::string_view path) { return path == "/load"; };
  Start(options);
  Response r = Fetch(Request("POST", "/load"));
  EXPECT_EQ(r.status, 200);
  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_FALSE(seen[0].request.body_file.empty());
  EXPECT_TRUE(seen[0].body_file_existed);
  EXPECT_EQ(seen[0].body_file_bytes, "");
  EXPECT_TRUE(SpoolFiles().empty());
}

TEST_F(HttpServerTest, SpooledBodyOverItsLimitIs413AndLeavesNoFile) {
  HttpServer::Options options;
  options.max_spool_bytes = 1000;
  options.spool = [](std::string_view, std::string_view path) { return path == "/load"; };
  Start(options);
  Response r = Fetch(Request("POST", "/load", std::string(1001, 'z')));
  EXPECT_EQ(r.status, 413);
  r = Fetch(Request("POST", "/load", "", "Transfer-Encoding: chunked\r\n") + "3e8\r\n" +
            std::string(1000, 'z') + "\r\n1\r\nz\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_TRUE(SpoolFiles().empty());
}

TEST_F(HttpServerTest, SpoolDirectoryThatCannotBeWrittenIs500) {
  HttpServer::Options options;
  options.spool_dir = (dir_ / "missing").string();
  options.spool = [](std::string_view, std::string_view path) { return path == "/load"; };
  Start(options);
  Response r = Fetch(Request("POST", "/load", "some bytes"));
  EXPECT_EQ(r.status, 500);
  Json body = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_NE(body["message"].get<std::string>().find(options.spool_dir), std::string::npos);
  r = Fetch(Request("POST", "/load"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(HttpServerTest, ClientThatDisconnectsMidBodyNeverReachesTheHandler) {
  HttpServer::Options options;
  options.log = OpenLog();
  // Also tells when the server has begun a request (spool is asked then).
  auto begun = std::make_shared<std::atomic<int>>(0);
  options.spool = [begun](std::string_view, std::string_view path) {
    begun->fetch_add(1);
    return path == "/load";
  };
  Start(options);
  {
    Client c(socket_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(
        "POST /load HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1000\r\n"
        "\r\n0123456789"));
    // The 10 bytes reach the spool file before the client goes.
    ASSERT_TRUE(Eventually([&] { return !SpoolFiles().empty(); }));
  }
  // The request ends aborted: one log line, and its file removed.
  ASSERT_TRUE(Eventually([&] { return LogLines().size() == 1; }));
  EXPECT_TRUE(Eventually([&] { return SpoolFiles().empty(); }));
  EXPECT_TRUE(SpoolFiles().empty());
  EXPECT_EQ(calls_.load(), 0);
  Json line = Json::parse(LogLines()[0], nullptr, false);
  ASSERT_TRUE(line.is_object()) << LogLines()[0];
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["path"], "/load");
  EXPECT_EQ(line["status"], 0);
  EXPECT_EQ(line["aborted"], true);
  EXPECT_EQ(line["body_bytes"], 10);

  // The same for a body kept in memory.
  {
    Client c(socket_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(
        c.Send("POST /mem HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n0123456789"));
    ASSERT_TRUE(Eventually([&] { return begun->load() == 2; }));
  }
  ASSERT_TRUE(Eventually([&] { return LogLines().size() == 2; }));
  EXPECT_EQ(calls_.load(), 0);
  line = Json::parse(LogLines()[1], nullptr, false);
  EXPECT_EQ(line["path"], "/mem");
  EXPECT_EQ(line["status"], 0);
  EXPECT_EQ(line["aborted"], true);

  // The server still serves.
  EXPECT_EQ(Fetch(Request("GET", "/after")).status, 200);
  EXPECT_EQ(calls_.load(), 1);
}

// A client that writes its request line, headers and part of its body and
// closes at once, possibly before libmicrohttpd hands the request over:
// the handler never runs and the server goes on. (Such
// a request is logged only when it was handed over: http_server.h.)
TEST_F(HttpServerTest, ClientThatClosesRightAfterPartialBodyRunsNothing) {
  HttpServer::Options options;
  options.log = OpenLog();
  Start(options);
  constexpr int kClients = 10;
  for (int i = 0; i < kClients; ++i) {
    Client c(socket_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(
        c.Send("POST /gone HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"
               "0123456789"));
  }
  // The server still serves; the handler ran only for that request, and
  // every line logged for the others says aborted.
  EXPECT_EQ(Fetch(Request("GET", "/after")).status, 200);
  std::vector<std::string> lines = LogLines();
  ASSERT_FALSE(lines.empty());
  for (const std::string& l : lines) {
    Json line = Json::parse(l, nullptr, false);
    ASSERT_TRUE(line.is_object()) << l;
    if (line.value("path", "") == "/gone") EXPECT_TRUE(line.value("aborted", false)) << l;
  }
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(HttpServerTest, CommonHeadersAppearOnEveryResponse) {
  const fs::path file = dir_ / "file";
  std::ofstream(file, std::ios::binary) << "file bytes";
  HttpServer::Options options;
  options.max_body_bytes = 4;
  options.common_headers = {{"Api-Version", "1.47"}, {"Server", "refstore-test/1"}};
  Start(options, [&file](HttpRequest& r) -> HttpResponse {
    if (r.path == "/throw") throw std::runtime_error("boom");
    if (r.path == "/file") {
      HttpResponse f;
      f.file_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      f.file_size = 10;
      return f;
    }
    if (r.path == "/empty") {
      HttpResponse e;
      e.status = 204;
      return e;
    }
    return HttpResponse::Text(200, "text");
  });
  struct Case {
    std::string request;
    int status;
    bool head;
  };
  const std::vector<Case> cases = {
      {Request("GET", "/text"), 200, false},  {Request("HEAD", "/text"), 200, true},
      {Request("GET", "/file"), 200, false},  {Request("DELETE", "/empty"), 204, false},
      {Request("GET", "/throw"), 500, false}, {Request("POST", "/big", "too large"), 413, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request);
    Response r = Fetch(c.request, c.head);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.Header("Api-Version"), "1.47");
    EXPECT_EQ(r.Header("Server"), "refstore-test/1");
  }
}

TEST_F(HttpServerTest, HandlerExceptionIs500WithItsMessage) {
  Start({}, [](HttpRequest&) -> HttpResponse { throw std::runtime_error("handler failed"); });
  Response r = Fetch(Request("GET", "/x"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  Json body = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["message"], "handler failed");
  // The server still serves.
  EXPECT_EQ(Fetch(Request("GET", "/y")).status, 500);
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(HttpServerTest, HeadGetsHeadersButNoBody) {
  Start({}, [](HttpRequest& r) {
    HttpResponse resp = HttpResponse::Text(200, "the body of " + r.method);
    resp.headers.emplace_back("X-Method", r.method);
    return resp;
  });
  Client c(socket_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(Request("HEAD", "/thing")));
  Response r;
  ASSERT_TRUE(c.Read(&r, /*head=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("X-Method"), "HEAD");
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
  std::string rest;
  EXPECT_TRUE(c.ReadToEof(&rest));
  EXPECT_EQ(rest, "");  // no body after the headers
  std::vector<Seen> seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request.method, "HEAD");

  // GET of the same: the body.
  r = Fetch(Request("GET", "/thing"));
  EXPECT_EQ(r.body, "the body of GET");
}

TEST_F(HttpServerTest, FileResponseStreamsTheFile) {
  const fs::path file = dir_ / "big.bin";
  const std::string bytes = Pattern(1 << 20);
  std::ofstream(file, std::ios::binary) << bytes;
  Start({}, [&file, &bytes](HttpRequest& r) {
    HttpResponse resp;
    resp.headers.emplace_back("Content-Type", "application/x-tar");
    resp.file_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    resp.file_size = r.path == "/head-of-file" ? 4096 : static_cast<int64_t>(bytes.size());
    return resp;
  });
  Response r = Fetch(Request("GET", "/file"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/x-tar");
  EXPECT_EQ(r.body.size(), bytes.size());
  EXPECT_TRUE(r.body == bytes);

  // file_size bytes from the start, not the whole file.
  r = Fetch(Request("GET", "/head-of-file"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 4096u);
  EXPECT_TRUE(r.body == bytes.substr(0, 4096));
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start({}, [](HttpRequest& r) { return HttpResponse::Text(200, r.path + ":" + r.body); });
  Client c(socket_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    const std::string body = "b" + std::to_string(i);
    ASSERT_TRUE(c.Send("POST /k" + std::to_string(i) +
                       " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body));
    Response r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "/k" + std::to_string(i) + ":" + body);
  }
  EXPECT_EQ(calls_.load(), 5);
}

TEST_F(HttpServerTest, ManyConcurrentClientsAllSucceed) {
  Start({}, [](HttpRequest& r) { return HttpResponse::Text(200, "reply " + r.Query("i")); });
  constexpr int kThreads = 32;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &ok] {
      for (int n = 0; n < kRequests; ++n) {
        const std::string i = std::to_string(t) + "-" + std::to_string(n);
        Client c(socket_);
        if (!c.connected() || !c.Send(Request("GET", "/echo?i=" + i))) continue;
        Response r;
        if (c.Read(&r) && r.status == 200 && r.body == "reply " + i) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  EXPECT_EQ(calls_.load(), kThreads * kRequests);
}

TEST_F(HttpServerTest, RequestLogHasOneJsonLinePerRequest) {
  HttpServer::Options options;
  options.log = OpenLog();
  options.max_body_bytes = 8;
  Start(options,
        [](HttpRequest& r) { return HttpResponse::Text(r.method == "POST" ? 201 : 200, "x"); });
  EXPECT_EQ(Fetch(Request("GET", "/a?x=1&y=two")).status, 200);
  EXPECT_EQ(Fetch(Request("POST", "/b", "abc")).status, 201);
  EXPECT_EQ(Fetch(Request("POST", "/c", "way too large")).status, 413);
  EXPECT_EQ(Fetch(Request("HEAD", "/d"), /*head=*/true).status, 200);

  // Each line is written before its response is sent.
  std::vector<std::string> lines = LogLines();
  ASSERT_EQ(lines.size(), 4u);
  struct Want {
    std::string method, path;
    int status;
    int64_t body_bytes;
  };
  const std::vector<Want> want = {{"GET", "/a", 200, 0},
                                  {"POST", "/b", 201, 3},
                                  {"POST", "/c", 413, 13},
                                  {"HEAD", "/d", 200, 0}};
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    Json line = Json::parse(lines[i], nullptr, false);
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(line["method"], want[i].method);
    EXPECT_EQ(line["path"], want[i].path);
    EXPECT_EQ(line["status"], want[i].status);
    EXPECT_EQ(line["body_bytes"], want[i].body_bytes);
    EXPECT_TRUE(line["time"].is_string());
    EXPECT_TRUE(line["ms"].is_number());
    EXPECT_FALSE(line.contains("aborted"));
  }
  EXPECT_EQ(Json::parse(lines[0])["query"], "x=1&y=two");
  EXPECT_FALSE(Json::parse(lines[1]).contains("query"));
}

TEST_F(HttpServerTest, StopWithAnIdleKeepAliveConnectionReturnsAndIsIdempotent) {
  Start({});
  Client c(socket_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"));  // keep-alive
  Response r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(strcasecmp(r.Header("Connection").c_str(), "close"), 0);

  server_->Stop();  // the connection is idle and open
  server_->Stop();

  // The connection is closed, and so is the listening socket.
  std::string rest;
  EXPECT_TRUE(c.ReadToEof(&rest));
  EXPECT_EQ(rest, "");
  Client late(socket_);
  EXPECT_FALSE(late.connected());
  EXPECT_EQ(calls_.load(), 1);
  server_.reset();  // the destructor stops again
}

TEST_F(HttpServerTest, StopWithoutConnectionsAndDestructorAfterStop) {
  Start({});
  EXPECT_EQ(Fetch(Request("GET", "/")).status, 200);
  server_->Stop();
  Client late(socket_);
  EXPECT_FALSE(late.connected());
  server_.reset();
}

}  // namespace
}  // namespace refstore_tool
