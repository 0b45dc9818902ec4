#include "gc/recount.h"

#include <algorithm>

#include "refstore/db/mutate.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

BlobRecount::BlobRecount(const RecountOptions& options)
    : sorter_(options.sort_dir, options.memory_bytes) {}

uint32_t BlobRecount::Intern(std::vector<std::string>& table,
                             absl::flat_hash_map<std::string, uint32_t>& index,
                             std::string_view s) {
  auto it = index.find(absl::string_view(s.data(), s.size()));
  if (it != index.end()) return it->second;
  table.emplace_back(s);
  return index[std::string(s)] = static_cast<uint32_t>(table.size() - 1);
}

absl::Status BlobRecount::Add(std::string_view raw, std::string_view id, uint32_t ns, int64_t size,
                              std::string_view media_type, bool held, bool owned) {
  Edge e{};
  std::copy_n(raw.data(), std::min(raw.size(), e.raw.size()), e.raw.data());
  std::copy_n(id.data(), std::min(id.size(), e.id.size()), e.id.data());
  e.seq = seq_++;
  e.size = size;
  e.ns = ns;
  e.media_type = Intern(media_types_, mt_index_, media_type);
  e.held = held;
  e.owned = owned;
  return sorter_.Add(e);
}

absl::Status BlobRecount::AddImage(std::string_view ns, std::string_view id, const ImageRecord& img,
                                   bool held) {
  const uint32_t n = Intern(namespaces_, ns_index_, ns);
  for (const StoredDescriptor* d : ImageBlobs(img)) {
    RETURN_IF_ERROR(Add(d->raw_digest, id, n, d->size, d->media_type, held, d->owned));
  }
  return absl::OkStatus();
}

absl::Status BlobRecount::AddLeaseHold(std::string_view raw, int64_t size,
                                       std::string_view media_type) {
  return Add(raw, {}, kLease, size, media_type, false, false);
}

absl::Status BlobRecount::ForEach(const std::function<absl::Status(const ExpectedBlob&)>& fn) {
  RETURN_IF_ERROR(sorter_.Finish());
  ExpectedBlob b;
  auto emit = [&]() -> absl::Status {
    if (b.raw.empty()) return absl::OkStatus();
    std::sort(b.rec.uses.begin(), b.rec.uses.end(),
              [](const NsUse& x, const NsUse& y) { return x.ns < y.ns; });
    if (b.flagged.size() == 1 && b.image_uses == 1 && b.rec.lease_refs == 0) {
      b.rec.owner_ns = b.flagged[0].first;
      b.rec.owner_id = b.flagged[0].second;
    }
    RETURN_IF_ERROR(fn(b));
    b = ExpectedBlob();
    return absl::OkStatus();
  };
  while (sorter_.Valid()) {
    const Edge e = sorter_.value();
    RETURN_IF_ERROR(sorter_.Next());
    std::string_view raw(reinterpret_cast<const char*>(e.raw.data()), e.raw.size());
    if (b.raw != raw) {
      RETURN_IF_ERROR(emit());
      b.raw = raw;
    }
    if (e.ns == kLease) {
      if (b.image_uses == 0 && b.rec.lease_refs == 0) {
        b.rec.size = e.size;
        b.rec.media_type = media_types_[e.media_type];
      }
      ++b.rec.lease_refs;
      continue;
    }
    if (b.image_uses == 0) {
      b.rec.size = e.size;
      b.rec.media_type = media_types_[e.media_type];
    }
    const std::string_view id(reinterpret_cast<const char*>(e.id.data()), e.id.size());
    if (std::find(b.sizes.begin(), b.sizes.end(), e.size) == b.sizes.end()) {
      b.sizes.push_back(e.size);
    }
    if (e.size != b.rec.size) b.other_size.emplace_back(namespaces_[e.ns], id);
    ++b.image_uses;
    if (e.owned) b.flagged.emplace_back(namespaces_[e.ns], id);
    NsUse& use = b.rec.Use(namespaces_[e.ns]);
    ++use.refs;
    if (e.held) ++use.held;
  }
  return emit();
}

}  // namespace refstore::internal
