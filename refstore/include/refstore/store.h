// store.h: the refstore image reference store. Start here.
//
// A Store keeps a container engine's images, their names, a permanent digest
// reference per image, reference-counted blobs, containers and leases, in an
// embedded RocksDB directory. Every operation that changes the store is one
// atomic write (prune: one atomic write per batch of whole images), so a crash
// at any point leaves every invariant of DESIGN.md true.
//
// The Store is declared here; how it is opened and what its calls take is in
// options.h, what they return in types.h (both included).
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
//   FailedPrecondition  a docker conflict (409): image in use, container running;
//                       "the store is open read-only" (every changing call
//                       of a read-only store)
//   AlreadyExists       container or lease ID taken
//   Aborted             "a prune operation is already running"
//   DataLoss            a stored record could not be decoded, or a file of
//                       the store is damaged or missing
//   ResourceExhausted   the disk is full ("No space left on device")
//   Unavailable         the store is held by another process (Open), or an
//                       I/O error: retrying may succeed
//   Internal            RocksDB failed otherwise (the message names the key)
// Each call below lists the codes particular to it. Every call may also
// return the last four; every call taking an OpContext returns
// InvalidArgument for a bad namespace or a `now` outside the storable times
// (filters.h), and every changing call FailedPrecondition on a read-only
// store.
//
// A call that returns an error has changed nothing. A change that is
// committed returns its result: what goes wrong after the commit is
// reported beside it, never as the call's error (the collection after a
// change: CollectResult::error; entries of a committed prune that could not
// be read back: PruneResult::error). Two calls are made of several commits and say so:
// Repair and Collect (each commit leaves a consistent store, and the call
// can be run again to finish).
#ifndef REFSTORE_STORE_H_
#define REFSTORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/export.h"
#include "refstore/filters.h"
#include "refstore/options.h"
#include "refstore/types.h"

namespace refstore {

class REFSTORE_EXPORT Store {
 public:
  // Opens (creating if allowed) the store in directory `path`.
  // Errors: InvalidArgument "no store at <path>..." (missing and
  // !create_if_missing, or read-only), FailedPrecondition (written by a
  // newer format version; or, read-only, by format version 1: a writable
  // open upgrades it; a content store's directory missing, or
  // content_store asked of a metadata-only store that has blobs),
  // Unavailable "store is in use by another process: <path>" (a writable
  // open while another process, or another open in this process, holds the
  // store), "store is being created by another process: <path>" or "store
  // is being upgraded by another process: <path>" (a read-only open), after
  // waiting up to `options.lock_wait` (an Unavailable I/O error is retried
  // as long); DataLoss, ResourceExhausted, Internal (RocksDB could not
  // open).
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::string_view path,
                                                     const StoreOptions& options);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // CreateImage writes the image record, its digest reference, its name (if
  // any) and a count on each of its blobs in one atomic write, and returns the
  // image ID. When the image exists, only the name is added or moved (the
  // request is validated but its labels and content are not applied). A name
  // that pointed to another image moves; that image may become dangling.
  // Errors: InvalidArgument (a bad descriptor, name or lease ID; a name
  // whose digest is not the target's; a size other than the one recorded
  // for that blob, or sizes whose sum does not fit), NotFound (`lease`
  // given and absent; with a content store, a blob whose file is not
  // there: "content sha256:<hex> is not in the content store").
  virtual absl::StatusOr<std::string> CreateImage(const OpContext& ctx,
                                                  const CreateImageRequest& request) = 0;

  // Tag points name `target` at the image `source` resolves to.
  // Errors: NotFound (`source` names nothing, or is ambiguous),
  // InvalidArgument (a blank `source`; a bad `target` name, or one with a
  // digest).
  virtual absl::Status Tag(const OpContext& ctx, std::string_view source,
                           std::string_view target) = 0;

  // RemoveImage is `docker rmi [-f] ref` (SEMANTICS.md §4). With a content
  // store and collect_after_changes, the freed files are collected after
  // the commit; a failure there is RemoveResult::collected.error.
  // Errors: InvalidArgument (a blank reference), NotFound ("No such image:
  // <ref>", "ambiguous reference"), FailedPrecondition "conflict: ..." (a
  // container uses it, it is referenced in several repositories, or it is
  // pinned, without `force`; a running container uses it, even with
  // `force`).
  virtual absl::StatusOr<RemoveResult> RemoveImage(const OpContext& ctx, std::string_view ref,
                                                   bool force) = 0;

