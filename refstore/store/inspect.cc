// Beyond docker's calls: pins, listings of containers and leases, why an
// image or a blob is kept, and the store's own statistics.
#include <algorithm>
#include <filesystem>

#include "refstore/db/mutate.h"
#include "refstore/db/read_only.h"
#include "refstore/db/resolve.h"
#include "refstore/reference.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

absl::Status StoreImpl::Pin(const OpContext& ctx, std::string_view ref, bool pinned) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, ref, ResolveMode::kLookup));
  ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, res.id));
  if (!img) return absl::DataLossError(Cat("resolved image vanished: ", ref));
  if (img->pinned == pinned) return absl::OkStatus();
  const bool was_protected = Protected(*img);
  img->pinned = pinned;
  txn.PutImage(ctx.ns, res.id, *img);
  if (Protected(*img) != was_protected) {
    RETURN_IF_ERROR(SetBlobsHeld(txn, ctx.ns, *img, Protected(*img)));
  }
  return Commit(txn);
}

namespace {

absl::StatusOr<ContainerInfo> ToInfo(Txn& txn, std::string_view ns, std::string_view cid,
                                     const ContainerRecord& c) {
  ContainerInfo info{.id = RawToHex(cid),
                     .image_id = RawToDigest(c.image_raw),
                     .running = c.running,
                     .created = absl::FromUnixNanos(c.created_ns),
                     .name = c.name};
  ASSIGN_OR_RETURN(auto img, txn.Get(kImages, ImageKey(ns, c.image_raw)));
  info.image_exists = img.has_value();
  return info;
}

}  // namespace

absl::StatusOr<std::vector<ContainerInfo>> StoreImpl::ListContainers(const OpContext& ctx) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  std::vector<std::pair<std::string, ContainerRecord>> records;
  auto it = txn.Scan(kContainers, NsPrefix(ctx.ns));
  for (; it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(ContainerRecord c, DecodeContainer(it.value(), Printable(it.key())));
    records.emplace_back(std::string(it.rest()), std::move(c));
  }
  RETURN_IF_ERROR(it.status());
  std::vector<ContainerInfo> out;
  for (const auto& [cid, c] : records) {
    ASSIGN_OR_RETURN(ContainerInfo info, ToInfo(txn, ctx.ns, cid, c));
    out.push_back(std::move(info));
  }
  // Newest first, as `docker ps` lists.
  std::sort(out.begin(), out.end(), [](const ContainerInfo& a, const ContainerInfo& b) {
    return a.created != b.created ? a.created > b.created : a.id < b.id;
  });
  return out;
}

absl::StatusOr<std::vector<LeaseInfo>> StoreImpl::ListLeases(const OpContext& ctx) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  std::vector<LeaseInfo> out;
  auto it = txn.Scan(kLeases, NsPrefix(ctx.ns));
  for (; it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(LeaseRecord rec, DecodeLease(it.value(), Printable(it.key())));
    LeaseInfo info{.id = std::string(it.rest()), .created = absl::FromUnixNanos(rec.created_ns)};
    if (rec.has_expiry) info.expires = absl::FromUnixNanos(rec.expires_ns);
    out.push_back(std::move(info));
  }
  RETURN_IF_ERROR(it.status());
  for (LeaseInfo& info : out) {
    std::vector<std::string> raws;
    auto c = txn.Scan(kLeaseBlobs, LeaseBlobPrefix(ctx.ns, info.id));
    for (; c.Valid(); c.Next()) raws.emplace_back(c.rest());
    RETURN_IF_ERROR(c.status());
    for (const auto& raw : raws) {
      ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
      if (!blob)
        return absl::DataLossError(
            Cat("lease ", info.id, " holds ", RawToDigest(raw), ", which has no record"));
      info.content.push_back({blob->media_type, RawToDigest(raw), blob->size});
    }
  }
  return out;
}

