// system_commands.cc: system df, stats, explain.
//
// docker sources relied on (github.com/docker/cli):
//   cli/command/system/df.go         flags -v/--verbose, --format
//   cli/command/formatter/disk_usage.go  the summary table (TYPE, TOTAL,
//                                    ACTIVE, SIZE, RECLAIMABLE; rows Images,
//                                    Containers, Local Volumes, Build Cache;
//                                    RECLAIMABLE "<size> (<pct>%)" with an
//                                    integer percentage when SIZE > 0), and
//                                    the verbose sections ("Images space
//                                    usage:", "Containers space usage:",
//                                    "Local Volumes space usage:", "Build
//                                    cache usage: <size>") with their tables;
//                                    images show their first tag only
//   cli/command/formatter/image.go, container.go, volume.go, buildcache.go
//                                    column headers and cells
// `stats` and `explain` are refstore's own; they use the same table writer
// and JSON conventions. refstore has no volumes or build cache: their rows
// show zeros and their verbose tables are empty (tools/README.md).
#include "system_commands.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "format.h"
#include "nlohmann/json.hpp"
#include "output.h"
#include "refstore/filters.h"
#include "refstore/reference.h"
#include "views.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::json;

std::string Human(int64_t bytes) { return HumanSize(static_cast<double>(bytes)); }

// docker's diskUsage*Context.Reclaimable.
std::string ReclaimableCell(int64_t reclaimable, int64_t total) {
  if (total > 0) {
    return Human(reclaimable) + " (" + std::to_string(reclaimable * 100 / total) + "%)";
  }
  return Human(reclaimable);
}

struct DfFlags {
  bool verbose = false;
  std::string format;
};

struct DfData {
  refstore::DiskUsage usage;
  std::vector<refstore::ContainerInfo> containers;
  std::vector<refstore::ImageSummary> images;  // verbose only
};

Json DfRowJson(const std::string& type, int64_t total, int64_t active, int64_t size,
               int64_t reclaimable, bool percent) {
  return Json{{"Type", type},
              {"TotalCount", std::to_string(total)},
              {"Active", std::to_string(active)},
              {"Size", Human(size)},
              {"Reclaimable", percent ? ReclaimableCell(reclaimable, size) : Human(reclaimable)},
              {"SizeBytes", size},
              {"ReclaimableBytes", reclaimable}};
}

void PrintDfSummary(Env& env, const DfData& d, bool json) {
  const int64_t running = std::count_if(d.containers.begin(), d.containers.end(),
                                        [](const auto& c) { return c.running; });
  std::vector<Json> rows;
  Json images = DfRowJson("Images", d.usage.total_count, d.usage.active, d.usage.size,
                          d.usage.reclaimable, true);
  images["SharedSizeBytes"] = d.usage.shared_size;
  images["UniqueSizeBytes"] = d.usage.unique_size;
  rows.push_back(images);
  rows.push_back(
      DfRowJson("Containers", static_cast<int64_t>(d.containers.size()), running, 0, 0, true));
  rows.push_back(DfRowJson("Local Volumes", 0, 0, 0, 0, true));
  rows.push_back(DfRowJson("Build Cache", 0, 0, 0, 0, false));
  if (json) {
    for (const Json& r : rows) PrintJsonLine(*env.out, r);
    return;
  }
  Table table({"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"});
  for (const Json& r : rows) {
    table.Add({r["Type"], r["TotalCount"], r["Active"], r["Size"], r["Reclaimable"]});
  }
  table.Print(*env.out);
}

// docker's verboseWrite shows an image's first tag only (<none> <none>
// for an image without a tag).
ImageRow FirstTagRow(const refstore::ImageSummary& img) {
  ImageRow row{"<none>", "<none>", "<none>"};
  const ImageNames names = SplitNames(img);
  if (names.dangling || names.repo_tags.empty()) return row;
  absl::StatusOr<refstore::Reference> ref =
      refstore::ParseReferenceNoDefaultTag(names.repo_tags.front());
  if (ref.ok() && ref->tag) {
    row.repo = refstore::FamiliarName(ref->Repository());
    row.tag = *ref->tag;
  }
  return row;
}

