// store.h: the refstore image reference store. Start here.
//
// A Store keeps a container engine's images, their names, a permanent digest
// reference per image, reference-counted blobs, containers and leases, in an
// embedded RocksDB directory. Every operation that changes the store is one
// atomic write (prune: one atomic write per batch of whole images), so a crash
// at any point leaves every invariant of DESIGN.md true.
//
// Example:
//   auto store = refstore::Store::Open("/var/lib/refstore", {});
//   if (!store.ok()) return store.status();
//   refstore::OpContext ctx{.ns = "default", .now = absl::Now()};
//   auto id = (*store)->CreateImage(ctx, {.name = "alpine:3.18",
//                                         .target = manifest,
//                                         .content = {config, layer}});
//   auto pruned = (*store)->Prune(ctx, {.all = true});
//
// Thread-safety: a Store is safe for concurrent use from many threads.
// Changes are serialized; reads (ListImages, Inspect, DiskUsage, Check and
// dry runs) read a consistent snapshot and do not block changes. Only one
// Prune (dry or real) runs at a time per Store; another gets Aborted.
//
// Errors: calls return absl::Status / absl::StatusOr, never throw. Codes:
//   InvalidArgument     bad input (messages of SEMANTICS.md where defined)
//   NotFound            no such image/container/lease, "ambiguous reference"
//   FailedPrecondition  a docker conflict (409): image in use, container running
//   AlreadyExists       container or lease ID taken
//   Aborted             "a prune operation is already running"
//   DataLoss            a stored record could not be decoded, or a file of
//                       the store is damaged or missing
//   ResourceExhausted   the disk is full ("No space left on device")
//   Unavailable         the store is held by another process (Open), or an
//                       I/O error: retrying may succeed
//   Internal            RocksDB failed otherwise (the message names the key)
// Every call may also return the last four. A call that returns an error has
// changed nothing.
#ifndef REFSTORE_STORE_H_
#define REFSTORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/filters.h"

namespace refstore {

// An OCI descriptor. `digest` is "sha256:" + 64 lowercase hex; `size` >= 0.
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

// Whether `media_type` is a manifest or an index (OCI or Docker v2 types).
bool IsManifestOrIndex(std::string_view media_type);

// The namespace and the time an operation runs in. `now` is used for every
// time the operation records and for relative filters; the store never reads
// the clock itself.
struct OpContext {
  std::string ns = "default";
  absl::Time now = absl::UnixEpoch();
};

struct StoreOptions {
  // Open without writing a byte of the store (offline inspection): every
  // changing call then fails with FailedPrecondition "the store is open
  // read-only". RocksDB's OpenForReadOnly, also when another process holds
  // the store open and writes to it: the open is retried until it saw a
  // consistent state (DESIGN.md "Read-only opening"); nothing is
  // written anywhere. Reads see the state of the moment of Open.
  bool read_only = false;
  // Create the directory and an empty store when missing (ignored when
  // read_only).
  bool create_if_missing = true;
  // Sync the write-ahead log before each change returns. Without it, a
  // returned change survives a crash of the process but the last changes may
  // be lost on power loss or a kernel crash (never partially: the log is
  // replayed as a prefix of whole atomic writes). See DESIGN.md for the cost.
  bool sync_writes = false;
  // Images per atomic write during a real prune (the write mutex is held
  // for one batch at a time).
  int prune_batch = 4096;
  // When the store is created: keep the blobs' bytes too, as files of an OCI
  // image layout in <path>/content (blobs/sha256/<hex>). Every blob the
  // store counts then exists there with its declared size, and freed blobs
  // are deleted by the collector. A store keeps what it was created with:
  // on an existing store this option is ignored, except that asking for a
  // content store on a metadata-only store that already has blobs is
  // FailedPrecondition.
  bool content_store = false;
  // How long Open waits for another process that holds the store (a
  // writer), or that is creating it (seen by a read-only open), before it
  // fails Unavailable. Zero: fail at once.
  absl::Duration lock_wait = absl::ZeroDuration();
  // An existing content store whose directory (<path>/content/blobs/sha256)
  // is missing fails Open with FailedPrecondition "content store missing at
  // <path>/content" (a disk not mounted must not look like lost blobs). Set
  // this to make a new empty one instead, when the files are known to be
  // gone for good (ignored when read_only); check then reports every blob
  // without its file, and repair removes the images that used them.
  bool recreate_missing_content = false;
  // With a content store: run the collector after each remove, prune and
  // lease deletion that freed content (results report the bytes deleted).
  bool collect_after_changes = true;
};

// A source of bytes for WriteBlob: fills `buf` with up to `cap` bytes and
// returns how many it wrote, 0 at the end.
using BlobReader = std::function<absl::StatusOr<size_t>(char* buf, size_t cap)>;

// What a collection did: the garbage blob files it deleted.
struct CollectResult {
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;   // sizes of the files, as found on disk
  int64_t records_dropped = 0; // garbage records whose file was gone or revived
  int64_t temp_files_deleted = 0;  // leftovers of interrupted writes
  // After a change (rmi, prune, lease deletion): non-empty when the
  // collection stopped on this error. The change itself is committed and
  // reported; the files not deleted stay recorded as garbage for the next
  // collection (CollectGarbage, `refstore gc`).
  std::string error;
};

struct CreateImageRequest {
  // Optional name ("alpine:3.18"); may carry a digest, which must then be the
  // target's digest.
  std::optional<std::string> name;
  // The image's target (manifest or index). Its digest is the image ID.
  Descriptor target;
  // Every other blob of the image: configs, layers, platform manifests.
  std::vector<Descriptor> content;
  std::map<std::string, std::string> labels;
  // Optional lease (in the same namespace) the content was written under; the
  // image's blobs are added to it.
  std::optional<std::string> lease;
};

// One entry of docker's delete response.
struct DeleteEntry {
  enum class Kind { kUntagged, kDeleted };
  Kind kind;
  std::string ref;  // familiar name or "sha256:<hex>"

