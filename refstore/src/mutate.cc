#include "mutate.h"

#include <algorithm>

#include "strcat.h"
#include "status_macros.h"

namespace refstore::internal {
namespace {

// Whether some live lease holds blob `raw`.
absl::StatusOr<bool> AnyLiveLease(Txn& txn, std::string_view raw, int64_t now_ns) {
  std::vector<std::pair<std::string, std::string>> holds;  // (ns, lease)
  for (auto it = txn.Scan(kBlobLeases, raw); it.Valid(); it.Next()) {
    std::string_view ns, lease;
    if (SplitNs(it.rest(), &ns, &lease)) holds.emplace_back(ns, lease);
  }
  for (const auto& [ns, lease] : holds) {
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ns, lease));
    if (rec && LeaseIsLive(*rec, now_ns)) return true;
  }
  return false;
}

// Frees blob `raw`: drops the holds of the (expired) leases still on it and
// deletes its record.
absl::Status FreeBlob(Txn& txn, std::string_view raw, const BlobRecord& blob, Freed* freed) {
  if (blob.lease_refs > 0) {
    std::vector<std::string> keys;
    for (auto it = txn.Scan(kBlobLeases, raw); it.Valid(); it.Next()) keys.emplace_back(it.key());
    for (const auto& k : keys) {
      std::string_view ns, lease;
      SplitNs(std::string_view(k).substr(raw.size()), &ns, &lease);
      txn.Delete(kLeaseBlobs, LeaseBlobKey(ns, lease, raw));
      txn.Delete(kBlobLeases, k);
    }
  }
  txn.Delete(kBlobs, raw);
  freed->bytes += blob.size;
  freed->blobs.push_back({std::string(raw), blob.size, blob.media_type});
  return absl::OkStatus();
}

// Writes `blob` back, or frees it when nothing live holds it any more.
absl::Status SettleBlob(Txn& txn, std::string_view raw, const BlobRecord& blob, int64_t now_ns,
                        Freed* freed) {
  if (blob.image_refs == 0) {
    bool live = false;
    if (blob.lease_refs > 0) {
      ASSIGN_OR_RETURN(live, AnyLiveLease(txn, raw, now_ns));
    }
    if (!live) return FreeBlob(txn, raw, blob, freed);
  }
  txn.PutBlob(raw, blob);
  return absl::OkStatus();
}

absl::StatusOr<BlobRecord> MustGetBlob(Txn& txn, std::string_view raw) {
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
  if (!blob) return absl::DataLossError(Cat("missing blob record ", RawToDigest(raw)));
  return *blob;
}

absl::StatusOr<BlobRecord> BlobFor(Txn& txn, const StoredDescriptor& d) {
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(d.raw_digest));
  if (!blob) return BlobRecord{.size = d.size, .media_type = d.media_type};
  if (blob->size != d.size) {
    return absl::InvalidArgumentError(Cat("size ", d.size, " of ",
                                                   RawToDigest(d.raw_digest),
                                                   " differs from the recorded size ", blob->size));
  }
  return *blob;
}

}  // namespace

absl::Status CheckBlobSize(Txn& txn, const StoredDescriptor& d) {
  return BlobFor(txn, d).status();
}

bool LeaseIsLive(const LeaseRecord& r, int64_t now_ns) {
  return !r.has_expiry || now_ns < r.expires_ns;
}

absl::Status AddImageRef(Txn& txn, const StoredDescriptor& d) {
  ASSIGN_OR_RETURN(BlobRecord blob, BlobFor(txn, d));
  ++blob.image_refs;
  txn.PutBlob(d.raw_digest, blob);
  return absl::OkStatus();
}

absl::Status DropImageRef(Txn& txn, std::string_view raw, int64_t now_ns, Freed* freed) {
  ASSIGN_OR_RETURN(BlobRecord blob, MustGetBlob(txn, raw));
  if (blob.image_refs == 0) {
    return absl::DataLossError(Cat("image count of ", RawToDigest(raw), " is 0"));
  }
  --blob.image_refs;
  return SettleBlob(txn, raw, blob, now_ns, freed);
}

