#include "refstore/db/info_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "refstore/util/posix_file.h"

namespace refstore::internal {
namespace {

class InfoLog : public rocksdb::Logger {
 public:
  InfoLog(std::string dir, size_t max_bytes)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        dir_(std::move(dir)),
        max_bytes_(max_bytes) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    struct timeval now;
    ::gettimeofday(&now, nullptr);
    struct tm t;
    ::localtime_r(&now.tv_sec, &t);
    int n = std::snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ",
                          t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                          static_cast<long>(now.tv_usec));
    if (n < 0) return;
    va_list copy;
    va_copy(copy, ap);
    const int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, copy);
    va_end(copy);
    if (m < 0) return;
    size_t len = std::min(sizeof line - 1, static_cast<size_t>(n) + static_cast<size_t>(m));
    if (line[len - 1] != '\n') line[len++] = '\n';
    std::lock_guard<std::mutex> lock(mu_);
    if (!Open()) return;
    // A short or failed write (ENOSPC, EIO) loses the line, nothing else.
    const ssize_t written = ::write(fd_.get(), line, len);
    if (written > 0) size_ += static_cast<size_t>(written);
  }

 private:
  // Opens LOG when it is not open, first moving it to LOG.old when it
  // holds more than max_bytes_. False: no log (the directory does not exist
  // yet, or LOG cannot be opened).
  bool Open() {
    if (fd_.valid() && size_ <= max_bytes_) return true;
    fd_.reset();
    const std::string path = dir_ + "/LOG";
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) > max_bytes_) {
      ::rename(path.c_str(), (dir_ + "/LOG.old").c_str());
    }
    size_ = 0;
    if (internal::Open(path, O_WRONLY | O_CREAT | O_APPEND, &fd_, 0644) != 0) return false;
    if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<size_t>(st.st_size);
    return true;
  }

  const std::string dir_;
  const size_t max_bytes_;
  std::mutex mu_;
  UniqueFd fd_;
  size_t size_ = 0;  // of LOG
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewInfoLog(std::string_view dir, size_t max_bytes) {
  return std::make_shared<InfoLog>(std::string(dir), max_bytes);
}

}  // namespace refstore::internal