  bool operator==(const DeleteEntry& o) const {
    return kind == o.kind && ref == o.ref;
  }
};

struct RemoveResult {
  std::vector<DeleteEntry> deleted;  // every Untagged first, then Deleted
  int64_t space_reclaimed = 0;
  // Content store with collect_after_changes: what the collection run after
  // the change deleted (space_reclaimed bytes when nothing else was pending).
  CollectResult collected;
};

// Progress of a long run, for a progress line.
struct Progress {
  int64_t images_scanned = 0;
  int64_t images_deleted = 0;
  int64_t space_reclaimed = 0;
};

struct PruneOptions {
  // Without `all`, only dangling images are candidates.
  bool all = false;
  // until, label, label!, dangling (SEMANTICS.md §5; other keys are
  // InvalidArgument "invalid filter '<key>'", as the oplog requires).
  Filters filters;
  // Beyond docker. Shell globs on familiar names (as `images --filter
  // reference=`): only matching names are removed (an image goes when all
  // its names do), and nameless images are not candidates. Empty: no rule.
  std::vector<std::string> references;
  // Only images not used (created, or a container created or started from
  // it) for at least this long are candidates.
  std::optional<absl::Duration> unused_for;
  // Keep the `keep` most recently created images of each repository (an
  // image with names in several repositories is kept if any keeps it).
  // 0: no such rule.
  int keep = 0;
  // When >= 0: remove candidates least recently used first, and only until
  // the namespace's images use at most this many bytes (df's SIZE).
  int64_t max_storage = -1;
  // Report exactly what a real prune would, change nothing.
  bool dry_run = false;
  // When set, entries are passed here as they are decided instead of being
  // collected in PruneResult::deleted (memory then stays bounded).
  std::function<void(const DeleteEntry&)> on_entry;
  // When set, called after each batch.
  std::function<void(const Progress&)> on_progress;
};

struct PruneResult {
  std::vector<DeleteEntry> deleted;  // empty when on_entry was set
  int64_t images_deleted = 0;
  int64_t space_reclaimed = 0;
  CollectResult collected;  // as in RemoveResult
};

struct ImageSummary {
  std::string id;                  // "sha256:<hex>"
  std::vector<std::string> names;  // familiar names, sorted
  std::vector<std::string> repo_digests;  // "repo@sha256:<target>" per repository, sorted
  int64_t size = 0;                // sum of the image's distinct blobs
  int64_t shared_size = 0;         // part of size also used by another image
  int64_t unique_size = 0;         // size - shared_size
  int64_t containers = 0;          // containers of the namespace holding it
  absl::Time created;
  // When a container was last created or started from it; `created` when
  // never.
  absl::Time last_used;
  bool pinned = false;             // see Store::Pin
  std::map<std::string, std::string> labels;
};

struct ImageDetail {
  ImageSummary summary;
  Descriptor target;
  std::vector<Descriptor> content;
  std::vector<std::string> container_ids;  // sorted
};

struct ListOptions {
  // Without `all`, dangling images are hidden, unless a dangling filter is
  // given: it decides the candidates and overrides `all`.
  bool all = true;
  // dangling, label, label!, until, reference (Go path.Match glob on familiar
  // names, ORed), before=<ref>, since=<ref> (created before / after that
  // image).
  Filters filters;
};

struct ContainerInfo {
  std::string id;        // 64 hex
  std::string image_id;  // "sha256:<hex>" the container holds
  bool running = false;
  absl::Time created;
  bool image_exists = true;  // false: the image was force-removed
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
  int64_t disk_bytes = 0;          // every file of the store directory (RocksDB's)
  int64_t content_files = 0;       // blob files (content store)
  int64_t content_bytes = 0;
  bool secondary = false;          // opened read-only while another process holds the store
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

struct CheckOptions {
  // Leases expired at this time are reported (as information).
  std::optional<absl::Time> now;
  // Content store: hash every blob file (otherwise only sizes are compared).
  bool verify_digests = true;
  // When set, called now and then with the images checked so far.
  std::function<void(int64_t images)> on_progress;
};

// What Repair found and did.
struct RepairResult {
  std::vector<Problem> found;         // Check's faults before the repair
  std::vector<std::string> actions;   // one line per change made
  int64_t images_removed = 0;         // images whose content was lost
  CollectResult collected;
};

struct ImportOptions {
  // The repository given to bare tags of the layout (umoci's and skopeo's
  // "org.opencontainers.image.ref.name"). Default: the directory's name.
  std::string repository;
  // Hash every blob while reading (size is always checked).
  bool verify_digests = true;
};

struct ImportedImage {
  std::string id;                  // "sha256:<hex>" of the target
  std::vector<std::string> names;  // familiar names given to it
  std::string error;               // non-empty: nothing of it was imported
};

struct ImportResult {
  std::vector<ImportedImage> images;
  int64_t blobs_written = 0;   // files written to the content store
  int64_t bytes_written = 0;
};

class Store {
 public:
  // Opens (creating if allowed) the store in directory `path`.
  // Errors: InvalidArgument (missing and !create_if_missing), FailedPrecondition
  // (written by a newer format version; or, read-only, by format version 1:
  // a writable open upgrades it), Unavailable "store is in use by another
  // process: <path>" (a writable open while another process, or another open
  // in this process, holds the store), "store is being created by another
  // process: <path>" or "store is being upgraded by another process: <path>"
  // (a read-only open), after waiting up to `options.lock_wait` (an
  // Unavailable I/O error is retried as long); DataLoss, ResourceExhausted,
  // Internal (RocksDB could not open).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      std::string_view path, const StoreOptions& options);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // CreateImage writes the image record, its digest reference, its name (if
  // any) and a count on each of its blobs in one atomic write, and returns the
  // image ID. When the image exists, only the name is added or moved (the
  // request is validated but its labels and content are not applied). A name
  // that pointed to another image moves; that image may become dangling.
  virtual absl::StatusOr<std::string> CreateImage(
      const OpContext& ctx, const CreateImageRequest& request) = 0;

