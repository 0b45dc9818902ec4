// onthefly_scenarios.h: the benchmark scenarios run on the on-the-fly
// baseline (bench/baselines/onthefly.h), on the same events as refstore.
#ifndef REFSTORE_BENCH_DRIVER_ONTHEFLY_SCENARIOS_H_
#define REFSTORE_BENCH_DRIVER_ONTHEFLY_SCENARIOS_H_

#include <string>

#include "absl/time/time.h"
#include "baselines/compare.h"
#include "baselines/onthefly.h"
#include "driver/scenarios.h"
#include "nlohmann/json.hpp"

namespace refstore::bench {

// Generates the workload (with `pins` applied) into a new baseline store.
nlohmann::json CreateOnTheFly(const WorkloadOptions& options, const ContainerPins& pins,
                              const std::string& dir);
// prune -a in ns0 at `bench.now`; kPerRecord stops after `budget`.
nlohmann::json PruneOnTheFly(const BenchStore& bench, OnTheFlyStore::GcMode mode,
                             absl::Duration budget);
// rmi of the sample names, each followed by the sweep the design needs to
// know what it freed; stops after `budget`.
nlohmann::json RemoveStreamOnTheFly(const BenchStore& bench, absl::Duration budget);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_ONTHEFLY_SCENARIOS_H_
