// gc_commands.cc: gc, check [--repair], image import, image adopt.
//
// These are refstore's own verbs; their text is not docker's, except
// `image import`, whose lines are docker load's ("Loaded image ID: ",
// "Loaded image: ", from docker/cli cli/command/image/load.go and the
// daemon's load progress messages). Tables use the same three-space column
// gaps as docker's.
#include "gc_commands.h"

#include <algorithm>
#include <memory>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace refstore_tool {
namespace {

using Json = nlohmann::ordered_json;

Json CollectJson(const refstore::CollectResult& c) {
  return Json{{"files_deleted", c.files_deleted},
              {"bytes_deleted", c.bytes_deleted},
              {"records_dropped", c.records_dropped},
              {"temp_files_deleted", c.temp_files_deleted}};
}

Json ProblemsJson(const std::vector<refstore::Problem>& problems) {
  Json list = Json::array();
  for (const auto& p : problems) {
    list.push_back(Json{{"category", p.category},
                        {"subject", p.subject},
                        {"detail", p.detail},
                        {"severity", p.info ? "info" : "fault"}});
  }
  return list;
}

// A table: CATEGORY, SUBJECT, DETAIL, columns padded to their widest entry
// plus three spaces, as docker's tables are.
void PrintTable(const std::vector<refstore::Problem>& problems, std::ostream& out) {
  size_t w_sev = 8, w_cat = 8, w_sub = 7;
  for (const auto& p : problems) {
    w_cat = std::max(w_cat, p.category.size());
    w_sub = std::max(w_sub, p.subject.size());
  }
  out << fmt::format("{:<{}}   {:<{}}   {:<{}}   {}\n", "SEVERITY", w_sev, "CATEGORY", w_cat,
                     "SUBJECT", w_sub, "DETAIL");
  for (const auto& p : problems) {
    out << fmt::format("{:<{}}   {:<{}}   {:<{}}   {}\n", p.info ? "info" : "fault", w_sev,
                       p.category, w_cat, p.subject, w_sub, p.detail);
  }
}

size_t CountFaults(const std::vector<refstore::Problem>& problems) {
  return refstore::Faults(problems).size();
}

void PrintError(std::ostream& err, const absl::Status& s) {
  err << "Error: " << s.message() << "\n";
}

}  // namespace

int RunGc(refstore::Store& store, bool json, std::ostream& out, std::ostream& err,
          ProgressLine& progress) {
  absl::StatusOr<refstore::CollectResult> r;
  {
    Ticker ticker(progress, [](int s) { return fmt::format("Collecting garbage: {}s", s); });
    r = store.Collect();
  }
  progress.Done();
  if (!r.ok()) {
    PrintError(err, r.status());
    return 1;
  }
  if (json) {
    out << CollectJson(*r).dump() << "\n";
  } else {
    out << fmt::format("Deleted {} files, {} bytes ({} stale records, {} temporary files)\n",
                       r->files_deleted, r->bytes_deleted, r->records_dropped,
                       r->temp_files_deleted);
  }
  return 0;
}

int RunCheck(refstore::Store& store, const refstore::OpContext& ctx, const CheckFlags& flags,
             std::ostream& out, std::ostream& err, ProgressLine& progress) {
  refstore::CheckOptions options;
  options.now = ctx.now;
  options.verify_digests = flags.verify_digests;
  progress.Update("Checking: starting", /*force=*/true);
  options.on_progress = [&progress](int64_t images) {
    progress.Update(fmt::format("Checking: {} images checked", images));
  };
  absl::StatusOr<std::vector<refstore::Problem>> before = store.Check(options);
  progress.Done();
  if (!before.ok()) {
    PrintError(err, before.status());
    return 1;
  }
  Json doc;
  doc["problems"] = ProblemsJson(*before);
  if (!flags.json) PrintTable(*before, out);
  std::vector<refstore::Problem> final_problems = *before;
  if (flags.repair) {
    absl::StatusOr<refstore::RepairResult> repaired;
    {
      Ticker ticker(progress, [](int s) { return fmt::format("Repairing: {}s", s); });
      repaired = store.Repair(ctx);
    }
    progress.Done();
    if (!repaired.ok()) {
      PrintError(err, repaired.status());
      return 1;
    }
    absl::StatusOr<std::vector<refstore::Problem>> after = store.Check(options);
    progress.Done();
    if (!after.ok()) {
      PrintError(err, after.status());
      return 1;
    }
    final_problems = *after;
    WarnCollectError(err, repaired->collected);
    doc["repair"] = Json{{"actions", repaired->actions},
                         {"images_removed", repaired->images_removed},
                         {"collected", CollectJson(repaired->collected)}};
    doc["after_repair"] = ProblemsJson(*after);
    if (!flags.json) {
      out << fmt::format("\nRepair made {} changes:\n", repaired->actions.size());
      for (const auto& a : repaired->actions) out << "  " << a << "\n";
      out << "\nAfter repair:\n";
      PrintTable(*after, out);
    }
  }
  const size_t faults = CountFaults(final_problems);
  doc["faults"] = faults;
  doc["clean"] = faults == 0;
  if (flags.json) {
    out << doc.dump() << "\n";
  } else {
    out << fmt::format("{} faults, {} notes\n", faults, final_problems.size() - faults);
  }
  return faults == 0 ? 0 : 1;
}

