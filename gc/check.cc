// Check: recomputes every count and relation from scratch over one snapshot
// and reports each difference from what is stored.
//
// Memory is bounded whatever the store's size: the images, references,
// names, dangling and holder entries come merge-joined from derived.h, the
// blob records from the recount (recount.h), merged with the blobs column
// family; both sort externally, spilling to a temporary directory. Leases
// and containers (few) are checked with point reads. Only the df figures
// (per namespace) and the findings are kept.
#include <algorithm>
#include <map>

#include "gc/derived.h"
#include "gc/gc.h"
#include "gc/recount.h"
#include "refstore/db/mutate.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

class Checker {
 public:
  // `txn` reads the snapshot checked; `latest` the latest state, to confirm
  // a file finding on a store that changes meanwhile (files are not in the
  // snapshot: a blob freed and collected, or published, after the snapshot
  // was taken is not a fault). `write_mu` is the mutex under which files
  // enter and leave the content store: a finding is confirmed holding it
  // (SettledFile).
  Checker(Txn& txn, Txn& latest, const content::ContentDir* content, Mutex& write_mu,
          const CheckOptions& options)
      : txn_(txn), latest_(latest), content_(content), write_mu_(write_mu), options_(options) {}

  absl::StatusOr<std::vector<Problem>> Run() {
    RETURN_IF_ERROR(CheckImages());
    RETURN_IF_ERROR(CheckNames());
    RETURN_IF_ERROR(CheckLeases());
    RETURN_IF_ERROR(CheckContainers());
    RETURN_IF_ERROR(CheckBlobs());
    RETURN_IF_ERROR(CheckStats());
    RETURN_IF_ERROR(CheckGarbage());
    if (content_) RETURN_IF_ERROR(CheckFiles());
    return std::move(problems_);
  }

 private:
  void Report(std::string category, std::string subject, std::string detail) {
    problems_.push_back({std::move(category), std::move(subject), std::move(detail)});
  }
  void Inform(std::string category, std::string subject, std::string detail) {
    problems_.push_back({std::move(category), std::move(subject), std::move(detail), true});
  }

  // Garbage records: files the collector has yet to delete. Never a blob
  // with a record as well.
  absl::Status CheckGarbage() {
    auto it = txn_.Scan(kGarbage, "");
    for (; it.Valid(); it.Next()) {
      std::string raw(it.key());
      std::string subject = raw.size() == kRawIdSize ? RawToDigest(raw) : Printable(raw);
      absl::StatusOr<GarbageRecord> g = DecodeGarbage(it.value(), subject);
      if (!g.ok()) {
        Report("corrupt_record", subject, std::string(g.status().message()));
        continue;
      }
      ASSIGN_OR_RETURN(auto blob, txn_.Get(kBlobs, raw));
      if (blob) {
        Report("garbage_with_blob", subject, "a garbage record for a blob that has a record");
      } else {
        Inform("garbage_pending", subject, Cat(g->size, " bytes not yet collected"));
      }
    }
    return it.status();
  }

  // The content store: every blob record has its file, of its size (and
  // digest); every file has a blob or garbage record.
  absl::Status CheckFiles() {
    return content_->ForEachBlob(
        [&](std::string_view hex, int64_t size) -> absl::Status {
          std::string raw = HexToRaw(hex);
          ASSIGN_OR_RETURN(auto blob, txn_.Get(kBlobs, raw));
          if (blob) return absl::OkStatus();  // compared in CheckBlobs
          ASSIGN_OR_RETURN(auto garbage, txn_.Get(kGarbage, raw));
          if (garbage) return absl::OkStatus();
          ASSIGN_OR_RETURN(Settled now, SettledFile(hex, raw));
          // Collected since the listing, or published (its garbage record
          // comes first) since the snapshot.
          if (!now.file || now.blob || now.garbage) return absl::OkStatus();
          Report("file_without_record", Cat("sha256:", hex),
                 Cat(size, " bytes that no blob or garbage record names"));
          return absl::OkStatus();
        },
        [&](std::string_view name) {
          Report("stray_file", Cat(content_->root(), "/blobs/sha256/", name),
                 "not a blob file (a name that is not a digest, or not a regular file)");
        });
  }