void PrintDfVerbose(Env& env, const DfData& d, bool json) {
  if (json) {
    // docker executes {{json .}} over its diskUsageContext: one object.
    Json images = Json::array();
    for (const refstore::ImageSummary& img : d.images) {
      const ImageRow row = FirstTagRow(img);
      images.push_back(ImageRowJson(img, row, /*no_trunc=*/false, env.now));
    }
    Json containers = Json::array();
    for (const refstore::ContainerInfo& c : d.containers) {
      containers.push_back(ContainerJson(c, /*no_trunc=*/false, env.now));
    }
    PrintJsonLine(*env.out, Json{{"Images", images},
                                 {"Containers", containers},
                                 {"Volumes", Json::array()},
                                 {"BuildCache", Json::array()},
                                 {"SizeBytes", d.usage.size},
                                 {"SharedSizeBytes", d.usage.shared_size},
                                 {"UniqueSizeBytes", d.usage.unique_size},
                                 {"ReclaimableBytes", d.usage.reclaimable}});
    return;
  }
  std::ostream& out = *env.out;
  out << "Images space usage:\n\n";
  Table images({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE",
                "CONTAINERS"});
  for (const refstore::ImageSummary& img : d.images) {
    const ImageRow row = FirstTagRow(img);
    images.Add({row.repo, row.tag, ImageIdCell(img.id, false), Ago(img.created, env.now),
                HumanSize(static_cast<double>(img.size), 3), Human(img.shared_size),
                Human(img.size - img.shared_size), std::to_string(img.containers)});
  }
  images.Print(out);
  out << "\nContainers space usage:\n\n";
  Table containers(
      {"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"});
  for (const refstore::ContainerInfo& c : d.containers) {
    containers.Add({ShortId(c.id), ShortId(c.image_id), "\"\"", "0", "0B", Ago(c.created, env.now),
                    ContainerStatus(c), c.name});
  }
  containers.Print(out);
  out << "\nLocal Volumes space usage:\n\n";
  Table({"VOLUME NAME", "LINKS", "SIZE"}).Print(out);
  out << "\nBuild cache usage: " << Human(0) << "\n\n";
  Table({"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"}).Print(out);
}

int RunDf(Env& env, const DfFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  DfData d;
  absl::StatusOr<refstore::DiskUsage> usage = store->GetDiskUsage(env.Ctx());
  if (!usage.ok()) {
    PrintDaemonError(*env.err, usage.status());
    return kExitError;
  }
  d.usage = *usage;
  absl::StatusOr<std::vector<refstore::ContainerInfo>> containers =
      store->ListContainers(env.Ctx());
  if (!containers.ok()) {
    PrintDaemonError(*env.err, containers.status());
    return kExitError;
  }
  d.containers = *containers;
  if (f.verbose) {
    absl::StatusOr<std::vector<refstore::ImageSummary>> images =
        store->ListImages(env.Ctx(), refstore::ListOptions{.all = true});
    if (!images.ok()) {
      PrintDaemonError(*env.err, images.status());
      return kExitError;
    }
    d.images = *images;
    PrintDfVerbose(env, d, f.format == "json");
  } else {
    PrintDfSummary(env, d, f.format == "json");
  }
  return kExitOk;
}

// --- stats --------------------------------------------------------------------

int RunStats(Env& env, const std::string& format) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  absl::StatusOr<refstore::StoreStats> stats = store->Stats();
  if (!stats.ok()) {
    PrintDaemonError(*env.err, stats.status());
    return kExitError;
  }
  if (format == "json") {
    Json families = Json::array();
    for (const auto& fam : stats->families) {
      families.push_back(Json{{"Name", fam.name},
                              {"Keys", fam.keys},
                              {"KeyBytes", fam.key_bytes},
                              {"ValueBytes", fam.value_bytes},
                              {"SstBytes", fam.sst_bytes}});
    }
    PrintJsonLine(*env.out, Json{{"FormatVersion", stats->format_version},
                                 {"ContentStore", stats->content_store},
                                 {"Secondary", stats->secondary},
                                 {"DiskBytes", stats->disk_bytes},
                                 {"DiskSize", Human(stats->disk_bytes)},
                                 {"ContentFiles", stats->content_files},
                                 {"ContentBytes", stats->content_bytes},
                                 {"Families", families}});
    return kExitOk;
  }
  std::ostream& out = *env.out;
  out << "Format version:  " << stats->format_version << "\n";
  out << "Opened as:       "
      << (stats->secondary ? "read-only beside a writer (another process has the store open)"
                           : "read-only")
      << "\n";
  out << "Size on disk:    " << Human(stats->disk_bytes) << " (" << stats->disk_bytes
      << " bytes)\n";
  out << "Content store:   " << (stats->content_store ? "yes" : "no") << "\n";
  if (stats->content_store) {
    out << "Content files:   " << stats->content_files << ", " << Human(stats->content_bytes)
        << " (" << stats->content_bytes << " bytes)\n";
  }
  out << "\n";
  Table table({"COLUMN FAMILY", "KEYS", "KEY BYTES", "VALUE BYTES", "SST BYTES"});
  for (const auto& fam : stats->families) {
    table.Add({fam.name, std::to_string(fam.keys), std::to_string(fam.key_bytes),
               std::to_string(fam.value_bytes), std::to_string(fam.sst_bytes)});
  }
  table.Print(out);
  return kExitOk;
}

