// content_dir.h: a directory of blob files laid out as an OCI image layout.
//
//   <root>/oci-layout              {"imageLayoutVersion":"1.0.0"}
//   <root>/blobs/sha256/<hex>      one file per blob, named by its SHA-256
//   <root>/ingest/<name>           blobs being written (temporary files)
//
// A blob is written in two steps so that a file under blobs/ is always
// complete and verified: Ingest streams the bytes into a temporary file,
// hashing them as they come, checks size and digest, and fsyncs the file;
// Publish renames it into blobs/sha256/<hex> and fsyncs that directory.
// Nothing here knows about reference counts: the store decides when to
// publish and when to remove (see DESIGN.md, "Content and collection").
//
// Every file is opened with O_NOFOLLOW; a symbolic link where a blob or a
// directory of the layout should be is an error, never followed.
//
// Errors: InvalidArgument (bad digest, size or digest mismatch: the message
// names the digest), NotFound (no such blob where one is required),
// Internal (a system call failed: the message names the path and errno).
//
// Thread-safety: the methods may be called from many threads; the caller
// serializes operations on the same digest.
#ifndef REFSTORE_CONTENT_CONTENT_DIR_H_
#define REFSTORE_CONTENT_CONTENT_DIR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "refstore/content/file_hooks.h"
#include "refstore/store.h"  // BlobReader

namespace refstore::content {

// The source of a blob's bytes is store.h's BlobReader (one reader
// interface for Store::WriteBlob and the content store): it fills `buf` with
// up to `cap` bytes and returns how many it wrote, 0 at the end.

// A reader over `bytes` (which must outlive it).
BlobReader StringReader(std::string_view bytes);

// A blob written to a temporary file and verified, not yet published.
struct IngestFile {
  std::string hex;  // 64 lowercase hex characters
  int64_t size = 0;
  std::string temp_path;  // under <root>/ingest/
};

class ContentDir {
 public:
  enum class Mode {
    kCreate,    // a new content store: create what is missing
    kExisting,  // a store that has one: root and blobs/sha256 must exist
                // (FailedPrecondition "content store missing at <root>",
                // e.g. a disk not mounted); ingest and oci-layout are made
    kReadOnly,  // as kExisting, and nothing is created
  };
  // Opens the layout at `root`; with kCreate, creating root, blobs/sha256,
  // ingest and oci-layout when missing (and fsyncing the directories it
  // created). `hooks`, when set, sees every system call that changes or
  // reads the layout (tests only: see file_hooks.h); it must outlive the
  // ContentDir.
  static absl::StatusOr<ContentDir> Open(std::string root, FileHooks* hooks = nullptr,
                                         Mode mode = Mode::kCreate);

  const std::string& root() const { return root_; }
  // <root>/blobs/sha256/<hex>
  std::string BlobPath(std::string_view hex) const;

  // The size of the blob file, or nullopt when it does not exist.
  // A blob path that is not a regular file (a symlink, a directory) is
  // InvalidArgument.
  absl::StatusOr<std::optional<int64_t>> BlobSize(std::string_view hex) const;

  // Streams `reader` into a new temporary file under ingest/, computing the
  // SHA-256 on the way; fails with InvalidArgument when the bytes are not
  // `size` long or do not hash to `hex` (the temporary file is then
  // removed). On success the file is fsynced and not yet visible under
  // blobs/.
  absl::StatusOr<IngestFile> Ingest(std::string_view hex, int64_t size, const BlobReader& reader);
  // Renames the ingested file to BlobPath(hex) (replacing a file of the same
  // name, which by construction has the same bytes) and fsyncs
  // blobs/sha256 (unless `sync_dir` is false: a caller publishing several
  // files calls SyncBlobDir once after the last).
  absl::Status Publish(const IngestFile& file, bool sync_dir = true);
  // Removes the temporary file of an ingest that will not be published.
  void Discard(const IngestFile& file);

  // Unlinks the blob file. Returns the bytes of the file removed, or 0 when
  // there was none. Does not fsync the directory: call SyncBlobDir once
  // after a batch of removals.
  absl::StatusOr<int64_t> RemoveBlob(std::string_view hex);
  absl::Status SyncBlobDir();
  // Unlinks entry `name` of blobs/sha256 that is not a blob file (a stray
  // entry ForEachBlob reported; a directory is not removed). InvalidArgument
  // for a name that is not a single path component; the unlink's error
  // otherwise. Does not fsync the directory.
  absl::Status RemoveStray(std::string_view name);

  // Calls `fn` for every regular file under blobs/sha256 whose name is 64
  // lowercase hex characters, in no particular order; other entries are
  // passed to `stray` (their name) when it is set. Stops at the first error
  // `fn` returns.
  absl::Status ForEachBlob(
      const std::function<absl::Status(std::string_view hex, int64_t size)>& fn,
      const std::function<void(std::string_view name)>& stray = nullptr) const;

  // SHA-256 of the blob file, as 64 lowercase hex characters.
  absl::StatusOr<std::string> HashBlob(std::string_view hex) const;
  // The whole content of a blob file (for manifests and indexes); fails with
  // InvalidArgument when it is larger than `max_size`.
  absl::StatusOr<std::string> ReadBlob(std::string_view hex, int64_t max_size) const;

  // Removes every file under ingest/ whose path is not in `keep` (the
  // temporary files of ingests still in progress). Returns how many it
  // removed.
  absl::StatusOr<int> CleanIngest(const absl::flat_hash_set<std::string>& keep);

 private:
  ContentDir(std::string root, FileHooks* hooks) : root_(std::move(root)), hooks_(hooks) {}
  std::string root_;
  FileHooks* hooks_ = nullptr;
};

}  // namespace refstore::content

#endif  // REFSTORE_CONTENT_CONTENT_DIR_H_
