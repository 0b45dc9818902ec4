// image_commands.cc: image ls / rm / prune / tag / inspect / pin / unpin.
//
// docker sources relied on (github.com/docker/cli):
//   cli/command/image/list.go       flags of `image ls` / `images`, the
//                                   REPOSITORY[:TAG] argument as a
//                                   reference filter
//   cli/command/formatter/image.go  table columns, "<none>", digests rows,
//                                   SIZE = HumanSizeWithPrecision(size, 3),
//                                   CREATED = HumanDuration + " ago"
//   cli/command/formatter/formatter.go, tabwriter/  tables (minwidth 10,
//                                   padding 3), "{{json .}}" per row
//   cli/command/formatter/reflect.go  JSON keys = the context's methods
//   cli/command/image/remove.go     "Untagged: x" / "Deleted: x"; errors
//                                   collected; with -f, not-found errors
//                                   are printed but the exit status is 0
//   cli/command/image/prune.go      warnings, "Deleted Images:",
//                                   lowercase "untagged: "/"deleted: ",
//                                   "Total reclaimed space: " + HumanSize,
//                                   "image prune has been cancelled"
//   internal/prompt/prompt.go       the " [y/N] " prompt (prompt.cc)
//   cli/command/image/tag.go        two arguments, no output
//   cli/command/image/inspect.go, cli/command/inspect/inspector.go
//                                   a JSON array indented by 4 spaces,
//                                   "[]" when nothing was found, errors
//                                   after it, exit status 1
// and the moby client's "Error response from daemon: " prefix.
#include "image_commands.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "format.h"
#include "nlohmann/json.hpp"
#include "output.h"
#include "prompt.h"
#include "refstore/filters.h"
#include "refstore/reference.h"
#include "views.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// --- image ls ---------------------------------------------------------------

struct LsFlags {
  bool quiet = false;
  bool all = false;
  bool digests = false;
  bool no_trunc = false;
  bool last_used = false;
  std::vector<std::string> filters;
  std::string format;
  std::string match;
};

int RunLs(Env& env, const LsFlags& f) {
  refstore::ListOptions options;
  // docker lists dangling images by default; -a only adds intermediate
  // images, which refstore does not have (tools/README.md).
  options.all = true;
  options.filters = ParseFilterFlags(f.filters);
  if (!f.match.empty()) options.filters["reference"].push_back(f.match);
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  absl::StatusOr<std::vector<refstore::ImageSummary>> images =
      store->ListImages(env.Ctx(), options);
  if (!images.ok()) {
    PrintDaemonError(*env.err, images.status());
    return kExitError;
  }
  std::ostream& out = *env.out;
  const bool json = f.format == "json";
  std::vector<std::string> header = {"REPOSITORY", "TAG"};
  if (f.digests) header.push_back("DIGEST");
  header.insert(header.end(), {"IMAGE ID", "CREATED"});
  if (f.last_used) header.push_back("LAST USED");
  header.push_back("SIZE");
  Table table(header);
  for (const refstore::ImageSummary& img : *images) {
    for (const ImageRow& row : ImageRows(SplitNames(img), f.digests, f.digests)) {
      // docker's NewImageFormat: "json" is not a table format, so -q only
      // applies to tables.
      if (json) {
        PrintJsonLine(out, ImageRowJson(img, row, f.no_trunc, env.now));
        continue;
      }
      if (f.quiet) {
        out << ImageIdCell(img.id, f.no_trunc) << "\n";
        continue;
      }
      std::vector<std::string> cells = {row.repo, row.tag};
      if (f.digests) cells.push_back(row.digest);
      cells.push_back(ImageIdCell(img.id, f.no_trunc));
      cells.push_back(Ago(img.created, env.now));
      if (f.last_used) cells.push_back(Ago(img.last_used, env.now));
      cells.push_back(HumanSize(static_cast<double>(img.size), 3));
      table.Add(std::move(cells));
    }
  }
  if (!f.quiet && !json) table.Print(out);
  return kExitOk;
}

