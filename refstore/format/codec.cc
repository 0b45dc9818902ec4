#include "refstore/format/codec.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "refstore/text/digest.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

constexpr uint8_t kRecordVersion = 1;
// Image records gained last_used and pinned in version 2; version 1 image
// records (written before) are read with both unset. Version 3 (format
// version 2) moved the names out of the record. Version 4 (format version 3)
// writes media types as codes (kMediaCodes). A record's version says which
// fields it must have, so a truncation is never read as an older record.
constexpr uint8_t kImageRecordVersion = 4;
constexpr uint8_t kLastLegacyImageRecordVersion = 2;
constexpr uint8_t kFirstMediaCodeImageVersion = 4;
// Blob records: version 2 (format version 3) writes the media type as a code.
constexpr uint8_t kBlobRecordVersion = 2;
constexpr uint8_t kFirstMediaCodeBlobVersion = 2;

// The media types records of format version 3 store as a one-byte code: the
// type's position here. Code 0 is not a type: the type follows as a string
// (any type not in the list). The positions are on disk: append only, never
// reorder or remove. A media type string is 35-60 bytes and an image record
// holds one per blob, so this halves the bytes an image creation writes.
constexpr std::string_view kMediaCodes[] = {
    "",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.oci.empty.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};
constexpr uint64_t kMediaCodeCount = sizeof(kMediaCodes) / sizeof(kMediaCodes[0]);

