// txn.h: one atomic change being built: reads see the change's own pending
// writes on top of the database (or of a snapshot), writes collect in one
// WriteBatch that the store commits at once.
//
// Thread-safety: a Txn is used by one thread. The store serializes Txns that
// will commit (under its write mutex); read-only Txns over a snapshot need no
// lock.
#ifndef REFSTORE_DB_TXN_H_
#define REFSTORE_DB_TXN_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "refstore/content/content_dir.h"
#include "refstore/db/bulk_write.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace refstore::internal {

// An iterator over the keys that start with a prefix, seeing pending writes.
// The Txn must not be written while an iterator of it is in use: collect
// keys first, then change them.
// A scan of the keys starting with a prefix. A scan that ends on a read
// error (status() not OK) also records the error in the Txn that made it,
// whose Finish then fails: no change decided on a cut-short scan commits,
// even where the caller forgot to look at status().
class PrefixIterator {
 public:
  PrefixIterator(std::unique_ptr<rocksdb::Iterator> it, std::string prefix,
                 absl::Status* error_sink = nullptr);
  ~PrefixIterator();
  PrefixIterator(PrefixIterator&&) = default;
  PrefixIterator& operator=(PrefixIterator&&) = default;
  bool Valid() const;
  void Next() { it_->Next(); }
  // The key without the prefix, and the value.
  std::string_view rest() const;
  std::string_view key() const;
  std::string_view value() const;
  absl::Status status() const;

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string prefix_;
  absl::Status* error_sink_ = nullptr;
};

class Txn;

// The names of images, read in image key order alongside a scan of the
// images: one pass over the `names` column family instead of one seek per
// image. Calls to NamesOf must come in ascending order.
class NameCursor {
 public:
  // The names of namespace `ns`: NamesOf takes raw image IDs.
  NameCursor(Txn& txn, std::string_view ns);
  // Over `it`, a scan of the `names` column family with some prefix:
  // NamesOf takes image keys without that prefix (whole image keys for a
  // scan of every namespace, raw IDs for a scan of ns \0).
  explicit NameCursor(PrefixIterator it) : it_(std::move(it)) {}
  // The names of the image (sorted); names of images before it that were
  // not asked for are skipped.
  absl::StatusOr<std::vector<NameEntry>> NamesOf(std::string_view image);

 private:
  PrefixIterator it_;
};

class Txn {
 public:
  enum class Mode {
    // Reads see this change's own writes (a WriteBatchWithIndex).
    kIndexed,
    // Writes are only collected, which is cheaper: for changes that never
    // read what they wrote (repair's batches). Blob records and df figures
    // are cached as always; Get of another key this Txn wrote fails with
    // Internal, and Scan sees the database only.
    kAppendOnly,
    // Nothing is written: for a dry run, which only needs the decisions and
    // figures. Blob records are cached as always (later decisions depend on
    // them), except a deletion of one this Txn never read (an owned blob:
    // nothing else can touch it), which is dropped too, so that a dry run's
    // memory follows the shared blobs it touches, not the whole prune.
    // Reads see the database (or snapshot) only.
    kDiscard,
    // Writes go to a BulkWrite (bulk_write.h), sorted outside memory, for a
    // change too large to hold: a whole prune. Reads see the database (or
    // snapshot) only, never this Txn's writes: the caller never reads a key
    // it wrote (blob records and df figures are cached as always, except the
    // deletion of one never read, which goes to the BulkWrite at once, as
    // kDiscard drops it). Commit with the BulkWrite, not SortedBatch.
    kBulk,
  };

