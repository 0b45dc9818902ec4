// child.h: runs one benchmark step in a forked child process, so that its
// peak memory and bytes written are its own.
//
// The parent must not hold RocksDB (or any other threads) when it forks; the
// benchmark driver only forks, waits and reports.
#ifndef REFSTORE_BENCH_DRIVER_CHILD_H_
#define REFSTORE_BENCH_DRIVER_CHILD_H_

#include <functional>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace refstore::bench {

// What the kernel measured of one child.
struct ChildUsage {
  int64_t peak_rss_kb = 0;    // wait4's ru_maxrss
  int64_t bytes_written = 0;  // /proc/self/io write_bytes at the child's end
};

// Runs `step` in a child. The child's JSON result comes back with
// "peak_rss_kb" and "bytes_written" added. A child that fails returns
// {"error": "..."}; one that dies is an Internal error.
absl::StatusOr<nlohmann::json> RunInChild(const std::function<nlohmann::json()>& step);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_CHILD_H_