uint64_t MediaCode(std::string_view media_type) {
  for (uint64_t i = 1; i < kMediaCodeCount; ++i) {
    if (kMediaCodes[i] == media_type) return i;
  }
  return 0;
}

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
  void I64(int64_t v) { U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  void Bool(bool b) { U64(b ? 1 : 0); }
  void TrailingStr(std::string_view s) { Str(s); }
  // A media type: its code, and the string itself when it has none.
  void Media(std::string_view media_type) {
    const uint64_t code = MediaCode(media_type);
    U64(code);
    if (code == 0) Str(media_type);
  }
  // A repeated field: its count, then each element through `element`.
  template <typename T, typename Fn>
  void List(const std::vector<T>& v, const Fn& element) {
    U64(v.size());
    for (const T& x : v) element(x);
  }
  void Desc(const StoredDescriptor& d) {
    Str(d.raw_digest);
    I64(d.size);
    Media(d.media_type);
  }
  void BlobMedia(std::string_view media_type) { Media(media_type); }
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
  // A media type written by Encoder::Media (`coded`) or as a plain string.
  std::string Media(bool coded) {
    if (!coded) return Str();
    const uint64_t code = U64();
    if (code == 0) return Str();
    if (code >= kMediaCodeCount) {
      ok_ = false;
      return {};
    }
    return std::string(kMediaCodes[code]);
  }
  // The same fields read into a record, for the field lists below that
  // serve both directions (an Encoder's take the values).
  void U64(uint64_t& v) { v = U64(); }
  void I64(int64_t& v) { v = I64(); }
  // A field appended after the record's first version: absent (empty) in
  // records written before it.
  void TrailingStr(std::string& v) {
    if (!in_.empty()) v = Str();
  }
  void Str(std::string& v) { v = Str(); }
  void Bool(bool& v) { v = Bool(); }
  void BlobMedia(std::string& v) { v = Media(version_ >= kFirstMediaCodeBlobVersion); }
  template <typename T, typename Fn>
  void List(std::vector<T>& v, const Fn& element) {
    for (uint64_t i = 0, n = Count(); i < n && ok_; ++i) {
      T x{};
      element(x);
      v.push_back(std::move(x));
    }
  }
  StoredDescriptor Desc() {
    StoredDescriptor d;
    d.raw_digest = Str();
    d.size = I64();
    d.media_type = Media(version_ >= kFirstMediaCodeImageVersion);
    if (d.raw_digest.size() != text::kSha256RawLength) ok_ = false;
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

// The fields of each record in their order on disk, written once for both
// directions: `io` is an Encoder (with a const record) or a Decoder.
constexpr auto kBlobFields = [](auto& io, auto& r) {
  io.I64(r.size);
  io.BlobMedia(r.media_type);
  io.U64(r.lease_refs);
  io.List(r.uses, [&io](auto& u) {
    io.Str(u.ns);
    io.U64(u.refs);
    io.U64(u.held);
  });
  io.Str(r.owner_ns);
  io.Str(r.owner_id);
};
constexpr auto kStatsFields = [](auto& io, auto& r) {
  for (auto* field : {&r.images, &r.active, &r.size, &r.shared_size, &r.reclaimable}) {
    io.I64(*field);
  }
};
constexpr auto kGarbageFields = [](auto& io, auto& r) { io.I64(r.size); };
constexpr auto kContainerFields = [](auto& io, auto& r) {
  io.Str(r.image_raw);
  io.Bool(r.running);
  io.I64(r.created_ns);
  io.List(r.protected_names, [&io](auto& name) { io.Str(name); });
  io.TrailingStr(r.name);
};
constexpr auto kLeaseFields = [](auto& io, auto& r) {
  io.Bool(r.has_expiry);
  io.I64(r.expires_ns);
  io.I64(r.created_ns);
};

template <typename Fields, typename R>
std::string EncodeWith(const Fields& fields, const R& r, uint8_t version = kRecordVersion) {
  Encoder e(version);
  fields(e, r);
  return e.Take();
}

// Reads an R of `fields` from `v`: DataLoss "corrupt <kind> record at
// <what>" when `v` is not one (of a record version up to `max_version`) or
// (given `valid`) its values are not valid.
template <typename R, typename Fields>
absl::StatusOr<R> DecodeWith(const Fields& fields, std::string_view v, std::string_view kind,
                             std::string_view what, bool (*valid)(const R&) = nullptr,
                             uint8_t max_version = kRecordVersion) {
  Decoder d(v, max_version);
  R r;
  fields(d, r);
  if (!d.ok() || (valid != nullptr && !valid(r))) return Corrupt(kind, what);
  return r;
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
  for (auto [a, b] : {std::pair<int64_t*, int64_t>{&images, o.images},
                      {&active, o.active},
                      {&size, o.size},
                      {&shared_size, o.shared_size},
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
  return EncodeWith(kBlobFields, r, kBlobRecordVersion);
}

absl::StatusOr<BlobRecord> DecodeBlob(std::string_view v, std::string_view what) {
  return DecodeWith<BlobRecord>(kBlobFields, v, "blob", what, nullptr, kBlobRecordVersion);
}

std::string EncodeStats(const NsStats& r) { return EncodeWith(kStatsFields, r); }

absl::StatusOr<NsStats> DecodeStats(std::string_view v, std::string_view what) {
  return DecodeWith<NsStats>(kStatsFields, v, "stats", what);
}

std::string EncodeGarbage(const GarbageRecord& r) { return EncodeWith(kGarbageFields, r); }

absl::StatusOr<GarbageRecord> DecodeGarbage(std::string_view v, std::string_view what) {
  return DecodeWith<GarbageRecord>(kGarbageFields, v, "garbage", what,
                                   [](const GarbageRecord& r) { return r.size >= 0; });
}

std::string EncodeContainer(const ContainerRecord& r) { return EncodeWith(kContainerFields, r); }

absl::StatusOr<ContainerRecord> DecodeContainer(std::string_view v, std::string_view what) {
  return DecodeWith<ContainerRecord>(
      kContainerFields, v, "container", what,
      [](const ContainerRecord& r) { return r.image_raw.size() == text::kSha256RawLength; });
}

std::string EncodeLease(const LeaseRecord& r) { return EncodeWith(kLeaseFields, r); }

absl::StatusOr<LeaseRecord> DecodeLease(std::string_view v, std::string_view what) {
  return DecodeWith<LeaseRecord>(kLeaseFields, v, "lease", what);
}

}  // namespace refstore::internal
