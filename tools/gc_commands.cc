#include "gc_commands.h"

#include <algorithm>

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

void PrintError(std::ostream& err, const absl::Status& s) { err << "Error: " << s.message() << "\n"; }

}  // namespace

int RunGc(refstore::Store& store, bool json, std::ostream& out, std::ostream& err) {
  absl::StatusOr<refstore::CollectResult> r = store.Collect();
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
             std::ostream& out, std::ostream& err) {
  refstore::CheckOptions options;
  options.now = ctx.now;
  options.verify_digests = flags.verify_digests;
  absl::StatusOr<std::vector<refstore::Problem>> before = store.Check(options);
  if (!before.ok()) {
    PrintError(err, before.status());
    return 1;
  }
  Json doc;
  doc["problems"] = ProblemsJson(*before);
  if (!flags.json) PrintTable(*before, out);
  std::vector<refstore::Problem> final_problems = *before;
  if (flags.repair) {
    absl::StatusOr<refstore::RepairResult> repaired = store.Repair(ctx);
    if (!repaired.ok()) {
      PrintError(err, repaired.status());
      return 1;
    }
    absl::StatusOr<std::vector<refstore::Problem>> after = store.Check(options);
    if (!after.ok()) {
      PrintError(err, after.status());
      return 1;
    }
    final_problems = *after;
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
      out << "Loaded image ID: " << img.id << "\n";
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
              std::ostream& err) {
  return PrintImport(store.ImportLayout(ctx, dir, options), json, out, err);
}

int RunAdopt(refstore::Store& store, const refstore::OpContext& ctx, bool json,
             std::ostream& out, std::ostream& err) {
  return PrintImport(store.Adopt(ctx), json, out, err);
}

}  // namespace refstore_tool
