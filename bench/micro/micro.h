// micro.h: helpers shared by the refstore microbenchmarks: scratch
// directories, synthetic images, the operation clock and a cache of stores
// built once per size, plus the registration entry points of the benchmarks
// whose store sizes come from the command line (see micro_main.cc).
#ifndef REFSTORE_BENCH_MICRO_MICRO_H_
#define REFSTORE_BENCH_MICRO_MICRO_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "refstore/store.h"

namespace refstore::micro {

// A fresh, uniquely named directory under the system temp directory, removed
// with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A store in its own scratch directory. The store is closed before the
// directory is removed.
struct ScratchStore {
  ScratchDir dir;  // declared first: destroyed last
  std::unique_ptr<Store> store;
};

// Opens an empty store (with `options`) in a new scratch directory; aborts
// on failure (a benchmark cannot run without it).
std::unique_ptr<ScratchStore> OpenScratchStore(const StoreOptions& options = {});

// The time of the i-th operation: 2026-01-01T00:00:00Z + i seconds.
absl::Time At(int64_t i);

// A process-wide counter: every synthetic image gets a serial never used
// before, so its digests are distinct from every other image's.
uint64_t NextSerial();

// The request creating synthetic image `serial`: a manifest target, its own
// config and top layer, and two layers from a pool of 32 shared base layers.
CreateImageRequest SyntheticImage(uint64_t serial, std::optional<std::string> name);

// A store holding `images` synthetic images in namespace "default" (named
// "micro/base-<k>:v<serial>"), with their IDs.
struct PopulatedStore {
  std::unique_ptr<ScratchStore> scratch;
  std::vector<std::string> ids;  // "sha256:<hex>", in creation order
  Store& store() { return *scratch->store; }
};

// The store for (`purpose`, `images`), built on first use and kept until
// CloseCachedStores(). Benchmarks that change it must leave it as they found
// it (same images), so that every run sees `images` images.
PopulatedStore& CachedStore(std::string_view purpose, int64_t images);

// Closes and deletes every cached store. Call before exit.
void CloseCachedStores();

// Registration of the size-dependent benchmarks, with the store sizes to use.
void RegisterStoreBenchmarks(const std::vector<int64_t>& sizes);
void RegisterPruneBenchmarks(const std::vector<int64_t>& sizes);
void RegisterChurnBenchmarks(const std::vector<int64_t>& sizes);
void RegisterNameBenchmarks(const std::vector<int64_t>& sizes);

}  // namespace refstore::micro

#endif  // REFSTORE_BENCH_MICRO_MICRO_H_
