// onthefly_bench: prune -a on one workload, by the on-the-fly baseline (both
// GC modes) and by refstore, each on its own freshly built store. Prints one
// JSON line.
//
//   onthefly_bench [--images=10000] [--seed=1] [--namespaces=3]
//                  [--designs=once,per_record,refstore] [--budget_s=120]
//                  [--dir=/tmp/onthefly_bench] [--pin=1] [--keep=0]
//
// Every store gets the same events (with --pin, containers whose name moves
// later refer to their image by ID, so that all designs must free the same
// bytes: see compare.h), then prune -a runs in ns0 at the time of the last
// event. prune_s is the wall time of that one call; apply_s of building the
// store (not a benchmark of creation: one call per event, no batching).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "baselines/compare.h"
#include "baselines/onthefly.h"
#include "refstore/store.h"
#include "workload/workload.h"

namespace refstore::bench {
namespace {

struct Flags {
  int64_t images = 10000;
  uint64_t seed = 1;
  int namespaces = 3;
  std::vector<std::string> designs = {"once", "per_record", "refstore"};
  double budget_s = 120;
  std::string dir = "/tmp/onthefly_bench";
  bool pin = true;
  bool keep = false;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "onthefly_bench: %s\n", why.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(argv[i], absl::MaxSplits('=', 1));
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    bool ok = true;
    if (k == "--images") {
      ok = absl::SimpleAtoi(v, &f.images);
    } else if (k == "--seed") {
      ok = absl::SimpleAtoi(v, &f.seed);
    } else if (k == "--namespaces") {
      ok = absl::SimpleAtoi(v, &f.namespaces);
    } else if (k == "--designs") {
      f.designs = absl::StrSplit(v, ',');
    } else if (k == "--budget_s") {
      ok = absl::SimpleAtod(v, &f.budget_s);
    } else if (k == "--dir") {
      f.dir = v;
    } else if (k == "--pin") {
      f.pin = v != "0";
    } else if (k == "--keep") {
      f.keep = v != "0";
    } else {
      Usage(absl::StrCat("unknown flag ", argv[i]));
    }
    if (!ok) Usage(absl::StrCat("bad value in ", argv[i]));
  }
  return f;
}

// A JSON object built field by field, in order.
class Json {
 public:
  Json& Add(const std::string& key, const std::string& raw) {
    fields_.push_back(absl::StrCat("\"", key, "\":", raw));
    return *this;
  }
  Json& Num(const std::string& key, double v) { return Add(key, absl::StrCat(v)); }
  Json& Int(const std::string& key, int64_t v) { return Add(key, absl::StrCat(v)); }
  Json& Bool(const std::string& key, bool v) { return Add(key, v ? "true" : "false"); }
  Json& Str(const std::string& key, const std::string& v) { return Add(key, absl::StrCat("\"", v, "\"")); }
  std::string Done() const { return absl::StrCat("{", absl::StrJoin(fields_, ","), "}"); }