  // Tag points name `target` at the image `source` resolves to.
  // Errors: NotFound (`source` names nothing, or is ambiguous),
  // InvalidArgument (a bad `target` name, namespace or time).
  virtual absl::Status Tag(const OpContext& ctx, std::string_view source,
                           std::string_view target) = 0;

  // RemoveImage is `docker rmi [-f] ref` (SEMANTICS.md §4).
  virtual absl::StatusOr<RemoveResult> RemoveImage(const OpContext& ctx,
                                                   std::string_view ref,
                                                   bool force) = 0;

  // CreateContainer resolves `image_ref` as the user typed it and records a
  // container holding that image by ID. Returns the image ID.
  virtual absl::StatusOr<std::string> CreateContainer(
      const OpContext& ctx, std::string_view id, std::string_view image_ref,
      bool running) = 0;
  // Start and Stop set the container running or stopped (no-op when it
  // already is). Errors: NotFound (no such container), InvalidArgument (a
  // bad ID or namespace).
  virtual absl::Status StartContainer(const OpContext& ctx,
                                      std::string_view id) = 0;
  virtual absl::Status StopContainer(const OpContext& ctx,
                                     std::string_view id) = 0;
  // Errors: FailedPrecondition when the container is running.
  virtual absl::Status RemoveContainer(const OpContext& ctx,
                                       std::string_view id) = 0;

  // Leases. A lease holds content until deleted; with an expiry it protects
  // nothing once `now >= expires` and is removed by the next prune.
  // CreateLease errors: AlreadyExists (the ID is taken), InvalidArgument (a
  // bad ID, or an expiry outside the storable times).
  virtual absl::Status CreateLease(const OpContext& ctx, std::string_view id,
                                   std::optional<absl::Time> expires) = 0;
  // AddLeaseContent errors: NotFound (no such lease, looked up first),
  // InvalidArgument (a bad descriptor, or a size other than the recorded
  // one).
  virtual absl::Status AddLeaseContent(
      const OpContext& ctx, std::string_view id,
      const std::vector<Descriptor>& content) = 0;
  // Returns the bytes freed (content nothing else held).
  virtual absl::StatusOr<int64_t> DeleteLease(const OpContext& ctx,
                                              std::string_view id) = 0;

  // Prune is `docker image prune [-a] [--filter ...]` (SEMANTICS.md §5).
  virtual absl::StatusOr<PruneResult> Prune(const OpContext& ctx,
                                            const PruneOptions& options) = 0;

