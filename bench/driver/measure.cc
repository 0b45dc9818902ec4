#include "driver/measure.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace refstore::bench {

nlohmann::json Latencies::Summary() {
  nlohmann::json out{{"calls", samples_.size()}};
  if (samples_.empty()) return out;
  std::sort(samples_.begin(), samples_.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(samples_.size()))) - 1;
    return samples_[std::min(i, samples_.size() - 1)] * 1e6;
  };
  out["p50_us"] = at(0.50);
  out["p99_us"] = at(0.99);
  out["max_us"] = samples_.back() * 1e6;
  return out;
}

int64_t DirectoryBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += static_cast<int64_t>(entry.file_size(ec));
  }
  return total;
}

void CopyDirectory(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

}  // namespace refstore::bench