namespace {

int PrintImport(const absl::StatusOr<refstore::ImportResult>& r, bool json, std::ostream& out,
                std::ostream& err) {
  if (!r.ok()) {
    PrintError(err, r.status());
    return 1;
  }
  int status = 0;
  Json images = Json::array();
  for (const auto& img : r->images) {
    if (!img.error.empty()) status = 1;
    images.push_back(Json{{"id", img.id}, {"names", img.names}, {"error", img.error}});
    if (json) continue;
    if (img.error.empty()) {
      // docker load (moby image/tarexport/load.go): a line per name, or
      // the ID for an image loaded without one.
      if (img.names.empty()) out << "Loaded image ID: " << img.id << "\n";
      for (const auto& n : img.names) out << "Loaded image: " << n << "\n";
    } else {
      err << "Error: " << img.id << ": " << img.error << "\n";
    }
  }
  if (json) {
    out << Json{{"images", images},
                {"blobs_written", r->blobs_written},
                {"bytes_written", r->bytes_written}}
               .dump()
        << "\n";
  }
  return status;
}

}  // namespace

int RunImport(refstore::Store& store, const refstore::OpContext& ctx, const std::string& dir,
              const refstore::ImportOptions& options, bool json, std::ostream& out,
              std::ostream& err, ProgressLine& progress) {
  absl::StatusOr<refstore::ImportResult> r;
  {
    Ticker ticker(progress, [](int s) { return fmt::format("Importing: {}s", s); });
    r = store.ImportLayout(ctx, dir, options);
  }
  progress.Done();
  return PrintImport(r, json, out, err);
}

int RunAdopt(refstore::Store& store, const refstore::OpContext& ctx, bool json, std::ostream& out,
             std::ostream& err, ProgressLine& progress) {
  absl::StatusOr<refstore::ImportResult> r;
  {
    Ticker ticker(progress, [](int s) { return fmt::format("Adopting: {}s", s); });
    r = store.Adopt(ctx);
  }
  progress.Done();
  return PrintImport(r, json, out, err);
}

void RegisterGcCommands(CLI::App& root, CLI::App& image, Registry& registry) {
  auto gc_json = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand("gc", "Delete the files of freed blobs");
  cmd->add_flag("--json", *gc_json, "Print JSON");
  registry.Add(cmd, [gc_json](Env& env) {
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitCannotOpen;
    ProgressLine progress(*env.err, env.stderr_is_terminal);
    return RunGc(*store, *gc_json, *env.out, *env.err, progress);
  });

  auto check = std::make_shared<CheckFlags>();
  auto no_verify = std::make_shared<bool>(false);
  auto content_gone = std::make_shared<bool>(false);
  cmd = root.add_subcommand("check", "Recount everything from scratch; exit 0 only when clean");
  cmd->add_flag("--repair", check->repair, "Make the store consistent, then check again");
  cmd->add_flag("--content-gone", *content_gone,
                "With --repair: the content directory is gone for good; make a new empty one "
                "(images whose files are lost are then removed)");
  cmd->add_flag("--json", check->json, "Print JSON");
  cmd->add_flag("--no-verify", *no_verify, "Compare file sizes only, do not hash files");
  registry.Add(cmd, [check, no_verify, content_gone](Env& env) {
    CheckFlags flags = *check;
    flags.verify_digests = !*no_verify;
    if (*content_gone && !flags.repair) throw UsageError("--content-gone needs --repair");
    env.globals.recreate_missing_content = *content_gone;
    // Only --repair writes: a plain check opens the store read-only.
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/!flags.repair);
    if (store == nullptr) return kExitCannotOpen;
    ProgressLine progress(*env.err, env.stderr_is_terminal);
    return RunCheck(*store, env.Ctx(), flags, *env.out, *env.err, progress);
  });

  struct ImportFlags {
    std::string dir;
    refstore::ImportOptions options;
    bool json = false;
  };
  auto import = std::make_shared<ImportFlags>();
  cmd = image.add_subcommand("import", "Import an OCI image layout");
  cmd->add_option("dir", import->dir, "The layout's directory")->required();
  cmd->add_option("--repository", import->options.repository,
                  "Repository for bare tags (default: the directory's name)");
  cmd->add_flag("--json", import->json, "Print JSON");
  registry.Add(cmd, [import](Env& env) {
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitCannotOpen;
    ProgressLine progress(*env.err, env.stderr_is_terminal);
    return RunImport(*store, env.Ctx(), import->dir, import->options, import->json, *env.out,
                     *env.err, progress);
  });

  auto adopt_json = std::make_shared<bool>(false);
  cmd = image.add_subcommand(
      "adopt", "Make images of manifests found in the content store without a record");
  cmd->add_flag("--json", *adopt_json, "Print JSON");
  registry.Add(cmd, [adopt_json](Env& env) {
    std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
    if (store == nullptr) return kExitCannotOpen;
    ProgressLine progress(*env.err, env.stderr_is_terminal);
    return RunAdopt(*store, env.Ctx(), *adopt_json, *env.out, *env.err, progress);
  });
}

}  // namespace refstore_tool
