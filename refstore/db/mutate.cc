#include "refstore/db/mutate.h"

#include <algorithm>

#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// Writes blob `raw` going from `before` to `after` (either may be null: a
// new or a deleted record) and moves the df figures of the namespaces
// involved accordingly. Every change of a blob record goes through here.
void WriteBlob(Txn& txn, std::string_view raw, const BlobRecord* before, const BlobRecord* after) {
  auto add = [&](std::string_view ns, const NsStats& d) { txn.StatsDelta(ns) += d; };
  if (before) ForEachContribution(*before, -1, add);
  if (after) ForEachContribution(*after, +1, add);
  if (after) {
    txn.PutBlob(raw, *after);
  } else {
    txn.DeleteBlob(raw);
  }
}

// Whether some live lease holds blob `raw`.
absl::StatusOr<bool> AnyLiveLease(Txn& txn, std::string_view raw, int64_t now_ns) {
  ASSIGN_OR_RETURN(auto holds, LeasesHolding(txn, raw));
  for (const auto& [ns, lease] : holds) {
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ns, lease));
    if (rec && LeaseIsLive(*rec, now_ns)) return true;
  }
  return false;
}

// Frees blob `raw`: drops the holds of the (expired) leases still on it and
// deletes its record.
absl::Status FreeBlob(Txn& txn, std::string_view raw, const BlobRecord& before, Freed* freed) {
  if (before.lease_refs > 0) {
    std::vector<std::string> keys;
    auto it = txn.Scan(kBlobLeases, raw);
    for (; it.Valid(); it.Next()) keys.emplace_back(it.key());
    RETURN_IF_ERROR(it.status());
    for (const auto& k : keys) {
      std::string_view ns, lease;
      SplitNs(std::string_view(k).substr(raw.size()), &ns, &lease);
      txn.Delete(kLeaseBlobs, LeaseBlobKey(ns, lease, raw));
      txn.Delete(kBlobLeases, k);
    }
  }
  WriteBlob(txn, raw, &before, nullptr);
  // The file goes to the collector in this same write.
  if (txn.content()) txn.Put(kGarbage, raw, EncodeGarbage({before.size}));
  freed->bytes += before.size;
  freed->blobs.push_back({std::string(raw), before.size, before.media_type});
  return absl::OkStatus();
}

// Writes `after` back, or frees the blob when nothing live holds it any more.
absl::Status SettleBlob(Txn& txn, std::string_view raw, const BlobRecord& before,
                        const BlobRecord& after, int64_t now_ns, Freed* freed) {
  if (after.image_refs() == 0) {
    bool live = false;
    if (after.lease_refs > 0) {
      ASSIGN_OR_RETURN(live, AnyLiveLease(txn, raw, now_ns));
    }
    if (!live) {
      return FreeBlob(txn, raw, before, freed);
    }
  }
  WriteBlob(txn, raw, &before, &after);
  return absl::OkStatus();
}

absl::StatusOr<BlobRecord> MustGetBlob(Txn& txn, std::string_view raw) {
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
  if (!blob) return absl::DataLossError(Cat("missing blob record ", RawToDigest(raw)));
  return *std::move(blob);
}

// The blob's record, or nullopt for a new blob; InvalidArgument when the
// recorded size differs from the descriptor's.
absl::StatusOr<std::optional<BlobRecord>> ExistingBlob(Txn& txn, const StoredDescriptor& d) {
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(d.raw_digest));
  if (blob && blob->size != d.size) {
    return absl::InvalidArgumentError(Cat("size ", d.size, " of ", RawToDigest(d.raw_digest),
                                          " differs from the recorded size ", blob->size));
  }
  return blob;
}

// A blob record is about to be created for `d`. With a content store, its
// file must be there, of the declared size; a garbage record for it (its
// old copy awaiting collection, or a publication in progress) is dropped in
// the same write, so that the collector leaves the file alone.
absl::Status ContentArrives(Txn& txn, const StoredDescriptor& d) {
  if (!txn.content()) return absl::OkStatus();
  const std::string hex = RawToHex(d.raw_digest);
  ASSIGN_OR_RETURN(std::optional<int64_t> size, txn.content()->BlobSize(hex));
  if (!size) {
    return absl::NotFoundError(Cat("content sha256:", hex, " is not in the content store"));
  }
  if (*size != d.size) {
    return absl::InvalidArgumentError(
        Cat("content sha256:", hex, " has ", *size, " bytes in the content store, not ", d.size));
  }
  txn.Delete(kGarbage, d.raw_digest);
  return absl::OkStatus();
}

