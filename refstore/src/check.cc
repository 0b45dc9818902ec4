// Check: recomputes every count and relation from scratch over one snapshot
// and reports each difference from what is stored.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "strcat.h"
#include "mutate.h"
#include "status_macros.h"
#include "store_impl.h"

namespace refstore::internal {
namespace {

// What the recount found for one blob. Kept small: a store has millions.
struct Recount {
  absl::InlinedVector<NsUse, 1> uses;  // sorted by namespace
  uint32_t lease_refs = 0;
  uint32_t owners = 0;      // images flagging the blob owned
  uint64_t owner_hash = 0;  // OwnerHash of the (last) one
  int64_t size = -1;        // as the first image or lease declared it
};

using RawKey = std::array<char, kRawIdSize>;

RawKey ToKey(std::string_view raw) {
  RawKey key{};
  std::memcpy(key.data(), raw.data(), std::min(raw.size(), key.size()));
  return key;
}

uint64_t OwnerHash(std::string_view ns, std::string_view id) {
  return std::hash<std::string>()(Cat(ns, "/", id));
}

class Checker {
 public:
  explicit Checker(Txn& txn) : txn_(txn) {}

  absl::StatusOr<std::vector<Problem>> Run() {
    RETURN_IF_ERROR(CheckImages());
    RETURN_IF_ERROR(CheckRefs());
    RETURN_IF_ERROR(CheckDangling());
    RETURN_IF_ERROR(CheckLeases());
    RETURN_IF_ERROR(CheckContainers());
    RETURN_IF_ERROR(CheckBlobs());
    RETURN_IF_ERROR(CheckStats());
    return std::move(problems_);
  }

 private:
  void Report(std::string category, std::string subject, std::string detail) {
    problems_.push_back({std::move(category), std::move(subject), std::move(detail)});
  }

  // Counts one holder of `d`: an image of `ns` (held or not), or a lease
  // when `ns` is null.
  void Count(const StoredDescriptor& d, const std::string_view* ns, bool held,
             std::string_view who) {
    Recount& r = counts_[ToKey(d.raw_digest)];
    if (r.size < 0) r.size = d.size;
    if (r.size != d.size) {
      Report("size_mismatch", RawToDigest(d.raw_digest),
             Cat(who, " declares ", d.size, ", another holder ", r.size));
    }
    if (!ns) {
      ++r.lease_refs;
      return;
    }
    auto u = std::lower_bound(r.uses.begin(), r.uses.end(), *ns,
                              [](const NsUse& a, std::string_view n) { return a.ns < n; });
    if (u == r.uses.end() || u->ns != *ns) u = r.uses.insert(u, NsUse{std::string(*ns), 0, 0});
    ++u->refs;
    if (held) ++u->held;
  }

  absl::Status CheckImages() {
    auto it = txn_.Scan(kImages, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, id;
      std::string subject = Printable(it.key());
      if (!SplitNs(it.key(), &ns, &id) || id.size() != kRawIdSize) {
        Report("bad_key", subject, "image key is not namespace/id");
        continue;
      }
      subject = Cat(ns, "/", RawToDigest(id));
      absl::StatusOr<ImageRecord> img = DecodeImage(it.value(), subject);
      if (!img.ok()) {
        Report("corrupt_record", subject, std::string(img.status().message()));
        continue;
      }
      if (img->target.raw_digest != id) Report("id_mismatch", subject, "target digest differs");
      ASSIGN_OR_RETURN(auto dref, txn_.Get(kRefs, DigestRefKey(ns, id)));
      if (!dref) Report("image_without_digest_ref", subject, "no digest reference");
      ASSIGN_OR_RETURN(auto dangling, txn_.Get(kDangling, DanglingKey(ns, id)));
      if (img->names.empty() != dangling.has_value()) {
        Report("dangling_index", subject,
               img->names.empty() ? "nameless image not indexed as dangling"
                                  : "named image indexed as dangling");
      }
      for (const auto& n : img->names) {
        ASSIGN_OR_RETURN(auto target, txn_.GetName(ns, n.full));
        if (!target || *target != id) {
          Report("name_mismatch", Cat(ns, "/", n.full),
                 Cat("image ", RawToDigest(id), " has the name, the name points ",
                              target ? "elsewhere" : "nowhere"));
        }
      }
      ASSIGN_OR_RETURN(auto holders, Holders(txn_, ns, id));
      if (holders.size() != img->holders) {
        Report("holder_count", subject,
               Cat("record says ", img->holders, ", holder entries ", holders.size()));
      }
      NsStats& stats = recounted_stats_[std::string(ns)];
      ++stats.images;
      if (!holders.empty()) ++stats.active;
      for (const StoredDescriptor* d : ImageBlobs(*img)) {
        Count(*d, &ns, !holders.empty(), subject);
        if (d->owned) {
          Recount& r = counts_[ToKey(d->raw_digest)];
          ++r.owners;
          r.owner_hash = OwnerHash(ns, id);
        }
      }
    }
    return it.status();
  }