  // CreateContainer resolves `image_ref` as the user typed it and records a
  // container holding that image by ID. Returns the image ID.
  // Errors: InvalidArgument (a bad container ID, a blank reference),
  // AlreadyExists (the ID is taken), NotFound (`image_ref` names nothing,
  // or is ambiguous).
  // `name` is docker's container name ("" none; a leading '/' is dropped):
  // [a-zA-Z0-9][a-zA-Z0-9_.-]+, unique among the namespace's containers.
  // Errors, besides: InvalidArgument "Invalid container name (<name>), only
  // [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", AlreadyExists "Conflict. The
  // container name \"/<name>\" is already in use by container \"<id>\". You
  // have to remove (or rename) that container to be able to reuse that
  // name." (docker's texts). A named creation reads the namespace's
  // containers to check the name: O(containers).
  virtual absl::StatusOr<std::string> CreateContainer(const OpContext& ctx, std::string_view id,
                                                      std::string_view image_ref, bool running,
                                                      std::string_view name) = 0;
  absl::StatusOr<std::string> CreateContainer(const OpContext& ctx, std::string_view id,
                                              std::string_view image_ref, bool running) {
    return CreateContainer(ctx, id, image_ref, running, {});
  }
  // Start and Stop set the container running or stopped (no-op when it
  // already is). Errors: NotFound "No such container: <id>",
  // InvalidArgument (a bad ID).
  virtual absl::Status StartContainer(const OpContext& ctx, std::string_view id) = 0;
  virtual absl::Status StopContainer(const OpContext& ctx, std::string_view id) = 0;
  // Errors: as StartContainer, and FailedPrecondition when the container
  // is running.
  virtual absl::Status RemoveContainer(const OpContext& ctx, std::string_view id) = 0;

  // Leases. A lease holds content until deleted; with an expiry it protects
  // nothing once `now >= expires` and is removed by the next prune.
  // CreateLease errors: AlreadyExists (the ID is taken), InvalidArgument (a
  // bad ID, or an expiry outside the storable times).
  virtual absl::Status CreateLease(const OpContext& ctx, std::string_view id,
                                   std::optional<absl::Time> expires) = 0;
  // AddLeaseContent errors: NotFound (no such lease, looked up first),
  // InvalidArgument (a bad ID or descriptor, or a size other than the
  // recorded one).
  virtual absl::Status AddLeaseContent(const OpContext& ctx, std::string_view id,
                                       const std::vector<Descriptor>& content) = 0;
  // Deletes the lease; returns the bytes freed (content nothing else held)
  // and, as RemoveImage, what the collection after it did.
  // Errors: NotFound "lease <id> not found", InvalidArgument (a bad ID).
  virtual absl::StatusOr<DeleteLeaseResult> DeleteLease(const OpContext& ctx,
                                                        std::string_view id) = 0;

  // Prune is `docker image prune [-a] [--filter ...]` (SEMANTICS.md §5).
  // One atomic change, whatever its size: the expired leases of every
  // namespace are dropped and the candidates removed, all or nothing. While
  // it decides, it holds the store's write lock: other changes wait for it,
  // and see its result; reads do not wait.
  // Errors: Aborted "a prune operation is already running", InvalidArgument
  // (a bad filter key or value, a negative unused_for or keep).
  virtual absl::StatusOr<PruneResult> Prune(const OpContext& ctx, const PruneOptions& options) = 0;

  // Images of the namespace, newest first (creation time descending, then ID).
  // Errors: InvalidArgument (a bad filter), NotFound (the image of a
  // before= or since= filter).
  virtual absl::StatusOr<std::vector<ImageSummary>> ListImages(const OpContext& ctx,
                                                               const ListOptions& options) = 0;
  // Resolves `ref` (an exact name wins over an ID prefix) and describes it.
  // Errors: InvalidArgument (a blank reference), NotFound ("No such image:
  // <ref>", "ambiguous reference").
  virtual absl::StatusOr<ImageDetail> Inspect(const OpContext& ctx, std::string_view ref) = 0;
  // Errors: only the common ones.
  virtual absl::StatusOr<DiskUsage> GetDiskUsage(const OpContext& ctx) = 0;

  // Pin marks the image `ref` resolves to (as rmi resolves) as pinned: prune
  // never removes it, and rmi needs `force` ("conflict: unable to remove
  // pinned image <ref> (must be forced)"). Unpin with `pinned` false.
  // Errors: as Inspect.
  virtual absl::Status Pin(const OpContext& ctx, std::string_view ref, bool pinned) = 0;