// Ends the ownership of blob `raw` (whose record is `blob`): clears the flag
// in the owner image's record and the owner in `blob` (which the caller
// writes).
absl::Status Disown(Txn& txn, std::string_view raw, BlobRecord& blob) {
  ASSIGN_OR_RETURN(auto owner, txn.GetImage(blob.owner_ns, blob.owner_id));
  bool found = false;
  if (owner) {
    for (StoredDescriptor* d : MutableImageBlobs(*owner)) {
      if (d->raw_digest == raw && d->owned) {
        d->owned = false;
        found = true;
      }
    }
  }
  if (!found) {
    return absl::DataLossError(Cat("blob ", RawToDigest(raw), " names owner ", blob.owner_ns, "/",
                                   RawToDigest(blob.owner_id), ", which does not own it"));
  }
  txn.PutImage(blob.owner_ns, blob.owner_id, *owner);
  blob.owner_ns.clear();
  blob.owner_id.clear();
  return absl::OkStatus();
}

absl::Status CountDrift(std::string_view what, std::string_view raw, std::string_view ns) {
  return absl::DataLossError(
      Cat(what, " of ", RawToDigest(raw), " in namespace ", ns, " is already 0"));
}

}  // namespace

absl::Status CheckBlobSize(Txn& txn, const StoredDescriptor& d) {
  return ExistingBlob(txn, d).status();
}

