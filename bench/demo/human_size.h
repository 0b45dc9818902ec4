// human_size.h: docker's size formatting (go-units HumanSize).
#ifndef REFSTORE_BENCH_DEMO_HUMAN_SIZE_H_
#define REFSTORE_BENCH_DEMO_HUMAN_SIZE_H_

#include <cstdint>
#include <string>

namespace refstore::bench {

// HumanSize formats `bytes` as docker does (go-units
// HumanSizeWithPrecision(size, 4)): decimal units B, kB, MB, GB, TB, PB, EB,
// at most 4 significant digits, trailing zeros dropped.
//   0 -> "0B", 999 -> "999B", 1000 -> "1kB", 1500 -> "1.5kB",
//   10005300 -> "10.01MB", 1234567890 -> "1.235GB".
std::string HumanSize(int64_t bytes);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DEMO_HUMAN_SIZE_H_