  // Errors: only the common ones (DataLoss: a lease holding a blob that has
  // no record).
  virtual absl::StatusOr<std::vector<ContainerInfo>> ListContainers(const OpContext& ctx) = 0;
  virtual absl::StatusOr<std::vector<LeaseInfo>> ListLeases(const OpContext& ctx) = 0;

  // Explain says why `ref` is kept: an image reference (resolved as inspect
  // does) or, when that finds nothing, a blob digest "sha256:<hex>" (whose
  // users are found by a scan of every namespace's images).
  // Errors: NotFound "No such image or blob: <ref>" when neither exists,
  // InvalidArgument (a blank reference).
  virtual absl::StatusOr<Explanation> Explain(const OpContext& ctx, std::string_view ref) = 0;

  // Key counts and sizes per column family (a full scan), and sizes on disk.
  // Errors: only the common ones.
  virtual absl::StatusOr<StoreStats> Stats() = 0;

  // Check recomputes every count and relation of the whole store from
  // scratch by a full mark over images, names, containers and leases (and,
  // with a content store, the blob files) and returns the differences; no
  // finding without `info` means consistent. A damaged record is a
  // finding, not an error. Errors: only the common ones.
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
  // a store that another Repair finishes. An error may come after part of
  // the repair is committed (then run it again).
  // Errors: FailedPrecondition (read-only; a store Repair cannot make
  // consistent, named in the message).
  virtual absl::StatusOr<RepairResult> Repair(const OpContext& ctx) = 0;

  // Whether the store keeps blob content (StoreOptions::content_store).
  virtual bool HasContentStore() const = 0;

  // Content store only. Writes blob `d`'s bytes from `reader` under lease
  // `lease` (which must exist in ctx.ns): into a temporary file, verifying
  // size and SHA-256 as the bytes arrive, fsync, rename into blobs/sha256,
  // fsync of the directory, and only then the metadata commit that makes
  // the lease hold the blob. A blob already stored is only added to the
  // lease. A file written whose commit fails is garbage (collected later).
  // Errors: FailedPrecondition (no content store), InvalidArgument (a bad
  // lease ID or descriptor; bytes whose size or SHA-256 is not `d`'s: the
  // file is not kept), NotFound "lease <id> not found", and whatever
  // `reader` returns.
  virtual absl::Status WriteBlob(const OpContext& ctx, std::string_view lease, const Descriptor& d,
                                 const BlobReader& reader) = 0;

  // Deletes the files of garbage blobs (blobs freed by remove, prune and
  // lease deletion), then their records, and the leftovers of interrupted
  // writes. Resumes whatever a crash interrupted; never deletes a blob that
  // became referenced again. Without a content store: does nothing. It
  // commits a batch of records at a time: an error may come after some
  // batches (their files are gone; the rest stays garbage for the next
  // Collect). Errors: FailedPrecondition (read-only).
  virtual absl::StatusOr<CollectResult> Collect() = 0;

  // Imports the OCI image layout in directory `dir` into ctx.ns: each entry
  // of its index.json becomes an image (digest reference, names, counts;
  // content shared between images is stored and counted once), one atomic
  // write per image. An image whose target is a manifest gets its config's
  // "created" as its creation time (CreateImageRequest::created; the
  // import's time when the config has none a store keeps) and its config's
  // labels, as docker shows a loaded image. Blobs are verified (size, SHA-256); an image with a
  // missing or bad blob, bad JSON or an unknown media type gets an error
  // naming the file (ImportedImage::error) and nothing of it is imported,
  // without stopping the others.
  // Errors: InvalidArgument (the layout as a whole: no oci-layout, bad
  // index.json; a bad repository), NotFound or Internal (a file of the
  // layout that cannot be opened or read).
  virtual absl::StatusOr<ImportResult> ImportLayout(const OpContext& ctx, std::string_view dir,
                                                    const ImportOptions& options) = 0;

  // Content store only. Adopts images another producer wrote into the
  // content store's blob directory: among blob files that have no record,
  // each manifest or index that no other one references, with all its
  // content present, becomes an image of ctx.ns with its digest reference
  // (no name; creation time and labels from its config, as ImportLayout). Errors:
  // FailedPrecondition (no content store; read-only).
  virtual absl::StatusOr<ImportResult> Adopt(const OpContext& ctx) = 0;

 protected:
  Store() = default;
};

}  // namespace refstore

#endif  // REFSTORE_STORE_H_