  absl::Status CheckRefs() {
    auto it = txn_.Scan(kRefs, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, rest;
      if (!SplitNs(it.key(), &ns, &rest) || rest.empty()) {
        Report("bad_key", Printable(it.key()), "reference key is not namespace/kind/name");
        continue;
      }
      const char kind = rest[0];
      rest.remove_prefix(1);
      if (kind == 'D') {
        ASSIGN_OR_RETURN(auto img, txn_.Get(kImages, ImageKey(ns, rest)));
        if (!img) {
          Report("digest_ref_without_image", Cat(ns, "/", RawToDigest(rest)),
                 "digest reference of a missing image");
        }
      } else if (kind == 'N') {
        std::string subject = Cat(ns, "/", rest);
        std::string id(it.value());
        absl::StatusOr<std::optional<ImageRecord>> img = txn_.GetImage(ns, id);
        if (!img.ok() || !*img) {
          Report("name_to_missing_image", subject, RawToDigest(id));
          continue;
        }
        bool has = false;
        for (const auto& n : (*img)->names) has = has || n.full == rest;
        if (!has) Report("name_not_in_image", subject, RawToDigest(id));
      } else {
        Report("bad_key", Printable(it.key()), "unknown reference kind");
      }
    }
    return it.status();
  }

  absl::Status CheckDangling() {
    auto it = txn_.Scan(kDangling, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, id;
      if (!SplitNs(it.key(), &ns, &id)) continue;
      ASSIGN_OR_RETURN(auto img, txn_.Get(kImages, ImageKey(ns, id)));
      if (!img) Report("dangling_index", Cat(ns, "/", RawToDigest(id)), "no such image");
    }
    return it.status();
  }

  absl::Status CheckLeases() {
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
      if (blob) Count({std::string(raw), blob->size, ""}, nullptr, false, subject);
      else Report("missing_blob", subject, "lease holds a blob with no record");
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
      // A container whose image was force-removed is not a finding.
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

  absl::Status CheckBlobs() {
    auto it = txn_.Scan(kBlobs, "");
    for (; it.Valid(); it.Next()) {
      std::string raw(it.key());
      std::string subject = RawToDigest(raw);
      absl::StatusOr<BlobRecord> b = DecodeBlob(it.value(), subject);
      if (!b.ok()) {
        Report("corrupt_record", subject, std::string(b.status().message()));
        continue;
      }
      auto found = counts_.find(ToKey(raw));
      Recount r = found == counts_.end() ? Recount{} : found->second;
      if (found != counts_.end()) counts_.erase(found);
      std::vector<NsUse> uses(r.uses.begin(), r.uses.end());
      if (!SameUses(uses, b->uses) || r.lease_refs != b->lease_refs) {
        Report("count_drift", subject,
               Cat("stored ", Describe(b->uses, b->lease_refs), ", recounted ",
                   Describe(uses, r.lease_refs)));
      }
      CheckOwner(subject, *b, r);
      if (b->uses.empty() && b->lease_refs == 0) {
        Report("unreferenced_blob", subject, "a blob record that nothing holds");
      }
      if (r.size >= 0 && r.size != b->size) {
        Report("size_mismatch", subject, Cat("record says ", b->size, ", holders say ", r.size));
      }
      // The df figures follow from the blob records.
      ForEachContribution(*b, +1, [&](std::string_view ns, const NsStats& c) {
        recounted_stats_[std::string(ns)] += c;
      });
    }
    RETURN_IF_ERROR(it.status());
    for (const auto& [raw, r] : counts_) {
      Report("missing_blob", RawToDigest(std::string_view(raw.data(), raw.size())),
             Cat("held by ", Describe({}, r.lease_refs), " and images but has no record"));
    }
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
        Report("stats_drift", ns, Cat("stored ", Describe(*stored), ", recounted ",
                                      Describe(expected)));
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
  void CheckOwner(const std::string& subject, const BlobRecord& b, const Recount& r) {
    const bool stored = !b.owner_id.empty();
    if (r.owners > 1 || stored != (r.owners == 1) ||
        (stored && r.owner_hash != OwnerHash(b.owner_ns, b.owner_id))) {
      Report("owner_mismatch", subject,
             Cat("record names '", stored ? Cat(b.owner_ns, "/", RawToDigest(b.owner_id)) : "",
                 "', ", r.owners, " images flag it owned"));
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
  absl::flat_hash_map<RawKey, Recount> counts_;
  std::map<std::string, NsStats, std::less<>> recounted_stats_;
  std::vector<Problem> problems_;
};

}  // namespace

absl::StatusOr<std::vector<Problem>> StoreImpl::Check() {
  SnapshotTxn st(db_.get(), &cfs_);
  return Checker(st.txn()).Run();
}

}  // namespace refstore::internal
