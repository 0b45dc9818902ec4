// measure.h: clocks, latency percentiles and directory sizes for the
// benchmark driver.
#ifndef REFSTORE_BENCH_DRIVER_MEASURE_H_
#define REFSTORE_BENCH_DRIVER_MEASURE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace refstore::bench {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Latencies of many calls, in seconds.
class Latencies {
 public:
  void Add(double seconds) { samples_.push_back(seconds); }
  // {"calls", "p50_us", "p99_us", "max_us"}; empty samples give calls = 0.
  nlohmann::json Summary();

 private:
  std::vector<double> samples_;
};

// Bytes of the regular files under `dir`.
int64_t DirectoryBytes(const std::string& dir);

// Copies directory `from` to `to` (which must not exist).
void CopyDirectory(const std::string& from, const std::string& to);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DRIVER_MEASURE_H_
