// image_commands.h: docker's image verbs over the store: `image ls`
// (`images`), `image rm` (`rmi`), `image prune`, `image tag` (`tag`),
// `image inspect`, and beyond docker `image pin` / `image unpin`.
//
// Thread-safety: registration and runs happen on main's thread.
#ifndef REFSTORE_TOOLS_IMAGE_COMMANDS_H_
#define REFSTORE_TOOLS_IMAGE_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "command.h"

namespace refstore_tool {

// Adds the image verbs under `image` (an "image" subcommand of `root`) and
// docker's top-level aliases (`images`, `rmi`, `tag`) under `root`.
void RegisterImageCommands(CLI::App& root, CLI::App& image, Registry& registry);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_IMAGE_COMMANDS_H_
