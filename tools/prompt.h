// prompt.h: docker's confirmation prompt, terminal detection, and the
// progress line of long runs.
//
// Example:
//   if (!Confirm(std::cin, std::cout, "WARNING! ...\nAre you sure you want to continue?")) {
//     ...  // cancelled
//   }
//   ProgressLine progress(std::cerr, IsTerminal(2));
//   progress.Update("Pruning: 10 images scanned");
//   progress.Done();
//
// Thread-safety: Confirm uses only its arguments. ProgressLine is safe to
// update from one thread while a Ticker updates it from another.
#ifndef REFSTORE_TOOLS_PROMPT_H_
#define REFSTORE_TOOLS_PROMPT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <istream>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>

namespace refstore_tool {

// docker's prompt.Confirm: prints `message` + " [y/N] " to `out`, reads one
// line from `in`; true only for "y" or "Y" (surrounding blanks ignored). No
// input (end of file) is no. docker prompts whether or not stdin is a
// terminal, and so does this.
bool Confirm(std::istream& in, std::ostream& out, std::string_view message);

// Whether file descriptor `fd` is a terminal.
bool IsTerminal(int fd);

// One line on a terminal, rewritten in place ("\r" + text + erase to end of
// line), at most ten times a second (the first and the last update always
// show). Disabled: prints nothing. Done() erases it (a later Update shows
// it again); the destructor calls Done().
class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}
  ~ProgressLine() { Done(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Update(const std::string& text, bool force = false);
  void Done();

 private:
  std::ostream& out_;
  const bool enabled_;
  std::mutex mu_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// While alive, updates `line` every second with text(elapsed seconds): for
// calls that report no progress of their own (import, gc).
class Ticker {
 public:
  Ticker(ProgressLine& line, std::function<std::string(int seconds)> text);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  ProgressLine& line_;
  std::function<std::string(int)> text_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_PROMPT_H_
