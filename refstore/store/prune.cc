// Prune: docker's `image prune [-a] [--filter ...]` (SEMANTICS.md §5, §8).
//
// A real prune is one atomic change of any size: under the write mutex, it
// drops the expired leases of every namespace, then streams the candidates
// from the images (or dangling) column family with their names, a batch at
// a time (their blob records in one MultiGet), decides each one, and sends
// its writes to a BulkWrite, which sorts them outside memory and writes them
// at once, as a write batch when small, else as ingested table files
// (bulk_write.h). Blob records and df figures are cached in the Txn and
// written once, after the last candidate: one write per touched blob for
// the whole prune. Memory: the blob records touched and the set of child
// manifests reported; the writes and the entries wait on disk.
// A dry run does the same work inside one Txn over one snapshot that it never
// commits: it reports exactly what a real prune of that state would.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "refstore/db/bulk_write.h"
#include "refstore/db/image_filter.h"
#include "refstore/db/mutate.h"
#include "refstore/reference.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/external_sort.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

// Entries waiting for their change to commit, in an unlinked temporary
// file: a prune of a million images reports millions of them.
class EntrySpool {
 public:
  static absl::StatusOr<std::unique_ptr<EntrySpool>> Open(const std::string& dir) {
    std::string path = Cat(dir, "/refstore-entries-XXXXXX");
    const int fd = ::mkstemp(path.data());
    if (fd < 0)
      return absl::InternalError(
          Cat("cannot create a file under ", dir, ": ", std::strerror(errno)));
    ::unlink(path.c_str());
    FILE* f = ::fdopen(fd, "w+b");
    if (!f) {
      ::close(fd);
      return absl::InternalError(Cat("cannot open a temporary file: ", std::strerror(errno)));
    }
    return std::unique_ptr<EntrySpool>(new EntrySpool(f));
  }
  ~EntrySpool() { std::fclose(f_); }

  void Add(const DeleteEntry& e) {
    const char kind = static_cast<char>(e.kind);
    const uint32_t n = static_cast<uint32_t>(e.ref.size());
    if (std::fwrite(&kind, 1, 1, f_) != 1 || std::fwrite(&n, sizeof n, 1, f_) != 1 ||
        std::fwrite(e.ref.data(), 1, n, f_) != n) {
      Fail("write");
    }
  }
  // Calls `fn` with every entry added, in order, once.
  template <typename Fn>
  void Replay(Fn fn) {
    if (!status_.ok() || std::fflush(f_) != 0 || std::fseek(f_, 0, SEEK_SET) != 0) {
      return Fail("rewind");
    }
    for (;;) {
      char kind;
      uint32_t n;
      if (std::fread(&kind, 1, 1, f_) != 1) break;
      DeleteEntry e{static_cast<DeleteEntry::Kind>(kind), {}};
      if (std::fread(&n, sizeof n, 1, f_) != 1) return Fail("read");
      e.ref.resize(n);
      if (n > 0 && std::fread(e.ref.data(), 1, n, f_) != n) return Fail("read");
      fn(e);
    }
    if (std::ferror(f_)) return Fail("read");
    std::rewind(f_);
    if (::ftruncate(::fileno(f_), 0) != 0) Fail("truncate");
  }
  // The first failure, which loses entries (the change still happened).
  absl::Status status() const { return status_; }

 private:
  explicit EntrySpool(FILE* f) : f_(f) {}
  void Fail(const char* what) {
    if (status_.ok()) {
      status_ = absl::InternalError(Cat("the prune's entries: cannot ", what,
                                        " their temporary file: ", std::strerror(errno)));
    }
  }
  FILE* f_;
  absl::Status status_;
};

class PruneRun {
 public:
  PruneRun(StoreImpl* store, const OpContext& ctx, const PruneOptions& opts, ImageFilter filter)
      : store_(store),
        ctx_(ctx),
        opts_(opts),
        filter_(std::move(filter)),
        all_(filter_.dangling ? !*filter_.dangling : opts.all),
        now_(ToNanos(ctx.now)) {}