 private:
  std::vector<std::string> fields_;
};

double Seconds(absl::Time since) { return absl::ToDoubleSeconds(absl::Now() - since); }

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "onthefly_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

// Feeds the (pinned) workload to `apply`; returns its stats and the seconds.
std::pair<WorkloadStats, double> Build(const Flags& f, const WorkloadOptions& options,
                                       const ContainerPins& pins,
                                       const std::function<absl::Status(const Event&)>& apply) {
  const absl::Time start = absl::Now();
  auto stats = Generate(options, [&](const Event& e) {
    if (!f.pin) return apply(e);
    Event copy = e;
    PinContainer(pins, copy);
    return apply(copy);
  });
  if (!stats.ok()) Die(stats.status());
  return {*stats, Seconds(start)};
}

std::string RunBaseline(const Flags& f, const WorkloadOptions& options, const ContainerPins& pins,
                        OnTheFlyStore::GcMode mode, const std::string& dir, int64_t* bytes) {
  auto store = OnTheFlyStore::Open(dir);
  if (!store.ok()) Die(store.status());
  auto [stats, apply_s] =
      Build(f, options, pins, [&](const Event& e) { return (*store)->Apply(e); });
  const absl::Time start = absl::Now();
  auto r = (*store)->PruneAll({.ns = "ns0", .now = stats.end}, mode, absl::Seconds(f.budget_s));
  const double prune_s = Seconds(start);
  if (!r.ok()) Die(r.status());
  *bytes = r->reclaimed_bytes;
  return Json()
      .Num("apply_s", apply_s)
      .Num("prune_s", prune_s)
      .Num("resolve_s", r->resolve_seconds)
      .Num("delete_s", r->delete_seconds)
      .Num("sweep_s", r->sweep_seconds)
      .Int("gc_runs", r->gc_runs)
      .Int("images_deleted", r->images_deleted)
      .Int("records_deleted", r->records_deleted)
      .Int("leases_removed", r->leases_removed)
      .Int("blobs_freed", r->blobs_freed)
      .Int("reclaimed_bytes", r->reclaimed_bytes)
      .Bool("finished", r->finished)
      .Int("records_done", r->records_done)
      .Int("records_planned", r->records_planned)
      .Num("records_per_s", prune_s > 0 ? r->records_done / prune_s : 0)
      .Done();
}

std::string RunRefstore(const Flags& f, const WorkloadOptions& options, const ContainerPins& pins,
                        const std::string& dir, int64_t* bytes) {
  auto store = Store::Open(dir, {});
  if (!store.ok()) Die(store.status());
  auto [stats, apply_s] =
      Build(f, options, pins, [&](const Event& e) { return ApplyToStore(**store, e); });
  PruneOptions prune{.all = true, .on_entry = [](const DeleteEntry&) {}};
  const absl::Time start = absl::Now();
  auto r = (*store)->Prune({.ns = "ns0", .now = stats.end}, prune);
  const double prune_s = Seconds(start);
  if (!r.ok()) Die(r.status());
  *bytes = r->space_reclaimed;
  return Json()
      .Num("apply_s", apply_s)
      .Num("prune_s", prune_s)
      .Int("images_deleted", r->images_deleted)
      .Int("reclaimed_bytes", r->space_reclaimed)
      .Done();
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  const WorkloadOptions options{.images = f.images, .namespaces = f.namespaces, .seed = f.seed};
  auto pins = MovedNameContainers(options);
  if (!pins.ok()) Die(pins.status());
  auto stats = Generate(options, [](const Event&) { return absl::OkStatus(); });
  if (!stats.ok()) Die(stats.status());

  Json out;
  out.Str("bench", "onthefly")
      .Int("images", f.images)
      .Int("seed", static_cast<int64_t>(f.seed))
      .Int("namespaces", f.namespaces)
      .Int("names", stats->names)
      .Int("dangling", stats->dangling)
      .Int("containers", stats->containers)
      .Int("leases", stats->leases)
      .Int("blobs", stats->blobs)
      .Int("blob_bytes", stats->blob_bytes)
      .Int("pinned_containers", f.pin ? static_cast<int64_t>(pins->size()) : 0)
      .Num("budget_s", f.budget_s);
  std::map<std::string, int64_t> bytes;
  for (const std::string& design : f.designs) {
    const std::string dir = absl::StrCat(f.dir, "/", design);
    std::filesystem::remove_all(dir);
    std::string result;
    if (design == "once") {
      result = RunBaseline(f, options, *pins, OnTheFlyStore::GcMode::kOncePerPrune, dir, &bytes[design]);
    } else if (design == "per_record") {
      result = RunBaseline(f, options, *pins, OnTheFlyStore::GcMode::kPerRecord, dir, &bytes[design]);
    } else if (design == "refstore") {
      result = RunRefstore(f, options, *pins, dir, &bytes[design]);
    } else {
      Usage(absl::StrCat("unknown design ", design));
    }
    if (!f.keep) std::filesystem::remove_all(dir);
    out.Add(design, result);
  }
  // Whether the designs that ran to the end freed the same bytes.
  if (bytes.count("once") && bytes.count("refstore")) {
    out.Bool("once_matches_refstore", bytes["once"] == bytes["refstore"]);
  }
  std::printf("%s\n", out.Done().c_str());
  return 0;
}

}  // namespace
}  // namespace refstore::bench

int main(int argc, char** argv) { return refstore::bench::Main(argc, argv); }