bool LeaseIsLive(const LeaseRecord& r, int64_t now_ns) {
  return !r.has_expiry || now_ns < r.expires_ns;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LeasesHolding(
    Txn& txn, std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> holds;
  auto it = txn.Scan(kBlobLeases, raw);
  for (; it.Valid(); it.Next()) {
    std::string_view ns, lease;
    if (SplitNs(it.rest(), &ns, &lease)) holds.emplace_back(ns, lease);
  }
  RETURN_IF_ERROR(it.status());
  return holds;
}

absl::Status AddImageRef(Txn& txn, std::string_view ns, std::string_view id, StoredDescriptor& d,
                         bool held, bool can_own) {
  ASSIGN_OR_RETURN(auto before, ExistingBlob(txn, d));
  if (!before) RETURN_IF_ERROR(ContentArrives(txn, d));
  BlobRecord after = before ? *before : BlobRecord{.size = d.size, .media_type = d.media_type};
  d.owned = !before && can_own;
  if (d.owned) {
    after.owner_ns = ns;
    after.owner_id = id;
  } else if (!after.owner_id.empty()) {
    RETURN_IF_ERROR(Disown(txn, d.raw_digest, after));
  }
  NsUse& use = after.Use(ns);
  ++use.refs;
  if (held) ++use.held;
  WriteBlob(txn, d.raw_digest, before ? &*before : nullptr, &after);
  return absl::OkStatus();
}

absl::Status DropImageRef(Txn& txn, std::string_view ns, const StoredDescriptor& d, bool held,
                          int64_t now_ns, Freed* freed) {
  const std::string& raw = d.raw_digest;
  if (d.owned) {  // the record is known: this image's use only
    BlobRecord before{.size = d.size, .media_type = d.media_type};
    before.Use(ns) = NsUse{std::string(ns), 1, held ? 1u : 0u};
    return FreeBlob(txn, raw, before, freed);
  }
  ASSIGN_OR_RETURN(BlobRecord before, MustGetBlob(txn, raw));
  BlobRecord after = before;
  NsUse& use = after.Use(ns);
  if (use.refs == 0) return CountDrift("image count", raw, ns);
  if (held && use.held == 0) return CountDrift("held count", raw, ns);
  --use.refs;
  if (held) --use.held;
  if (use.refs == 0) {
    std::erase_if(after.uses, [&](const NsUse& u) { return u.ns == ns; });
  }
  return SettleBlob(txn, raw, before, after, now_ns, freed);
}

absl::Status SetBlobsHeld(Txn& txn, std::string_view ns, const ImageRecord& img, bool held) {
  for (const StoredDescriptor* d : ImageBlobs(img)) {
    ASSIGN_OR_RETURN(BlobRecord before, MustGetBlob(txn, d->raw_digest));
    BlobRecord after = before;
    NsUse& use = after.Use(ns);
    if (use.refs == 0 || (!held && use.held == 0)) {
      return CountDrift("held count", d->raw_digest, ns);
    }
    held ? ++use.held : --use.held;
    WriteBlob(txn, d->raw_digest, &before, &after);
  }
  return absl::OkStatus();
}

absl::Status ChangeHolders(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                           int delta) {
  if (delta < 0 && img.holders == 0) return CountDrift("holder count", id, ns);
  const bool was_protected = Protected(img);
  img.holders += delta;
  txn.PutImage(ns, id, img);
  const bool now_held = delta > 0 && img.holders == 1;
  const bool now_free = delta < 0 && img.holders == 0;
  if (now_held || now_free) txn.StatsDelta(ns).active += now_held ? 1 : -1;
  if (Protected(img) == was_protected) return absl::OkStatus();  // a pin kept it protected
  return SetBlobsHeld(txn, ns, img, Protected(img));
}

absl::Status AddLeaseRef(Txn& txn, std::string_view ns, std::string_view lease,
                         const StoredDescriptor& d) {
  std::string key = LeaseBlobKey(ns, lease, d.raw_digest);
  ASSIGN_OR_RETURN(auto held, txn.Get(kLeaseBlobs, key));
  ASSIGN_OR_RETURN(auto before, ExistingBlob(txn, d));  // checks the size either way
  if (held) return absl::OkStatus();
  if (!before) RETURN_IF_ERROR(ContentArrives(txn, d));
  BlobRecord after = before ? *before : BlobRecord{.size = d.size, .media_type = d.media_type};
  if (!after.owner_id.empty()) RETURN_IF_ERROR(Disown(txn, d.raw_digest, after));
  ++after.lease_refs;
  WriteBlob(txn, d.raw_digest, before ? &*before : nullptr, &after);
  txn.Put(kLeaseBlobs, key, "");
  txn.Put(kBlobLeases, BlobLeaseKey(d.raw_digest, ns, lease), "");
  return absl::OkStatus();
}

absl::Status DropLease(Txn& txn, std::string_view ns, std::string_view lease, int64_t now_ns,
                       Freed* freed) {
  std::vector<std::string> raws;
  {
    auto it = txn.Scan(kLeaseBlobs, LeaseBlobPrefix(ns, lease));
    for (; it.Valid(); it.Next()) raws.emplace_back(it.rest());
    RETURN_IF_ERROR(it.status());
  }
  // The lease goes first, so that it no longer counts as live below.
  txn.Delete(kLeases, LeaseKey(ns, lease));
  for (const auto& raw : raws) {
    txn.Delete(kLeaseBlobs, LeaseBlobKey(ns, lease, raw));
    txn.Delete(kBlobLeases, BlobLeaseKey(raw, ns, lease));
    // Freed already in this change, with this lease's hold (another expired
    // lease's drop freed it; a discarding Txn still lists the hold).
    if (txn.FreedHere(raw)) continue;
    ASSIGN_OR_RETURN(BlobRecord before, MustGetBlob(txn, raw));
    if (before.lease_refs == 0) {
      return absl::DataLossError(Cat("lease count of ", RawToDigest(raw), " is already 0"));
    }
    BlobRecord after = before;
    --after.lease_refs;
    RETURN_IF_ERROR(SettleBlob(txn, raw, before, after, now_ns, freed));
  }
  return absl::OkStatus();
}

absl::Status SetName(Txn& txn, std::string_view ns, std::string_view id, std::string_view full,
                     int64_t now_ns) {
  ASSIGN_OR_RETURN(auto current, txn.GetName(ns, full));
  if (current && *current == id) return absl::OkStatus();
  if (current) {
    ASSIGN_OR_RETURN(auto old, txn.GetImage(ns, *current));
    if (!old) {
      return absl::DataLossError(
          Cat("name ", full, " points to missing image ", RawToDigest(*current)));
    }
    txn.Delete(kNames, ImageNameKey(ns, *current, full));
    ASSIGN_OR_RETURN(bool left, HasNames(txn, ns, *current));
    if (!left) MarkDangling(txn, ns, *current, *old, now_ns);
  }
  // The dangling index says whether the image has a name (DESIGN.md).
  ASSIGN_OR_RETURN(auto dangling, txn.Get(kDangling, DanglingKey(ns, id)));
  if (dangling) txn.Delete(kDangling, DanglingKey(ns, id));
  txn.Put(kRefs, NameKey(ns, full), id);
  txn.Put(kNames, ImageNameKey(ns, id, full), EncodeNameValue(now_ns));
  return absl::OkStatus();
}

absl::StatusOr<bool> HasNames(Txn& txn, std::string_view ns, std::string_view id) {
  auto it = txn.Scan(kNames, ImageNamesPrefix(ns, id));
  const bool any = it.Valid();
  RETURN_IF_ERROR(it.status());
  return any;
}

void MarkDangling(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                  int64_t now_ns) {
  img.dangling_since_ns = now_ns;
  txn.Put(kDangling, DanglingKey(ns, id), "");
  txn.PutImage(ns, id, img);
}

void RemoveNames(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                 const std::vector<std::string>& names, bool none_left, int64_t now_ns) {
  for (const auto& n : names) {
    txn.Delete(kRefs, NameKey(ns, n));
    txn.Delete(kNames, ImageNameKey(ns, id, n));
  }
  if (none_left) MarkDangling(txn, ns, id, img, now_ns);
}

std::vector<std::string> FullNames(const std::vector<NameEntry>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(n.full);
  return out;
}

std::vector<StoredDescriptor*> MutableImageBlobs(ImageRecord& img) {
  std::vector<StoredDescriptor*> out;
  out.reserve(img.content.size() + 1);
  out.push_back(&img.target);
  for (auto& d : img.content) out.push_back(&d);
  return out;
}

std::vector<const StoredDescriptor*> ImageBlobs(const ImageRecord& img) {
  std::vector<const StoredDescriptor*> out;
  out.reserve(img.content.size() + 1);
  out.push_back(&img.target);
  for (const auto& d : img.content) out.push_back(&d);
  return out;
}

absl::Status InsertImage(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                         std::string_view lease, bool named) {
  ASSIGN_OR_RETURN(auto holders, Holders(txn, ns, id));
  img.holders = holders.size();
  const bool held = !holders.empty();
  for (StoredDescriptor* d : MutableImageBlobs(img)) {
    // Content written under a lease is held by the lease too: not owned.
    RETURN_IF_ERROR(AddImageRef(txn, ns, id, *d, held, /*can_own=*/lease.empty()));
    if (!lease.empty()) RETURN_IF_ERROR(AddLeaseRef(txn, ns, lease, *d));
  }
  txn.Put(kRefs, DigestRefKey(ns, id), "");
  if (!named) txn.Put(kDangling, DanglingKey(ns, id), "");
  txn.PutImage(ns, id, img);
  NsStats& stats = txn.StatsDelta(ns);
  ++stats.images;
  if (held) ++stats.active;
  return absl::OkStatus();
}

absl::Status DeleteImage(Txn& txn, std::string_view ns, std::string_view id, const ImageRecord& img,
                         const std::vector<NameEntry>& names, int64_t now_ns, Freed* freed) {
  const bool held = Protected(img);
  for (const auto& n : names) {
    txn.Delete(kRefs, NameKey(ns, n.full));
    txn.Delete(kNames, ImageNameKey(ns, id, n.full));
  }
  if (names.empty()) txn.Delete(kDangling, DanglingKey(ns, id));
  txn.Delete(kRefs, DigestRefKey(ns, id));
  txn.Delete(kImages, ImageKey(ns, id));
  for (const StoredDescriptor* d : ImageBlobs(img)) {
    RETURN_IF_ERROR(DropImageRef(txn, ns, *d, held, now_ns, freed));
  }
  NsStats& stats = txn.StatsDelta(ns);
  --stats.images;
  if (img.holders > 0) --stats.active;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, bool>>> Holders(Txn& txn, std::string_view ns,
                                                                  std::string_view id) {
  std::vector<std::pair<std::string, bool>> out;
  auto it = txn.Scan(kHolders, HolderPrefix(ns, id));
  for (; it.Valid(); it.Next()) out.emplace_back(std::string(it.rest()), it.value() == "1");
  RETURN_IF_ERROR(it.status());
  return out;
}

}  // namespace refstore::internal
