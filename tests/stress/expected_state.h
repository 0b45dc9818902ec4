// expected_state.h: what a store must contain, kept outside the store from the
// operations a crash-test child acknowledged (as db_stress keeps its expected
// state), and the comparison of a reopened store against it.
//
// The child reports every store call twice on a pipe, as JSON lines: before
// the call ("b": sequence number, "op" and the arguments) and after it ("e":
// the same number, "code" and the result). An operation is acknowledged when
// its end line arrived whole. End() applies an acknowledged result to the
// expected state; Verify() compares a reopened store with it. The one
// operation begun and not acknowledged when the child died (in flight) may be
// applied or not; an in-flight prune may have applied any subset of what a
// prune may do (its batches commit separately). Verify adopts the outcome the
// store shows for that operation and requires everything else to be exactly
// as acknowledged.
//
// Operations ("op") and their fields:
//   create_lease {lease}                 write_blob {lease, digest, size}
//   delete_lease {lease}                 -> end {freed}
//   create_image {target:[digest,size], content:[[digest,size]...], name?, lease?}
//                                        -> end {id}
//   tag {source, target}                 pin {ref, pinned}
//   rmi {ref, force}                     -> end {entries:[["U"|"D", ref]...], reclaimed}
//   prune {all}                          -> end {entries, reclaimed}
//   collect {}                           -> end {files, bytes}
//   create_container {id, ref, running}  -> end {id (the image ID)}
//   start_container {id}  stop_container {id}  remove_container {id}
// End lines carry "code" (absl::StatusCodeToString of the status, "OK") and,
// on error, "msg". A begin line may carry "pull" (the pool image a pull step
// belongs to), only for the counters.
#ifndef REFSTORE_TESTS_STRESS_EXPECTED_STATE_H_
#define REFSTORE_TESTS_STRESS_EXPECTED_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace refstore::stress {

// The part of a store's state an acknowledged operation can change, in one
// namespace.
struct StoreModel {
  struct Image {
    std::set<std::string> names;  // familiar names
    bool pinned = false;
    bool operator==(const Image&) const = default;
  };
  struct Container {
    std::string image;  // the image ID it holds (the image may be gone)
    bool running = false;
    // The names it was created with (prune -a keeps them on the image). Not
    // observable: Verify copies them from the expected state.
    std::set<std::string> protected_names;
  };
  std::map<std::string, Image> images;                  // ID -> image
  std::map<std::string, Container> containers;          // ID -> container
  std::map<std::string, std::set<std::string>> leases;  // ID -> blob digests

  // key -> value, one entry per fact ("image <id>", "name <n>", "pinned <id>",
  // "container <id>", "lease <id>", "lease-blob <id> <digest>").
  std::map<std::string, std::string> Flatten() const;
  // The image a name points to, if any.
  std::optional<std::string> NameOwner(const std::string& name) const;
  // Whether a container holds image `id`.
  bool Held(const std::string& id) const;
};

class ExpectedState {
 public:
  // The child announced an operation. Returns a problem (an empty string
  // when none): a begin line while another operation is in flight, a
  // sequence number out of order.
  std::string Begin(const nlohmann::json& line);
  // The child acknowledged the operation in flight: applies its result.
  // Returns the problems found in the result itself (it must be the one in
  // flight; a deletion must be allowed; reclaimed bytes must be the blobs the
  // operation freed).
  std::vector<std::string> End(const nlohmann::json& line);

  // The operation in flight (begun, not acknowledged), if any.
  const std::optional<nlohmann::json>& in_flight() const { return in_flight_; }

  struct Verdict {
    std::vector<std::string> problems;  // empty: the store is as expected
    std::set<int64_t> lost;             // acknowledged operations not in the store
    // What the in-flight operation did: "none", "applied", "partly applied"
    // (a prune), or "" when nothing was in flight.
    std::string in_flight_outcome;
  };
  // Compares `actual` (read from the reopened store) with the expected state,
  // allowing the in-flight operation either outcome, then makes the store's
  // state the expected one and forgets the operation in flight.
  Verdict Verify(const StoreModel& actual);

  const StoreModel& model() const { return model_; }
  int64_t acknowledged() const { return acknowledged_; }
  int64_t next_seq() const { return next_seq_; }
  // digest -> size of every blob announced so far.
  const std::map<std::string, int64_t>& blob_sizes() const { return sizes_; }

  // Applies `op` with the result `end` to `m` (no checks). Public for tests.
  static void Apply(StoreModel& m, const nlohmann::json& op, const nlohmann::json& end,
                    const std::map<std::string, std::vector<std::string>>& image_blobs);

 private:
  // What `op` would do if it succeeded now, when that is determined by the
  // state (every operation but rmi, prune and collect).
  std::optional<StoreModel> Predict(const nlohmann::json& op) const;
  // Whether the difference between model_ and `actual` is something an
  // in-flight rmi or prune may have done; appends the reasons it is not.
  bool RemovalAllowed(const nlohmann::json& op, const StoreModel& actual,
                      std::vector<std::string>* why) const;
  // Bytes of the blobs of `before` no longer used by `after`'s images and
  // leases.
  int64_t Freed(const StoreModel& before, const StoreModel& after) const;
  std::set<std::string> UsedBlobs(const StoreModel& m) const;

  StoreModel model_;
  std::optional<nlohmann::json> in_flight_;
  int64_t next_seq_ = -1;  // -1: the first begin line sets it
  int64_t acknowledged_ = 0;
  std::map<std::string, int64_t> last_change_;                   // flattened key -> seq
  std::map<std::string, int64_t> sizes_;                         // digest -> size
  std::map<std::string, std::vector<std::string>> image_blobs_;  // ID -> digests
};

}  // namespace refstore::stress

#endif  // REFSTORE_TESTS_STRESS_EXPECTED_STATE_H_
