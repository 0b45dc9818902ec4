// types.h: what the Store's calls take and return: descriptors, results,
// records and reports (the Store is in store.h, its options in options.h).
//
// Thread-safety: plain values; safe to use from any thread, as any value.
#ifndef REFSTORE_TYPES_H_
#define REFSTORE_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "refstore/export.h"

namespace refstore {

// An OCI descriptor. `digest` is "sha256:" + 64 lowercase hex; `size` >= 0.
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

// Whether `media_type` is a manifest or an index (OCI or Docker v2 types).
REFSTORE_EXPORT bool IsManifestOrIndex(std::string_view media_type);

// What a collection did: the garbage blob files it deleted.
struct CollectResult {
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;       // sizes of the files, as found on disk
  int64_t records_dropped = 0;     // garbage records whose file was gone or revived
  int64_t temp_files_deleted = 0;  // leftovers of interrupted writes
  // After a change (RemoveImage, Prune, DeleteLease): non-empty when the
  // collection stopped on this error. The change itself is committed and
  // its result returned (a failed collection is never the call's error);
  // the files not deleted stay recorded as garbage for the next collection
  // (Store::Collect, `refstore gc`).
  std::string error;
};

// One entry of docker's delete response.
struct DeleteEntry {
  enum class Kind { kUntagged, kDeleted };
  Kind kind;
  std::string ref;  // familiar name or "sha256:<hex>"

  bool operator==(const DeleteEntry& o) const { return kind == o.kind && ref == o.ref; }
};

struct RemoveResult {
  std::vector<DeleteEntry> deleted;  // every Untagged first, then Deleted
  int64_t space_reclaimed = 0;
  // Content store with collect_after_changes: what the collection run after
  // the change deleted (space_reclaimed bytes when nothing else was pending).
  CollectResult collected;
};

// What DeleteLease did.
struct DeleteLeaseResult {
  // Bytes of the content that nothing else held (freed by the deletion).
  int64_t space_reclaimed = 0;
  CollectResult collected;  // as in RemoveResult
};

// Progress of a long run, for a progress line.
struct Progress {
  int64_t images_scanned = 0;
  int64_t images_deleted = 0;
  int64_t space_reclaimed = 0;
};

struct PruneResult {
  // Empty when on_entry was set. Only what was committed: an entry is
  // reported (here or to on_entry) once its atomic write is made.
  std::vector<DeleteEntry> deleted;
  int64_t images_deleted = 0;
  int64_t space_reclaimed = 0;
  // Non-empty: the prune is committed and its figures are above, but its
  // entries could not all be read back from their temporary file (under
  // $TMPDIR) after the commit; this is that error. Any error before the
  // commit is the call's error, and nothing changed.
  std::string error;
  CollectResult collected;  // as in RemoveResult
};

struct ImageSummary {
  std::string id;                         // "sha256:<hex>"
  std::vector<std::string> names;         // familiar names, sorted
  std::vector<std::string> repo_digests;  // "repo@sha256:<target>" per repository, sorted
  int64_t size = 0;                       // sum of the image's distinct blobs
  int64_t shared_size = 0;                // part of size also used by another image
  int64_t unique_size = 0;                // size - shared_size
  int64_t containers = 0;                 // containers of the namespace holding it
  absl::Time created;
  // When a container was last created or started from it; `created` when
  // never.
  absl::Time last_used;
  bool pinned = false;  // see Store::Pin
  std::map<std::string, std::string> labels;
};

struct ImageDetail {
  ImageSummary summary;
  Descriptor target;
  std::vector<Descriptor> content;
  std::vector<std::string> container_ids;  // sorted
};

struct ContainerInfo {
  std::string id;        // 64 hex
  std::string image_id;  // "sha256:<hex>" the container holds
  bool running = false;
  absl::Time created;
  bool image_exists = true;  // false: the image was force-removed
  std::string name;          // docker's container name, without '/'; "" none
};

struct LeaseInfo {
  std::string id;
  absl::Time created;
  std::optional<absl::Time> expires;
  std::vector<Descriptor> content;  // sorted by digest
};

// Why an image or a blob is kept: what Explain returns.
struct Explanation {
  enum class Kind { kImage, kBlob };
  Kind kind = Kind::kImage;
  std::string digest;  // the image ID or the blob digest
  int64_t size = 0;    // the image's size, or the blob's
  // For an image: its names, its pin, the containers holding it, and
  // whether it is dangling (kept only by its digest reference).
  std::vector<std::string> names;
  bool pinned = false;
  bool dangling = false;
  std::vector<ContainerInfo> containers;
  // For a blob: the images using it ("ns/sha256:<id>"), all namespaces, and
  // the leases holding it ("ns/lease", with "(expired)" when expired).
  std::vector<std::string> images;
  std::vector<std::string> leases;
};

// Key counts and sizes of the store's column families.
struct StoreStats {
  struct Family {
    std::string name;
    int64_t keys = 0;
    int64_t key_bytes = 0;
    int64_t value_bytes = 0;
    int64_t sst_bytes = 0;  // table files on disk
  };
  std::string format_version;
  bool content_store = false;
  std::vector<Family> families;
  int64_t disk_bytes = 0;     // every file of the store directory (RocksDB's)
  int64_t content_files = 0;  // blob files (content store)
  int64_t content_bytes = 0;
  bool secondary = false;  // opened read-only while another process holds the store
};

struct DiskUsage {
  int64_t total_count = 0;
  int64_t active = 0;       // images held by a container
  int64_t size = 0;         // distinct blobs used by the namespace's images
  int64_t shared_size = 0;  // part of size used by two or more images
  int64_t unique_size = 0;  // size - shared_size
  int64_t reclaimable = 0;  // SpaceReclaimed of prune {all} now
};

// A finding of Check: `category` is a stable word ("count_drift",
// "image_without_digest_ref", ...), `subject` names the key involved.
// Information (a container whose image was force-removed, garbage not yet
// collected, an expired lease not yet removed) is not a fault: a store with
// only information findings is consistent. DESIGN.md lists every category.
struct Problem {
  std::string category;
  std::string subject;
  std::string detail;
  bool info = false;
};

// The findings of `problems` that are faults (not information).
inline std::vector<Problem> Faults(std::vector<Problem> problems) {
  std::erase_if(problems, [](const Problem& p) { return p.info; });
  return problems;
}

// What Repair found and did.
struct RepairResult {
  std::vector<Problem> found;        // Check's faults before the repair
  std::vector<std::string> actions;  // one line per change made
  int64_t images_removed = 0;        // images whose content was lost
  CollectResult collected;
};

struct ImportedImage {
  std::string id;                  // "sha256:<hex>" of the target
  std::vector<std::string> names;  // familiar names given to it
  std::string error;               // non-empty: nothing of it was imported
};

struct ImportResult {
  std::vector<ImportedImage> images;
  int64_t blobs_written = 0;  // files written to the content store
  int64_t bytes_written = 0;
};

}  // namespace refstore

#endif  // REFSTORE_TYPES_H_