  // `snapshot` may be null (read the latest state).
  Txn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
      const rocksdb::Snapshot* snapshot, Mode mode = Mode::kIndexed);
  // A kBulk Txn writing to `bulk`, which must outlive it.
  Txn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs, BulkWrite& bulk);

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key);
  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Iterates keys starting with `prefix`, from `start` (>= prefix) if given.
  PrefixIterator Scan(Cf cf, std::string_view prefix, std::string_view start = {});

  // Whether the batch is empty (call after Finish; a kDiscard Txn must not
  // be committed).
  bool empty() {
    return wb_.GetWriteBatch()->Count() == 0 && appended_.empty() &&
           (bulk_ == nullptr || bulk_->writes() == 0);
  }
  // The change as one write batch: every key once (its last write), in key
  // order within each column family, which is what RocksDB's memtables
  // insert fastest. Call after Finish.
  absl::StatusOr<rocksdb::WriteBatch> SortedBatch();

  // The store's content directory, or null for a store of metadata only.
  // With one, freeing a blob records it as garbage and a new blob record
  // requires the blob's file (see mutate.h).
  void set_content(const content::ContentDir* content) { content_ = content; }
  const content::ContentDir* content() const { return content_; }

  // Changes to namespace `ns`'s df figures, written by Finish.
  NsStats& StatsDelta(std::string_view ns);
  // Writes the changed blob records and adds the pending df deltas to the
  // stored figures. Call once, just before the batch is written, under the
  // store's write mutex.
  absl::Status Finish();

  // Typed access. Get* return nullopt when the key is absent and DataLoss
  // when the value does not decode.
  absl::StatusOr<std::optional<ImageRecord>> GetImage(std::string_view ns, std::string_view id);
  // GetImage of each of `ids`, in the same order: one MultiGet when this
  // Txn reads the database only (kDiscard, kBulk), else one read each.
  absl::StatusOr<std::vector<std::optional<ImageRecord>>> GetImages(
      std::string_view ns, const std::vector<std::string_view>& ids);
  void PutImage(std::string_view ns, std::string_view id, const ImageRecord& r);
  // Blob records go through a cache of decoded records: each is read at most
  // once per Txn, changed in the cache, and written once by Finish. (So a
  // Scan of the blobs column family does not see this Txn's changes.)
  absl::StatusOr<std::optional<BlobRecord>> GetBlob(std::string_view raw);
  void PutBlob(std::string_view raw, const BlobRecord& r);
  void DeleteBlob(std::string_view raw);
  // Whether this Txn deleted the blob record of `raw` (freed it).
  bool FreedHere(std::string_view raw) const;
  // Reads the records of `raws` not cached yet in one MultiGet.
  absl::Status PrefetchBlobs(std::vector<std::string> raws);
  absl::StatusOr<std::optional<ContainerRecord>> GetContainer(std::string_view ns,
                                                              std::string_view cid);
  absl::StatusOr<NsStats> GetStats(std::string_view ns);  // zeros when absent
  absl::StatusOr<std::optional<LeaseRecord>> GetLease(std::string_view ns, std::string_view id);
  // The image a name points to (raw ID), if any.
  absl::StatusOr<std::optional<std::string>> GetName(std::string_view ns, std::string_view full);
  // The names of image (ns, id), sorted by full name: one scan of the
  // `names` column family, whose cost follows the image's names only.
  absl::StatusOr<std::vector<NameEntry>> GetNames(std::string_view ns, std::string_view id);

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* cfs_;
  rocksdb::ReadOptions read_;
  const Mode mode_;
  const content::ContentDir* content_ = nullptr;
  // The first read error that ended a Scan early (see PrefixIterator), or
  // the first failed write to the BulkWrite; Finish returns it.
  absl::Status scan_error_;
  BulkWrite* bulk_ = nullptr;        // kBulk
  rocksdb::WriteBatchWithIndex wb_;  // kIndexed
  struct Appended {                  // kAppendOnly
    int cf;
    std::string key;
    bool put;
    std::string value;
  };
  std::vector<Appended> appended_;
  absl::flat_hash_set<std::string> written_;  // cf byte + key, kAppendOnly
  std::map<std::string, NsStats, std::less<>> stats_delta_;
  struct CachedBlob {
    std::optional<BlobRecord> record;  // nullopt: absent or deleted
    bool dirty = false;
  };
  absl::flat_hash_map<std::string, CachedBlob> blobs_;
};

// The entry of a `names` key whose name starts at byte `name_at`.
absl::StatusOr<NameEntry> DecodeNameEntry(std::string_view key, size_t name_at,
                                          std::string_view value);

// Internal status for a RocksDB error, naming the key.
absl::Status RocksError(const rocksdb::Status& s, std::string_view what);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_TXN_H_
