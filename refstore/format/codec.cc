#include "refstore/format/codec.h"

#include <utility>
#include <algorithm>

#include "absl/status/status.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

constexpr uint8_t kRecordVersion = 1;
// Image records gained last_used and pinned in version 2; version 1 image
// records (written before) are read with both unset. Version 3 (format
// version 2) moved the names out of the record. A record's version says
// which fields it must have, so a truncation is never read as an older
// record.
constexpr uint8_t kImageRecordVersion = 3;
constexpr uint8_t kLastLegacyImageRecordVersion = 2;

class Encoder {
 public:
  explicit Encoder(uint8_t version = kRecordVersion) { out_.push_back(static_cast<char>(version)); }
  void U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void I64(int64_t v) {
    U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  void Bool(bool b) { U64(b ? 1 : 0); }
  void Desc(const StoredDescriptor& d) {
    Str(d.raw_digest);
    I64(d.size);
    Str(d.media_type);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  // Accepts records of versions [kRecordVersion, max_version].
  explicit Decoder(std::string_view in, uint8_t max_version = kRecordVersion) : in_(in) {
    if (in_.empty() || static_cast<uint8_t>(in_[0]) < kRecordVersion ||
        static_cast<uint8_t>(in_[0]) > max_version) {
      ok_ = false;
    } else {
      version_ = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
    }
  }
  uint8_t version() const { return version_; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (in_.empty()) break;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t I64() {
    uint64_t u = U64();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string Str() {
    uint64_t n = U64();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  bool Bool() { return U64() != 0; }
  StoredDescriptor Desc() {
    StoredDescriptor d;
    d.raw_digest = Str();
    d.size = I64();
    d.media_type = Str();
    if (d.raw_digest.size() != 32) ok_ = false;
    return d;
  }
  // Count of a repeated field; guards against absurd values from corruption.
  uint64_t Count() {
    uint64_t n = U64();
    if (n > in_.size()) ok_ = false;
    return ok_ ? n : 0;
  }
  // Fields appended by later versions may follow; they are ignored here.
  bool ok() const { return ok_; }

 private:
  std::string_view in_;
  bool ok_ = true;
  uint8_t version_ = 0;
};

absl::Status Corrupt(std::string_view kind, std::string_view what) {
  return absl::DataLossError(Cat("corrupt ", kind, " record at ", what));
}

}  // namespace

std::string EncodeImage(const ImageRecord& r) {
  Encoder e(kImageRecordVersion);
  e.Desc(r.target);
  e.U64(r.content.size());
  for (const auto& d : r.content) e.Desc(d);
  e.U64(r.labels.size());
  for (const auto& [k, v] : r.labels) {
    e.Str(k);
    e.Str(v);
  }
  e.I64(r.created_ns);
  e.I64(r.dangling_since_ns);
  e.U64(r.holders);
  std::string owned;  // one byte per blob, target first
  owned.push_back(r.target.owned ? 1 : 0);
  for (const auto& d : r.content) owned.push_back(d.owned ? 1 : 0);
  e.Str(owned);
  e.I64(r.last_used_ns);
  e.Bool(r.pinned);
  return e.Take();
}

absl::StatusOr<ImageRecord> DecodeImage(std::string_view v, std::string_view what) {
  std::vector<NameEntry> ignored;
  return DecodeImageWithLegacyNames(v, what, &ignored);
}

bool IsLegacyImageRecord(std::string_view v) {
  return !v.empty() && static_cast<uint8_t>(v[0]) <= kLastLegacyImageRecordVersion;
}

std::string EncodeNameValue(int64_t created_ns) {
  Encoder e;
  e.I64(created_ns);
  return e.Take();
}

absl::StatusOr<int64_t> DecodeNameValue(std::string_view v, std::string_view what) {
  Decoder d(v);
  int64_t created = d.I64();
  if (!d.ok()) return Corrupt("name", what);
  return created;
}

absl::StatusOr<ImageRecord> DecodeImageWithLegacyNames(std::string_view v, std::string_view what,
                                                       std::vector<NameEntry>* names) {
  names->clear();
  Decoder d(v, kImageRecordVersion);
  ImageRecord r;
  r.target = d.Desc();
  for (uint64_t i = 0, n = d.Count(); i < n && d.ok(); ++i) r.content.push_back(d.Desc());
  for (uint64_t i = 0, n = d.Count(); i < n && d.ok(); ++i) {
    std::string k = d.Str();
    r.labels[k] = d.Str();
  }
  r.created_ns = d.I64();
  if (d.version() <= kLastLegacyImageRecordVersion) {
    for (uint64_t i = 0, n = d.Count(); i < n && d.ok(); ++i) {
      NameEntry e;
      e.full = d.Str();
      e.created_ns = d.I64();
      names->push_back(std::move(e));
    }
  }
  r.dangling_since_ns = d.I64();
  r.holders = d.U64();
  std::string owned = d.Str();
  if (!d.ok() || owned.size() != r.content.size() + 1) return Corrupt("image", what);
  r.target.owned = owned[0] != 0;
  for (size_t i = 0; i < r.content.size(); ++i) r.content[i].owned = owned[i + 1] != 0;
  if (d.version() >= 2) {
    r.last_used_ns = d.I64();
    r.pinned = d.Bool();
    if (!d.ok()) return Corrupt("image", what);
  }
  return r;
}

uint64_t BlobRecord::image_refs() const {
  uint64_t n = 0;
  for (const auto& u : uses) n += u.refs;
  return n;
}

NsUse& BlobRecord::Use(std::string_view ns) {
  auto it = std::lower_bound(uses.begin(), uses.end(), ns,
                             [](const NsUse& u, std::string_view n) { return u.ns < n; });
  if (it == uses.end() || it->ns != ns) it = uses.insert(it, NsUse{std::string(ns), 0, 0});
  return *it;
}

const NsUse* BlobRecord::FindUse(std::string_view ns) const {
  for (const auto& u : uses) {
    if (u.ns == ns) return &u;
  }
  return nullptr;
}

NsStats& NsStats::operator+=(const NsStats& o) {
  overflow = o.overflow || overflow;
  for (auto [a, b] : {std::pair<int64_t*, int64_t>{&images, o.images}, {&active, o.active},
                      {&size, o.size}, {&shared_size, o.shared_size},
                      {&reclaimable, o.reclaimable}}) {
    overflow = __builtin_add_overflow(*a, b, a) || overflow;
  }
  return *this;
}

bool NsStats::operator==(const NsStats& o) const {
  return images == o.images && active == o.active && size == o.size &&
         shared_size == o.shared_size && reclaimable == o.reclaimable;
}

std::string EncodeBlob(const BlobRecord& r) {
  Encoder e;
  e.I64(r.size);
  e.Str(r.media_type);
  e.U64(r.lease_refs);
  e.U64(r.uses.size());
  for (const auto& u : r.uses) {
    e.Str(u.ns);
    e.U64(u.refs);
    e.U64(u.held);
  }
  e.Str(r.owner_ns);
  e.Str(r.owner_id);
  return e.Take();
}

absl::StatusOr<BlobRecord> DecodeBlob(std::string_view v, std::string_view what) {
  Decoder d(v);
  BlobRecord r;
  r.size = d.I64();
  r.media_type = d.Str();
  r.lease_refs = d.U64();
  for (uint64_t i = 0, n = d.Count(); i < n && d.ok(); ++i) {
    NsUse u;
    u.ns = d.Str();
    u.refs = d.U64();
    u.held = d.U64();
    r.uses.push_back(std::move(u));
  }
  r.owner_ns = d.Str();
  r.owner_id = d.Str();
  if (!d.ok()) return Corrupt("blob", what);
  return r;
}

std::string EncodeStats(const NsStats& r) {
  Encoder e;
  e.I64(r.images);
  e.I64(r.active);
  e.I64(r.size);
  e.I64(r.shared_size);
  e.I64(r.reclaimable);
  return e.Take();
}

absl::StatusOr<NsStats> DecodeStats(std::string_view v, std::string_view what) {
  Decoder d(v);
  NsStats r;
  r.images = d.I64();
  r.active = d.I64();
  r.size = d.I64();
  r.shared_size = d.I64();
  r.reclaimable = d.I64();
  if (!d.ok()) return Corrupt("stats", what);
  return r;
}

std::string EncodeGarbage(const GarbageRecord& r) {
  Encoder e;
  e.I64(r.size);
  return e.Take();
}

absl::StatusOr<GarbageRecord> DecodeGarbage(std::string_view v, std::string_view what) {
  Decoder d(v);
  GarbageRecord r;
  r.size = d.I64();
  if (!d.ok() || r.size < 0) return Corrupt("garbage", what);
  return r;
}

std::string EncodeContainer(const ContainerRecord& r) {
  Encoder e;
  e.Str(r.image_raw);
  e.Bool(r.running);
  e.I64(r.created_ns);
  e.U64(r.protected_names.size());
  for (const auto& n : r.protected_names) e.Str(n);
  return e.Take();
}

absl::StatusOr<ContainerRecord> DecodeContainer(std::string_view v, std::string_view what) {
  Decoder d(v);
  ContainerRecord r;
  r.image_raw = d.Str();
  r.running = d.Bool();
  r.created_ns = d.I64();
  for (uint64_t i = 0, n = d.Count(); i < n && d.ok(); ++i) r.protected_names.push_back(d.Str());
  if (!d.ok() || r.image_raw.size() != 32) return Corrupt("container", what);
  return r;
}

std::string EncodeLease(const LeaseRecord& r) {
  Encoder e;
  e.Bool(r.has_expiry);
  e.I64(r.expires_ns);
  e.I64(r.created_ns);
  return e.Take();
}

absl::StatusOr<LeaseRecord> DecodeLease(std::string_view v, std::string_view what) {
  Decoder d(v);
  LeaseRecord r;
  r.has_expiry = d.Bool();
  r.expires_ns = d.I64();
  r.created_ns = d.I64();
  if (!d.ok()) return Corrupt("lease", what);
  return r;
}

}  // namespace refstore::internal
