// lease_commands.h: `lease create|add|ls|rm`: leases hold content in flight
// (a pull in progress) until deleted or expired (SEMANTICS.md §6). docker
// has no such verbs; the output follows docker's conventions (tables,
// "Total reclaimed space:").
//
// Thread-safety: registration and runs happen on main's thread.
#ifndef REFSTORE_TOOLS_LEASE_COMMANDS_H_
#define REFSTORE_TOOLS_LEASE_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

void RegisterLeaseCommands(CLI::App& root, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_LEASE_COMMANDS_H_