absl::StatusOr<Explanation> StoreImpl::Explain(const OpContext& ctx, std::string_view ref) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  absl::StatusOr<Resolution> res = Resolve(txn, ctx.ns, ref, ResolveMode::kLookup);
  if (res.ok()) {
    ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, res->id));
    if (!img) return absl::DataLossError(Cat("resolved image vanished: ", ref));
    Explanation e{.kind = Explanation::Kind::kImage, .digest = RawToDigest(res->id)};
    for (const StoredDescriptor* d : ImageBlobs(*img)) e.size += d->size;
    ASSIGN_OR_RETURN(const std::vector<NameEntry> names, txn.GetNames(ctx.ns, res->id));
    for (const auto& n : names) e.names.push_back(FamiliarName(n.full));
    e.pinned = img->pinned;
    e.dangling = names.empty();
    ASSIGN_OR_RETURN(auto holders, Holders(txn, ctx.ns, res->id));
    for (const auto& [cid, running] : holders) {
      ASSIGN_OR_RETURN(auto c, txn.GetContainer(ctx.ns, cid));
      if (!c) continue;
      ASSIGN_OR_RETURN(ContainerInfo info, ToInfo(txn, ctx.ns, cid, *c));
      e.containers.push_back(std::move(info));
    }
    return e;
  }
  if (!absl::IsNotFound(res.status()) || !ValidateDigest(ref).ok()) return res.status();
  // A blob: who uses it, in every namespace.
  const std::string raw = HexToRaw(ref);
  ASSIGN_OR_RETURN(auto blob, txn.GetBlob(raw));
  if (!blob) return absl::NotFoundError(Cat("No such image or blob: ", ref));
  Explanation e{.kind = Explanation::Kind::kBlob, .digest = std::string(ref), .size = blob->size};
  auto it = txn.Scan(kImages, "");
  for (; it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it.value(), Printable(it.key())));
    for (const StoredDescriptor* d : ImageBlobs(img)) {
      if (d->raw_digest != raw) continue;
      std::string_view ns, id;
      SplitNs(it.key(), &ns, &id);
      e.images.push_back(Cat(ns, "/", RawToDigest(id)));
      break;
    }
  }
  RETURN_IF_ERROR(it.status());
  ASSIGN_OR_RETURN(auto holds, LeasesHolding(txn, raw));
  for (const auto& [ns, lease] : holds) {
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ns, lease));
    const bool live = rec && LeaseIsLive(*rec, ToNanos(ctx.now));
    e.leases.push_back(Cat(ns, "/", lease, live ? "" : " (expired)"));
  }
  return e;
}

absl::StatusOr<StoreStats> StoreImpl::Stats() {
  StoreStats out;
  out.content_store = content_.has_value();
  out.secondary = options_.read_only && LockedByAnotherProcess(db_->GetName());
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  ASSIGN_OR_RETURN(auto version, st.txn().Get(kDefault, "format_version"));
  out.format_version = version.value_or("");
  for (int c = 0; c < kCfCount; ++c) {
    StoreStats::Family f{.name = kCfNames[c]};
    auto it = st.txn().Scan(static_cast<Cf>(c), "");
    for (; it.Valid(); it.Next()) {
      ++f.keys;
      f.key_bytes += static_cast<int64_t>(it.key().size());
      f.value_bytes += static_cast<int64_t>(it.value().size());
    }
    RETURN_IF_ERROR(it.status());
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(cfs_[c], &meta);
    f.sst_bytes = static_cast<int64_t>(meta.size);
    out.families.push_back(std::move(f));
  }
  std::error_code ec;
  const std::filesystem::path root(db_->GetName());
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    if (e.is_regular_file(ec)) out.disk_bytes += static_cast<int64_t>(e.file_size(ec));
  }
  if (content_) {
    RETURN_IF_ERROR(content_->ForEachBlob([&](std::string_view, int64_t size) {
      ++out.content_files;
      out.content_bytes += size;
      return absl::OkStatus();
    }));
  }
  return out;
}

}  // namespace refstore::internal
