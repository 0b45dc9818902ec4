// Repair: rebuilds every derived record of the store from the primary ones.
//
// Primary: image records (target, content, labels, creation), names (the
// refs column family's 'N' keys), containers, leases and their content
// (lease_blobs), and, with a content store, the blob files. Derived, and
// rewritten from those: blob records (counts, owner), blob_leases, digest
// references, the dangling index, holders, the `names` column family (each
// image's names; a name keeps its creation time), holder count and owned
// flags, the df figures, garbage records.
//
// Memory is bounded whatever the store's size: the run streams. The names,
// references, dangling and holder entries come merge-joined with the images
// from derived.h, the blob records from the recount (recount.h), as check
// reads them; both sort externally, spilling to a temporary directory.
// Containers and leases (few) are compared with point reads. What is kept per
// namespace (the df figures) is small; what is kept per damaged record (the
// images whose names changed, owned flags to clear) goes through the same
// external sort.
//
// The run holds the write mutex throughout, so no other change interleaves,
// and writes through Txns committed in bounded batches; each step commits
// before the next reads. Crash safety: a crash between two batches leaves a
// store that Check flags and another Repair finishes, because (1) every
// decision is recomputed from the primary records, which a batch only ever
// deletes when they are undecodable, expired or lost, decisions a second run
// makes again from what is left (a name or holder entry of an image deleted
// in an earlier batch is then a name or entry of a missing image, which the
// second run removes); (2) a derived record written by an interrupted run is
// compared with its recount like any other; (3) a blob record is freed with
// its garbage record in the same batch, and a file left without either
// becomes garbage when the second run reaches the content store. The only
// thing a first run may do that a second cannot redo is deleting a corrupt
// file, which is already lost either way.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "gc/derived.h"
#include "gc/gc.h"
#include "gc/recount.h"
#include "refstore/db/mutate.h"
#include "refstore/reference.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// Writes per committed batch (and per Txn kept in memory).
constexpr size_t kRepairBatch = 20000;
// Files whose verdict (intact size, or lost) is remembered; beyond that the
// memory is cleared and a file may be hashed again.
constexpr size_t kFileCacheSize = 1 << 18;

// An image found while scanning, to act on in key order later (names that
// changed, owned flags to clear): its namespace (an index into a small
// table), its ID and a digest.
struct ImageMark {
  uint32_t ns;
  std::array<uint8_t, kRawIdSize> id;
  std::array<uint8_t, kRawIdSize> raw;  // the blob whose flag goes; zeros
  bool names_deleted;                   // a name entry of it was removed
};

class Repairer {
 public:
  Repairer(const StoreAccess& store, int64_t now_ns, RepairResult* out)
      : store_(store), content_(store.content), now_(now_ns), out_(out) {}

  absl::Status Run() {
    RETURN_IF_ERROR(NewBatch());
    RETURN_IF_ERROR(DropBadImages());
    RETURN_IF_ERROR(FixNames());
    RETURN_IF_ERROR(FixContainers());
    RETURN_IF_ERROR(FixLeases());
    RETURN_IF_ERROR(DropLostContent());
    RETURN_IF_ERROR(FixImages());
    RETURN_IF_ERROR(FixLeaseIndex());
    RETURN_IF_ERROR(FixBlobs());
    RETURN_IF_ERROR(FixStats());
    return FixGarbage();
  }

 private:
  void Act(std::string line) { out_->actions.push_back(std::move(line)); }

  // A Txn reading the latest committed state (what earlier steps wrote).
  std::unique_ptr<Txn> Reader() const { return store_.NewTxn(); }

