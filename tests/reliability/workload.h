// workload.h: a deterministic random workload of single store calls, and
// the canonical text of a store's logical state, for the power-loss and
// I/O-fault tests.
//
// Every operation is one call of the Store API, so that "applied or not"
// is well defined for each. A pull is the sequence a puller makes: create a
// lease, write the image's blobs under it (content stores) or add them to it
// (metadata stores), create the image under the lease, delete the lease
// (sometimes left to expire instead). The sequence of operations follows
// from the seed alone, never from the store's answers.
#ifndef REFSTORE_TESTS_RELIABILITY_WORKLOAD_H_
#define REFSTORE_TESTS_RELIABILITY_WORKLOAD_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore::testing {

enum class OpKind {
  kLeaseCreate,
  kWriteBlobs,
  kLeaseAdd,
  kCreateImage,
  kLeaseDelete,
  kTag,
  kRmi,
  kContainerCreate,
  kContainerStart,
  kContainerStop,
  kContainerRm,
  kPrune,
  kCollect,
  kReopen,  // not a store call: the test closes and reopens the store
};

struct Op {
  OpKind kind;
  OpContext ctx;
  std::string a, b;   // lease / ref / container id; name / image ref
  int image = -1;     // index into the universe's images
  bool flag = false;  // force, running, prune all
  bool dry_run = false;
  std::optional<absl::Time> expires;
  std::string until;  // prune filter, empty for none
};

class Workload {
 public:
  Workload(uint64_t seed, bool content_store);
  Op Next();
  const std::vector<test_oci::Image>& images() const { return images_; }
  bool content_store() const { return content_; }
  // Every digest of the universe, for Dump.
  const std::vector<std::string>& digests() const { return digests_; }

 private:
  uint64_t R(uint64_t n) { return rng_() % n; }
  std::string Name();
  std::string Ref(const std::string& ns);
  std::mt19937_64 rng_;
  bool content_;
  std::vector<test_oci::Image> images_;
  std::vector<std::string> digests_;
  std::deque<Op> queued_;
  absl::Time now_;
  int64_t leases_ = 0;
};

// Runs `op` (not kReopen) and returns the canonical text of its result:
// the status, and what the caller sees of the result (IDs, entries, bytes).
std::string Apply(Store& store, const Workload& w, const Op& op);
// One line describing the operation, for failure messages.
std::string Describe(const Op& op);
// The whole logical state at `now`: every namespace's images, containers,
// leases and df, and every digest's blob record (as Explain shows it).
// A read that fails makes the text start with "ERROR".
std::string Dump(Store& store, const Workload& w, absl::Time now);

}  // namespace refstore::testing

#endif  // REFSTORE_TESTS_RELIABILITY_WORKLOAD_H_