  absl::StatusOr<PruneResult> Run() {
    if (opts_.dry_run) {
      // One Txn over one snapshot for the whole run, writing nothing. The
      // leases it drops are expired, so reading them again (the writes are
      // discarded) still finds them protecting nothing.
      SnapshotTxn st(store_->db_.get(), &store_->cfs_, Txn::Mode::kDiscard,
                     store_->secondary_dir_.empty());
      RETURN_IF_ERROR(DropExpiredLeases(st.txn()));
      Flush();
      RETURN_IF_ERROR(ForEachCandidate(st.snapshot(), [&](std::vector<Candidate>& batch) {
        RETURN_IF_ERROR(PruneBatch(st.txn(), batch));
        Flush();
        return absl::OkStatus();
      }));
      return std::move(result_);
    }
    // One atomic change whatever its size: the expired leases of every
    // namespace and the prune. Its writes are sorted outside memory and
    // written at once (bulk_write.h), under the write mutex, so that nothing
    // changes between the candidates' reading and the write (other changes
    // wait). Reads see the database as it was before the change, as a dry
    // run's do: the blob records, which carry the counts, are read through
    // the Txn's cache; a lease dropped here is still read as expired.
    RETURN_IF_ERROR([&]() -> absl::Status {
      MutexLock lock(store_->write_mu_);
      RETURN_IF_ERROR(store_->Writable());
      ASSIGN_OR_RETURN(spool_, EntrySpool::Open(DefaultSortDir()));
      BulkWrite bulk(DefaultSortDir(), store_->BulkDir());
      Txn txn = store_->NewBulkTxn(bulk);
      RETURN_IF_ERROR(DropExpiredLeases(txn));
      const rocksdb::Snapshot* snap = store_->db_->GetSnapshot();
      absl::Status st = ForEachCandidate(
          snap, [&](std::vector<Candidate>& batch) { return PruneBatch(txn, batch); });
      store_->db_->ReleaseSnapshot(snap);
      RETURN_IF_ERROR(st);
      RETURN_IF_ERROR(spool_->status());
      return store_->CommitBulk(txn, bulk);
    }());
    Flush();
    if (absl::Status replayed = spool_->status(); !replayed.ok()) {
      result_.error = replayed.ToString();  // committed: beside the result
    }
    return std::move(result_);
  }

 private:
  // A candidate image as the snapshot has it (`value` empty when the
  // candidate came from the dangling index, which holds no record).
  struct Candidate {
    std::string id;
    std::string value;
    // The image's names in the snapshot, when the scan read them (`value`
    // non-empty, or a dangling candidate: none).
    std::vector<NameEntry> names;
    bool names_known = false;
  };