  absl::Status NewBatch() {
    batch_ = store_.NewTxn(Txn::Mode::kAppendOnly);
    pending_ = 0;
    return absl::OkStatus();
  }
  void Put(Cf c, std::string_view k, std::string_view v) {
    batch_->Put(c, k, v);
    ++pending_;
  }
  void Del(Cf c, std::string_view k) {
    batch_->Delete(c, k);
    ++pending_;
  }
  // Calls `fn(key, value)` for every record of `cf` as `r` reads it, in
  // key order; stops at the first error.
  template <typename Fn>
  static absl::Status ForEachRecord(Txn& r, Cf cf, Fn fn) {
    auto it = r.Scan(cf, "");
    for (; it.Valid(); it.Next()) RETURN_IF_ERROR(fn(it.key(), it.value()));
    return it.status();
  }

  // Deletes `key` of `c`, saying so: "<what> <key>".
  absl::Status Drop(Cf c, std::string_view key, std::string_view what) {
    Del(c, key);
    Act(Cat(what, " ", Printable(key)));
    return MaybeFlush();
  }
  absl::Status MaybeFlush() { return pending_ >= kRepairBatch ? Flush() : absl::OkStatus(); }
  absl::Status Flush() {
    if (pending_ == 0) return absl::OkStatus();
    RETURN_IF_ERROR(store_.commit(*batch_, /*sync=*/true));
    return NewBatch();
  }

  uint32_t NsIndex(std::string_view ns) {
    auto it = ns_index_.find(absl::string_view(ns.data(), ns.size()));
    if (it != ns_index_.end()) return it->second;
    namespaces_.emplace_back(ns);
    return ns_index_[std::string(ns)] = static_cast<uint32_t>(namespaces_.size() - 1);
  }
  ImageMark Mark(std::string_view ns, std::string_view id, std::string_view raw = {}) {
    ImageMark m{};
    m.ns = NsIndex(ns);
    std::copy_n(id.data(), std::min(id.size(), m.id.size()), m.id.data());
    std::copy_n(raw.data(), std::min(raw.size(), m.raw.size()), m.raw.data());
    return m;
  }
  // Marks sort in image key order (namespace, then ID), then by digest.
  struct MarkLess {
    const std::vector<std::string>* ns;
    bool operator()(const ImageMark& a, const ImageMark& b) const {
      if (a.ns != b.ns) return (*ns)[a.ns] < (*ns)[b.ns];
      if (a.id != b.id) return a.id < b.id;
      return a.raw < b.raw;
    }
  };
  using MarkSorter = ExternalSorter<ImageMark, MarkLess>;
  std::unique_ptr<MarkSorter> NewMarks() {
    return std::make_unique<MarkSorter>(DefaultSortDir(), kSortRunBytes / 4,
                                        MarkLess{&namespaces_});
  }
  std::string MarkKey(const ImageMark& m) const {
    return ImageKey(namespaces_[m.ns],
                    std::string_view(reinterpret_cast<const char*>(m.id.data()), m.id.size()));
  }

  // Image records that are not namespace/id -> a decodable record of that
  // ID go.
  absl::Status DropBadImages() {
    auto r = Reader();
    RETURN_IF_ERROR(ForEachRecord(*r, kImages, [&](std::string_view key, std::string_view value) {
      std::string_view ns, id;
      absl::StatusOr<ImageRecord> rec = absl::DataLossError("bad key");
      if (SplitNs(key, &ns, &id) && id.size() == kRawIdSize && IsValidNamespace(ns)) {
        rec = DecodeImage(value, Printable(key));
      }
      if (rec.ok() && rec->target.raw_digest == id) return absl::OkStatus();
      return Drop(kImages, key, "removed undecodable image record");
    }));
    return Flush();
  }

