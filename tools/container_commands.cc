// container_commands.cc: container create / start / stop / rm / ls.
//
// docker sources relied on (github.com/docker/cli):
//   cli/command/container/create.go  prints the new container's full ID
//   cli/command/container/start.go, stop.go, rm.go  print each argument
//                                    as given on success; start's "Error:
//                                    failed to start containers: ..."; rm -f
//                                    prints errors but exits 0
//   cli/command/container/list.go    `ls` / `ps` flags: -a, -q, --no-trunc,
//                                    --format; running containers only
//                                    without -a; -q wins over --format with
//                                    a warning
//   cli/command/formatter/container.go  columns CONTAINER ID, IMAGE,
//                                    COMMAND, CREATED, STATUS, PORTS,
//                                    NAMES; COMMAND strconv.Quote'd;
//                                    IMAGE = TruncateID(ImageID) when the
//                                    container was created by ID; JSON keys
// refstore keeps no command, ports, names or start times: COMMAND is "",
// PORTS and NAMES are empty, STATUS is "Up" or "Exited" (tools/README.md).
#include "container_commands.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "format.h"
#include "nlohmann/json.hpp"
#include "output.h"
#include "views.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::json;

struct CreateFlags {
  std::string id;
  std::string name;
  std::string image;
};

int RunCreate(Env& env, const CreateFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  const std::string id = f.id.empty() ? NewContainerId() : f.id;
  absl::StatusOr<std::string> image_id =
      store->CreateContainer(env.Ctx(), id, f.image, /*running=*/false, f.name);
  if (!image_id.ok()) {
    PrintDaemonError(*env.err, image_id.status());
    return kExitError;
  }
  *env.out << id << "\n";
  return kExitOk;
}

enum class Verb { kStart, kStop, kRm };

struct EachFlags {
  bool force = false;
  std::vector<std::string> ids;
};

// start / stop / rm each container given; prints each one done, as docker:
// start prints each error at once and ends with "Error: failed to start
// containers: a, b"; stop and rm print the errors at the end; rm -f exits 0
// despite them.
int RunEach(Env& env, Verb verb, const EachFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  std::vector<std::string> errors;
  std::vector<std::string> failed;
  for (const std::string& id : f.ids) {
    absl::Status s;
    switch (verb) {
      case Verb::kStart:
        s = store->StartContainer(env.Ctx(), id);
        break;
      case Verb::kStop:
        s = store->StopContainer(env.Ctx(), id);
        break;
      case Verb::kRm:
        // docker rm -f kills a running container first.
        if (f.force) s = store->StopContainer(env.Ctx(), id);
        if (s.ok()) s = store->RemoveContainer(env.Ctx(), id);
        break;
    }
    if (s.ok()) {
      *env.out << id << "\n";
    } else if (verb == Verb::kStart) {
      PrintDaemonError(*env.err, s);
      failed.push_back(id);
    } else {
      errors.push_back(DaemonError(s));
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const std::string& id : failed) list += (list.empty() ? "" : ", ") + id;
    *env.err << "Error: failed to start containers: " << list << "\n";
    return kExitError;
  }
  for (const std::string& e : errors) *env.err << e << "\n";
  if (errors.empty() || (verb == Verb::kRm && f.force)) return kExitOk;
  return kExitError;
}

struct LsFlags {
  bool all = false;
  bool quiet = false;
  bool no_trunc = false;
  std::string format;
};

int RunLs(Env& env, const LsFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  absl::StatusOr<std::vector<refstore::ContainerInfo>> containers =
      store->ListContainers(env.Ctx());
  if (!containers.ok()) {
    PrintDaemonError(*env.err, containers.status());
    return kExitError;
  }
  // docker lists the newest first.
  std::vector<refstore::ContainerInfo> list = *containers;
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created > b.created : a.id < b.id;
  });
  Table table({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
  if (f.quiet && !f.format.empty()) {
    *env.err << "WARNING: Ignoring custom format, because both --format and --quiet are set.\n";
  }
  for (const refstore::ContainerInfo& c : list) {
    if (!f.all && !c.running) continue;
    if (f.quiet) {
      *env.out << (f.no_trunc ? c.id : ShortId(c.id)) << "\n";
    } else if (f.format == "json") {
      PrintJsonLine(*env.out, ContainerJson(c, f.no_trunc, env.now));
    } else {
      table.Add({f.no_trunc ? c.id : ShortId(c.id), f.no_trunc ? c.image_id : ShortId(c.image_id),
                 "\"\"", Ago(c.created, env.now), ContainerStatus(c), "", c.name});
    }
  }
  if (!f.quiet && f.format != "json") table.Print(*env.out);
  return kExitOk;
}

void RegisterLs(CLI::App& parent, const std::string& name, Registry& registry) {
  auto f = std::make_shared<LsFlags>();
  CLI::App* cmd = parent.add_subcommand(name, "List containers");
  if (name == "ls") cmd->alias("list")->alias("ps");
  cmd->add_flag("-a,--all", f->all, "Show all containers (default shows just running)");
  cmd->add_flag("-q,--quiet", f->quiet, "Only display container IDs");
  cmd->add_flag("--no-trunc", f->no_trunc, "Don't truncate output");
  cmd->add_option("--format", f->format, "Output format: table (default) or json (JSON Lines)")
      ->check(CLI::IsMember({"table", "json"}));
  registry.Add(cmd, [f](Env& env) { return RunLs(env, *f); });
}

void RegisterEach(CLI::App& container, const char* name, const char* about, Verb verb,
                  Registry& registry) {
  auto f = std::make_shared<EachFlags>();
  CLI::App* cmd = container.add_subcommand(name, about);
  if (verb == Verb::kRm) {
    cmd->alias("remove");
    cmd->add_flag("-f,--force", f->force, "Force the removal of a running container");
  }
  cmd->add_option("container", f->ids, "Container IDs (64 hex characters)")
      ->required()
      ->type_name("CONTAINER");
  registry.Add(cmd, [f, verb](Env& env) { return RunEach(env, verb, *f); });
}

}  // namespace

void RegisterContainerCommands(CLI::App& root, Registry& registry) {
  CLI::App* container = root.add_subcommand("container", "Manage containers (image holders)");
  container->require_subcommand(1);

  auto create = std::make_shared<CreateFlags>();
  CLI::App* cmd = container->add_subcommand("create", "Create a container holding an image");
  cmd->add_option("--id", create->id, "Container ID, 64 hex characters (default: random)");
  cmd->add_option("--name", create->name,
                  "Container name, unique in the namespace (docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+)");
  cmd->add_option("image", create->image, "Image reference, as docker resolves it")
      ->required()
      ->type_name("IMAGE");
  registry.Add(cmd, [create](Env& env) { return RunCreate(env, *create); });

  RegisterEach(*container, "start", "Start containers", Verb::kStart, registry);
  RegisterEach(*container, "stop", "Stop containers", Verb::kStop, registry);
  RegisterEach(*container, "rm", "Remove containers", Verb::kRm, registry);
  RegisterLs(*container, "ls", registry);
  RegisterLs(root, "ps", registry);
}

}  // namespace refstore_tool
