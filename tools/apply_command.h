// apply_command.h: `refstore apply [FILE|-]`, the operation log (OPLOG.md).
// Exit statuses as OPLOG.md documents them: 0 every operation succeeded,
// 1 one failed, 2 the input could not be read or the store not opened (and,
// for apply only, a bad command line). With --at, lines without their own
// `at` run at that time instead of the clock.
//
// Thread-safety: registration and runs happen on main's thread.
#ifndef REFSTORE_TOOLS_APPLY_COMMAND_H_
#define REFSTORE_TOOLS_APPLY_COMMAND_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

// Adds `apply` under `root`; returns it (main gives its command-line errors
// status 2, as before).
CLI::App* RegisterApplyCommand(CLI::App& root, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_APPLY_COMMAND_H_