  // Names: a name key to a missing image goes; the `names` column family
  // becomes exactly the names pointing to each image (an entry that is
  // there keeps its creation time; a missing or undecodable one is written
  // with the repair's time). One pass over the join of derived.h.
  absl::Status FixNames() {
    names_changed_ = NewMarks();
    auto r = Reader();
    RETURN_IF_ERROR(JoinNames(
        *r,
        [&](const NameRow& n) -> absl::Status {
          if (n.referenced && !n.image) {
            Del(kRefs, NameKey(n.ns, n.full));
            Act(Cat("removed name ", n.ns, "/", n.full, " of missing image"));
          }
          const std::string key = ImageNameKey(n.ns, n.id, n.full);
          if (n.entry && !n.image) {
            Del(kNames, key);
            Act(Cat("removed name entry ", n.ns, "/", n.full, " of missing image"));
          } else if (n.image && n.referenced && (!n.entry || !DecodeNameValue(*n.entry, "").ok())) {
            Put(kNames, key, EncodeNameValue(now_));
            RETURN_IF_ERROR(names_changed_->Add(Mark(n.ns, n.id)));
          } else if (n.image && !n.referenced) {  // an entry the name does not point back to
            Del(kNames, key);
            ImageMark m = Mark(n.ns, n.id);
            m.names_deleted = true;
            RETURN_IF_ERROR(names_changed_->Add(m));
          }
          return MaybeFlush();
        },
        [&](Cf cf, std::string_view key, std::string_view) -> absl::Status {
          return Drop(cf, key, cf == kRefs ? "removed bad reference key" : "removed bad name key");
        }));
    return Flush();
  }

  // Containers that do not decode go; the holders column family becomes
  // exactly one entry per container, with its state.
  absl::Status FixContainers() {
    auto r = Reader();
    RETURN_IF_ERROR(ForEachRecord(
        *r, kContainers, [&](std::string_view ckey, std::string_view value) -> absl::Status {
          std::string_view ns, cid;
          absl::StatusOr<ContainerRecord> c = absl::DataLossError("bad key");
          if (SplitNs(ckey, &ns, &cid) && cid.size() == kRawIdSize) c = DecodeContainer(value, "");
          if (!c.ok()) return Drop(kContainers, ckey, "removed undecodable container record");
          const std::string key = HolderKey(ns, c->image_raw, cid);
          const std::string_view want = c->running ? "1" : "0";
          ASSIGN_OR_RETURN(auto have, r->Get(kHolders, key));
          if (!have || *have != want) {
            if (have) Act(Cat("removed holder entry ", Printable(key)));
            Put(kHolders, key, want);
            Act(Cat("restored holder entry ", Printable(key)));
          }
          return MaybeFlush();
        }));
    RETURN_IF_ERROR(Flush());
    RETURN_IF_ERROR(ForEachRecord(
        *r, kHolders, [&](std::string_view key, std::string_view value) -> absl::Status {
          std::string_view ns, rest;
          if (SplitNs(key, &ns, &rest) && rest.size() == 2 * kRawIdSize) {
            const std::string_view id = rest.substr(0, kRawIdSize), cid = rest.substr(kRawIdSize);
            ASSIGN_OR_RETURN(auto v, r->Get(kContainers, ContainerKey(ns, cid)));
            absl::StatusOr<ContainerRecord> c =
                v ? DecodeContainer(*v, "") : absl::NotFoundError("");
            if (c.ok() && c->image_raw == id && value == (c->running ? "1" : "0")) {
              return absl::OkStatus();
            }
          }
          return Drop(kHolders, key, "removed holder entry");
        }));
    return Flush();
  }

