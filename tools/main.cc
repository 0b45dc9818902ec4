// main.cc: the `refstore` command: argument handling over the library.
//
//   refstore --store DIR [--sync] [--content] [--namespace NS] COMMAND
//     apply [FILE|-]                    JSON Lines operations (OPLOG.md)
//     gc [--json]                       delete the files of freed blobs
//     check [--repair] [--json] [--no-verify]
//     image import DIR [--repository R] [--json]
//     image adopt [--json]
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
#include "absl/time/clock.h"
#include "apply.h"
#include "gc_commands.h"
#include "refstore/store.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotOpen = 2;

// Options that come before the subcommand and apply to all of them.
struct GlobalOptions {
  std::string store_dir;
  bool sync = false;
  bool content = false;
  std::string ns = "default";
};

struct ApplyOptions {
  std::string file = "-";
};

std::unique_ptr<refstore::Store> OpenStore(const GlobalOptions& global) {
  refstore::StoreOptions options;
  options.sync_writes = global.sync;
  options.content_store = global.content;
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
  app.add_flag("--content", global.content,
               "create the store with a content store (blob files under DIR/content)");
  app.add_option("--namespace,-n", global.ns, "namespace of image commands")
      ->capture_default_str();

  bool json = false;
  CLI::App* gc_cmd = app.add_subcommand("gc", "delete the files of freed blobs");
  gc_cmd->add_flag("--json", json, "print JSON");

  refstore_tool::CheckFlags check;
  bool no_verify = false;
  CLI::App* check_cmd =
      app.add_subcommand("check", "recount everything from scratch; exit 0 only when clean");
  check_cmd->add_flag("--repair", check.repair, "make the store consistent, then check again");
  check_cmd->add_flag("--json", check.json, "print JSON");
  check_cmd->add_flag("--no-verify", no_verify, "compare file sizes only, do not hash files");

  CLI::App* image_cmd = app.add_subcommand("image", "image commands");
  image_cmd->require_subcommand(1);
  std::string import_dir;
  refstore::ImportOptions import;
  CLI::App* import_cmd = image_cmd->add_subcommand("import", "import an OCI image layout");
  import_cmd->add_option("dir", import_dir, "the layout's directory")->required();
  import_cmd->add_option("--repository", import.repository,
                         "repository for bare tags (default: the directory's name)");
  import_cmd->add_flag("--json", json, "print JSON");
  CLI::App* adopt_cmd = image_cmd->add_subcommand(
      "adopt", "make images of manifests found in the content store without a record");
  adopt_cmd->add_flag("--json", json, "print JSON");

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
    std::unique_ptr<refstore::Store> store = OpenStore(global);
    if (store == nullptr) return kExitCannotOpen;
    refstore::OpContext ctx{.ns = global.ns, .now = absl::Now()};
    if (gc_cmd->parsed()) return refstore_tool::RunGc(*store, json, std::cout, std::cerr);
    if (check_cmd->parsed()) {
      check.verify_digests = !no_verify;
      return refstore_tool::RunCheck(*store, ctx, check, std::cout, std::cerr);
    }
    if (import_cmd->parsed()) {
      return refstore_tool::RunImport(*store, ctx, import_dir, import, json, std::cout,
                                      std::cerr);
    }
    if (adopt_cmd->parsed()) return refstore_tool::RunAdopt(*store, ctx, json, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "refstore: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}
