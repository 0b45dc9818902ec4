#include "driver/child.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace refstore::bench {
namespace {

// write_bytes of /proc/self/io: bytes this process caused to be written to
// storage (RocksDB's log, flushes and compactions included).
int64_t WriteBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return -1;
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<nlohmann::json> RunInChild(const std::function<nlohmann::json()>& step) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    close(fds[0]);
    nlohmann::json result;
    try {
      result = step();
    } catch (const std::exception& e) {
      result = {{"error", e.what()}};
    }
    result["bytes_written"] = WriteBytes();
    std::fflush(nullptr);
    _exit(WriteAll(fds[1], result.dump()) ? 0 : 1);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.empty()) {
    return absl::InternalError("benchmark child died (status " + std::to_string(status) + ")");
  }
  nlohmann::json result = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) return absl::InternalError("benchmark child sent bad JSON");
  result["peak_rss_kb"] = usage.ru_maxrss;
  return result;
}

}  // namespace refstore::bench
