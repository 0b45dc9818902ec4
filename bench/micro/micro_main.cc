// micro_main.cc: the refstore_micro entry point. Takes Google Benchmark's
// flags plus one of its own, removed before benchmark::Initialize:
//   --micro_images=N[,N...]  store sizes of the size-dependent benchmarks
//                            (default 1000,10000,100000; the ctest smoke run
//                            passes a small size).
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "micro.h"

namespace {

constexpr std::string_view kImagesFlag = "--micro_images=";

// Parses "1000,10000": positive integers separated by commas.
bool ParseSizes(std::string_view text, std::vector<int64_t>* sizes) {
  sizes->clear();
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    if (ec != std::errc() || end != item.data() + item.size() || n <= 0) return false;
    sizes->push_back(n);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return !sizes->empty();
}

// Removes our flags from argv, leaving benchmark's; false on a bad value.
bool TakeOwnFlags(int* argc, char** argv, std::vector<int64_t>* sizes) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with(kImagesFlag)) {
      if (!ParseSizes(arg.substr(kImagesFlag.size()), sizes)) {
        std::fprintf(stderr, "refstore_micro: bad %s\n", argv[i]);
        return false;
      }
      continue;
    }
    if (arg == "--help") {
      std::printf(
          "refstore_micro flags:\n  %sN[,N...]  store sizes (default 1000,10000,100000)\n\n",
          kImagesFlag.data());
    }
    argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes = {1000, 10000, 100000};
  if (!TakeOwnFlags(&argc, argv, &sizes)) return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  refstore::micro::RegisterStoreBenchmarks(sizes);
  refstore::micro::RegisterPruneBenchmarks(sizes);
  refstore::micro::RegisterChurnBenchmarks(sizes);
  refstore::micro::RegisterNameBenchmarks(sizes);
  benchmark::RunSpecifiedBenchmarks();
  refstore::micro::CloseCachedStores();
  benchmark::Shutdown();
  return 0;
}