absl::Status AddLeaseRef(Txn& txn, std::string_view ns, std::string_view lease,
                         const StoredDescriptor& d) {
  std::string key = LeaseBlobKey(ns, lease, d.raw_digest);
  ASSIGN_OR_RETURN(auto held, txn.Get(kLeaseBlobs, key));
  ASSIGN_OR_RETURN(BlobRecord blob, BlobFor(txn, d));  // checks the size either way
  if (held) return absl::OkStatus();
  ++blob.lease_refs;
  txn.PutBlob(d.raw_digest, blob);
  txn.Put(kLeaseBlobs, key, "");
  txn.Put(kBlobLeases, BlobLeaseKey(d.raw_digest, ns, lease), "");
  return absl::OkStatus();
}

absl::Status DropLease(Txn& txn, std::string_view ns, std::string_view lease, int64_t now_ns,
                       Freed* freed) {
  std::vector<std::string> raws;
  for (auto it = txn.Scan(kLeaseBlobs, LeaseBlobPrefix(ns, lease)); it.Valid(); it.Next()) {
    raws.emplace_back(it.rest());
  }
  // The lease goes first, so that it no longer counts as live below.
  txn.Delete(kLeases, LeaseKey(ns, lease));
  for (const auto& raw : raws) {
    txn.Delete(kLeaseBlobs, LeaseBlobKey(ns, lease, raw));
    txn.Delete(kBlobLeases, BlobLeaseKey(raw, ns, lease));
    ASSIGN_OR_RETURN(BlobRecord blob, MustGetBlob(txn, raw));
    if (blob.lease_refs == 0) {
      return absl::DataLossError(Cat("lease count of ", RawToDigest(raw), " is 0"));
    }
    --blob.lease_refs;
    RETURN_IF_ERROR(SettleBlob(txn, raw, blob, now_ns, freed));
  }
  return absl::OkStatus();
}

absl::Status SetName(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                     std::string_view full, int64_t now_ns) {
  ASSIGN_OR_RETURN(auto current, txn.GetName(ns, full));
  if (current && *current == id) return absl::OkStatus();
  if (current) {
    ASSIGN_OR_RETURN(auto old, txn.GetImage(ns, *current));
    if (!old) {
      return absl::DataLossError(
          Cat("name ", full, " points to missing image ", RawToDigest(*current)));
    }
    RemoveNames(txn, ns, *current, *old, {std::string(full)}, now_ns);
  }
  txn.Put(kRefs, NameKey(ns, full), id);
  if (img.names.empty()) txn.Delete(kDangling, DanglingKey(ns, id));
  NameEntry entry{std::string(full), now_ns};
  auto pos = std::lower_bound(img.names.begin(), img.names.end(), entry,
                              [](const NameEntry& a, const NameEntry& b) { return a.full < b.full; });
  img.names.insert(pos, std::move(entry));
  txn.PutImage(ns, id, img);
  return absl::OkStatus();
}

void RemoveNames(Txn& txn, std::string_view ns, std::string_view id, ImageRecord& img,
                 const std::vector<std::string>& names, int64_t now_ns) {
  for (const auto& n : names) {
    auto it = std::find_if(img.names.begin(), img.names.end(),
                           [&](const NameEntry& e) { return e.full == n; });
    if (it == img.names.end()) continue;
    img.names.erase(it);
    txn.Delete(kRefs, NameKey(ns, n));
  }
  if (img.names.empty()) {
    img.dangling_since_ns = now_ns;
    txn.Put(kDangling, DanglingKey(ns, id), "");
  }
  txn.PutImage(ns, id, img);
}

std::vector<std::string> AllNames(const ImageRecord& img) {
  std::vector<std::string> out;
  out.reserve(img.names.size());
  for (const auto& n : img.names) out.push_back(n.full);
  return out;
}

std::vector<const StoredDescriptor*> ImageBlobs(const ImageRecord& img) {
  std::vector<const StoredDescriptor*> out;
  out.reserve(img.content.size() + 1);
  out.push_back(&img.target);
  for (const auto& d : img.content) out.push_back(&d);
  return out;
}

absl::Status DeleteImage(Txn& txn, std::string_view ns, std::string_view id,
                         const ImageRecord& img, int64_t now_ns, Freed* freed) {
  for (const auto& n : img.names) txn.Delete(kRefs, NameKey(ns, n.full));
  txn.Delete(kDangling, DanglingKey(ns, id));
  txn.Delete(kRefs, DigestRefKey(ns, id));
  txn.Delete(kImages, ImageKey(ns, id));
  for (const StoredDescriptor* d : ImageBlobs(img)) {
    RETURN_IF_ERROR(DropImageRef(txn, d->raw_digest, now_ns, freed));
  }
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