  // Images of the namespace, newest first (creation time descending, then ID).
  virtual absl::StatusOr<std::vector<ImageSummary>> ListImages(
      const OpContext& ctx, const ListOptions& options) = 0;
  // Resolves `ref` (an exact name wins over an ID prefix) and describes it.
  virtual absl::StatusOr<ImageDetail> Inspect(const OpContext& ctx,
                                              std::string_view ref) = 0;
  virtual absl::StatusOr<DiskUsage> GetDiskUsage(const OpContext& ctx) = 0;

  // Pin marks the image `ref` resolves to (as rmi resolves) as pinned: prune
  // never removes it, and rmi needs `force` ("conflict: unable to remove
  // pinned image <ref> (must be forced)"). Unpin with `pinned` false.
  virtual absl::Status Pin(const OpContext& ctx, std::string_view ref, bool pinned) = 0;

  virtual absl::StatusOr<std::vector<ContainerInfo>> ListContainers(const OpContext& ctx) = 0;
  virtual absl::StatusOr<std::vector<LeaseInfo>> ListLeases(const OpContext& ctx) = 0;

  // Explain says why `ref` is kept: an image reference (resolved as inspect
  // does) or, when that finds nothing, a blob digest "sha256:<hex>" (whose
  // users are found by a scan of every namespace's images). NotFound when
  // neither exists.
  virtual absl::StatusOr<Explanation> Explain(const OpContext& ctx, std::string_view ref) = 0;

  // Key counts and sizes per column family (a full scan), and sizes on disk.
  virtual absl::StatusOr<StoreStats> Stats() = 0;

  // Check recomputes every count and relation of the whole store from
  // scratch by a full mark over images, names, containers and leases (and,
  // with a content store, the blob files) and returns the differences; no
  // finding without `info` means consistent.
  virtual absl::StatusOr<std::vector<Problem>> Check(const CheckOptions& options) = 0;
  absl::StatusOr<std::vector<Problem>> Check() { return Check(CheckOptions{}); }

  // Repair makes the store consistent in one pass: a Check after it finds
  // no fault. It rebuilds every derived record (counts, indexes, df figures,
  // digest references) from the primary ones (images, names, containers,
  // leases, blob files), removes records that cannot be decoded and images
  // whose content is lost (missing or corrupt files), adopts complete images
  // found among files without records, drops expired leases, and collects
  // the garbage. It never deletes a file that an image or a live lease
  // holds. It holds the write mutex throughout; a crash in the middle leaves
  // a store that another Repair finishes.
  virtual absl::StatusOr<RepairResult> Repair(const OpContext& ctx) = 0;

  // Whether the store keeps blob content (StoreOptions::content_store).
  virtual bool HasContentStore() const = 0;

  // Content store only (FailedPrecondition otherwise). Writes blob `d`'s
  // bytes from `reader` under lease `lease` (which must exist in ctx.ns):
  // into a temporary file, verifying size and SHA-256 as the bytes arrive
  // (a mismatch is InvalidArgument and leaves nothing), fsync, rename into
  // blobs/sha256, fsync of the directory, and only then the metadata commit
  // that makes the lease hold the blob. A blob already stored is only added
  // to the lease.
  virtual absl::Status WriteBlob(const OpContext& ctx, std::string_view lease,
                                 const Descriptor& d, const BlobReader& reader) = 0;

  // Deletes the files of garbage blobs (blobs freed by remove, prune and
  // lease deletion), then their records, and the leftovers of interrupted
  // writes. Resumes whatever a crash interrupted; never deletes a blob that
  // became referenced again. Without a content store: does nothing.
  virtual absl::StatusOr<CollectResult> Collect() = 0;

  // Imports the OCI image layout in directory `dir` into ctx.ns: each entry
  // of its index.json becomes an image (digest reference, names, counts;
  // content shared between images is stored and counted once). Blobs are
  // verified (size, SHA-256); an image with a missing or bad blob, bad JSON
  // or an unknown media type gets an error naming the file and nothing of it
  // is imported, without stopping the others. Errors of the layout as a
  // whole (no oci-layout, bad index.json) are InvalidArgument.
  virtual absl::StatusOr<ImportResult> ImportLayout(const OpContext& ctx, std::string_view dir,
                                                    const ImportOptions& options) = 0;

  // Content store only. Adopts images another producer wrote into the
  // content store's blob directory: among blob files that have no record,
  // each manifest or index that no other one references, with all its
  // content present, becomes an image of ctx.ns with its digest reference
  // (no name).
  virtual absl::StatusOr<ImportResult> Adopt(const OpContext& ctx) = 0;

 protected:
  Store() = default;
};

}  // namespace refstore

#endif  // REFSTORE_STORE_H_
