// options.h: how a Store is opened (StoreOptions) and what each call is
// asked to do: the context of every call (OpContext) and the per-call
// requests and options. The results are in types.h, the Store in store.h.
//
// Thread-safety: plain values; a call reads its options, never keeps them
// (callbacks are called on the calling thread, during the call).
#ifndef REFSTORE_OPTIONS_H_
#define REFSTORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/filters.h"
#include "refstore/types.h"

namespace refstore {

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
  // Candidate images a prune reads at a time (their blob records in one
  // read). A real prune is one atomic change whatever its size, made under
  // the write mutex, which other changes wait for meanwhile.
  int prune_batch = 4096;
  // A prune writing more keys than this writes them as sorted table files
  // ingested in one atomic step (RocksDB's IngestExternalFiles), instead of
  // one write batch, which costs a write-ahead log and memtable insertion
  // per key (DESIGN.md, "How a change is written"). 0: always.
  int64_t bulk_ingest_writes = 50000;
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
  // The image's creation time as docker shows it (CREATED, before=/since=,
  // the order of lists, keep): Store::ImportLayout passes its config's
  // "created". Default: ctx.now. Whole seconds are kept; a time outside the
  // times a store keeps is InvalidArgument. Its names, its dangling record
  // and its last use are dated ctx.now whatever this is.
  std::optional<absl::Time> created;
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
  // When set, called as the candidates are decided (each prune_batch of
  // them) and after the commit. In a real prune it is called with the
  // store's write lock held: it may read the store, and must not change it
  // (the change would wait for the prune to end: a deadlock). on_entry is
  // called after the commit, outside the lock.
  std::function<void(const Progress&)> on_progress;
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

struct CheckOptions {
  // Leases expired at this time are reported (as information).
  std::optional<absl::Time> now;
  // Content store: hash every blob file (otherwise only sizes are compared).
  bool verify_digests = true;
  // When set, called now and then with the images checked so far.
  std::function<void(int64_t images)> on_progress;
};

struct ImportOptions {
  // The repository given to bare tags of the layout (umoci's and skopeo's
  // "org.opencontainers.image.ref.name"). Default: the directory's name.
  std::string repository;
  // Hash every blob while reading (size is always checked).
  bool verify_digests = true;
};

}  // namespace refstore

#endif  // REFSTORE_OPTIONS_H_
