// gc_commands.h: `refstore gc`, `refstore check [--repair]`, `refstore image
// import DIR` and `refstore image adopt`: printing over the library's
// Collect, Check, Repair, ImportLayout and Adopt. `check` without --repair
// opens the store read-only. Each shows a progress line on stderr when
// stderr is a terminal. Exit statuses: 0, 1 (a failure, or faults found),
// 2 when the store cannot be opened.
#ifndef REFSTORE_TOOLS_GC_COMMANDS_H_
#define REFSTORE_TOOLS_GC_COMMANDS_H_

#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "command.h"
#include "prompt.h"
#include "refstore/store.h"

namespace refstore_tool {

struct CheckFlags {
  bool repair = false;
  bool json = false;
  bool verify_digests = true;
};

// Adds `gc` and `check` under `root`, `import` and `adopt` under `image`.
void RegisterGcCommands(CLI::App& root, CLI::App& image, Registry& registry);

// Each returns the process exit status: 0 on success (check: the store is
// consistent, after the repair when asked), 1 otherwise. Errors go to `err`;
// `progress` (may be disabled) gets the progress line.
int RunGc(refstore::Store& store, bool json, std::ostream& out, std::ostream& err,
          ProgressLine& progress);
int RunCheck(refstore::Store& store, const refstore::OpContext& ctx, const CheckFlags& flags,
             std::ostream& out, std::ostream& err, ProgressLine& progress);
int RunImport(refstore::Store& store, const refstore::OpContext& ctx, const std::string& dir,
              const refstore::ImportOptions& options, bool json, std::ostream& out,
              std::ostream& err, ProgressLine& progress);
int RunAdopt(refstore::Store& store, const refstore::OpContext& ctx, bool json, std::ostream& out,
             std::ostream& err, ProgressLine& progress);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_GC_COMMANDS_H_
