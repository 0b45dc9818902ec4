// workload.h: a seeded, realistic stream of container-engine events (image
// creations, extra tags, containers, leases) that every design under
// benchmark consumes identically: refstore through its Store API, the
// baselines through their own.
//
// The population imitates hosts and registries:
//   - a pool of base images whose layers many images share, chosen with a
//     Zipf law (a few bases are very popular);
//   - each other image has `layers_min`..`layers_max` layers: the first
//     1..3 come from a base, the rest are its own; plus its own config and a
//     manifest (the target: its digest is the image ID);
//   - `index_share` of the images are multi-platform: the target is an index
//     over 2-4 platform manifests, each with its own config and top layer;
//   - layer sizes are log-normal (median `layer_median_bytes`, heavy tail,
//     capped at 8 GB); configs 1-10 kB; manifests 0.5-2 kB;
//   - names spread over repositories of up to 8 tags; `tags_mean` names per
//     image on average (extra names arrive as creations of the same image
//     with another name, as docker tag / a second pull would);
//   - `dangling_share` of the images take a name that an earlier image had
//     (a moved tag), leaving that one dangling;
//   - `container_share` of the images are used by a container created right
//     after them, referring to the image by name, full ID, short ID (12 hex)
//     or name@digest in turn; every other one runs;
//   - images spread over `namespaces` namespaces ("ns0" holds most);
//   - `leases` leases in flight at the end, each holding 1-3 fresh layers,
//     half of them already expired;
//   - labels: every image has "tier" = a|b|c, and "team" on one in four.
// Everything derives from `seed`; event times start at `start` and advance
// one second per event.
#ifndef REFSTORE_BENCH_WORKLOAD_WORKLOAD_H_
#define REFSTORE_BENCH_WORKLOAD_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "refstore/store.h"

namespace refstore::bench {

struct WorkloadOptions {
  int64_t images = 10000;
  int64_t base_images = -1;  // -1: images / 100, at least 10, at most 5000
  int layers_min = 3;
  int layers_max = 15;
  double layer_median_bytes = 3e6;
  double index_share = 0.05;
  double tags_mean = 1.2;
  double dangling_share = 0.10;
  double container_share = 0.05;
  int namespaces = 3;
  int leases = 8;
  uint64_t seed = 1;
  absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
};

// Creates image `target` in `ns` (or, when it exists, adds `name`).
struct CreateImageEvent {
  std::string ns;
  CreateImageRequest request;
  absl::Time at;
};

// Creates container `id` in `ns` from `image_ref` as a user typed it.
struct CreateContainerEvent {
  std::string ns;
  std::string id;
  std::string image_ref;
  bool running = false;
  absl::Time at;
};

// Creates lease `id` (with `expires`, if any) and adds `content` to it.
struct LeaseEvent {
  std::string ns;
  std::string id;
  std::optional<absl::Time> expires;
  std::vector<Descriptor> content;
  absl::Time at;
};

using Event = std::variant<CreateImageEvent, CreateContainerEvent, LeaseEvent>;

// What a generated workload contains.
struct WorkloadStats {
  int64_t images = 0;    // distinct images created
  int64_t names = 0;     // names given (moved ones included)
  int64_t dangling = 0;  // images left without a name
  int64_t indexes = 0;   // multi-platform images
  int64_t containers = 0;
  int64_t running = 0;
  int64_t leases = 0;
  int64_t blobs = 0;       // distinct blobs
  int64_t blob_bytes = 0;  // their total size
  int64_t events = 0;
  absl::Time end;  // time of the last event
};

// Generate calls `sink` with every event in order and returns the totals.
// A sink error stops the generation and is returned.
absl::StatusOr<WorkloadStats> Generate(const WorkloadOptions& options,
                                       const std::function<absl::Status(const Event&)>& sink);

// "sha256:" + 64 lowercase hex derived from (seed, counter): the generator's
// synthetic digests, for other benchmarks that need their own.
std::string SyntheticDigest(uint64_t seed, uint64_t counter);

// Applies one event to a refstore Store.
absl::Status ApplyToStore(Store& store, const Event& event);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_WORKLOAD_WORKLOAD_H_