  // The names of the namespace (`prefix`) as `ro`'s snapshot has them.
  NameCursor SnapshotNames(const rocksdb::ReadOptions& ro, const std::string& prefix) {
    std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(ro, store_->cfs_[kNames]));
    it->Seek(prefix);
    return NameCursor(PrefixIterator(std::move(it), prefix));
  }

  // Calls `batch` with the candidates of the snapshot, a batch at a time:
  // in key order, or least recently used first for max_storage.
  template <typename Fn>
  absl::Status ForEachCandidate(const rocksdb::Snapshot* snap, Fn batch) {
    snapshot_ = snap;
    RETURN_IF_ERROR(FindKept());
    if (opts_.max_storage >= 0) return ForEachCandidateLru(snap, batch);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    const std::string prefix = NsPrefix(ctx_.ns);
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db_->NewIterator(ro, store_->cfs_[all_ ? kImages : kDangling]));
    // prune -a reads the names beside the images, in the same order; a
    // dangling candidate has none.
    std::optional<NameCursor> names;
    if (all_) names.emplace(SnapshotNames(ro, prefix));
    const size_t batch_size = std::max(1, store_->options_.prune_batch);
    std::vector<Candidate> candidates;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && !stop_; it->Next()) {
      Candidate c{std::string(it->key().data() + prefix.size(), it->key().size() - prefix.size()),
                  all_ ? it->value().ToString() : std::string(),
                  {},
                  /*names_known=*/true};
      if (names) {
        ASSIGN_OR_RETURN(c.names, names->NamesOf(c.id));
      }
      candidates.push_back(std::move(c));
      if (candidates.size() == batch_size) {
        RETURN_IF_ERROR(batch(candidates));
        progress_.images_scanned += candidates.size();
        Report();
        candidates.clear();
      }
    }
    if (!it->status().ok()) return RocksError(it->status(), "prune candidates");
    if (!candidates.empty() && !stop_) {
      RETURN_IF_ERROR(batch(candidates));
      progress_.images_scanned += candidates.size();
    }
    Report();
    return absl::OkStatus();
  }

  // max_storage: every candidate of the snapshot, least recently used first
  // (then by ID), in batches; PruneBatch stops once the namespace fits.
  template <typename Fn>
  absl::Status ForEachCandidateLru(const rocksdb::Snapshot* snap, Fn batch) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    const std::string prefix = NsPrefix(ctx_.ns);
    std::vector<std::pair<int64_t, std::string>> order;  // (last used, id)
    std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(ro, store_->cfs_[kImages]));
    std::unique_ptr<rocksdb::Iterator> dangling(
        store_->db_->NewIterator(ro, store_->cfs_[kDangling]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it->value().ToStringView(),
                                                    Printable(it->key().ToStringView())));
      std::string id(it->key().ToStringView().substr(prefix.size()));
      if (!all_) {  // dangling images only: the dangling index says which
        dangling->Seek(it->key());
        if (!dangling->Valid() || dangling->key() != it->key()) continue;
      }
      order.emplace_back(std::max(img.created_ns, img.last_used_ns), std::move(id));
    }
    if (!it->status().ok()) return RocksError(it->status(), "prune candidates");
    if (!dangling->status().ok()) return RocksError(dangling->status(), "prune candidates");
    std::sort(order.begin(), order.end());
    const size_t batch_size = std::max(1, store_->options_.prune_batch);
    std::vector<Candidate> candidates;
    for (size_t i = 0; i < order.size() && !stop_; ++i) {
      candidates.push_back({std::move(order[i].second), std::string(), {}, false});
      if (candidates.size() == batch_size || i + 1 == order.size()) {
        RETURN_IF_ERROR(batch(candidates));
        progress_.images_scanned += candidates.size();
        Report();
        candidates.clear();
      }
    }
    return absl::OkStatus();
  }

  // keep: the `keep` most recently created images of each repository of the
  // namespace (from the snapshot) are not candidates.
  absl::Status FindKept() {
    if (opts_.keep <= 0) return absl::OkStatus();
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    const std::string prefix = NsPrefix(ctx_.ns);
    std::map<std::string, std::vector<std::pair<int64_t, std::string>>> repos;
    std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(ro, store_->cfs_[kImages]));
    NameCursor names = SnapshotNames(ro, prefix);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it->value().ToStringView(),
                                                    Printable(it->key().ToStringView())));
      std::string id(it->key().ToStringView().substr(prefix.size()));
      ASSIGN_OR_RETURN(const std::vector<NameEntry> all, names.NamesOf(id));
      std::set<std::string> mine;
      for (const auto& n : all) {
        absl::StatusOr<Reference> ref = ParseReference(n.full);
        if (ref.ok()) mine.insert(ref->Repository());
      }
      for (const auto& repo : mine) repos[repo].emplace_back(img.created_ns, id);
    }
    if (!it->status().ok()) return RocksError(it->status(), "prune keep");
    for (auto& [repo, images] : repos) {
      std::sort(images.begin(), images.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (size_t i = 0; i < images.size() && i < static_cast<size_t>(opts_.keep); ++i) {
        kept_.insert(images[i].second);
      }
    }
    return absl::OkStatus();
  }

  // The namespace's df SIZE now, as this Txn would leave it.
  absl::StatusOr<int64_t> CurrentSize(Txn& txn) {
    ASSIGN_OR_RETURN(NsStats stored, txn.GetStats(ctx_.ns));
    return stored.size + txn.StatsDelta(ctx_.ns).size;
  }

  // Prunes a batch of candidates within `txn`, reading all their blob
  // records at once first. The candidates' snapshot is the state `txn`
  // reads (nothing else writes meanwhile: a dry run's snapshot, or a real
  // prune under the write mutex), so their records are current.
  absl::Status PruneBatch(Txn& txn, std::vector<Candidate>& batch) {
    std::vector<ImageRecord> images(batch.size());
    std::vector<std::string> blobs;
    // The records the pass did not bring (dangling candidates): read at once.
    std::vector<std::string_view> unread;
    for (const Candidate& c : batch) {
      if (c.value.empty()) unread.push_back(c.id);
    }
    ASSIGN_OR_RETURN(std::vector<std::optional<ImageRecord>> read, txn.GetImages(ctx_.ns, unread));
    for (size_t i = 0, k = 0; i < batch.size(); ++i) {
      if (!batch[i].value.empty()) {
        ASSIGN_OR_RETURN(images[i], DecodeImage(batch[i].value, Printable(batch[i].id)));
      } else if (std::optional<ImageRecord>& img = read[k++]; img) {
        images[i] = std::move(*img);
      } else {
        // A candidate of the snapshot has its record: a read that says
        // otherwise failed without saying so, and the answer would silently
        // leave the image out.
        return absl::UnavailableError(Cat("image ", ctx_.ns, "/", RawToDigest(batch[i].id),
                                          " of the prune's snapshot could not be read"));
      }
      if (!batch[i].names_known) {
        ASSIGN_OR_RETURN(batch[i].names, txn.GetNames(ctx_.ns, batch[i].id));
      }
      if (all_ || batch[i].names.empty()) {
        for (const StoredDescriptor* d : ImageBlobs(images[i])) {
          if (!d->owned) blobs.push_back(d->raw_digest);  // owned ones are not read
        }
      }
    }
    RETURN_IF_ERROR(txn.PrefetchBlobs(std::move(blobs)));
    for (size_t i = 0; i < batch.size(); ++i) {
      if (opts_.max_storage >= 0) {
        ASSIGN_OR_RETURN(int64_t size, CurrentSize(txn));
        if (size <= opts_.max_storage) {
          stop_ = true;
          break;
        }
      }
      RETURN_IF_ERROR(PruneImage(txn, batch[i].id, images[i], batch[i].names));
    }
    return absl::OkStatus();
  }

  void Report() {
    if (!opts_.on_progress) return;
    progress_.images_deleted = result_.images_deleted + pending_.images_deleted;
    progress_.space_reclaimed = result_.space_reclaimed + pending_.space_reclaimed;
    opts_.on_progress(progress_);
  }

  // Entries and figures of the change being made wait in `pending_` until
  // it is committed (Flush): a change that fails reports nothing. A real
  // prune's entries wait in a temporary file instead (spool_), whatever
  // their number.
  void Emit(DeleteEntry::Kind kind, std::string ref) {
    if (spool_) {
      spool_->Add(DeleteEntry{kind, std::move(ref)});
    } else {
      pending_.deleted.push_back(DeleteEntry{kind, std::move(ref)});
    }
  }

  void Flush() {
    auto deliver = [&](DeleteEntry& e) {
      if (opts_.on_entry) {
        opts_.on_entry(e);
      } else {
        result_.deleted.push_back(std::move(e));
      }
    };
    for (DeleteEntry& e : pending_.deleted) deliver(e);
    if (spool_) spool_->Replay(deliver);
    result_.images_deleted += pending_.images_deleted;
    result_.space_reclaimed += pending_.space_reclaimed;
    pending_ = PruneResult{};
  }

  // Removes some of the image's names, never all of them.
  void Untag(Txn& txn, std::string_view id, ImageRecord& img, std::vector<std::string> names) {
    for (const auto& n : names) Emit(DeleteEntry::Kind::kUntagged, FamiliarName(n));
    RemoveNames(txn, ctx_.ns, id, img, names, /*none_left=*/false, now_);
  }

  absl::Status DropExpiredLeases(Txn& txn) {
    std::vector<std::string> expired;  // whole keys: ns \0 lease
    auto it = txn.Scan(kLeases, "");
    for (; it.Valid(); it.Next()) {
      ASSIGN_OR_RETURN(LeaseRecord rec, DecodeLease(it.value(), Printable(it.key())));
      if (!LeaseIsLive(rec, now_)) expired.emplace_back(it.key());
    }
    RETURN_IF_ERROR(it.status());
    Freed freed;
    for (const auto& key : expired) {
      std::string_view ns, lease;
      SplitNs(key, &ns, &lease);
      RETURN_IF_ERROR(DropLease(txn, ns, lease, now_, &freed));
    }
    pending_.space_reclaimed += freed.bytes;
    return absl::OkStatus();
  }

  // Prunes image `id`, whose current record is `img` and names `names`.
  absl::Status PruneImage(Txn& txn, const std::string& id, ImageRecord& img,
                          const std::vector<NameEntry>& names) {
    if (!all_ && !names.empty()) return absl::OkStatus();
    if (!filter_.LabelsPass(img.labels)) return absl::OkStatus();
    // Beyond docker: pinned images, the images `keep` keeps, and images
    // used more recently than unused-for allows are never candidates.
    if (img.pinned || kept_.contains(id)) return absl::OkStatus();
    if (filter_.unused_before_ns &&
        std::max(img.created_ns, img.last_used_ns) > *filter_.unused_before_ns) {
      return absl::OkStatus();
    }
    // A name is selected by until and, when given, by a reference glob; a
    // nameless image is never selected by a reference glob.
    if (names.empty() && !filter_.references.empty()) return absl::OkStatus();

    std::vector<std::string> selected;
    for (const auto& n : names) {
      if (filter_.Selects(n.created_ns) && filter_.NameMatches(FamiliarName(n.full))) {
        selected.push_back(n.full);
      }
    }
    if (img.holders > 0) {
      ASSIGN_OR_RETURN(auto holders, Holders(txn, ctx_.ns, id));
      // Held: never deleted; selected names go but the protected ones, and
      // one name stays if none would.
      std::set<std::string> kept;
      for (const auto& [cid, running] : holders) {
        ASSIGN_OR_RETURN(auto ctr, txn.GetContainer(ctx_.ns, cid));
        if (ctr) kept.insert(ctr->protected_names.begin(), ctr->protected_names.end());
      }
      std::erase_if(selected, [&](const std::string& n) { return kept.count(n) > 0; });
      if (selected.empty()) return absl::OkStatus();
      if (selected.size() == names.size()) selected.pop_back();  // names are sorted
      Untag(txn, id, img, std::move(selected));
      return absl::OkStatus();
    }
    if (names.empty()) {
      if (!filter_.Selects(img.dangling_since_ns)) return absl::OkStatus();
      Emit(DeleteEntry::Kind::kUntagged, RawToDigest(id));
    } else if (selected.size() < names.size()) {
      if (!selected.empty()) Untag(txn, id, img, std::move(selected));
      return absl::OkStatus();
    } else {
      for (const auto& n : selected) Emit(DeleteEntry::Kind::kUntagged, FamiliarName(n));
    }
    Freed freed;
    RETURN_IF_ERROR(DeleteImage(txn, ctx_.ns, id, img, names, now_, &freed));
    // A digest appears at most once per prune. An image's ID is reported
    // when the image goes, unless it was reported already as a freed child
    // manifest of another image. A freed child manifest that was itself an
    // image of the namespace is that image's entry (the image went, or its
    // blob would not be free); the others are remembered, which keeps the
    // set to the few freed children of multi-platform images.
    if (!children_reported_.contains(id)) Emit(DeleteEntry::Kind::kDeleted, RawToDigest(id));
    for (const auto& b : freed.blobs) {
      if (b.raw_digest == id || !IsManifestOrIndex(b.media_type)) continue;
      ASSIGN_OR_RETURN(bool was_image, WasImage(b.raw_digest));
      if (!was_image && children_reported_.insert(b.raw_digest).second) {
        Emit(DeleteEntry::Kind::kDeleted, RawToDigest(b.raw_digest));
      }
    }
    pending_.space_reclaimed += freed.bytes;
    ++pending_.images_deleted;
    return absl::OkStatus();
  }

  // Whether `raw` was an image of the namespace when the prune began.
  absl::StatusOr<bool> WasImage(const std::string& raw) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    std::string value;
    rocksdb::Status s = store_->db_->Get(ro, store_->cfs_[kImages], ImageKey(ctx_.ns, raw), &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return RocksError(s, RawToDigest(raw));
    return true;
  }

  StoreImpl* store_;
  const OpContext& ctx_;
  const PruneOptions& opts_;
  const ImageFilter filter_;
  const bool all_;
  const int64_t now_;
  const rocksdb::Snapshot* snapshot_ = nullptr;  // what the candidates come from
  PruneResult result_;
  Progress progress_;
  absl::flat_hash_set<std::string> children_reported_;  // freed child manifests reported
  absl::flat_hash_set<std::string> kept_;               // image IDs `keep` keeps
  PruneResult pending_;                                 // of the change being made: see Emit
  std::unique_ptr<EntrySpool> spool_;                   // a real prune's entries: see Emit
  bool stop_ = false;                                   // max_storage reached
};