  // The file of blob `hex` and its records in the latest state, read as one
  // state: under the write mutex, which the collector holds from deleting a
  // file to dropping its record and a writer from renaming a file in to
  // committing its record (a file enters after its garbage record). Read
  // apart, a blob collected and pulled again between the two reads looks
  // like a file without a record, or a record without a file.
  struct Settled {
    bool file = false;
    bool blob = false;
    bool garbage = false;
  };
  absl::StatusOr<Settled> SettledFile(std::string_view hex, std::string_view raw) {
    MutexLock lock(write_mu_);
    Settled out;
    absl::StatusOr<std::optional<int64_t>> size = content_->BlobSize(hex);
    // Unreadable counts as present: the caller's own finding stands.
    out.file = !size.ok() || size->has_value();
    ASSIGN_OR_RETURN(auto blob, latest_.Get(kBlobs, raw));
    ASSIGN_OR_RETURN(auto garbage, latest_.Get(kGarbage, raw));
    out.blob = blob.has_value();
    out.garbage = garbage.has_value();
    return out;
  }

  // Whether blob `hex`'s file, found missing though the snapshot has its
  // record, is explained by a change since: freed and collected, or
  // collected and pulled again meanwhile.
  absl::StatusOr<bool> MissingFileExplained(std::string_view hex, std::string_view raw) {
    ASSIGN_OR_RETURN(Settled now, SettledFile(hex, raw));
    return !now.blob || now.file;
  }

  // Compares blob `raw`'s file with its record.
  absl::Status CheckFile(std::string_view raw, const BlobRecord& b) {
    const std::string hex = RawToHex(raw);
    const std::string subject = RawToDigest(raw);
    absl::StatusOr<std::optional<int64_t>> size = content_->BlobSize(hex);
    if (size.ok() && !*size) {
      ASSIGN_OR_RETURN(bool changed, MissingFileExplained(hex, raw));
      if (changed) return absl::OkStatus();
    }
    if (!size.ok() && !absl::IsInvalidArgument(size.status())) {
      // EACCES, EIO: not a missing file (repair acts on nothing unreadable).
      Report("unreadable_file", subject, std::string(size.status().message()));
      return absl::OkStatus();
    }
    if (!size.ok() || !*size) {
      Report("blob_without_file", subject,
             size.ok() ? "no file in the content store" : std::string(size.status().message()));
      return absl::OkStatus();
    }
    if (**size != b.size) {
      Report("file_wrong_size", subject, Cat("file has ", **size, " bytes, record says ", b.size));
      return absl::OkStatus();
    }
    if (options_.verify_digests) {
      absl::StatusOr<std::string> got = content_->HashBlob(hex);
      if (absl::IsNotFound(got.status())) {  // gone since BlobSize
        ASSIGN_OR_RETURN(bool changed, MissingFileExplained(hex, raw));
        if (changed) return absl::OkStatus();
      }
      if (!got.ok()) {
        Report(absl::IsInternal(got.status()) ? "unreadable_file" : "blob_without_file", subject,
               std::string(got.status().message()));
      } else if (*got != hex) {
        Report("file_wrong_digest", subject, Cat("file hashes to sha256:", *got));
      }
    }
    return absl::OkStatus();
  }

  // Every image beside its digest reference, dangling entry, names and
  // holder entries (derived.h); its blobs go to the recount.
  absl::Status CheckImages() {
    return JoinImages(
        txn_,
        [&](const ImageRow& row) -> absl::Status {
          if (!row.well_formed) {
            Report("bad_key", Printable(row.key), "image key is not namespace/id");
            return absl::OkStatus();
          }
          const std::string subject = Cat(row.ns, "/", RawToDigest(row.id));
          absl::StatusOr<ImageRecord> img = DecodeImage(row.value, subject);
          if (!img.ok()) {
            Report("corrupt_record", subject, std::string(img.status().message()));
            return absl::OkStatus();
          }
          if (img->target.raw_digest != row.id) {
            Report("id_mismatch", subject, "target digest differs");
          }
          if (!row.digest_ref) Report("image_without_digest_ref", subject, "no digest reference");
          if ((row.names == 0) != row.dangling) {
            Report("dangling_index", subject,
                   row.names == 0 ? "nameless image not indexed as dangling"
                                  : "named image indexed as dangling");
          }
          if (row.holders != img->holders) {
            Report("holder_count", subject,
                   Cat("record says ", img->holders, ", holder entries ", row.holders));
          }
          NsStats& stats = recounted_stats_[std::string(row.ns)];
          ++stats.images;
          if (row.holders > 0) ++stats.active;
          if (++checked_ % 10000 == 0 && options_.on_progress) options_.on_progress(checked_);
          return recount_.AddImage(row.ns, row.id, *img, row.holders > 0 || img->pinned);
        },
        [&](Cf cf, std::string_view key) -> absl::Status {
          std::string_view ns, rest;
          if (cf == kRefs) {
            SplitNs(key, &ns, &rest);  // ns \0 D id
            Report("digest_ref_without_image", Cat(ns, "/", RawToDigest(rest.substr(1))),
                   "digest reference of a missing image");
          } else {
            Report("dangling_index",
                   SplitNs(key, &ns, &rest) ? Cat(ns, "/", RawToDigest(rest)) : Printable(key),
                   "no such image");
          }
          return absl::OkStatus();
        });
  }

