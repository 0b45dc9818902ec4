// report.h: the benchmark report: machine description, rows, ratios, and a
// readable table.
#ifndef REFSTORE_BENCH_DRIVER_REPORT_H_
#define REFSTORE_BENCH_DRIVER_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace refstore::bench {

// CPU model, cores, memory, kernel, compiler, RocksDB version.
nlohmann::json MachineDescription();

// Adds "throughput_per_s" to a result row that has "seconds" and "items".
void AddThroughput(nlohmann::json& row);

// For each scenario, every design's time per item divided by refstore's, as
// {"<scenario>": {"floor": 0.8, ...}} (refstore / floor is 1 / that). Per
// item, so that a baseline stopped by its time budget is compared at the
// rate it reached.
nlohmann::json Ratios(const nlohmann::json& rows);

// The rows as a fixed-width table.
std::string Table(const nlohmann::json& rows);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_REPORT_H_