  // Leases that do not decode, or have expired, go with their content;
  // lease content of no lease goes.
  absl::Status FixLeases() {
    // Decided on the leases as they were before this step (so that the
    // content of an expired lease goes silently, as the lease does).
    const rocksdb::Snapshot* snap = store_.db->GetSnapshot();
    struct Release {
      rocksdb::DB* db;
      const rocksdb::Snapshot* s;
      ~Release() { db->ReleaseSnapshot(s); }
    } release{store_.db, snap};
    Txn r(store_.db, store_.cfs, snap);
    {
      auto it = r.Scan(kLeases, "");
      for (; it.Valid(); it.Next()) {
        absl::StatusOr<LeaseRecord> l = DecodeLease(it.value(), Printable(it.key()));
        if (!l.ok()) {
          Del(kLeases, it.key());
          Act(Cat("removed undecodable lease ", Printable(it.key())));
        } else if (!LeaseIsLive(*l, now_)) {
          Del(kLeases, it.key());
          Act(Cat("removed expired lease ", Printable(it.key())));
        }
        RETURN_IF_ERROR(MaybeFlush());
      }
      RETURN_IF_ERROR(it.status());
    }
    auto it = r.Scan(kLeaseBlobs, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, rest;
      auto drop = [&](std::string why) {
        Del(kLeaseBlobs, it.key());
        Act(Cat("removed lease content ", Printable(it.key()), ": ", why));
      };
      if (!SplitNs(it.key(), &ns, &rest) || rest.size() < kRawIdSize + 1) {
        drop("bad key");
      } else {
        ASSIGN_OR_RETURN(
            auto v, r.Get(kLeases, LeaseKey(ns, rest.substr(0, rest.size() - kRawIdSize - 1))));
        absl::StatusOr<LeaseRecord> l = v ? DecodeLease(*v, "") : absl::NotFoundError("");
        if (!l.ok()) {
          drop("no such lease");
        } else if (!LeaseIsLive(*l, now_)) {
          Del(kLeaseBlobs, it.key());
        }
      }
      RETURN_IF_ERROR(MaybeFlush());
    }
    RETURN_IF_ERROR(it.status());
    return Flush();
  }

  // Whether blob `raw` (declared `size`) is present and intact in the
  // content store; a corrupt file is deleted. Always true without one.
  absl::StatusOr<bool> FileOk(std::string_view raw, int64_t size) {
    if (!content_) return true;
    auto it = files_.find(std::string(raw));
    if (it != files_.end()) return it->second == size;
    const std::string hex = RawToHex(raw);
    int64_t have = -1;
    absl::StatusOr<std::optional<int64_t>> st = content_->BlobSize(hex);
    // A file that cannot be read (EACCES, EIO) is not a missing or corrupt
    // one: repair stops rather than act on what it could not see.
    if (!st.ok() && !absl::IsInvalidArgument(st.status())) {
      return absl::FailedPreconditionError(Cat("cannot read the file of ", RawToDigest(raw), " (",
                                               std::string(st.status().message()),
                                               "); repair changes nothing it cannot read"));
    }
    if (st.ok() && *st) {
      absl::StatusOr<std::string> h = content_->HashBlob(hex);
      if (absl::IsInternal(h.status())) {  // EACCES, EIO: not corrupt
        return absl::FailedPreconditionError(Cat("cannot read the file of ", RawToDigest(raw), " (",
                                                 std::string(h.status().message()),
                                                 "); repair changes nothing it cannot read"));
      }
      if (h.ok() && *h == hex) {
        have = **st;
      } else {
        RETURN_IF_ERROR(content_->RemoveBlob(hex).status());
        Act(Cat("deleted corrupt file of ", RawToDigest(raw)));
      }
    } else if (!st.ok()) {
      RETURN_IF_ERROR(content_->RemoveBlob(hex).status());
      Act(Cat("deleted non-file at ", RawToDigest(raw), ": ", std::string(st.status().message())));
    }
    // A verdict forgotten is found again: a deleted file is then missing.
    if (files_.size() >= kFileCacheSize) files_.clear();
    files_[std::string(raw)] = have;
    return have == size;
  }

  // Deletes image (ns, id): its record, and its names (both the entries of
  // the `names` column family and the references, which agree once
  // FixNames ran). Its digest reference and dangling entry go in FixImages.
  absl::Status RemoveImage(Txn& r, std::string_view ns, std::string_view id, std::string why) {
    ++out_->images_removed;
    Del(kImages, ImageKey(ns, id));
    auto it = r.Scan(kNames, ImageNamesPrefix(ns, id));
    for (; it.Valid(); it.Next()) {
      Del(kNames, it.key());
      Del(kRefs, NameKey(ns, it.rest()));
    }
    RETURN_IF_ERROR(it.status());
    Act(Cat("removed image ", ns, "/", RawToDigest(id), ": ", why));
    return MaybeFlush();
  }

