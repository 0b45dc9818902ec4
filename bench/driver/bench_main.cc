// refstore-bench: generates a realistic store and runs the prune benchmark
// scenarios on it, for refstore and for the baselines, each step in its own
// child process; prints a table and writes a JSON report.
//
//   refstore-bench --images 100000 --json bench/results/100k.json
//   refstore-bench --smoke            # every scenario once, small (CI)
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "CLI/CLI.hpp"
#include "driver/child.h"
#include "driver/floor.h"
#include "driver/measure.h"
#include "driver/onthefly_scenarios.h"
#include "driver/report.h"
#include "driver/scenarios.h"
#include "fmt/format.h"
#include "refstore/options.h"
#include "workload/workload.h"

namespace refstore::bench {
namespace {

namespace fs = std::filesystem;

struct Flags {
  WorkloadOptions workload;
  std::string scenarios =
      "create,prune_dangling,prune_all,prune_all_label,remove,df,check,repair,reopen";
  std::string designs = "refstore,floor,onthefly-once,onthefly-per-record";
  double budget_s = 120;  // for the baselines' quadratic paths
  int64_t removes = -1;   // -1: min(2000, images / 10)
  int df_calls = 200;
  std::string dir;
  std::string json;
  bool keep = false;
  bool smoke = false;
  int64_t bulk_ingest_writes = StoreOptions{}.bulk_ingest_writes;
};

std::set<std::string> Split(const std::string& list) {
  std::set<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

class Driver {
 public:
  Driver(const Flags& flags, std::string root)
      : flags_(flags),
        root_(std::move(root)),
        scenarios_(Split(flags.scenarios)),
        designs_(Split(flags.designs)) {}

  int Run() {
    report_["machine"] = MachineDescription();
    report_["workload"] = WorkloadJson();
    report_["refstore_options"] = {{"bulk_ingest_writes", flags_.bulk_ingest_writes}};
    const std::string tmpl = root_ + "/template-refstore";
    const int64_t removes =
        flags_.removes >= 0
            ? flags_.removes
            : std::min<int64_t>(2000, std::max<int64_t>(1, flags_.workload.images / 10));
    // The designs differ on purpose for containers created with a name that
    // later moves; every design gets those pinned to their image ID.
    auto pins = MovedNameContainers(flags_.workload);
    if (!pins.ok()) {
      std::fprintf(stderr, "refstore-bench: %s\n", pins.status().ToString().c_str());
      return Finish(1);
    }
    report_["pinned_containers"] = pins->size();
    nlohmann::json created = Step("refstore", "create", [&] {
      return CreateRefstore(flags_.workload, *pins, tmpl, removes);
    });
    if (!created.contains("bench_store")) return Finish(1);
    bench_ = BenchStoreFromJson(created["bench_store"]);
    report_["generated"] = created["bench_store"];
    report_["generated"].erase("remove_names");
    rows_.back().erase("bench_store");

    for (PruneKind kind : {PruneKind::kDangling, PruneKind::kAll, PruneKind::kAllLabel}) {
      const std::string name = PruneKindName(kind);
      if (!scenarios_.count(name)) continue;
      const std::string after = Copy(tmpl, name);
      nlohmann::json pruned =
          Step("refstore", name, [&] { return PruneRefstore(At(after), kind); });
      if (designs_.count("floor") && kind != PruneKind::kAllLabel && pruned.contains("items")) {
        RunFloorFor(tmpl, after, name, kind == PruneKind::kAll, pruned["items"]);
      }
      fs::remove_all(after);
    }
    if (scenarios_.count("remove")) {
      const std::string dir = Copy(tmpl, "remove");
      Step("refstore", "remove", [&] { return RemoveStreamRefstore(At(dir)); });
      fs::remove_all(dir);
    }
    if (scenarios_.count("df")) {
      Step("refstore", "df", [&] { return DiskUsageRefstore(At(tmpl), flags_.df_calls); });
    }
    if (scenarios_.count("check"))
      Step("refstore", "check", [&] { return CheckRefstore(At(tmpl)); });
    if (scenarios_.count("repair")) {
      const std::string dir = Copy(tmpl, "repair");
      Step("refstore", "repair", [&] { return RepairRefstore(At(dir)); });
      fs::remove_all(dir);
    }
    if (scenarios_.count("reopen"))
      Step("refstore", "reopen", [&] { return ReopenRefstore(At(tmpl)); });
    if (!flags_.keep) fs::remove_all(tmpl);
    RunOnTheFly(*pins);
    return Finish(0);
  }

 private:
  BenchStore At(const std::string& dir) const {
    BenchStore b = bench_;
    b.dir = dir;
    return b;
  }

  std::string Copy(const std::string& from, const std::string& name) {
    const std::string to = root_ + "/run-" + name;
    fs::remove_all(to);
    CopyDirectory(from, to);
    return to;
  }

  // The on-the-fly baseline: its own store from the same events, then
  // prune -a with each GC mode and the remove stream.
  void RunOnTheFly(const ContainerPins& pins) {
    const bool once = designs_.count("onthefly-once") > 0;
    const bool per_record = designs_.count("onthefly-per-record") > 0;
    if (!once && !per_record) return;
    const std::string tmpl = root_ + "/template-onthefly";
    const absl::Duration budget = absl::Seconds(flags_.budget_s);
    if (scenarios_.count("create")) {
      Step("onthefly", "create", [&] { return CreateOnTheFly(flags_.workload, pins, tmpl); });
    } else {
      RunInChild([&] { return CreateOnTheFly(flags_.workload, pins, tmpl); }).IgnoreError();
    }
    for (bool per : {false, true}) {
      if (!scenarios_.count("prune_all") || !(per ? per_record : once)) continue;
      const std::string dir = Copy(tmpl, "onthefly-prune");
      const auto mode =
          per ? OnTheFlyStore::GcMode::kPerRecord : OnTheFlyStore::GcMode::kOncePerPrune;
      Step(per ? "onthefly-per-record" : "onthefly-once", "prune_all",
           [&] { return PruneOnTheFly(At(dir), mode, budget); });
      fs::remove_all(dir);
    }
    if (scenarios_.count("remove")) {
      const std::string dir = Copy(tmpl, "onthefly-remove");
      Step("onthefly", "remove", [&] { return RemoveStreamOnTheFly(At(dir), budget); });
      fs::remove_all(dir);
    }
    if (!flags_.keep) fs::remove_all(tmpl);
  }

  // The floor: the mutations of the real prune (`after` is its result),
  // replayed on a fresh copy of the template.
  // `items`: the images the real prune deleted (the floor's items too).
  void RunFloorFor(const std::string& tmpl, const std::string& after, const std::string& scenario,
                   bool all, const nlohmann::json& items) {
    const std::string plan = root_ + "/floor-plan";
    auto made = RunInChild([&] { return MakeFloorPlan(tmpl, after, plan, 100000); });
    if (!made.ok() || made->contains("error")) {
      nlohmann::json why = made.ok() ? (*made)["error"] : nlohmann::json(made.status().ToString());
      Record("floor", scenario, {{"error", why}});
      return;
    }
    const std::string dir = Copy(tmpl, "floor");
    nlohmann::json row = Step("floor", scenario, [&] { return RunFloor(dir, plan, all); });
    rows_.back()["plan_ops"] = (*made)["ops"];
    rows_.back()["items"] = items;
    AddThroughput(rows_.back());
    fs::remove_all(dir);
    fs::remove(plan);
  }

  nlohmann::json Step(const std::string& design, const std::string& scenario,
                      const std::function<nlohmann::json()>& step) {
    if (isatty(2)) std::fprintf(stderr, "%s / %s ...\n", design.c_str(), scenario.c_str());
    auto result = RunInChild(step);
    nlohmann::json row =
        result.ok() ? *result : nlohmann::json{{"error", result.status().ToString()}};
    Record(design, scenario, row);
    return rows_.back();
  }

  void Record(const std::string& design, const std::string& scenario, nlohmann::json row) {
    row["design"] = design;
    row["scenario"] = scenario;
    AddThroughput(row);
    if (row.contains("error")) failed_ = true;
    rows_.push_back(std::move(row));
  }

  nlohmann::json WorkloadJson() const {
    const WorkloadOptions& w = flags_.workload;
    return {{"images", w.images},
            {"base_images", w.base_images},
            {"layers_min", w.layers_min},
            {"layers_max", w.layers_max},
            {"layer_median_bytes", w.layer_median_bytes},
            {"index_share", w.index_share},
            {"tags_mean", w.tags_mean},
            {"dangling_share", w.dangling_share},
            {"container_share", w.container_share},
            {"namespaces", w.namespaces},
            {"leases", w.leases},
            {"seed", w.seed}};
  }

  int Finish(int rc) {
    report_["results"] = rows_;
    report_["ratios_to_refstore"] = Ratios(rows_);
    std::fputs(Table(rows_).c_str(), stdout);
    if (report_["ratios_to_refstore"].size() > 0) {
      std::printf("time / refstore's: %s\n", report_["ratios_to_refstore"].dump().c_str());
    }
    if (!flags_.json.empty()) {
      std::ofstream(flags_.json) << report_.dump(2) << "\n";
    }
    return rc != 0 || failed_ ? 1 : 0;
  }

  const Flags& flags_;
  const std::string root_;
  const std::set<std::string> scenarios_;
  const std::set<std::string> designs_;
  BenchStore bench_;
  nlohmann::json rows_ = nlohmann::json::array();
  nlohmann::json report_;
  bool failed_ = false;
};

}  // namespace
}  // namespace refstore::bench

int main(int argc, char** argv) {
  using refstore::bench::Flags;
  Flags flags;
  auto& w = flags.workload;
  CLI::App app{"refstore-bench: prune benchmarks on generated stores, with baselines"};
  app.add_option("--images", w.images, "Images to generate")->capture_default_str();
  app.add_option("--base-images", w.base_images, "Base images (-1: images/100, 10..5000)")
      ->capture_default_str();
  app.add_option("--layers-min", w.layers_min, "Fewest layers per image")->capture_default_str();
  app.add_option("--layers-max", w.layers_max, "Most layers per image")->capture_default_str();
  app.add_option("--layer-median-bytes", w.layer_median_bytes, "Median layer size")
      ->capture_default_str();
  app.add_option("--index-share", w.index_share, "Share of multi-platform images")
      ->capture_default_str();
  app.add_option("--tags-mean", w.tags_mean, "Names per image on average")->capture_default_str();
  app.add_option("--dangling-share", w.dangling_share, "Share of images whose tag moves on")
      ->capture_default_str();
  app.add_option("--container-share", w.container_share, "Share of images a container uses")
      ->capture_default_str();
  app.add_option("--namespaces", w.namespaces, "Namespaces")->capture_default_str();
  app.add_option("--leases", w.leases, "Leases in flight")->capture_default_str();
  app.add_option("--seed", w.seed, "Seed")->capture_default_str();
  app.add_option("--scenarios", flags.scenarios, "Scenarios to run")->capture_default_str();
  app.add_option("--designs", flags.designs, "Designs to run")->capture_default_str();
  app.add_option("--removes", flags.removes, "Single removes in the remove stream");
  app.add_option("--df-calls", flags.df_calls, "df calls")->capture_default_str();
  app.add_option("--budget", flags.budget_s,
                 "Seconds the baselines' quadratic paths may run (per-record prune, removes)")
      ->capture_default_str();
  app.add_option("--dir", flags.dir, "Work directory (default: a new temporary one)");
  app.add_flag("--keep", flags.keep, "Keep the work directory");
  app.add_option("--json", flags.json, "Write the JSON report here");
  app.add_flag("--smoke", flags.smoke, "Every scenario once on a small store (for CI)");
  app.add_option("--bulk-ingest-writes", flags.bulk_ingest_writes,
                 "refstore's StoreOptions::bulk_ingest_writes (a prune of more writes ingests "
                 "table files)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  refstore::bench::SetRefstoreOptions(flags.bulk_ingest_writes);
  if (flags.smoke) {
    w.images = std::min<int64_t>(w.images, 2000);
    flags.df_calls = 10;
    flags.budget_s = std::min(flags.budget_s, 5.0);
  }

  std::string root = flags.dir;
  bool made_root = false;
  if (root.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "refstore-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "refstore-bench: cannot create a temporary directory\n");
      return 2;
    }
    root = tmpl;
    made_root = true;
  } else {
    std::filesystem::create_directories(root);
  }
  int rc = refstore::bench::Driver(flags, root).Run();
  if (made_root && !flags.keep) std::filesystem::remove_all(root);
  return rc;
}
