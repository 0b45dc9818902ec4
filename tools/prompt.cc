// prompt.cc: the confirmation prompt and the progress line.
//
// docker sources: internal/prompt/prompt.go (Confirm: message + " [y/N] ",
// one line read with a bufio.Scanner, strings.TrimSpace, strings.EqualFold
// with "y"; nothing read means false), cli/command/utils.go
// (PromptForConfirmation delegates to it).
#include "prompt.h"

#include <unistd.h>

#include <cctype>

namespace refstore_tool {

bool Confirm(std::istream& in, std::ostream& out, std::string_view message) {
  if (message.empty()) message = "Are you sure you want to proceed?";
  out << message << " [y/N] " << std::flush;
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t b = 0, e = line.size();
  while (b < e && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
  return e - b == 1 && (line[b] == 'y' || line[b] == 'Y');
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

void ProgressLine::Update(const std::string& text, bool force) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && !force && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  out_ << "\r" << text << "\x1b[K" << std::flush;
}

void ProgressLine::Done() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (shown_) out_ << "\r\x1b[K" << std::flush;
  shown_ = false;
}

Ticker::Ticker(ProgressLine& line, std::function<std::string(int)> text)
    : line_(line), text_(std::move(text)) {
  line_.Update(text_(0), /*force=*/true);
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (int seconds = 1;; ++seconds) {
      if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) return;
      line_.Update(text_(seconds), /*force=*/true);
    }
  });
}

Ticker::~Ticker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace refstore_tool