namespace {

// Parses the filters and options (SEMANTICS.md §5) into what a run selects.
absl::StatusOr<ImageFilter> PruneFilter(const OpContext& ctx, const PruneOptions& options) {
  ASSIGN_OR_RETURN(ImageFilter filter,
                   ParseImageFilter(options.filters, ctx.now, FilterUse::kPrune));
  // The filters beyond docker come as options (the oplog's prune accepts
  // docker's filter keys only).
  filter.references = options.references;
  if (options.unused_for) {
    if (*options.unused_for < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("invalid unused-for duration: negative");
    }
    filter.unused_before_ns = ToNanos(ctx.now - *options.unused_for);
  }
  if (options.keep < 0) {
    return absl::InvalidArgumentError(Cat("invalid keep count ", options.keep));
  }
  return filter;
}

}  // namespace

absl::StatusOr<PruneResult> StoreImpl::Prune(const OpContext& ctx, const PruneOptions& options) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  // A prune already running is reported before the filters are looked at,
  // as docker's ImagesPrune does.
  if (!prune_mu_.TryLock()) {
    return absl::AbortedError("a prune operation is already running");
  }
  absl::StatusOr<PruneResult> result = [&]() -> absl::StatusOr<PruneResult> {
    ASSIGN_OR_RETURN(ImageFilter filter, PruneFilter(ctx, options));
    return PruneRun(this, ctx, options, std::move(filter)).Run();
  }();
  prune_mu_.Unlock();
  // Committed: the collection's failure is reported beside the result.
  if (result.ok() && !options.dry_run) result->collected = CollectAfterChange();
  return result;
}

}  // namespace refstore::internal
