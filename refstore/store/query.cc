// The read-only calls: ListImages, Inspect, GetDiskUsage. Each reads one
// snapshot, so its figures agree with each other even while writers run.
#include <algorithm>
#include <climits>
#include <set>
#include <tuple>

#include "refstore/db/image_filter.h"
#include "refstore/db/mutate.h"
#include "refstore/db/resolve.h"
#include "refstore/reference.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// The summary of image `id`, with `names` as given (full names).
absl::StatusOr<ImageSummary> Summarize(Txn& txn, std::string_view ns, std::string_view id,
                                       const ImageRecord& img,
                                       const std::vector<std::string>& names) {
  ImageSummary s;
  s.id = RawToDigest(id);
  for (const auto& n : names) s.names.push_back(FamiliarName(n));
  std::sort(s.names.begin(), s.names.end());
  for (const StoredDescriptor* d : ImageBlobs(img)) {
    s.size += d->size;
    ASSIGN_OR_RETURN(auto blob, txn.GetBlob(d->raw_digest));
    if (blob && blob->image_refs() >= 2) s.shared_size += d->size;
  }
  s.unique_size = s.size - s.shared_size;
  s.containers = static_cast<int64_t>(img.holders);
  s.created = absl::FromUnixNanos(img.created_ns);
  s.last_used = absl::FromUnixNanos(std::max(img.created_ns, img.last_used_ns));
  s.pinned = img.pinned;
  s.labels = img.labels;
  std::set<std::string> repos;  // of the names shown
  for (const auto& n : names) {
    absl::StatusOr<Reference> ref = ParseReference(n);
    if (ref.ok()) repos.insert(Cat(FamiliarName(ref->Repository()), "@", s.id));
  }
  s.repo_digests.assign(repos.begin(), repos.end());
  return s;
}

}  // namespace

absl::StatusOr<std::vector<ImageSummary>> StoreImpl::ListImages(const OpContext& ctx,
                                                                const ListOptions& options) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  // before=<ref> / since=<ref>: the image that ref resolves to, as inspect
  // resolves.
  auto created_of = [&](std::string_view ref) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, ref, ResolveMode::kLookup));
    ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, res.id));
    if (!img) return absl::DataLossError(Cat("resolved image vanished: ", ref));
    return img->created_ns;
  };
  ASSIGN_OR_RETURN(ImageFilter filter,
                   ParseImageFilter(options.filters, ctx.now, FilterUse::kList, created_of));
  const bool name_filters = !filter.until_ns.empty() || !filter.references.empty();
  std::vector<ImageSummary> out;
  NameCursor cursor(txn, ctx.ns);
  auto it = txn.Scan(kImages, NsPrefix(ctx.ns));
  for (; it.Valid(); it.Next()) {
    std::string id(it.rest());
    ASSIGN_OR_RETURN(ImageRecord img, DecodeImage(it.value(), Printable(it.key())));
    ASSIGN_OR_RETURN(const std::vector<NameEntry> all, cursor.NamesOf(id));
    if (!filter.CreatedInside(img.created_ns)) continue;
    const bool dangling = all.empty();
    // The dangling filter, when given, decides and overrides `all` (§8).
    if (dangling && !options.all && !filter.dangling) continue;
    if (filter.dangling && *filter.dangling != dangling) continue;
    if (!filter.LabelsPass(img.labels)) continue;
    std::vector<std::string> names;
    for (const auto& n : all) {
      if (filter.Selects(n.created_ns) && filter.NameMatches(FamiliarName(n.full))) {
        names.push_back(n.full);
      }
    }
    if (name_filters) {
      bool shown = dangling ? filter.references.empty() && filter.Selects(img.dangling_since_ns)
                            : !names.empty();
      if (!shown) continue;
    }
    ASSIGN_OR_RETURN(ImageSummary s, Summarize(txn, ctx.ns, id, img, names));
    out.push_back(std::move(s));
  }
  RETURN_IF_ERROR(it.status());
  std::sort(out.begin(), out.end(), [](const ImageSummary& a, const ImageSummary& b) {
    if (a.created != b.created) return a.created > b.created;
    return a.id < b.id;
  });
  return out;
}

absl::StatusOr<ImageDetail> StoreImpl::Inspect(const OpContext& ctx, std::string_view ref) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, ref, ResolveMode::kLookup));
  ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, res.id));
  if (!img) return absl::DataLossError(Cat("resolved image vanished: ", ref));
  ImageDetail d;
  ASSIGN_OR_RETURN(const std::vector<NameEntry> names, txn.GetNames(ctx.ns, res.id));
  ASSIGN_OR_RETURN(d.summary, Summarize(txn, ctx.ns, res.id, *img, FullNames(names)));
  d.target = FromStored(img->target);
  for (const auto& c : img->content) d.content.push_back(FromStored(c));
  ASSIGN_OR_RETURN(auto holders, Holders(txn, ctx.ns, res.id));
  for (const auto& [cid, running] : holders) d.container_ids.push_back(RawToHex(cid));
  return d;
}

absl::StatusOr<DiskUsage> StoreImpl::GetDiskUsage(const OpContext& ctx) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
  Txn& txn = st.txn();
  ASSIGN_OR_RETURN(NsStats stats, txn.GetStats(ctx.ns));
  DiskUsage du{.total_count = stats.images,
               .active = stats.active,
               .size = stats.size,
               .shared_size = stats.shared_size,
               .unique_size = stats.size - stats.shared_size,
               .reclaimable = stats.reclaimable};
  // The kept figure leaves out lease-held blobs; prune -a frees those whose
  // leases have all expired by now and that no image outside this
  // namespace's unheld ones uses.
  const int64_t now = ToNanos(ctx.now);
  std::string current;  // the digest being looked at
  bool all_expired = true;
  auto settle = [&]() -> absl::Status {
    if (current.empty() || !all_expired) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto blob, txn.GetBlob(current));
    if (!blob) return absl::OkStatus();
    const bool only_here =
        blob->uses.empty() ||
        (blob->uses.size() == 1 && blob->uses[0].ns == ctx.ns && blob->uses[0].held == 0);
    if (only_here) du.reclaimable += blob->size;
    return absl::OkStatus();
  };
  auto it = txn.Scan(kBlobLeases, "");
  for (; it.Valid(); it.Next()) {
    std::string_view key = it.key(), ns, lease;
    if (key.size() <= kRawIdSize || !SplitNs(key.substr(kRawIdSize), &ns, &lease)) continue;
    if (key.substr(0, kRawIdSize) != current) {
      RETURN_IF_ERROR(settle());
      current = std::string(key.substr(0, kRawIdSize));
      all_expired = true;
    }
    ASSIGN_OR_RETURN(auto rec, txn.GetLease(ns, lease));
    if (rec && LeaseIsLive(*rec, now)) all_expired = false;
  }
  RETURN_IF_ERROR(it.status());
  RETURN_IF_ERROR(settle());
  return du;
}

}  // namespace refstore::internal