  // Every name as the references and the names column family have it
  // (derived.h): the two must agree, and name existing images.
  absl::Status CheckNames() {
    return JoinNames(
        txn_,
        [&](const NameRow& n) -> absl::Status {
          const std::string subject = Cat(n.ns, "/", n.full);
          if (n.referenced && !n.image) Report("name_to_missing_image", subject, RawToDigest(n.id));
          if (n.referenced && n.image && !n.entry) {
            Report("name_not_in_image", subject, RawToDigest(n.id));
          }
          if (!n.entry) return absl::OkStatus();
          absl::StatusOr<int64_t> created = DecodeNameValue(*n.entry, subject);
          if (!created.ok()) {
            Report("corrupt_record", subject, std::string(created.status().message()));
          }
          if (!n.image) {
            Report("name_of_missing_image", subject, RawToDigest(n.id));
          } else if (!n.referenced) {
            ASSIGN_OR_RETURN(auto target, txn_.GetName(n.ns, n.full));
            Report("name_mismatch", subject,
                   Cat("image ", RawToDigest(n.id), " has the name, the name points ",
                       target ? "elsewhere" : "nowhere"));
          }
          return absl::OkStatus();
        },
        [&](Cf, std::string_view key, std::string_view why) -> absl::Status {
          Report("bad_key", Printable(key), std::string(why));
          return absl::OkStatus();
        });
  }

  absl::Status CheckLeases() {
    auto leases = txn_.Scan(kLeases, "");
    for (; leases.Valid(); leases.Next()) {
      std::string subject = Printable(leases.key());
      absl::StatusOr<LeaseRecord> l = DecodeLease(leases.value(), subject);
      if (!l.ok()) {
        Report("corrupt_record", subject, std::string(l.status().message()));
      } else if (options_.now && !LeaseIsLive(*l, absl::ToUnixNanos(*options_.now))) {
        Inform("expired_lease", subject, "protects nothing; removed by the next prune");
      }
    }
    RETURN_IF_ERROR(leases.status());
    auto it = txn_.Scan(kLeaseBlobs, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, rest;
      if (!SplitNs(it.key(), &ns, &rest) || rest.size() < kRawIdSize + 1) {
        Report("bad_key", Printable(it.key()), "lease content key");
        continue;
      }
      std::string_view lease = rest.substr(0, rest.size() - kRawIdSize - 1);
      std::string_view raw = rest.substr(rest.size() - kRawIdSize);
      std::string subject = Cat(ns, "/", lease, "/", RawToDigest(raw));
      ASSIGN_OR_RETURN(auto rec, txn_.Get(kLeases, LeaseKey(ns, lease)));
      if (!rec) Report("lease_content_without_lease", subject, "");

      ASSIGN_OR_RETURN(auto back, txn_.Get(kBlobLeases, BlobLeaseKey(raw, ns, lease)));
      if (!back) Report("lease_index", subject, "no blob_leases entry");
      ASSIGN_OR_RETURN(auto blob, txn_.GetBlob(raw));
      if (blob)
        RETURN_IF_ERROR(recount_.AddLeaseHold(raw, -1, ""));
      else
        Report("missing_blob", subject, "lease holds a blob with no record");
    }
    RETURN_IF_ERROR(it.status());
    auto back = txn_.Scan(kBlobLeases, "");
    for (; back.Valid(); back.Next()) {
      std::string_view key = back.key();
      std::string_view raw = key.substr(0, kRawIdSize), ns, lease;
      if (key.size() <= kRawIdSize || !SplitNs(key.substr(kRawIdSize), &ns, &lease)) continue;
      ASSIGN_OR_RETURN(auto fwd, txn_.Get(kLeaseBlobs, LeaseBlobKey(ns, lease, raw)));
      if (!fwd) {
        Report("lease_index", Cat(ns, "/", lease, "/", RawToDigest(raw)),
               "blob_leases entry without lease content");
      }
    }
    return back.status();
  }

