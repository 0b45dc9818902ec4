// main.cc: the `refstore` command: argument handling over the library.
//
//   refstore --store DIR [--sync] apply [FILE|-]
//
// Exit status: 0 when every operation succeeded, 1 when any failed, 2 when
// the command line was wrong, the input could not be read or the store could
// not be opened (the reason goes to stderr).
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "apply.h"
#include "refstore/store.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotOpen = 2;

// Options that come before the subcommand and apply to all of them.
struct GlobalOptions {
  std::string store_dir;
  bool sync = false;
};

struct ApplyOptions {
  std::string file = "-";
};

std::unique_ptr<refstore::Store> OpenStore(const GlobalOptions& global) {
  refstore::StoreOptions options;
  options.sync_writes = global.sync;
  absl::StatusOr<std::unique_ptr<refstore::Store>> store =
      refstore::Store::Open(global.store_dir, options);
  if (!store.ok()) {
    std::cerr << "refstore: cannot open store " << global.store_dir << ": "
              << store.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

int RunApply(const GlobalOptions& global, const ApplyOptions& apply) {
  std::ifstream file;
  if (apply.file != "-") {
    file.open(apply.file);
    if (!file) {
      std::cerr << "refstore: cannot read " << apply.file << "\n";
      return kExitCannotOpen;
    }
  }
  std::unique_ptr<refstore::Store> store = OpenStore(global);
  if (store == nullptr) return kExitCannotOpen;
  std::istream& in = apply.file == "-" ? std::cin : file;
  return refstore_tool::ApplyStream(*store, in, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"refstore: a container-image reference store"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand

  GlobalOptions global;
  app.add_option("--store", global.store_dir, "store directory")
      ->required()
      ->type_name("DIR");
  app.add_flag("--sync", global.sync,
               "sync the write-ahead log before each change is acknowledged");

  ApplyOptions apply;
  CLI::App* apply_cmd = app.add_subcommand(
      "apply", "apply JSON Lines operations (OPLOG.md), one result per line");
  apply_cmd->add_option("file", apply.file, "input file, - for stdin")
      ->type_name("FILE|-")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? 0 : kExitUsage;
  }

  try {
    if (apply_cmd->parsed()) return RunApply(global, apply);
  } catch (const std::exception& e) {
    std::cerr << "refstore: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}