  // What a lease hold records of a blob: no size, so the blob record's,
  // else the file's (-1: neither).
  absl::StatusOr<std::pair<int64_t, std::string>> LeaseBlobInfo(Txn& r, std::string_view raw) {
    std::pair<int64_t, std::string> info{-1, "application/octet-stream"};
    ASSIGN_OR_RETURN(auto v, r.Get(kBlobs, raw));
    if (v) {
      if (auto b = DecodeBlob(*v, ""); b.ok()) info = {b->size, b->media_type};
    }
    if (info.first < 0 && content_) {
      auto st = content_->BlobSize(RawToHex(raw));
      if (st.ok() && *st) info.first = **st;
    }
    return info;
  }

  // Images whose content is lost (a file missing or corrupt) go; so do
  // lease holds of lost content, or of a blob whose size nothing records.
  absl::Status DropLostContent() {
    auto r = Reader();
    if (content_) {
      auto it = r->Scan(kImages, "");
      for (; it.Valid(); it.Next()) {
        std::string_view ns, id;
        SplitNs(it.key(), &ns, &id);
        ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it.value(), Printable(it.key())));
        for (const StoredDescriptor* d : ImageBlobs(img)) {
          ASSIGN_OR_RETURN(bool ok, FileOk(d->raw_digest, d->size));
          if (!ok) {
            RETURN_IF_ERROR(
                RemoveImage(*r, ns, id, Cat("content ", RawToDigest(d->raw_digest), " is lost")));
            break;
          }
        }
      }
      RETURN_IF_ERROR(it.status());
    }
    auto it = r->Scan(kLeaseBlobs, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, rest;
      SplitNs(it.key(), &ns, &rest);  // FixLeases left only good keys
      const std::string_view raw = rest.substr(rest.size() - kRawIdSize);
      ASSIGN_OR_RETURN(auto info, LeaseBlobInfo(*r, raw));
      bool ok = info.first >= 0;
      if (ok) {
        ASSIGN_OR_RETURN(ok, FileOk(raw, info.first));
      }
      if (!ok) {
        Del(kLeaseBlobs, it.key());
        Act(Cat("dropped lease ",
                Printable(LeaseKey(ns, rest.substr(0, rest.size() - kRawIdSize - 1))),
                "'s hold on lost content ", RawToDigest(raw)));
        RETURN_IF_ERROR(MaybeFlush());
      }
    }
    RETURN_IF_ERROR(it.status());
    return Flush();
  }

  // Per image, in key order (the join of derived.h): its digest reference,
  // its dangling entry, its holder count (and when it dangles since); and
  // the digest references and dangling entries of images that do not exist.
  // (The join's iterators see the state before this step's writes, which
  // only touch keys of the image or orphan at hand.)
  absl::Status FixImages() {
    RETURN_IF_ERROR(names_changed_->Finish());
    auto r = Reader();
    RETURN_IF_ERROR(JoinImages(
        *r,
        [&](const ImageRow& row) -> absl::Status {
          // DropBadImages left well-formed, decodable records only.
          ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(row.value, Printable(row.key)));
          const std::string_view key = row.key, ns = row.ns, id = row.id;
          bool changed = false, names_deleted = false, names_differ = false;
          while (names_changed_->Valid()) {
            const ImageMark& m = names_changed_->value();
            const std::string mk = MarkKey(m);
            if (mk > key) break;
            if (mk == key) {  // (before: an image removed since)
              names_differ = true;
              names_deleted |= m.names_deleted;
            }
            RETURN_IF_ERROR(names_changed_->Next());
          }
          if (names_differ) {
            Act(Cat("names of ", ns, "/", RawToDigest(id), " set to the ", row.names,
                    " names pointing to it"));
          }
          if (names_deleted && row.names == 0) {
            img.dangling_since_ns = now_;
            changed = true;
          }
          changed |= img.holders != row.holders;
          img.holders = row.holders;
          if (changed) Put(kImages, key, EncodeImage(img));
          if (!row.digest_ref) {
            const std::string dref = DigestRefKey(ns, id);
            Put(kRefs, dref, "");
            Act(Cat("restored digest reference ", Printable(dref)));
          }
          if (row.names == 0 && !row.dangling) {
            const std::string dkey = DanglingKey(ns, id);
            Put(kDangling, dkey, "");
            Act(Cat("restored dangling index entry ", Printable(dkey)));
          } else if (row.names > 0 && row.dangling) {
            const std::string dkey = DanglingKey(ns, id);
            Del(kDangling, dkey);
            Act(Cat("removed dangling index entry ", Printable(dkey)));
          }
          return MaybeFlush();
        },
        [&](Cf cf, std::string_view key) -> absl::Status {
          return Drop(cf, key,
                      cf == kRefs ? "removed digest reference" : "removed dangling index entry");
        }));
    names_changed_.reset();
    return Flush();
  }

  // blob_leases: exactly one entry per lease hold.
  absl::Status FixLeaseIndex() {
    auto r = Reader();
    RETURN_IF_ERROR(ForEachRecord(
        *r, kLeaseBlobs, [&](std::string_view hold, std::string_view) -> absl::Status {
          std::string_view ns, rest;
          SplitNs(hold, &ns, &rest);  // FixLeases left only good keys
          const std::string key = BlobLeaseKey(rest.substr(rest.size() - kRawIdSize), ns,
                                               rest.substr(0, rest.size() - kRawIdSize - 1));
          ASSIGN_OR_RETURN(auto have, r->Get(kBlobLeases, key));
          if (have) return absl::OkStatus();
          Put(kBlobLeases, key, "");
          Act(Cat("restored blob lease index entry ", Printable(key)));
          return MaybeFlush();
        }));
    RETURN_IF_ERROR(
        ForEachRecord(*r, kBlobLeases, [&](std::string_view key, std::string_view) -> absl::Status {
          std::string_view ns, lease;
          if (key.size() > kRawIdSize && SplitNs(key.substr(kRawIdSize), &ns, &lease)) {
            ASSIGN_OR_RETURN(
                auto fwd, r->Get(kLeaseBlobs, LeaseBlobKey(ns, lease, key.substr(0, kRawIdSize))));
            if (fwd) return absl::OkStatus();
          }
          return Drop(kBlobLeases, key, "removed blob lease index entry");
        }));
    return Flush();
  }

  // Feeds the recount with every image and lease hold (and the df figures
  // their images make).
  absl::Status Feed(Txn& r, BlobRecount& recount) {
    stats_.clear();
    {
      auto it = r.Scan(kImages, "");
      for (; it.Valid(); it.Next()) {
        std::string_view ns, id;
        SplitNs(it.key(), &ns, &id);
        ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it.value(), Printable(it.key())));
        RETURN_IF_ERROR(recount.AddImage(ns, id, img, Protected(img)));
        NsStats& s = stats_[std::string(ns)];
        ++s.images;
        if (img.holders > 0) ++s.active;
      }
      RETURN_IF_ERROR(it.status());
    }
    auto it = r.Scan(kLeaseBlobs, "");
    for (; it.Valid(); it.Next()) {
      const std::string_view raw = it.key().substr(it.key().size() - kRawIdSize);
      ASSIGN_OR_RETURN(auto info, LeaseBlobInfo(r, raw));
      RETURN_IF_ERROR(recount.AddLeaseHold(raw, info.first, info.second));
    }
    return it.status();
  }

  // Recounts every blob, and merges the recount with the blobs column
  // family (records to restore, to correct, to free) and the garbage one
  // (a counted blob is never garbage). Images declaring a blob with another
  // size than the first image (in key order) go; the recount then runs
  // again, and so writes what it wrote the first time again if that
  // changed. (With a content store, an image declaring a size its file
  // does not have was removed as lost before.) Last, owned flags of images
  // that no longer own their blob are cleared.
  absl::Status FixBlobs() {
    for (;;) {
      auto r = Reader();
      BlobRecount recount;
      RETURN_IF_ERROR(Feed(*r, recount));
      std::vector<std::pair<std::string, std::string>> conflicts;  // as many as the damage
      auto owned = NewMarks();
      PrefixIterator blobs = r->Scan(kBlobs, "");
      PrefixIterator garbage = r->Scan(kGarbage, "");
      RETURN_IF_ERROR(recount.ForEach([&](const ExpectedBlob& w) -> absl::Status {
        for (; blobs.Valid() && blobs.key() < std::string_view(w.raw); blobs.Next()) {
          RETURN_IF_ERROR(Free(blobs.key(), blobs.value()));
        }
        RETURN_IF_ERROR(blobs.status());
        const std::string value = EncodeBlob(w.rec);
        if (blobs.Valid() && blobs.key() == w.raw) {
          if (blobs.value() != value) {
            Put(kBlobs, w.raw, value);
            Act(Cat("recounted blob record ", RawToDigest(w.raw)));
          }
          blobs.Next();
        } else {
          Put(kBlobs, w.raw, value);
          Act(Cat("restored blob record ", RawToDigest(w.raw)));
        }
        for (; garbage.Valid() && garbage.key() < std::string_view(w.raw); garbage.Next()) {
        }
        RETURN_IF_ERROR(garbage.status());
        if (garbage.Valid() && garbage.key() == w.raw) {
          Del(kGarbage, w.raw);
          Act(Cat("removed garbage record of counted blob ", RawToDigest(w.raw)));
        }
        for (const auto& [ns, id] : w.other_size) conflicts.emplace_back(ns, id);
        for (const auto& [ns, id] : w.flagged) {
          if (ns != w.rec.owner_ns || id != w.rec.owner_id)
            RETURN_IF_ERROR(owned->Add(Mark(ns, id, w.raw)));
        }
        ForEachContribution(w.rec, +1, [&](std::string_view ns, const NsStats& c) {
          stats_[std::string(ns)] += c;
        });
        return MaybeFlush();
      }));
      for (; blobs.Valid(); blobs.Next()) RETURN_IF_ERROR(Free(blobs.key(), blobs.value()));
      RETURN_IF_ERROR(blobs.status());
      RETURN_IF_ERROR(Flush());
      if (!conflicts.empty()) {
        std::sort(conflicts.begin(), conflicts.end());
        conflicts.erase(std::unique(conflicts.begin(), conflicts.end()), conflicts.end());
        for (const auto& [ns, id] : conflicts) {
          ASSIGN_OR_RETURN(auto img, r->GetImage(ns, id));
          std::string raw;
          for (const StoredDescriptor* d : ImageBlobs(*img)) {
            ASSIGN_OR_RETURN(auto b, r->GetBlob(d->raw_digest));
            if (b && b->size != d->size) raw = d->raw_digest;
          }
          RETURN_IF_ERROR(
              RemoveImage(*r, ns, id, Cat("declares ", RawToDigest(raw), " with another size")));
        }
        RETURN_IF_ERROR(Flush());
        // Their digest references and dangling entries go; then the recount
        // runs again.
        names_changed_ = NewMarks();
        RETURN_IF_ERROR(FixImages());
        continue;
      }
      return ClearOwned(*r, *owned);
    }
  }

  // A blob record nothing counts: freed (garbage with a content store).
  absl::Status Free(std::string_view key, std::string_view value) {
    Del(kBlobs, key);
    absl::StatusOr<BlobRecord> old = DecodeBlob(value, "");
    if (content_ && key.size() == kRawIdSize) {
      Put(kGarbage, key, EncodeGarbage({old.ok() ? old->size : 0}));
    }
    Act(Cat(old.ok() ? "freed unreferenced blob " : "removed undecodable blob record ",
            Printable(key)));
    return MaybeFlush();
  }

  // Clears the owned flags `marks` name (image, digest), in key order.
  absl::Status ClearOwned(Txn& r, MarkSorter& marks) {
    RETURN_IF_ERROR(marks.Finish());
    while (marks.Valid()) {
      const std::string key = MarkKey(marks.value());
      ASSIGN_OR_RETURN(auto v, r.Get(kImages, key));
      ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(v.value_or(""), Printable(key)));
      while (marks.Valid() && MarkKey(marks.value()) == key) {
        const std::string_view raw(reinterpret_cast<const char*>(marks.value().raw.data()),
                                   kRawIdSize);
        for (StoredDescriptor* d : MutableImageBlobs(img)) {
          if (d->raw_digest == raw && d->owned) {
            d->owned = false;
            Act(Cat("cleared the owned flag of ", Printable(key), " on ", RawToDigest(raw)));
          }
        }
        RETURN_IF_ERROR(marks.Next());
      }
      Put(kImages, key, EncodeImage(img));
      RETURN_IF_ERROR(MaybeFlush());
    }
    return Flush();
  }

  absl::Status FixStats() {
    auto r = Reader();
    auto it = r->Scan(kStats, "");
    for (; it.Valid(); it.Next()) {
      const std::string key(it.key());
      auto s = stats_.find(key);
      if (s == stats_.end()) {
        Del(kStats, key);
        Act(Cat("removed df figures of ", key));
      } else {
        if (it.value() != EncodeStats(s->second)) {
          Put(kStats, key, EncodeStats(s->second));
          Act(Cat("recomputed df figures of ", key));
        }
        stats_.erase(s);
      }
    }
    RETURN_IF_ERROR(it.status());
    for (const auto& [ns, s] : stats_) {
      if (s.IsZero()) continue;
      Put(kStats, ns, EncodeStats(s));
      Act(Cat("restored df figures of ", ns));
    }
    return Flush();
  }

  // Garbage records that do not decode go; files without any record become
  // garbage (Repair adopted the complete images among them first).
  absl::Status FixGarbage() {
    auto r = Reader();
    {
      auto it = r->Scan(kGarbage, "");
      for (; it.Valid(); it.Next()) {
        if (it.key().size() != kRawIdSize || !DecodeGarbage(it.value(), "").ok()) {
          RETURN_IF_ERROR(Drop(kGarbage, it.key(), "removed bad garbage record"));
        }
      }
      RETURN_IF_ERROR(it.status());
    }
    RETURN_IF_ERROR(Flush());
    if (!content_) return absl::OkStatus();
    RETURN_IF_ERROR(content_->ForEachBlob(
        [&](std::string_view hex, int64_t size) -> absl::Status {
          std::string raw = HexToRaw(hex);
          ASSIGN_OR_RETURN(auto blob, r->Get(kBlobs, raw));
          if (blob) return absl::OkStatus();
          ASSIGN_OR_RETURN(auto garbage, r->Get(kGarbage, raw));
          if (garbage) return absl::OkStatus();
          Put(kGarbage, raw, EncodeGarbage({size}));
          Act(Cat("marked file without record sha256:", hex, " as garbage"));
          return MaybeFlush();
        },
        [&](std::string_view name) {
          if (content_->RemoveStray(name).ok()) {
            Act(Cat("deleted stray entry ", content_->root(), "/blobs/sha256/", name));
          }
        }));
    return Flush();
  }

  const StoreAccess& store_;
  content::ContentDir* const content_;
  const int64_t now_;
  RepairResult* out_;
  std::unique_ptr<Txn> batch_;
  size_t pending_ = 0;
  std::vector<std::string> namespaces_;
  absl::flat_hash_map<std::string, uint32_t> ns_index_;
  std::unique_ptr<MarkSorter> names_changed_;        // images whose names FixNames changed
  absl::flat_hash_map<std::string, int64_t> files_;  // raw -> intact size, -1 lost
  std::map<std::string, NsStats> stats_;             // per namespace
};

}  // namespace

absl::Status RebuildDerivedRecords(const StoreAccess& store, int64_t now_ns, RepairResult* out) {
  return Repairer(store, now_ns, out).Run();
}

}  // namespace refstore::internal