  absl::Status CheckContainers() {
    auto it = txn_.Scan(kContainers, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, cid;
      if (!SplitNs(it.key(), &ns, &cid)) continue;
      std::string subject = Cat(ns, "/", RawToHex(cid));
      absl::StatusOr<ContainerRecord> c = DecodeContainer(it.value(), subject);
      if (!c.ok()) {
        Report("corrupt_record", subject, std::string(c.status().message()));
        continue;
      }
      ASSIGN_OR_RETURN(auto h, txn_.Get(kHolders, HolderKey(ns, c->image_raw, cid)));
      if (!h || *h != (c->running ? "1" : "0")) {
        Report("holder_index", subject, "holder entry missing or with the wrong state");
      }
      ASSIGN_OR_RETURN(auto img, txn_.Get(kImages, ImageKey(ns, c->image_raw)));
      if (!img) {
        Inform("container_without_image", subject,
               Cat("its image ", RawToDigest(c->image_raw), " was force-removed"));
      }
    }
    RETURN_IF_ERROR(it.status());
    auto h = txn_.Scan(kHolders, "");
    for (; h.Valid(); h.Next()) {
      std::string_view ns, rest;
      if (!SplitNs(h.key(), &ns, &rest) || rest.size() != 2 * kRawIdSize) continue;
      std::string_view id = rest.substr(0, kRawIdSize), cid = rest.substr(kRawIdSize);
      ASSIGN_OR_RETURN(auto c, txn_.GetContainer(ns, cid));
      if (!c || c->image_raw != id) {
        Report("holder_index", Cat(ns, "/", RawToHex(cid)),
               "holder entry without a matching container");
      }
    }
    return h.status();
  }

  // Merges the recount (in digest order) with the blobs column family.
  absl::Status CheckBlobs() {
    static const ExpectedBlob kNothing;
    auto it = txn_.Scan(kBlobs, "");
    RETURN_IF_ERROR(recount_.ForEach([&](const ExpectedBlob& r) -> absl::Status {
      // Records before this digest: nothing holds them.
      for (; it.Valid() && it.key() < std::string_view(r.raw); it.Next()) {
        RETURN_IF_ERROR(CheckBlob(it.key(), it.value(), kNothing));
      }
      if (it.Valid() && it.key() == r.raw) {
        RETURN_IF_ERROR(CheckBlob(it.key(), it.value(), r));
        it.Next();
      } else {
        RETURN_IF_ERROR(it.status());
        Report("missing_blob", RawToDigest(r.raw),
               Cat("held by ", Describe(r.rec.uses, r.rec.lease_refs), " but has no record"));
      }
      return absl::OkStatus();
    }));
    for (; it.Valid(); it.Next()) RETURN_IF_ERROR(CheckBlob(it.key(), it.value(), kNothing));
    return it.status();
  }

  // Compares blob record `raw` -> `value` with what the recount says.
  absl::Status CheckBlob(std::string_view key, std::string_view value, const ExpectedBlob& r) {
    std::string raw(key);
    std::string subject = RawToDigest(raw);
    absl::StatusOr<BlobRecord> b = DecodeBlob(value, subject);
    if (!b.ok()) {
      Report("corrupt_record", subject, std::string(b.status().message()));
      return absl::OkStatus();
    }
    if (!SameUses(r.rec.uses, b->uses) || r.rec.lease_refs != b->lease_refs) {
      Report("count_drift", subject,
             Cat("stored ", Describe(b->uses, b->lease_refs), ", recounted ",
                 Describe(r.rec.uses, r.rec.lease_refs)));
    }
    CheckOwner(subject, *b, r);
    if (content_) RETURN_IF_ERROR(CheckFile(raw, *b));
    if (b->uses.empty() && b->lease_refs == 0) {
      Report("unreferenced_blob", subject, "a blob record that nothing holds");
    }
    for (int64_t size : r.sizes) {
      if (size != b->size) {
        Report("size_mismatch", subject, Cat("record says ", b->size, ", an image says ", size));
      }
    }
    // The df figures follow from the blob records.
    ForEachContribution(*b, +1, [&](std::string_view ns, const NsStats& c) {
      recounted_stats_[std::string(ns)] += c;
    });
    return absl::OkStatus();
  }

