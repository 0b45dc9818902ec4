// generator.h: fills a Store with a synthetic, reproducible image population.
//
// The population imitates a busy docker host:
//   - `base_images` base images ("base007:latest"), 3 layers each;
//   - every other image has 3-8 layers: 1-3 taken from a base chosen
//     Zipf-like (a few bases are very popular), the rest its own; plus its
//     own config blob and manifest (the target, whose digest is the image ID);
//   - layer sizes are log-normal (median ~3 MB, heavy tail), configs 1-10 kB,
//     manifests 0.5-2 kB;
//   - ~10% of the non-base images take the name of an earlier image, which
//     becomes dangling (a tag moved to a newer image);
//   - `containers` containers spread evenly over the images, each created
//     right after its image, referring to it by name, full ID or short ID
//     (12 hex); about half are running.
// Everything derives from `seed` (std::mt19937_64 and a hash of a counter for
// digests), and operation times from `start` plus one second per operation,
// so the same options always give the same store.
#ifndef REFSTORE_BENCH_DEMO_GENERATOR_H_
#define REFSTORE_BENCH_DEMO_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/store.h"

namespace refstore::bench {

struct GeneratorOptions {
  int64_t images = 100000;     // total, base images included
  int64_t base_images = 200;   // capped at `images`
  int64_t containers = 2000;
  uint64_t seed = 1;
  absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
  std::string ns = "default";
};

struct GeneratorStats {
  int64_t images = 0;
  int64_t base_images = 0;
  int64_t moved_tags = 0;   // images left dangling by a newer image
  int64_t containers = 0;
  int64_t running = 0;
  int64_t blob_bytes = 0;   // sum of the sizes of the distinct blobs
  absl::Time end;           // time of the last operation
};

// Generate writes the population into `store` (which should be empty).
// `on_image`, when set, is called after each image with the count so far.
absl::StatusOr<GeneratorStats> Generate(
    Store& store, const GeneratorOptions& options,
    const std::function<void(int64_t)>& on_image = nullptr);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_DEMO_GENERATOR_H_
