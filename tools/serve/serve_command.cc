// serve_command.cc: `refstore serve`: sockets, signals, the request log.
#include "serve/serve_command.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "serve/engine_api.h"
#include "serve/http_server.h"

#ifndef REFSTORE_VERSION
#define REFSTORE_VERSION "0.0.0"
#endif

namespace refstore_tool {
namespace {

struct ServeFlags {
  std::string socket;
  std::string tcp;
  std::string log = "-";
  std::string tmp_dir;
  int64_t max_body = 1 << 20;
  unsigned connections = 256;
};

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// A Unix socket at `path`, mode 0660. A socket file nobody listens on (a
// server that died) is replaced; a live one or any other file is an error.
int ListenUnix(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = "socket path " + path + " is longer than " +
             std::to_string(sizeof(addr.sun_path) - 1) + " bytes";
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = path + " exists and is not a socket";
      return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      *error = "another server is listening on " + path;
      return -1;
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = Errno("socket");
    return -1;
  }
  const mode_t old = umask(0117);  // the socket file is created 0660
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (bound != 0 || chmod(path.c_str(), 0660) != 0 || listen(fd, 128) != 0) {
    *error = Errno("cannot listen on " + path);
    close(fd);
    return -1;
  }
  return fd;
}

// A TCP socket on `host:port`, which must be a loopback address: the Engine
// API has no authentication.
int ListenLoopback(const std::string& spec, std::string* error) {
  const size_t colon = spec.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(spec.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    throw UsageError("invalid --tcp " + spec + ": expected HOST:PORT");
  }
  std::string host = spec.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), spec.substr(colon + 1).c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    throw UsageError("invalid --tcp " + spec + ": cannot resolve " + host);
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
  bool loopback = false;
  if (res->ai_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(res->ai_addr);
    loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  } else if (res->ai_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(res->ai_addr);
    loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  if (!loopback) {
    throw UsageError("refusing --tcp " + spec +
                     ": only loopback addresses (127.0.0.0/8, ::1); the Engine API has no "
                     "authentication");
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
    *error = Errno("cannot listen on " + spec);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

int RunServe(Env& env, const ServeFlags& f) {
  // Signals are taken by sigwait below; every thread started after this
  // inherits the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;

  std::string error;
  std::string where;
  int fd;
  std::string socket_path;
  if (!f.tcp.empty()) {
    fd = ListenLoopback(f.tcp, &error);
    where = "tcp://" + f.tcp;
  } else {
    socket_path = f.socket.empty() ? env.globals.store_dir + "/engine.sock" : f.socket;
    fd = ListenUnix(socket_path, &error);
    where = "unix://" + socket_path;
  }
  if (fd < 0) {
    *env.err << "refstore: " << error << "\n";
    return kExitError;
  }

  FILE* log = nullptr;
  if (f.log == "-") {
    log = stderr;
  } else if (!f.log.empty()) {
    log = std::fopen(f.log.c_str(), "a");
    if (log == nullptr) {
      *env.err << "refstore: " << Errno("cannot open the request log " + f.log) << "\n";
      close(fd);
      return kExitError;
    }
  }

  EngineApiOptions api_options;
  api_options.ns = env.globals.ns;
  api_options.store_dir = env.globals.store_dir;
  const char* tmp = std::getenv("TMPDIR");
  api_options.spool_dir =
      !f.tmp_dir.empty() ? f.tmp_dir : (tmp != nullptr && *tmp ? tmp : "/var/tmp");
  api_options.version = REFSTORE_VERSION;
  if (!env.globals.at.empty()) {
    const absl::Time at = env.now;
    api_options.now = [at] { return at; };
  }
  EngineApi api(store.get(), api_options);

  HttpServer::Options options;
  options.listen_fd = fd;
  options.max_body_bytes = f.max_body;
  options.spool_dir = api_options.spool_dir;
  options.spool = &EngineApi::SpoolsBody;
  options.connection_limit = f.connections;
  options.log = log;
  options.common_headers = {{"Api-Version", kMaxApiVersion},
                            {"Docker-Experimental", "false"},
                            {"Ostype", "linux"},
                            {"Server", std::string("refstore/") + REFSTORE_VERSION + " (linux)"}};
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, [&api](HttpRequest& r) { return api.Handle(r); });
  if (!server.ok()) {
    *env.err << "refstore: " << server.status().message() << "\n";
    close(fd);
    return kExitError;
  }
  *env.err << "refstore: serving " << env.globals.store_dir << " (namespace " << env.globals.ns
           << ") on " << where << "\n";
  env.err->flush();

  int sig = 0;
  sigwait(&stop, &sig);
  *env.err << "refstore: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
           << ": finishing the requests in progress\n";
  (*server)->Stop();
  if (!socket_path.empty()) unlink(socket_path.c_str());
  if (log != nullptr && log != stderr) std::fclose(log);
  store.reset();
  *env.err << "refstore: stopped\n";
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& root, Registry& registry) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = root.add_subcommand(
      "serve", "Serve the Docker Engine API (images, containers, df) on a Unix socket");
  cmd->add_option("--socket", f->socket, "Unix socket path (default: STORE/engine.sock)")
      ->type_name("PATH");
  cmd->add_option("--tcp", f->tcp, "Listen on this loopback TCP address instead (HOST:PORT)")
      ->type_name("HOST:PORT");
  cmd->add_option("--log", f->log, "Request log, JSON Lines (default -: stderr; empty: none)")
      ->type_name("FILE");
  cmd->add_option("--tmp-dir", f->tmp_dir,
                  "Directory for load and save archives (default: $TMPDIR or /var/tmp)")
      ->type_name("DIR");
  cmd->add_option("--max-body", f->max_body,
                  "Largest JSON request body in bytes (larger: 413); load archives are not bounded "
                  "by it")
      ->capture_default_str();
  cmd->add_option("--max-connections", f->connections, "Connections served at once")
      ->capture_default_str();
  registry.Add(cmd, [f](Env& env) { return RunServe(env, *f); });
}

}  // namespace refstore_tool