  absl::Status CheckStats() {
    auto it = txn_.Scan(kStats, "");
    for (; it.Valid(); it.Next()) {
      std::string ns(it.key());
      absl::StatusOr<NsStats> stored = DecodeStats(it.value(), Cat("stats/", ns));
      if (!stored.ok()) {
        Report("corrupt_record", Cat("stats/", ns), std::string(stored.status().message()));
        continue;
      }
      NsStats expected = recounted_stats_[ns];
      recounted_stats_.erase(ns);
      if (!(*stored == expected)) {
        Report("stats_drift", ns,
               Cat("stored ", Describe(*stored), ", recounted ", Describe(expected)));
      }
    }
    RETURN_IF_ERROR(it.status());
    for (const auto& [ns, expected] : recounted_stats_) {
      if (!expected.IsZero()) {
        Report("stats_drift", ns, Cat("no stored figures, recounted ", Describe(expected)));
      }
    }
    return absl::OkStatus();
  }

  // An owner named by the blob record, and only then, flags the blob owned;
  // an owned blob has exactly that one use and no lease.
  void CheckOwner(const std::string& subject, const BlobRecord& b, const ExpectedBlob& r) {
    const bool stored = !b.owner_id.empty();
    const size_t flagged = r.flagged.size();
    if (flagged > 1 || stored != (flagged == 1) ||
        (stored && r.flagged[0] != std::make_pair(b.owner_ns, b.owner_id))) {
      Report("owner_mismatch", subject,
             Cat("record names '", stored ? Cat(b.owner_ns, "/", RawToDigest(b.owner_id)) : "",
                 "', ", flagged, " images flag it owned"));
      return;
    }
    if (stored && (b.lease_refs != 0 || b.uses.size() != 1 || b.uses[0].refs != 1 ||
                   b.uses[0].ns != b.owner_ns)) {
      Report("owner_mismatch", subject, "owned blob with other users or leases");
    }
  }

  static bool SameUses(const std::vector<NsUse>& a, const std::vector<NsUse>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].ns != b[i].ns || a[i].refs != b[i].refs || a[i].held != b[i].held) return false;
    }
    return true;
  }

  static std::string Describe(const std::vector<NsUse>& uses, uint64_t lease_refs) {
    std::string out = Cat("leases=", lease_refs);
    for (const auto& u : uses) out += Cat(" ", u.ns, ":images=", u.refs, ",held=", u.held);
    return out;
  }

  static std::string Describe(const NsStats& s) {
    return Cat("images=", s.images, " active=", s.active, " size=", s.size,
               " shared=", s.shared_size, " reclaimable=", s.reclaimable);
  }

  Txn& txn_;
  Txn& latest_;
  const content::ContentDir* content_;
  Mutex& write_mu_;
  const CheckOptions& options_;
  int64_t checked_ = 0;
  // Every blob's holders, sorted by digest (bounded memory: recount.h).
  BlobRecount recount_;
  std::map<std::string, NsStats, std::less<>> recounted_stats_;
  std::vector<Problem> problems_;
};

}  // namespace

absl::StatusOr<std::vector<Problem>> CheckStore(const StoreAccess& store,
                                                const CheckOptions& options) {
  const rocksdb::Snapshot* snap = store.snapshots ? store.db->GetSnapshot() : nullptr;
  absl::StatusOr<std::vector<Problem>> problems;
  {
    Txn txn(store.db, store.cfs, snap);
    std::unique_ptr<Txn> latest = store.NewTxn();
    problems = Checker(txn, *latest, store.content, *store.write_mu, options).Run();
  }
  if (snap) store.db->ReleaseSnapshot(snap);
  return problems;
}

}  // namespace refstore::internal
