#include "human_size.h"

#include <cstdio>

namespace refstore::bench {

std::string HumanSize(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  constexpr int kLast = sizeof(kUnits) / sizeof(kUnits[0]) - 1;
  double size = static_cast<double>(bytes);
  int unit = 0;
  while (size >= 1000 && unit < kLast) {
    size /= 1000;
    ++unit;
  }
  // Go's "%.4g" and C's agree here: size < 1000, so no exponent form.
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g%s", size, kUnits[unit]);
  return buf;
}

}  // namespace refstore::bench
