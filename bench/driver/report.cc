#include "driver/report.h"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "fmt/format.h"
#include "rocksdb/version.h"

#ifdef REFSTORE_BENCH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace refstore::bench {
namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

int64_t MemTotalKb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  in >> key >> kb;
  return kb;
}

std::string Cell(const nlohmann::json& row, const char* key, const char* fmt_spec, double scale) {
  if (!row.contains(key) || !row[key].is_number()) return "-";
  return fmt::format(fmt::runtime(fmt_spec), row[key].get<double>() * scale);
}

// The file the RocksDB library was loaded from: Debian's package, or the
// build without assertions that scripts/build-rocksdb makes.
std::string RocksDbLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&rocksdb::GetRocksVersionAsString), &info) != 0 &&
      info.dli_fname != nullptr) {
    return info.dli_fname;
  }
  return "unknown";
}

}  // namespace

// The allocator every design of the run allocates through.
std::string Allocator() {
#ifdef REFSTORE_BENCH_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "glibc malloc";
#endif
}

nlohmann::json MachineDescription() {
  utsname u{};
  uname(&u);
  return {{"cpu", CpuModel()},
          {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
          {"memory_kb", MemTotalKb()},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"compiler", "g++ " __VERSION__},
          {"rocksdb", fmt::format("{}.{}.{}", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH)},
          {"rocksdb_library", RocksDbLibrary()},
          {"allocator", Allocator()}};
}

void AddThroughput(nlohmann::json& row) {
  if (row.contains("seconds") && row.contains("items") && row["seconds"].get<double>() > 0) {
    row["throughput_per_s"] = row["items"].get<double>() / row["seconds"].get<double>();
  }
}

namespace {

// Seconds per item of a row, or 0 when it has none.
double PerItem(const nlohmann::json& row) {
  if (!row.contains("seconds") || !row.contains("items")) return 0;
  double items = row["items"].get<double>();
  return items > 0 ? row["seconds"].get<double>() / items : 0;
}

}  // namespace

nlohmann::json Ratios(const nlohmann::json& rows) {
  std::map<std::string, double> refstore;
  for (const auto& r : rows) {
    if (r["design"] == "refstore") refstore[r["scenario"]] = PerItem(r);
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& r : rows) {
    const std::string scenario = r["scenario"];
    if (r["design"] == "refstore" || !refstore.count(scenario) || refstore[scenario] <= 0) continue;
    if (double mine = PerItem(r); mine > 0) {
      out[scenario][r["design"].get<std::string>()] = mine / refstore[scenario];
    }
  }
  return out;
}

std::string Table(const nlohmann::json& rows) {
  std::string out = fmt::format("{:<20} {:<22} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10} {:>11}\n",
                                "design", "scenario", "seconds", "items/s", "p50 us", "p99 us",
                                "max us", "peak MB", "written MB");
  for (const auto& r : rows) {
    out += fmt::format("{:<20} {:<22} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10} {:>11}{}\n",
                       r.value("design", "?"), r.value("scenario", "?"),
                       Cell(r, "seconds", "{:.3f}", 1), Cell(r, "throughput_per_s", "{:.0f}", 1),
                       Cell(r, "p50_us", "{:.0f}", 1), Cell(r, "p99_us", "{:.0f}", 1),
                       Cell(r, "max_us", "{:.0f}", 1), Cell(r, "peak_rss_kb", "{:.1f}", 1.0 / 1024),
                       Cell(r, "bytes_written", "{:.1f}", 1.0 / (1 << 20)),
                       r.contains("error") ? "  ERROR: " + r["error"].get<std::string>() : "");
  }
  return out;
}

}  // namespace refstore::bench
