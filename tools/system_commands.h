// system_commands.h: `system df [-v]` (docker's disk usage), and beyond
// docker `stats` (the store's column families and size on disk) and
// `explain REF|DIGEST` (why an image or a blob is kept). All three only
// read: they open the store read-only.
//
// Thread-safety: registration and runs happen on main's thread.
#ifndef REFSTORE_TOOLS_SYSTEM_COMMANDS_H_
#define REFSTORE_TOOLS_SYSTEM_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

// Adds `system df` (and docker's `system` alias-free layout) plus the
// top-level `stats` and `explain` under `root`.
void RegisterSystemCommands(CLI::App& root, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_SYSTEM_COMMANDS_H_
