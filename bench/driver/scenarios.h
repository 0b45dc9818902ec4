// scenarios.h: the benchmark scenarios run on refstore. Each runs inside a
// child process (see child.h) on its own copy of a generated store and
// returns its figures as JSON: "seconds" always, and where it applies
// "items" (what the throughput counts), latency percentiles, and results
// (images deleted, bytes reclaimed) that the baselines must reproduce.
#ifndef REFSTORE_BENCH_DRIVER_SCENARIOS_H_
#define REFSTORE_BENCH_DRIVER_SCENARIOS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "baselines/compare.h"
#include "nlohmann/json.hpp"
#include "workload/workload.h"

namespace refstore::bench {

// What the scenarios know of the generated store.
struct BenchStore {
  std::string dir;                        // the store's directory
  WorkloadStats stats;                    // what the generator made
  std::vector<std::string> remove_names;  // names (namespace ns0) for the remove stream
  absl::Time now;                         // "now" for every scenario: after the last event
};

// The StoreOptions every refstore scenario opens its store with (default:
// the library's defaults). Set once, before the first scenario.
void SetRefstoreOptions(int64_t bulk_ingest_writes);

// Generates the workload into a new store at `dir`, picking `remove_count`
// names spread over the run for the remove stream. Returns the figures plus
// "bench_store" (BenchStoreToJson), which the parent turns back into a
// BenchStore with BenchStoreFromJson.
// Containers in `pins` get the pinned reference (see baselines/compare.h),
// so that refstore and the baselines receive identical events.
nlohmann::json CreateRefstore(const WorkloadOptions& options, const ContainerPins& pins,
                              const std::string& dir, int64_t remove_count);
nlohmann::json BenchStoreToJson(const BenchStore& store);
BenchStore BenchStoreFromJson(const nlohmann::json& j);

// prune (dangling only, -a, or -a with label=tier=a) in namespace ns0.
enum class PruneKind { kDangling, kAll, kAllLabel };
nlohmann::json PruneRefstore(const BenchStore& store, PruneKind kind);
// A stream of `rmi NAME` of the sample names, one call each.
nlohmann::json RemoveStreamRefstore(const BenchStore& store);
// df, repeated.
nlohmann::json DiskUsageRefstore(const BenchStore& store, int calls);
nlohmann::json CheckRefstore(const BenchStore& store);
nlohmann::json ReopenRefstore(const BenchStore& store);
// Repair of a consistent store (on a copy): the full rebuild pass, which
// must find and change nothing but expired leases.
nlohmann::json RepairRefstore(const BenchStore& store);

const char* PruneKindName(PruneKind kind);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_SCENARIOS_H_
