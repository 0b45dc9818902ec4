#include "driver/onthefly_scenarios.h"

#include <stdexcept>

#include "driver/measure.h"

namespace refstore::bench {
namespace {

std::unique_ptr<OnTheFlyStore> OpenOrThrow(const std::string& dir) {
  auto store = OnTheFlyStore::Open(dir);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  return std::move(*store);
}

}  // namespace

nlohmann::json CreateOnTheFly(const WorkloadOptions& options, const ContainerPins& pins,
                              const std::string& dir) {
  auto store = OpenOrThrow(dir);
  Stopwatch clock;
  auto stats = Generate(options, [&](const Event& event) {
    Event e = event;
    PinContainer(pins, e);
    return store->Apply(e);
  });
  const double seconds = clock.Seconds();
  if (!stats.ok()) throw std::runtime_error(stats.status().ToString());
  store.reset();
  return {{"seconds", seconds}, {"items", stats->events}, {"store_bytes", DirectoryBytes(dir)}};
}

nlohmann::json PruneOnTheFly(const BenchStore& bench, OnTheFlyStore::GcMode mode,
                             absl::Duration budget) {
  auto store = OpenOrThrow(bench.dir);
  Stopwatch clock;
  auto r = store->PruneAll({.ns = "ns0", .now = bench.now}, mode, budget);
  const double seconds = clock.Seconds();
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  store.reset();
  return {{"seconds", seconds},
          {"items", r->images_deleted},
          {"images_deleted", r->images_deleted},
          {"reclaimed_bytes", r->reclaimed_bytes},
          {"finished", r->finished},
          {"records_done", r->records_done},
          {"records_planned", r->records_planned},
          {"gc_runs", r->gc_runs},
          {"resolve_seconds", r->resolve_seconds},
          {"delete_seconds", r->delete_seconds},
          {"sweep_seconds", r->sweep_seconds},
          {"store_bytes", DirectoryBytes(bench.dir)}};
}

nlohmann::json RemoveStreamOnTheFly(const BenchStore& bench, absl::Duration budget) {
  auto store = OpenOrThrow(bench.dir);
  Latencies latencies;
  int64_t ok = 0, refused = 0, reclaimed = 0, calls = 0;
  Stopwatch clock;
  for (const auto& name : bench.remove_names) {
    if (absl::Seconds(clock.Seconds()) > budget) break;
    Stopwatch one;
    auto r = store->RemoveByName("ns0", name);
    latencies.Add(one.Seconds());
    ++calls;
    if (r.ok()) {
      ++ok;
      reclaimed += r->reclaimed_bytes;
    } else {
      ++refused;
    }
  }
  nlohmann::json out = latencies.Summary();
  out.update({{"seconds", clock.Seconds()},
              {"items", calls},
              {"finished", calls == static_cast<int64_t>(bench.remove_names.size())},
              {"removed", ok},
              {"refused", refused},
              {"reclaimed_bytes", reclaimed}});
  return out;
}

}  // namespace refstore::bench
