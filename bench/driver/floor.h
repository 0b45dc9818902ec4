// floor.h: the least work RocksDB can do for a prune's result.
//
// The floor of a prune is one scan of the candidate records followed by
// exactly the mutations the real prune made, applied in large batches with
// no logic. The mutations are the difference between the store before and
// after a real prune (MakeFloorPlan, untimed); RunFloor replays them on a
// fresh copy of the store, timed. `refstore / floor` is how far prune is
// from the limit of its engine.
#ifndef REFSTORE_BENCH_DRIVER_FLOOR_H_
#define REFSTORE_BENCH_DRIVER_FLOOR_H_

#include <string>

#include "nlohmann/json.hpp"

namespace refstore::bench {

// Writes to `plan_file` the mutations that turn store `before` into store
// `after` (both closed refstore directories), as serialized write batches of
// at most `batch_ops` operations. Returns {"ops", "batches", "bytes"}.
nlohmann::json MakeFloorPlan(const std::string& before, const std::string& after,
                             const std::string& plan_file, int batch_ops);

// Opens `store` (a copy of `before`) with refstore's RocksDB settings, scans
// the candidate column family (`dangling` or `images`) of namespace ns0,
// then applies `plan_file`. Returns {"seconds", "scanned", "ops"}.
nlohmann::json RunFloor(const std::string& store, const std::string& plan_file, bool all_images);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_FLOOR_H_
