// serve_command.h: `refstore serve`: the Docker Engine API (engine_api.h)
// on a Unix socket (default DIR/engine.sock, mode 0660) or, with an
// explicit --tcp, on a loopback TCP address; until SIGTERM or SIGINT.
//
// Thread-safety: used from main's thread only.
#ifndef REFSTORE_TOOLS_SERVE_SERVE_COMMAND_H_
#define REFSTORE_TOOLS_SERVE_SERVE_COMMAND_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

void RegisterServeCommand(CLI::App& root, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_SERVE_SERVE_COMMAND_H_