void RegisterLs(CLI::App& parent, const std::string& name, Registry& registry) {
  auto f = std::make_shared<LsFlags>();
  CLI::App* cmd = parent.add_subcommand(name, "List images");
  if (name == "ls") cmd->alias("list");
  cmd->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
  cmd->add_flag("-a,--all", f->all,
                "Show all images (refstore has no intermediate images: no effect)");
  cmd->add_flag("--digests", f->digests, "Show digests");
  cmd->add_flag("--no-trunc", f->no_trunc, "Don't truncate output");
  cmd->add_flag("--last-used", f->last_used,
                "Add a LAST USED column (last container created or started from it)");
  cmd->add_option("-f,--filter", f->filters,
                  "Filter output: dangling, label, label!, before, since, reference, until")
      ->type_name("FILTER")
      ->allow_extra_args(false);
  cmd->add_option("--format", f->format, "Output format: table (default) or json (JSON Lines)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("repository", f->match, "Only images matching REPOSITORY[:TAG]")
      ->type_name("REPOSITORY[:TAG]");
  registry.Add(cmd, [f](Env& env) { return RunLs(env, *f); });
}

// --- image rm ---------------------------------------------------------------

struct RmFlags {
  bool force = false;
  std::vector<std::string> refs;
};

int RunRm(Env& env, const RmFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  std::vector<std::string> errors;
  bool fatal = false;
  for (const std::string& ref : f.refs) {
    absl::StatusOr<refstore::RemoveResult> removed = store->RemoveImage(env.Ctx(), ref, f.force);
    if (!removed.ok()) {
      if (!absl::IsNotFound(removed.status())) fatal = true;
      errors.push_back(DaemonError(removed.status()));
      continue;
    }
    for (const refstore::DeleteEntry& e : removed->deleted) {
      *env.out << (e.kind == refstore::DeleteEntry::Kind::kDeleted ? "Deleted: " : "Untagged: ")
               << e.ref << "\n";
    }
    WarnCollectError(*env.err, removed->collected);
  }
  for (const std::string& e : errors) *env.err << e << "\n";
  if (errors.empty()) return kExitOk;
  return (!f.force || fatal) ? kExitError : kExitOk;
}

void RegisterRm(CLI::App& parent, const std::string& name, Registry& registry) {
  auto f = std::make_shared<RmFlags>();
  CLI::App* cmd = parent.add_subcommand(name, "Remove one or more images");
  if (name == "rm") cmd->alias("rmi")->alias("remove");
  cmd->add_flag("-f,--force", f->force, "Force removal of the image");
  cmd->add_option("image", f->refs, "Images to remove")->required()->type_name("IMAGE");
  registry.Add(cmd, [f](Env& env) { return RunRm(env, *f); });
}

// --- image prune ------------------------------------------------------------

struct PruneFlags {
  bool all = false;
  bool force = false;
  bool dry_run = false;
  std::vector<std::string> filters;
  int keep = 0;
  std::string max_storage;
  std::string format;
};

constexpr char kAllImageWarning[] =
    "WARNING! This will remove all images without at least one container associated to them.\n"
    "Are you sure you want to continue?";
constexpr char kDanglingWarning[] =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";

int RunPrune(Env& env, const PruneFlags& f) {
  refstore::PruneOptions options;
  options.all = f.all;
  options.filters = ParseFilterFlags(f.filters);
  // An unknown key is reported before any value is read, as the library
  // and docker's Validate do (SEMANTICS.md §8).
  for (const auto& [key, values] : options.filters) {
    static const std::set<std::string> kKeys = {"until",    "label",     "label!",
                                                "dangling", "reference", "unused-for"};
    if (!kKeys.contains(key)) {
      PrintDaemonError(*env.err, absl::InvalidArgumentError("invalid filter '" + key + "'"));
      return kExitError;
    }
  }
  // Beyond docker, given as filters but options of their own in the store:
  // reference=<glob> (repeatable, ORed) and unused-for=<Go duration>
  // (repeatable, ANDed: the longest holds).
  if (auto it = options.filters.find("reference"); it != options.filters.end()) {
    options.references = it->second;
    options.filters.erase(it);
  }
  if (auto it = options.filters.find("unused-for"); it != options.filters.end()) {
    for (const std::string& value : it->second) {
      absl::StatusOr<absl::Duration> d = ParseGoDuration(value);
      if (!d.ok()) {
        PrintDaemonError(*env.err,
                         absl::InvalidArgumentError("invalid value for 'unused-for' filter: " +
                                                    std::string(d.status().message())));
        return kExitError;
      }
      options.unused_for = std::max(options.unused_for.value_or(*d), *d);
    }
    options.filters.erase(it);
  }
  options.dry_run = f.dry_run;
  if (f.keep < 0) throw UsageError("invalid argument for --keep: must be 0 or more");
  options.keep = f.keep;
  if (!f.max_storage.empty()) {
    absl::StatusOr<int64_t> size = ParseHumanSize(f.max_storage);
    if (!size.ok()) {
      throw UsageError("invalid argument \"" + f.max_storage +
                       "\" for \"--max-storage\" flag: " + std::string(size.status().message()));
    }
    options.max_storage = *size;
  }
  const bool json = f.format == "json";
  // docker prompts (on stdout, reading stdin) unless --force; a dry run
  // changes nothing, so it does not ask.
  if (!f.force && !f.dry_run &&
      !Confirm(*env.in, *env.out, f.all ? kAllImageWarning : kDanglingWarning)) {
    // docker returns a "cancelled" error: nothing is pruned, exit status 0.
    *env.err << "image prune has been cancelled\n";
    return kExitOk;
  }
  // A dry run changes nothing: it opens the store read-only, so it also runs
  // beside another process that has the store open.
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/f.dry_run);
  if (store == nullptr) return kExitError;
  ProgressLine progress(*env.err, env.stderr_is_terminal);
  const char* verb = f.dry_run ? "Pruning (dry run)" : "Pruning";
  progress.Update(std::string(verb) + ": starting", /*force=*/true);
  options.on_progress = [&progress, verb](const refstore::Progress& p) {
    progress.Update(std::string(verb) + ": " + std::to_string(p.images_scanned) +
                    " images scanned, " + std::to_string(p.images_deleted) + " deleted, " +
                    HumanSize(static_cast<double>(p.space_reclaimed)) + " reclaimed");
  };
  absl::StatusOr<refstore::PruneResult> pruned = store->Prune(env.Ctx(), options);
  progress.Done();
  if (!pruned.ok()) {
    PrintDaemonError(*env.err, pruned.status());
    return kExitError;
  }
  std::ostream& out = *env.out;
  WarnCollectError(*env.err, pruned->collected);
  // Committed, but not every entry could be read back: what could is
  // printed, then the error, and the exit status says it failed.
  const int status = pruned->error.empty() ? kExitOk : kExitError;
  if (!pruned->error.empty()) {
    *env.err << "Error response from daemon: the prune removed " << pruned->images_deleted
             << " images, and listing them failed: " << pruned->error << "\n";
  }
  if (json) {
    for (const refstore::DeleteEntry& e : pruned->deleted) {
      PrintJsonLine(
          out,
          Json{{e.kind == refstore::DeleteEntry::Kind::kDeleted ? "Deleted" : "Untagged", e.ref}});
    }
    PrintJsonLine(out, Json{{"DryRun", f.dry_run},
                            {"ImagesDeleted", pruned->images_deleted},
                            {"SpaceReclaimed", pruned->space_reclaimed},
                            {"TotalReclaimedSpace",
                             HumanSize(static_cast<double>(pruned->space_reclaimed))}});
    return status;
  }
  if (!pruned->deleted.empty()) {
    out << (f.dry_run ? "Would delete Images:\n" : "Deleted Images:\n");
    for (const refstore::DeleteEntry& e : pruned->deleted) {
      out << (e.kind == refstore::DeleteEntry::Kind::kDeleted ? "deleted: " : "untagged: ") << e.ref
          << "\n";
    }
    out << "\n";
  }
  // docker prints SpaceReclaimed only when images were deleted (its daemon
  // frees nothing otherwise); refstore may free expired lease content
  // without an entry, and prints what it freed.
  const std::string total = HumanSize(static_cast<double>(pruned->space_reclaimed));
  if (f.dry_run) {
    out << "Total reclaimable space: " << total << " (dry run)\n";
  } else {
    out << "Total reclaimed space: " << total << "\n";
  }
  return status;
}

