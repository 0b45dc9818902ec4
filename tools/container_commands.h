// container_commands.h: `container create|start|stop|rm|ls` (and docker's
// `ps`): the containers that hold images. refstore records only what holds
// an image: the container's ID, the image ID, running or not, and when it
// was created (tools/README.md says what the other docker columns show).
//
// Thread-safety: registration and runs happen on main's thread.
#ifndef REFSTORE_TOOLS_CONTAINER_COMMANDS_H_
#define REFSTORE_TOOLS_CONTAINER_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

// Adds `container` with its verbs under `root`, and `ps` (= container ls).
void RegisterContainerCommands(CLI::App& root, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_CONTAINER_COMMANDS_H_
