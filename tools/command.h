// command.h: what every `refstore` command shares: the global options, the
// environment a command runs in (streams, "now", namespace), opening the
// store, docker's error line, exit statuses, and the registry that main.cc
// dispatches through.
//
// Example (a command file):
//   void RegisterTag(CLI::App& image, Registry& registry) {
//     auto args = std::make_shared<std::vector<std::string>>();
//     CLI::App* cmd = image.add_subcommand("tag", "...");
//     cmd->add_option("args", *args)->expected(2)->required();
//     registry.Add(cmd, [args](Env& env) { ... return kExitOk; });
//   }
//
// Thread-safety: used from main's thread only.
#ifndef REFSTORE_TOOLS_COMMAND_H_
#define REFSTORE_TOOLS_COMMAND_H_

#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "refstore/filters.h"
#include "refstore/store.h"

namespace refstore_tool {

// Exit statuses (tools/README.md). apply, gc, check and image import/adopt
// keep their own documented ones (2 when the store cannot be opened).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // an error the store reported
inline constexpr int kExitCannotOpen = 2;  // apply, gc, check, import, adopt
inline constexpr int kExitBusy = 3;     // the store is in use (or being created) by another process
inline constexpr int kExitUsage = 125;  // a bad command line, as docker

// Options before (or after) the subcommand, for every command.
struct GlobalOptions {
  std::string store_dir;
  bool sync = false;
  bool content = false;
  bool read_only = false;  // --read-only: open every store read-only
  std::string ns = "default";
  std::string at;                                   // --at: RFC 3339 "now"; empty: the clock
  absl::Duration wait_lock = absl::ZeroDuration();  // --wait-lock: StoreOptions::lock_wait
  bool recreate_missing_content = false;            // check --repair --content-gone
};

// What a command runs with.
struct Env {
  GlobalOptions globals;
  absl::Time now = absl::UnixEpoch();
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Whether stdin / stderr are terminals (prompt echo, progress line).
  bool stderr_is_terminal = false;

  refstore::OpContext Ctx() const { return {.ns = globals.ns, .now = now}; }
};

// A bad command line found while running a command (a filter without '=',
// an unparsable size): main prints it with the usage hint and exits 125.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store is in use by another process (or being created by one) and
// --wait-lock ran out: main prints it and exits kExitBusy.
class StoreBusyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Opens the store. Read-only when `read_only` (a command that only reads)
// or --read-only was given (StoreOptions::read_only: RocksDB's read-only
// open, also beside a writer; never writes a byte). Waits up to
// --wait-lock for a store another process holds; then throws
// StoreBusyError. On another failure prints "refstore: cannot open store
// DIR: <status>" to env.err and returns nullptr.
std::unique_ptr<refstore::Store> OpenStore(const Env& env, bool read_only);

// After a committed change whose collection failed (CollectResult::error):
// "WARNING: the change is made; deleting freed files failed: <error>; run
// 'refstore gc' to finish\n" on `err`. Nothing when there was no error.
void WarnCollectError(std::ostream& err, const refstore::CollectResult& collected);

// docker's error line: "Error response from daemon: <message>\n".
void PrintDaemonError(std::ostream& err, const absl::Status& status);
std::string DaemonError(const absl::Status& status);

// docker's --filter values ("key=value", the key lowercased and both sides
// trimmed, as docker's opts.FilterOpt) into Filters.
// Throws UsageError "bad format of filter (expected name=value)".
refstore::Filters ParseFilterFlags(const std::vector<std::string>& values);

// The commands main dispatches: the parsed leaf subcommand runs.
class Registry {
 public:
  using Run = std::function<int(Env&)>;
  void Add(CLI::App* app, Run run) { commands_.push_back({app, std::move(run)}); }
  // The command whose subcommand was parsed (the deepest), or nullptr.
  const Run* Parsed() const;

 private:
  struct Command {
    CLI::App* app;
    Run run;
  };
  std::vector<Command> commands_;
};

// "refstore image ls": the command path of `app` for usage hints.
std::string CommandPath(const CLI::App* app);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_COMMAND_H_