void RegisterPrune(CLI::App& image, Registry& registry) {
  auto f = std::make_shared<PruneFlags>();
  CLI::App* cmd = image.add_subcommand("prune", "Remove unused images");
  cmd->add_flag("-a,--all", f->all, "Remove all unused images, not just dangling ones");
  cmd->add_flag("-f,--force", f->force, "Do not prompt for confirmation");
  cmd->add_option("--filter", f->filters,
                  "Provide filter values (until, label, label!, dangling, reference, "
                  "unused-for)")
      ->type_name("FILTER")
      ->allow_extra_args(false);
  cmd->add_flag("--dry-run", f->dry_run,
                "Print what would be removed and the space it would free; change nothing");
  cmd->add_option("--keep", f->keep, "Keep the N most recently created images of each repository")
      ->type_name("N");
  cmd->add_option("--max-storage", f->max_storage,
                  "Remove least recently used images first, only until the images use at "
                  "most SIZE (e.g. 10GB)")
      ->type_name("SIZE");
  cmd->add_option("--format", f->format, "Output format: text (default) or json (JSON Lines)")
      ->check(CLI::IsMember({"text", "json"}));
  registry.Add(cmd, [f](Env& env) { return RunPrune(env, *f); });
}

// --- image tag --------------------------------------------------------------

