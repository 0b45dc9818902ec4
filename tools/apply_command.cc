// apply_command.cc: wiring of `refstore apply` over apply.h.
#include "apply_command.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "apply.h"
#include "refstore/reference.h"

namespace refstore_tool {
namespace {

// ApplyStream with a fixed "now" (--at) for lines without `at`: the same
// loop (blank lines skipped, each result flushed as its acknowledgment,
// stop when the output fails).
int ApplyStreamAt(refstore::Store& store, std::istream& in, std::ostream& out, absl::Time now) {
  bool all_ok = true;
  std::string line;
  while (std::getline(in, line)) {
    if (refstore::IsBlank(line)) continue;
    Json result = ApplyLine(store, line, now);
    auto ok = result.find("ok");
    all_ok = ok != result.end() && *ok == true && all_ok;
    out << DumpLine(result) << '\n' << std::flush;
    if (!out) return 1;
  }
  return all_ok ? 0 : 1;
}

}  // namespace

CLI::App* RegisterApplyCommand(CLI::App& root, Registry& registry) {
  auto file = std::make_shared<std::string>("-");
  CLI::App* cmd = root.add_subcommand(
      "apply", "Apply JSON Lines operations (OPLOG.md), one result per line");
  cmd->add_option("file", *file, "Input file, - for stdin")
      ->type_name("FILE|-")
      ->capture_default_str();
  registry.Add(cmd, [file](Env& env) {
    std::ifstream input;
    if (*file != "-") {
      input.open(*file);
      if (!input) {
        *env.err << "refstore: cannot read " << *file << "\n";
        return kExitCannotOpen;
      }
    }
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitCannotOpen;
    std::istream& in = *file == "-" ? *env.in : input;
    if (env.globals.at.empty()) return ApplyStream(*store, in, *env.out);
    return ApplyStreamAt(*store, in, *env.out, env.now);
  });
  return cmd;
}

}  // namespace refstore_tool
