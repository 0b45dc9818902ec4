// command.cc: opening the store, docker's error line, --filter parsing.
//
// docker sources: opts/opts.go (FilterOpt.Set: "bad format of filter
// (expected name=value)", key lowercased, both sides trimmed); the moby
// client's errors ("Error response from daemon: %s").
#include "command.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "absl/strings/match.h"

namespace refstore_tool {
namespace {

std::string Trim(std::string_view s) {
  const auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::unique_ptr<refstore::Store> OpenStore(const Env& env, bool read_only) {
  refstore::StoreOptions options;
  options.sync_writes = env.globals.sync;
  options.content_store = env.globals.content;
  options.read_only = read_only || env.globals.read_only;
  options.lock_wait = env.globals.wait_lock;
  options.recreate_missing_content = env.globals.recreate_missing_content;
  absl::StatusOr<std::unique_ptr<refstore::Store>> store =
      refstore::Store::Open(env.globals.store_dir, options);
  // Store::Open's busy states (another process holds the store, or is
  // creating or upgrading it) all start "store is "; another Unavailable (an
  // I/O error) is a failure to open like any other.
  if (absl::IsUnavailable(store.status()) &&
      absl::StartsWith(store.status().message(), "store is ")) {
    throw StoreBusyError(std::string(store.status().message()));
  }
  if (!store.ok()) {
    *env.err << "refstore: cannot open store " << env.globals.store_dir << ": "
             << store.status().ToString() << "\n";
    if (absl::IsFailedPrecondition(store.status()) &&
        store.status().message().find("to upgrade it") != std::string_view::npos) {
      *env.err << "refstore: 'refstore --store " << env.globals.store_dir
               << " system upgrade' upgrades it\n";
    }
    return nullptr;
  }
  return std::move(*store);
}

void WarnCollectError(std::ostream& err, const refstore::CollectResult& collected) {
  if (collected.error.empty()) return;
  err << "WARNING: the change is made; deleting freed files failed: " << collected.error
      << "; run 'refstore gc' to finish\n";
}

std::string DaemonError(const absl::Status& status) {
  return "Error response from daemon: " + std::string(status.message());
}

void PrintDaemonError(std::ostream& err, const absl::Status& status) {
  err << DaemonError(status) << "\n";
}

refstore::Filters ParseFilterFlags(const std::vector<std::string>& values) {
  refstore::Filters filters;
  for (const std::string& value : values) {
    const size_t eq = value.find('=');
    if (eq == std::string::npos) {
      throw UsageError("invalid argument \"" + value +
                       "\" for \"--filter\" flag: bad format of filter (expected name=value)");
    }
    std::string key = Trim(std::string_view(value).substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    filters[key].push_back(Trim(std::string_view(value).substr(eq + 1)));
  }
  return filters;
}

const Registry::Run* Registry::Parsed() const {
  const Run* found = nullptr;
  size_t depth = 0;
  for (const Command& c : commands_) {
    if (!c.app->parsed()) continue;
    size_t d = 0;
    for (const CLI::App* p = c.app; p != nullptr; p = p->get_parent()) ++d;
    if (found == nullptr || d > depth) {
      found = &c.run;
      depth = d;
    }
  }
  return found;
}

std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (const CLI::App* p = app; p != nullptr; p = p->get_parent()) {
    std::string name = p->get_parent() == nullptr ? "refstore" : p->get_name();
    path = path.empty() ? name : name + " " + path;
  }
  return path;
}

}  // namespace refstore_tool