void RegisterTag(CLI::App& parent, Registry& registry) {
  auto args = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = parent.add_subcommand("tag", "Create TARGET_IMAGE as a new tag for SOURCE_IMAGE");
  cmd->add_option("images", *args, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
      ->required()
      ->expected(2)
      ->type_name("IMAGE");
  registry.Add(cmd, [args](Env& env) {
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitError;
    absl::Status s = store->Tag(env.Ctx(), (*args)[0], (*args)[1]);
    if (!s.ok()) {
      PrintDaemonError(*env.err, s);
      return kExitError;
    }
    return kExitOk;
  });
}

// --- image inspect ----------------------------------------------------------

struct InspectFlags {
  std::string format;
  std::vector<std::string> refs;
};

int RunInspect(Env& env, const InspectFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  OrderedJson list = OrderedJson::array();
  std::vector<std::string> errors;
  for (const std::string& ref : f.refs) {
    absl::StatusOr<refstore::ImageDetail> detail = store->Inspect(env.Ctx(), ref);
    if (!detail.ok()) {
      errors.push_back(DaemonError(detail.status()));
      continue;
    }
    list.push_back(InspectJson(*detail));
  }
  if (list.empty()) {
    *env.out << "[]\n";
  } else {
    *env.out << (f.format == "json" ? GoJson(list) : GoJsonIndent(list)) << "\n";
  }
  for (const std::string& e : errors) *env.err << e << "\n";
  return errors.empty() ? kExitOk : kExitError;
}

void RegisterInspect(CLI::App& image, Registry& registry) {
  auto f = std::make_shared<InspectFlags>();
  CLI::App* cmd = image.add_subcommand("inspect", "Display detailed information on images");
  cmd->add_option("-f,--format", f->format, "json: one compact line (Go templates: no)")
      ->check(CLI::IsMember({"json"}));
  cmd->add_option("image", f->refs, "Images to inspect")->required()->type_name("IMAGE");
  registry.Add(cmd, [f](Env& env) { return RunInspect(env, *f); });
}

// --- image pin / unpin ------------------------------------------------------

void RegisterPin(CLI::App& image, Registry& registry, bool pin) {
  auto refs = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = image.add_subcommand(
      pin ? "pin" : "unpin",
      pin ? "Pin images: prune never removes them, rm needs -f" : "Unpin images");
  cmd->add_option("image", *refs, "Images")->required()->type_name("IMAGE");
  registry.Add(cmd, [refs, pin](Env& env) {
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitError;
    int status = kExitOk;
    for (const std::string& ref : *refs) {
      absl::Status s = store->Pin(env.Ctx(), ref, pin);
      if (!s.ok()) {
        PrintDaemonError(*env.err, s);
        status = kExitError;
      }
    }
    return status;
  });
}

}  // namespace

void RegisterImageCommands(CLI::App& root, CLI::App& image, Registry& registry) {
  RegisterLs(image, "ls", registry);
  RegisterLs(root, "images", registry);
  RegisterRm(image, "rm", registry);
  RegisterRm(root, "rmi", registry);
  RegisterPrune(image, registry);
  RegisterTag(image, registry);
  RegisterTag(root, registry);
  RegisterInspect(image, registry);
  RegisterPin(image, registry, /*pin=*/true);
  RegisterPin(image, registry, /*pin=*/false);
}

}  // namespace refstore_tool
