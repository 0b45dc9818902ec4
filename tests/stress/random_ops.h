// random_ops.h: a seeded stream of random store operations over small pools
// of images, names, containers and leases, so that operations collide often.
// Used by the concurrency and crash tests.
#ifndef REFSTORE_TESTS_STRESS_RANDOM_OPS_H_
#define REFSTORE_TESTS_STRESS_RANDOM_OPS_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "refstore/store.h"

namespace refstore::stress {

class RandomOps {
 public:
  // `namespaces` > 1 spreads operations over "ns0".."nsN-1".
  RandomOps(Store* store, uint64_t seed, int namespaces = 2);

  // Applies one random operation at logical time `step` (seconds). Returns
  // its status; statuses a correct store can return for a random operation
  // (NotFound, conflicts, already-exists, a busy prune) are expected.
  absl::Status Step(int64_t step);

  // Whether `s` is one of those expected statuses (or OK).
  static bool Expected(const absl::Status& s);

 private:
  std::string Digest(int n);
  std::string Name();
  std::string ContainerId();
  std::string LeaseId();
  Descriptor Layer();

  Store* store_;
  std::mt19937_64 rng_;
  int namespaces_;
};

}  // namespace refstore::stress

#endif  // REFSTORE_TESTS_STRESS_RANDOM_OPS_H_
