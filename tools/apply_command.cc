// apply_command.cc: wiring of `refstore apply` over apply.h.
#include "apply_command.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "apply.h"

namespace refstore_tool {

CLI::App* RegisterApplyCommand(CLI::App& root, Registry& registry) {
  auto file = std::make_shared<std::string>("-");
  CLI::App* cmd =
      root.add_subcommand("apply", "Apply JSON Lines operations (OPLOG.md), one result per line");
  cmd->add_option("file", *file, "Input file, - for stdin")
      ->type_name("FILE|-")
      ->capture_default_str();
  registry.Add(cmd, [file](Env& env) {
    std::ifstream input;
    if (*file != "-") {
      std::error_code ec;
      if (std::filesystem::is_directory(*file, ec)) {
        *env.err << "refstore: cannot read " << *file << ": is a directory (apply reads a file of "
                 << "JSON lines; the store is --store)\n";
        return kExitCannotOpen;
      }
      input.open(*file);
      if (!input) {
        *env.err << "refstore: cannot read " << *file << ": " << std::strerror(errno) << "\n";
        return kExitCannotOpen;
      }
    }
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitCannotOpen;
    std::istream& in = *file == "-" ? *env.in : input;
    return ApplyStream(*store, in, *env.out, *env.err,
                       env.globals.at.empty() ? std::nullopt : std::optional<absl::Time>(env.now));
  });
  return cmd;
}

}  // namespace refstore_tool
