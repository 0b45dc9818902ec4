// main.cc: the `refstore` command: global options and dispatch. The verbs
// live in the *_commands.cc files; tools/README.md lists every command and
// flag.
//
//   refstore --store DIR [--sync] [--content] [--namespace NS] [--at TIME]
//            [--read-only] [--wait-lock DURATION] COMMAND
//     apply [FILE|-]                      JSON Lines operations (OPLOG.md)
//     image ls|rm|prune|tag|inspect|pin|unpin|import|adopt, images, rmi, tag
//     container create|start|stop|rm|ls, ps
//     lease create|add|ls|rm
//     system df, stats, explain, gc, check
//     serve                               the Docker Engine API on a socket
//
// Exit status: 0 success; 1 an error the store reported (printed as
// docker's "Error response from daemon: <message>"); 125 a bad command line
// (docker's status for usage errors). apply, gc, check and image
// import/adopt keep their documented statuses: 2 when the store cannot be
// opened (and, for apply, a bad command line).
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "apply_command.h"
#include "command.h"
#include "container_commands.h"
#include "gc_commands.h"
#include "image_commands.h"
#include "lease_commands.h"
#include "prompt.h"
#include "refstore/filters.h"
#include "serve/serve_command.h"
#include "system_commands.h"

namespace {

using refstore_tool::kExitUsage;

// The deepest subcommand the parser entered (for the usage hint).
const CLI::App* DeepestParsed(const CLI::App* app) {
  for (const CLI::App* sub : app->get_subcommands()) {
    if (sub->parsed()) return DeepestParsed(sub);
  }
  return app;
}

int UsageError(const CLI::App& app, const std::string& message, int status) {
  std::cerr << "refstore: " << message << "\nSee '"
            << refstore_tool::CommandPath(DeepestParsed(&app)) << " --help'.\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"refstore: a container-image reference store with docker's image verbs"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand

  refstore_tool::GlobalOptions globals;
  app.add_option("--store", globals.store_dir, "Store directory")->required()->type_name("DIR");
  app.add_flag("--sync", globals.sync,
               "Sync the write-ahead log before each change is acknowledged");
  app.add_flag("--content", globals.content,
               "Create the store with a content store (blob files under DIR/content)");
  app.add_option("--namespace,-n", globals.ns, "Namespace of the commands")->capture_default_str();
  app.add_option("--at", globals.at, "The time used as now (RFC 3339; default: the clock)")
      ->type_name("TIME");
  app.add_flag("--read-only", globals.read_only,
               "Open the store read-only (never writes a byte; changes fail)");
  std::string wait_lock;
  app.add_option("--wait-lock", wait_lock,
                 "Wait up to this long (Go duration: 30s, 2m) for a store another process "
                 "holds, instead of failing at once (exit status 3)")
      ->type_name("DURATION");

  refstore_tool::Registry registry;
  CLI::App* apply = refstore_tool::RegisterApplyCommand(app, registry);
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  refstore_tool::RegisterImageCommands(app, *image, registry);
  refstore_tool::RegisterGcCommands(app, *image, registry);
  refstore_tool::RegisterContainerCommands(app, registry);
  refstore_tool::RegisterLeaseCommands(app, registry);
  refstore_tool::RegisterSystemCommands(app, registry);
  refstore_tool::RegisterServeCommand(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e.what(), apply->parsed() ? refstore_tool::kExitCannotOpen : kExitUsage);
  }

  refstore_tool::Env env;
  env.globals = globals;
  env.in = &std::cin;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stderr_is_terminal = refstore_tool::IsTerminal(2);
  env.now = absl::Now();
  if (!globals.at.empty()) {
    absl::StatusOr<absl::Time> at = refstore::ParseRfc3339(globals.at);
    if (!at.ok()) {
      return UsageError(app, "invalid --at: " + std::string(at.status().message()),
                        apply->parsed() ? refstore_tool::kExitCannotOpen : kExitUsage);
    }
    env.now = *at;
  }

  if (!wait_lock.empty()) {
    absl::StatusOr<absl::Duration> wait = refstore::ParseGoDuration(wait_lock);
    if (!wait.ok() || *wait < absl::ZeroDuration()) {
      return UsageError(
          app,
          "invalid --wait-lock: " +
              (wait.ok() ? std::string("negative duration") : std::string(wait.status().message())),
          apply->parsed() ? refstore_tool::kExitCannotOpen : kExitUsage);
    }
    env.globals.wait_lock = *wait;
  }

  const refstore_tool::Registry::Run* run = registry.Parsed();
  if (run == nullptr) return UsageError(app, "no command given", kExitUsage);
  try {
    return (*run)(env);
  } catch (const refstore_tool::UsageError& e) {
    return UsageError(app, e.what(), kExitUsage);
  } catch (const refstore_tool::StoreBusyError& e) {
    std::cerr << "refstore: cannot open store " << globals.store_dir << ": " << e.what() << "\n";
    return refstore_tool::kExitBusy;
  } catch (const std::exception& e) {
    std::cerr << "refstore: " << e.what() << "\n";
    return refstore_tool::kExitError;
  }
}