// --- explain ------------------------------------------------------------------

Json ExplanationJson(const refstore::Explanation& e) {
  Json containers = Json::array();
  for (const refstore::ContainerInfo& c : e.containers) {
    containers.push_back(Json{
        {"ID", c.id}, {"Running", c.running}, {"CreatedAt", refstore::FormatRfc3339(c.created)}});
  }
  return Json{{"Kind", e.kind == refstore::Explanation::Kind::kImage ? "image" : "blob"},
              {"Digest", e.digest},
              {"Size", Human(e.size)},
              {"SizeBytes", e.size},
              {"Names", e.names},
              {"Pinned", e.pinned},
              {"Dangling", e.dangling},
              {"Containers", containers},
              {"Images", e.images},
              {"Leases", e.leases}};
}

void PrintExplanation(std::ostream& out, const refstore::Explanation& e) {
  const bool image = e.kind == refstore::Explanation::Kind::kImage;
  std::vector<std::pair<std::string, std::string>> keepers;
  for (const std::string& n : e.names) keepers.emplace_back("name", n);
  if (e.pinned) keepers.emplace_back("pin", "");
  for (const refstore::ContainerInfo& c : e.containers) {
    keepers.emplace_back("container", ShortId(c.id) + (c.running ? " (running)" : " (stopped)"));
  }
  for (const std::string& i : e.images) keepers.emplace_back("image", i);
  for (const std::string& l : e.leases) keepers.emplace_back("lease", l);
  out << (image ? "image " : "blob ") << e.digest << " (" << Human(e.size) << ")";
  if (keepers.empty()) {
    if (image && e.dangling) {
      out << " is kept only by its digest reference (dangling): `image prune` removes it\n";
    } else {
      out << " is kept by nothing\n";
    }
    return;
  }
  out << " is kept by:\n";
  size_t width = 0;
  for (const auto& [kind, what] : keepers) width = std::max(width, kind.size());
  for (const auto& [kind, what] : keepers) {
    out << "  " << kind;
    if (!what.empty()) out << std::string(width - kind.size() + 3, ' ') << what;
    out << "\n";
  }
  if (image && e.dangling) out << "It is dangling (no name).\n";
}

int RunExplain(Env& env, const std::string& ref, const std::string& format) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  absl::StatusOr<refstore::Explanation> e = store->Explain(env.Ctx(), ref);
  if (!e.ok()) {
    PrintDaemonError(*env.err, e.status());
    return kExitError;
  }
  if (format == "json") {
    PrintJsonLine(*env.out, ExplanationJson(*e));
  } else {
    PrintExplanation(*env.out, *e);
  }
  return kExitOk;
}

// Opens the store for writing, which upgrades an older on-disk format
// (refstore/db/upgrade.h), and says the format it now has.
int RunUpgrade(Env& env) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (!store) return kExitError;
  absl::StatusOr<refstore::StoreStats> stats = store->Stats();
  if (!stats.ok()) {
    PrintDaemonError(*env.err, stats.status());
    return kExitError;
  }
  *env.out << "Format version: " << stats->format_version << "\n";
  return kExitOk;
}

}  // namespace

void RegisterSystemCommands(CLI::App& root, Registry& registry) {
  CLI::App* system = root.add_subcommand("system", "Manage the store");
  system->require_subcommand(1);
  auto df = std::make_shared<DfFlags>();
  CLI::App* cmd = system->add_subcommand("df", "Show the store's disk usage");
  cmd->add_flag("-v,--verbose", df->verbose, "Show detailed information on space usage");
  cmd->add_option("--format", df->format, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  registry.Add(cmd, [df](Env& env) { return RunDf(env, *df); });
  cmd = system->add_subcommand(
      "upgrade", "Upgrade a store written by an older refstore to this build's format");
  registry.Add(cmd, [](Env& env) { return RunUpgrade(env); });

  auto stats_format = std::make_shared<std::string>();
  cmd = root.add_subcommand("stats", "Key counts and sizes of the store's column families");
  cmd->add_option("--format", *stats_format, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  registry.Add(cmd, [stats_format](Env& env) { return RunStats(env, *stats_format); });

  auto ref = std::make_shared<std::string>();
  auto explain_format = std::make_shared<std::string>();
  cmd = root.add_subcommand("explain", "Why an image or a blob is kept");
  cmd->add_option("ref", *ref, "An image reference, or a blob digest sha256:<hex>")
      ->required()
      ->type_name("REF|DIGEST");
  cmd->add_option("--format", *explain_format, "Output format: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  registry.Add(cmd,
               [ref, explain_format](Env& env) { return RunExplain(env, *ref, *explain_format); });
}

}  // namespace refstore_tool
