// model.h: an independent, deliberately simple in-memory model of
// docs/spec/SEMANTICS.md (and of DESIGN.md "Choices where the contract is
// silent"), used by model_test.cc to check refstore::Store operation by
// operation.
//
// The state is plain maps; every operation is written directly from the
// rules of the contract, recomputing whatever it needs by scanning the whole
// state (no counts, no indexes). Blob accounting in particular is done the
// obvious way: a blob is recorded while an image of any namespace uses it or
// a lease holds it; the bytes an operation reclaims are the sizes of the
// digests recorded before it and not after it.
//
// The model borrows only the grammar from the library (ParseReference for
// names, ValidateDigest for digests); the state, resolution, removal, prune,
// leases and accounting rules are its own.
#ifndef REFSTORE_TESTS_MODEL_MODEL_H_
#define REFSTORE_TESTS_MODEL_MODEL_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/reference.h"
#include "refstore/store.h"
#include "refstore/util/strcat.h"

namespace refstore::model {

struct Image {
  Descriptor target;
  std::vector<Descriptor> content;  // distinct, without the target, first given first
  std::map<std::string, std::string> labels;
  absl::Time created;
  absl::Time dangling_since;                // meaningful while `names` is empty
  std::map<std::string, absl::Time> names;  // full normalized name -> when it was given
  bool pinned = false;                      // Store::Pin: prune skips it, rmi needs force
  // When a container was last created from it or started (DESIGN "Pins and
  // last use"); unset: never.
  std::optional<absl::Time> last_used;
  // Its last use as images and prune see it: created, or used since.
  absl::Time LastUse() const { return last_used ? std::max(created, *last_used) : created; }
};

struct Container {
  std::string image_id;  // "sha256:<hex>", held by ID even after the image went
  bool running = false;
  absl::Time created;
  std::set<std::string> protected_names;  // full names it was created with
};

struct Lease {
  absl::Time created;
  std::optional<absl::Time> expires;
  std::map<std::string, Descriptor> holds;  // digest -> descriptor
  bool LiveAt(absl::Time now) const { return !expires || now < *expires; }
};

struct Namespace {
  std::map<std::string, Image> images;          // by image ID "sha256:<hex>"
  std::map<std::string, Container> containers;  // by container ID (64 hex)
  std::map<std::string, Lease> leases;          // by lease ID
};

// What `Explain` says of a blob (only the parts the model checks).
struct BlobFacts {
  int64_t size = 0;
  std::vector<std::string> images;  // "ns/sha256:<id>", sorted
  std::vector<std::string> leases;  // "ns/lease" (+ " (expired)"), sorted
};

// For prune: each image deleted with the Untagged entries it got.
struct PrunedImage {
  std::string id;
  std::vector<std::string> untagged;
};

class Model {
 public:
  absl::StatusOr<std::string> CreateImage(const OpContext& ctx, const CreateImageRequest& req);
  absl::Status Tag(const OpContext& ctx, std::string_view source, std::string_view target);
  absl::Status Pin(const OpContext& ctx, std::string_view ref, bool pinned);
  absl::StatusOr<RemoveResult> RemoveImage(const OpContext& ctx, std::string_view ref, bool force);
  absl::StatusOr<std::string> CreateContainer(const OpContext& ctx, std::string_view id,
                                              std::string_view image_ref, bool running);
  absl::Status StartContainer(const OpContext& ctx, std::string_view id);
  absl::Status StopContainer(const OpContext& ctx, std::string_view id);
  absl::Status RemoveContainer(const OpContext& ctx, std::string_view id);
  absl::Status CreateLease(const OpContext& ctx, std::string_view id,
                           std::optional<absl::Time> expires);
  absl::Status AddLeaseContent(const OpContext& ctx, std::string_view id,
                               const std::vector<Descriptor>& content);
  absl::StatusOr<int64_t> DeleteLease(const OpContext& ctx, std::string_view id);
  // Every option but on_entry and on_progress is modelled.
  absl::StatusOr<PruneResult> Prune(const OpContext& ctx, const PruneOptions& options,
                                    std::vector<PrunedImage>* pruned = nullptr);
  absl::StatusOr<std::vector<ImageSummary>> ListImages(const OpContext& ctx,
                                                       const ListOptions& options) const;
  absl::StatusOr<ImageDetail> Inspect(const OpContext& ctx, std::string_view ref) const;
  absl::StatusOr<DiskUsage> GetDiskUsage(const OpContext& ctx) const;
  std::vector<ContainerInfo> ListContainers(std::string_view ns) const;
  std::vector<LeaseInfo> ListLeases(std::string_view ns) const;
  // The blob `digest` as Explain shows it at `now`; nullopt when no record.
  std::optional<BlobFacts> ExplainBlob(std::string_view digest, absl::Time now) const;

  // Every recorded blob: used by an image of any namespace or held by a lease.
  std::map<std::string, Descriptor> Recorded() const;
  const std::map<std::string, Namespace>& namespaces() const { return ns_; }
  const Namespace& ns(std::string_view name) const;

 private:
  struct Filter;  // parsed docker filters (model.cc)
  enum class Via { kName, kId, kRepoDigest };
  enum class Mode { kRemove, kLookup };
  struct Resolved {
    std::string id;
    Via via = Via::kName;
    std::optional<Reference> ref;
  };
  absl::StatusOr<Resolved> Resolve(const Namespace& n, std::string_view text, Mode mode) const;
  absl::StatusOr<std::string> RecordedSizeCheck(const std::vector<Descriptor>& ds) const;
  void SetName(Namespace& n, const std::string& id, const std::string& full, absl::Time now);
  PruneResult PruneHere(std::string_view ns, const Filter& f, bool all, absl::Time now,
                        std::vector<PrunedImage>* pruned);
  void ReleaseUnused(const std::set<std::string>& digests, absl::Time now);
  std::map<std::string, int> ImageUses() const;
  ImageSummary Summarize(std::string_view ns, const std::string& id, const Image& img,
                         const std::vector<std::string>& names,
                         const std::map<std::string, int>& uses) const;
  Namespace& mut(std::string_view name) { return ns_[std::string(name)]; }

  std::map<std::string, Namespace> ns_;
  // The media type first recorded for each recorded digest (DESIGN "Blob
  // media type": the first one recorded is kept while the blob lives).
  std::map<std::string, std::string> media_types_;
  void Forget(const std::map<std::string, Descriptor>& recorded);
};

// Helpers shared with the driver.

// String concatenation: the library's one Cat (a header-only utility; the
// model still uses no library logic).
using internal::Cat;

std::string FamiliarOf(std::string_view full);
bool IsManifestOrIndexType(std::string_view media_type);

}  // namespace refstore::model

#endif  // REFSTORE_TESTS_MODEL_MODEL_H_
