#include "baselines/onthefly.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "refstore/db/rocks_options.h"
#include "refstore/reference.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace refstore::bench {
namespace {

// A SHA-256 digest as its raw 32 bytes: how digests appear in keys and
// records (as in refstore), and the element of the GC's mark set.
using Raw = std::array<char, 32>;
using RawSet = absl::flat_hash_set<Raw>;

constexpr char kDanglingPrefix[] = "moby-dangling@";
constexpr char kDigestPrefix[] = "sha256:";
// Content records deleted per write during a sweep.
constexpr int kSweepBatch = 1000;

enum Cf { kImages, kContent, kContainers, kLeases, kNumCfs };
constexpr const char* kCfNames[kNumCfs] = {"images", "content", "containers", "leases"};

std::string_view View(const Raw& r) { return {r.data(), r.size()}; }

double SecondsSince(absl::Time t) { return absl::ToDoubleSeconds(absl::Now() - t); }

absl::Status RocksError(const rocksdb::Status& s, std::string_view what) {
  return absl::InternalError(internal::Cat("rocksdb: ", what, ": ", s.ToString()));
}

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(internal::Cat("onthefly: bad ", what, " record"));
}

// ---------------------------------------------------------------------------
// Digests

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// "sha256:<64 lowercase hex>" -> raw bytes.
absl::StatusOr<Raw> ParseDigest(std::string_view digest) {
  RETURN_IF_ERROR(ValidateDigest(digest));
  std::string_view hex = digest.substr(sizeof(kDigestPrefix) - 1);
  Raw raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<char>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
  }
  return raw;
}

std::string Hex(const Raw& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * raw.size(), '0');
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto b = static_cast<unsigned char>(raw[i]);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 15];
  }
  return hex;
}

std::string DigestString(const Raw& raw) { return kDigestPrefix + Hex(raw); }

// ---------------------------------------------------------------------------
// Keys: namespaced keys are ns \0 rest (namespace names have no NUL).

std::string NsPrefix(std::string_view ns) { return internal::Cat(ns, std::string_view("\0", 1)); }
std::string NsKey(std::string_view ns, std::string_view rest) {
  return internal::Cat(NsPrefix(ns), rest);
}
std::string DanglingName(const Raw& target) { return kDanglingPrefix + DigestString(target); }
bool IsDanglingName(std::string_view name) { return name.starts_with(kDanglingPrefix); }

// ns \0 <name> -> <name>
std::string_view AfterNs(std::string_view key) { return key.substr(key.find('\0') + 1); }

// ---------------------------------------------------------------------------
// Record encoding: varints, length-prefixed strings, raw digests.

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetBytes(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

bool GetRaw(std::string_view* in, Raw* raw) {
  if (in->size() < raw->size()) return false;
  std::copy_n(in->data(), raw->size(), raw->data());
  in->remove_prefix(raw->size());
  return true;
}

// Image record: raw target | size | media type (containerd keeps the target
// descriptor). Only the target is needed to mark, so it comes first.
std::string EncodeImage(const Raw& target, const Descriptor& d) {
  std::string out(View(target));
  PutVarint(&out, static_cast<uint64_t>(d.size));
  PutBytes(&out, d.media_type);
  return out;
}

bool ImageTarget(std::string_view value, Raw* target) { return GetRaw(&value, target); }

// Content record: size | media type | children (raw digests).
struct ContentRecord {
  int64_t size = 0;
  std::string_view media_type;
  std::vector<Raw> children;
};

std::string EncodeContent(int64_t size, std::string_view media_type,
                          const std::vector<Raw>& children) {
  std::string out;
  PutVarint(&out, static_cast<uint64_t>(size));
  PutBytes(&out, media_type);
  PutVarint(&out, children.size());
  for (const Raw& c : children) out.append(View(c));
  return out;
}

// Decodes `value`; children only when `want_children` (a sweep needs the
// size alone).
bool DecodeContent(std::string_view value, bool want_children, ContentRecord* rec) {
  uint64_t size, n;
  if (!GetVarint(&value, &size) || !GetBytes(&value, &rec->media_type)) return false;
  rec->size = static_cast<int64_t>(size);
  if (!want_children) return true;
  if (!GetVarint(&value, &n) || value.size() != n * sizeof(Raw)) return false;
  rec->children.resize(n);
  for (Raw& c : rec->children) GetRaw(&value, &c);
  return true;
}

// Container record: running | image ref as typed.
std::string EncodeContainer(bool running, std::string_view image_ref) {
  std::string out(1, running ? '1' : '0');
  out.append(image_ref);
  return out;
}

bool ContainerRef(std::string_view value, std::string_view* ref) {
  if (value.empty()) return false;
  *ref = value.substr(1);
  return true;
}

// Lease record: has expiry | expiry (Unix ns) | content (raw digests).
struct LeaseRecord {
  std::optional<absl::Time> expires;
  std::vector<Raw> content;
};

std::string EncodeLease(const LeaseRecord& rec) {
  std::string out(1, rec.expires ? '1' : '0');
  PutVarint(&out, rec.expires ? static_cast<uint64_t>(absl::ToUnixNanos(*rec.expires)) : 0);
  PutVarint(&out, rec.content.size());
  for (const Raw& c : rec.content) out.append(View(c));
  return out;
}

bool DecodeLease(std::string_view value, LeaseRecord* rec) {
  uint64_t expires, n;
  if (value.empty()) return false;
  const bool has_expiry = value.front() == '1';
  value.remove_prefix(1);
  if (!GetVarint(&value, &expires) || !GetVarint(&value, &n) || value.size() != n * sizeof(Raw)) {
    return false;
  }
  if (has_expiry) rec->expires = absl::FromUnixNanos(static_cast<int64_t>(expires));
  rec->content.resize(n);
  for (Raw& c : rec->content) GetRaw(&value, &c);
  return true;
}

// ---------------------------------------------------------------------------
// A container's image reference as the user typed it, parsed once. docker
// resolves it when it needs it: an exact name wins over an ID prefix
// (SEMANTICS.md §3); a reference with a digest selects that digest.

struct TypedRef {
  std::optional<Raw> digest;  // sha256:<64 hex>, or name@digest
  std::string name;           // full normalized name, or empty
  std::string hex_prefix;     // 4..64 hex chars, or empty
};

TypedRef ParseTypedRef(std::string_view ref) {
  TypedRef out;
  if (IsDigest(ref)) {
    out.digest = *ParseDigest(ref);
    return out;
  }
  if (absl::StatusOr<Reference> parsed = ParseReference(ref); parsed.ok()) {
    if (parsed->digest) {
      if (auto raw = ParseDigest(*parsed->digest); raw.ok()) out.digest = *raw;
      return out;
    }
    out.name = parsed->Full();
  }
  LooksLikeIdPrefix(ref, &out.hex_prefix);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

struct OnTheFlyStore::Impl {
  // What the in-memory index knows of one image (ns, target): how many name
  // records it has and whether its dangling record exists.
  struct ImageState {
    int names = 0;
    bool dangling = false;
  };
  // One image record, as listed by a prune.
  struct Record {
    std::string key;  // ns \0 name
    Raw target;
  };

  ~Impl();

  absl::Status BuildIndex();
  std::string IndexKey(std::string_view ns, const Raw& target) const {
    return NsKey(ns, View(target));
  }
  void IndexAdd(std::string_view ns, std::string_view name, const Raw& target);
  void IndexRemove(std::string_view ns, std::string_view name, const Raw& target);

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key);
  absl::Status Write(rocksdb::WriteBatch& batch);

  absl::Status ApplyImage(const CreateImageEvent& e);
  absl::Status ApplyContainer(const CreateContainerEvent& e);
  absl::Status ApplyLease(const LeaseEvent& e);
  absl::Status AddContent(const CreateImageRequest& req, const Raw& target,
                          rocksdb::WriteBatch* batch);
  absl::Status AddLeaf(const Descriptor& d, RawSet* pending, rocksdb::WriteBatch* batch, Raw* raw);

  absl::StatusOr<std::vector<Record>> ListRecords(std::string_view ns);
  absl::StatusOr<RawSet> UsedImages(std::string_view ns, const std::vector<Record>& records);
  absl::StatusOr<std::optional<std::string>> ContainerUsing(std::string_view ns, const Raw& target);
  absl::Status DeleteRecord(const Record& rec);
  absl::Status RemoveExpiredLeases(absl::Time now, OnTheFlyResult* r);

  absl::Status CollectGarbage(OnTheFlyResult* r);
  absl::Status MarkRoots(RawSet* marked, std::vector<Raw>* grey);
  absl::Status MarkReachable(RawSet* marked, std::vector<Raw>* grey);
  absl::Status Sweep(const RawSet& marked, OnTheFlyResult* r);

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, then Cf order
  rocksdb::ColumnFamilyHandle* cf[kNumCfs] = {};
  rocksdb::WriteOptions write_options;  // as refstore's default: no sync
  // ns \0 raw target -> ImageState. It stands in for the scan docker makes
  // (images.List with filter target.digest==…) to learn whether an image
  // still has another name when a name moves or is removed; building a
  // 100,000-image workload with one scan per moved name would take hours.
  // Prune does not read it (it lists records from the database, as docker
  // does); it only keeps it current. Rebuilt from the records on Open.
  absl::flat_hash_map<std::string, ImageState> index;
  size_t last_marked = 0;  // size of the previous mark set, to reserve
};

OnTheFlyStore::Impl::~Impl() {
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (db) db->Close();
}

absl::StatusOr<std::optional<std::string>> OnTheFlyStore::Impl::Get(Cf c, std::string_view key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf[c], key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return RocksError(s, kCfNames[c]);
  return value;
}

absl::Status OnTheFlyStore::Impl::Write(rocksdb::WriteBatch& batch) {
  if (batch.Count() == 0) return absl::OkStatus();
  rocksdb::Status s = db->Write(write_options, &batch);
  return s.ok() ? absl::OkStatus() : RocksError(s, "write");
}

absl::Status OnTheFlyStore::Impl::BuildIndex() {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kImages]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    Raw target;
    if (key.find('\0') == std::string_view::npos ||
        !ImageTarget(it->value().ToStringView(), &target)) {
      return Corrupt("image");
    }
    IndexAdd(key.substr(0, key.find('\0')), AfterNs(key), target);
  }
  return it->status().ok() ? absl::OkStatus() : RocksError(it->status(), "images");
}

void OnTheFlyStore::Impl::IndexAdd(std::string_view ns, std::string_view name, const Raw& target) {
  ImageState& st = index[IndexKey(ns, target)];
  if (IsDanglingName(name)) {
    st.dangling = true;
  } else {
    ++st.names;
  }
}

void OnTheFlyStore::Impl::IndexRemove(std::string_view ns, std::string_view name,
                                      const Raw& target) {
  auto it = index.find(IndexKey(ns, target));
  if (it == index.end()) return;
  if (IsDanglingName(name)) {
    it->second.dangling = false;
  } else {
    --it->second.names;
  }
  if (it->second.names <= 0 && !it->second.dangling) index.erase(it);
}

// ---------------------------------------------------------------------------
// Apply

absl::Status OnTheFlyStore::Impl::ApplyImage(const CreateImageEvent& e) {
  const CreateImageRequest& req = e.request;
  ASSIGN_OR_RETURN(const Raw target, ParseDigest(req.target.digest));
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(AddContent(req, target, &batch));
  const auto own = index.find(IndexKey(e.ns, target));
  const bool exists = own != index.end();

  if (!req.name) {
    if (exists) return Write(batch);  // an existing image: nothing to add
    const std::string name = DanglingName(target);
    batch.Put(cf[kImages], NsKey(e.ns, name), EncodeImage(target, req.target));
    RETURN_IF_ERROR(Write(batch));
    IndexAdd(e.ns, name, target);
    return absl::OkStatus();
  }

  ASSIGN_OR_RETURN(const Reference ref, ParseReference(*req.name));
  if (ref.digest && *ref.digest != req.target.digest) {
    return absl::InvalidArgumentError(internal::Cat("name ", *req.name, " does not match target"));
  }
  const std::string name = ref.Full();
  const std::string key = NsKey(e.ns, name);
  ASSIGN_OR_RETURN(std::optional<std::string> old_value, Get(kImages, key));
  Raw old;
  if (old_value) {
    if (!ImageTarget(*old_value, &old)) return Corrupt("image");
    if (old == target) return Write(batch);  // the name is already there
  }
  batch.Put(cf[kImages], key, EncodeImage(target, req.target));
  // The image leaves the dangling state (moby deletes the dangling record
  // when an image is tagged).
  if (exists && own->second.dangling) batch.Delete(cf[kImages], NsKey(e.ns, DanglingName(target)));
  // The name moves away from `old`: an image left without a name gets a
  // dangling record, which keeps it (and its content) alive.
  std::optional<std::string> old_dangling;
  if (old_value) {
    const auto it = index.find(IndexKey(e.ns, old));
    if (it == index.end() || it->second.names <= 1) {
      old_dangling = DanglingName(old);
      batch.Put(cf[kImages], NsKey(e.ns, *old_dangling),
                std::string(*old_value));  // same target descriptor
    }
  }
  RETURN_IF_ERROR(Write(batch));

  if (exists && own->second.dangling) IndexRemove(e.ns, DanglingName(target), target);
  IndexAdd(e.ns, name, target);
  if (old_value) {
    IndexRemove(e.ns, name, old);
    if (old_dangling) IndexAdd(e.ns, *old_dangling, old);
  }
  return absl::OkStatus();
}

// Writes the content records of a new target: one per blob not yet known
// (no children), then the target's, whose children are the image's other
// blobs. A target already known (a second pull, a tag) writes nothing.
absl::Status OnTheFlyStore::Impl::AddContent(const CreateImageRequest& req, const Raw& target,
                                             rocksdb::WriteBatch* batch) {
  ASSIGN_OR_RETURN(std::optional<std::string> known, Get(kContent, View(target)));
  if (known) return absl::OkStatus();
  RawSet pending;
  pending.insert(target);
  std::vector<Raw> children;
  for (const Descriptor& d : req.content) {
    Raw raw;
    RETURN_IF_ERROR(AddLeaf(d, &pending, batch, &raw));
    if (raw != target && std::find(children.begin(), children.end(), raw) == children.end()) {
      children.push_back(raw);
    }
  }
  batch->Put(cf[kContent], View(target),
             EncodeContent(req.target.size, req.target.media_type, children));
  return absl::OkStatus();
}

// Adds a content record for `d` unless it exists or is already in `batch`
// (`pending`), and returns its raw digest.
absl::Status OnTheFlyStore::Impl::AddLeaf(const Descriptor& d, RawSet* pending,
                                          rocksdb::WriteBatch* batch, Raw* raw) {
  ASSIGN_OR_RETURN(*raw, ParseDigest(d.digest));
  if (!pending->insert(*raw).second) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> known, Get(kContent, View(*raw)));
  if (!known) batch->Put(cf[kContent], View(*raw), EncodeContent(d.size, d.media_type, {}));
  return absl::OkStatus();
}

absl::Status OnTheFlyStore::Impl::ApplyContainer(const CreateContainerEvent& e) {
  rocksdb::WriteBatch batch;
  batch.Put(cf[kContainers], NsKey(e.ns, e.id), EncodeContainer(e.running, e.image_ref));
  return Write(batch);
}

absl::Status OnTheFlyStore::Impl::ApplyLease(const LeaseEvent& e) {
  rocksdb::WriteBatch batch;
  LeaseRecord rec{.expires = e.expires};
  RawSet pending;
  for (const Descriptor& d : e.content) {
    Raw raw;
    RETURN_IF_ERROR(AddLeaf(d, &pending, &batch, &raw));
    rec.content.push_back(raw);
  }
  batch.Put(cf[kLeases], NsKey(e.ns, e.id), EncodeLease(rec));
  return Write(batch);
}

// ---------------------------------------------------------------------------
// Prune and remove

absl::StatusOr<std::vector<OnTheFlyStore::Impl::Record>> OnTheFlyStore::Impl::ListRecords(
    std::string_view ns) {
  std::vector<Record> out;
  const std::string prefix = NsPrefix(ns);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kImages]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Record rec{.key = it->key().ToString()};
    if (!ImageTarget(it->value().ToStringView(), &rec.target)) return Corrupt("image");
    out.push_back(std::move(rec));
  }
  if (!it->status().ok()) return RocksError(it->status(), "images");
  return out;
}

// The image IDs the containers of `ns` use, resolved now from their
// references as typed against `records` (the namespace's records).
absl::StatusOr<RawSet> OnTheFlyStore::Impl::UsedImages(std::string_view ns,
                                                       const std::vector<Record>& records) {
  absl::flat_hash_map<std::string_view, Raw> by_name;
  by_name.reserve(records.size());
  for (const Record& rec : records) by_name.emplace(AfterNs(rec.key), rec.target);
  std::vector<std::string> ids;  // hex IDs, sorted; made on the first prefix
  RawSet used;
  const std::string prefix = NsPrefix(ns);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kContainers]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view ref;
    if (!ContainerRef(it->value().ToStringView(), &ref)) return Corrupt("container");
    const TypedRef typed = ParseTypedRef(ref);
    if (typed.digest) {
      used.insert(*typed.digest);
      continue;
    }
    if (auto found = by_name.find(typed.name); !typed.name.empty() && found != by_name.end()) {
      used.insert(found->second);
      continue;
    }
    if (typed.hex_prefix.empty()) continue;  // names nothing: protects nothing
    if (ids.empty()) {
      for (const Record& rec : records) ids.push_back(Hex(rec.target));
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    }
    // Every ID with the prefix. docker refuses an ambiguous prefix when the
    // container is created; should one become ambiguous later, keeping every
    // candidate is the safe reading.
    for (auto id = std::lower_bound(ids.begin(), ids.end(), typed.hex_prefix);
         id != ids.end() && id->starts_with(typed.hex_prefix); ++id) {
      used.insert(*ParseDigest(kDigestPrefix + *id));
    }
  }
  if (!it->status().ok()) return RocksError(it->status(), "containers");
  return used;
}

// The smallest ID of a container of `ns` whose reference, resolved now, is
// image `target`; nullopt when none.
absl::StatusOr<std::optional<std::string>> OnTheFlyStore::Impl::ContainerUsing(std::string_view ns,
                                                                               const Raw& target) {
  const std::string prefix = NsPrefix(ns);
  const std::string hex = Hex(target);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kContainers]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view ref;
    if (!ContainerRef(it->value().ToStringView(), &ref)) return Corrupt("container");
    const TypedRef typed = ParseTypedRef(ref);
    bool uses = false;
    if (typed.digest) {
      uses = *typed.digest == target;
    } else {
      std::optional<std::string> value;
      if (!typed.name.empty()) {
        ASSIGN_OR_RETURN(value, Get(kImages, NsKey(ns, typed.name)));
      }
      Raw named;
      if (value) {
        uses = ImageTarget(*value, &named) && named == target;
      } else {
        uses = !typed.hex_prefix.empty() && hex.starts_with(typed.hex_prefix);
      }
    }
    if (uses) return std::string(AfterNs(it->key().ToStringView()));
  }
  if (!it->status().ok()) return RocksError(it->status(), "containers");
  return std::nullopt;
}

// Deletes one image record in its own write (a bolt transaction in
// containerd).
absl::Status OnTheFlyStore::Impl::DeleteRecord(const Record& rec) {
  rocksdb::Status s = db->Delete(write_options, cf[kImages], rec.key);
  if (!s.ok()) return RocksError(s, "delete image");
  const std::string_view key = rec.key;
  IndexRemove(key.substr(0, key.find('\0')), AfterNs(key), rec.target);
  return absl::OkStatus();
}

// Deletes the leases of every namespace that expired at `now`, each in its
// own write. Their content becomes garbage unless something else holds it.
absl::Status OnTheFlyStore::Impl::RemoveExpiredLeases(absl::Time now, OnTheFlyResult* r) {
  std::vector<std::string> expired;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kLeases]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    LeaseRecord rec;
    if (!DecodeLease(it->value().ToStringView(), &rec)) return Corrupt("lease");
    if (rec.expires && now >= *rec.expires) expired.push_back(it->key().ToString());
  }
  if (!it->status().ok()) return RocksError(it->status(), "leases");
  for (const std::string& key : expired) {
    rocksdb::Status s = db->Delete(write_options, cf[kLeases], key);
    if (!s.ok()) return RocksError(s, "delete lease");
    ++r->leases_removed;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Garbage collection: containerd's tricolour mark and sweep, over content
// records only (no snapshots, no content files).

absl::Status OnTheFlyStore::Impl::CollectGarbage(OnTheFlyResult* r) {
  const absl::Time start = absl::Now();
  RawSet marked;
  marked.reserve(last_marked);
  std::vector<Raw> grey;
  RETURN_IF_ERROR(MarkRoots(&marked, &grey));
  RETURN_IF_ERROR(MarkReachable(&marked, &grey));
  last_marked = marked.size();
  RETURN_IF_ERROR(Sweep(marked, r));
  ++r->gc_runs;
  r->sweep_seconds += SecondsSince(start);
  return absl::OkStatus();
}

// Roots: the target of every image record of every namespace, and the
// content of every lease that exists.
absl::Status OnTheFlyStore::Impl::MarkRoots(RawSet* marked, std::vector<Raw>* grey) {
  auto mark = [&](const Raw& raw) {
    if (marked->insert(raw).second) grey->push_back(raw);
  };
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kImages]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Raw target;
    if (!ImageTarget(it->value().ToStringView(), &target)) return Corrupt("image");
    mark(target);
  }
  if (!it->status().ok()) return RocksError(it->status(), "images");
  it.reset(db->NewIterator(rocksdb::ReadOptions(), cf[kLeases]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    LeaseRecord rec;
    if (!DecodeLease(it->value().ToStringView(), &rec)) return Corrupt("lease");
    for (const Raw& c : rec.content) mark(c);
  }
  return it->status().ok() ? absl::OkStatus() : RocksError(it->status(), "leases");
}

// Marks everything reachable from `grey` through the content records'
// children: one lookup per marked blob, as containerd's GC reads each
// content node's gc.ref labels.
absl::Status OnTheFlyStore::Impl::MarkReachable(RawSet* marked, std::vector<Raw>* grey) {
  std::string value;
  const rocksdb::ReadOptions ro;
  while (!grey->empty()) {
    const Raw raw = grey->back();
    grey->pop_back();
    rocksdb::Status s = db->Get(ro, cf[kContent], View(raw), &value);
    if (s.IsNotFound()) continue;  // referenced but never written: nothing to keep
    if (!s.ok()) return RocksError(s, "content");
    ContentRecord rec;
    if (!DecodeContent(value, /*want_children=*/true, &rec)) return Corrupt("content");
    for (const Raw& c : rec.children) {
      if (marked->insert(c).second) grey->push_back(c);
    }
  }
  return absl::OkStatus();
}

// Deletes every content record not marked, kSweepBatch per write, and counts
// what it frees.
absl::Status OnTheFlyStore::Impl::Sweep(const RawSet& marked, OnTheFlyResult* r) {
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[kContent]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Raw raw;
    std::string_view key = it->key().ToStringView();
    if (!GetRaw(&key, &raw)) return Corrupt("content key");
    if (marked.contains(raw)) continue;
    ContentRecord rec;
    if (!DecodeContent(it->value().ToStringView(), /*want_children=*/false, &rec)) {
      return Corrupt("content");
    }
    batch.Delete(cf[kContent], it->key());
    ++r->blobs_freed;
    r->reclaimed_bytes += rec.size;
    if (batch.Count() >= kSweepBatch) {
      RETURN_IF_ERROR(Write(batch));
      batch.Clear();
    }
  }
  if (!it->status().ok()) return RocksError(it->status(), "content");
  return Write(batch);
}

// ---------------------------------------------------------------------------
// Public API

OnTheFlyStore::OnTheFlyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OnTheFlyStore::~OnTheFlyStore() = default;

absl::StatusOr<std::unique_ptr<OnTheFlyStore>> OnTheFlyStore::Open(std::string_view dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir), ec);
  if (ec)
    return absl::InternalError(internal::Cat("onthefly: cannot create ", dir, ": ", ec.message()));

  auto cache = internal::NewRocksCache();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           internal::RocksCfOptions(cache, rocksdb::kDefaultColumnFamilyName));
  for (const char* name : kCfNames) {
    descriptors.emplace_back(name, internal::RocksCfOptions(cache, name));
  }
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(internal::RocksDbOptions(/*create_if_missing=*/true),
                                        std::string(dir), descriptors, &impl->handles, &db);
  if (!s.ok()) return RocksError(s, internal::Cat("open ", dir));
  impl->db.reset(db);
  for (int c = 0; c < kNumCfs; ++c) impl->cf[c] = impl->handles[c + 1];
  RETURN_IF_ERROR(impl->BuildIndex());
  return std::unique_ptr<OnTheFlyStore>(new OnTheFlyStore(std::move(impl)));
}

absl::Status OnTheFlyStore::Apply(const Event& event) {
  return std::visit(
      [&](const auto& e) -> absl::Status {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, CreateImageEvent>) {
          return impl_->ApplyImage(e);
        } else if constexpr (std::is_same_v<T, CreateContainerEvent>) {
          return impl_->ApplyContainer(e);
        } else {
          return impl_->ApplyLease(e);
        }
      },
      event);
}

absl::StatusOr<OnTheFlyResult> OnTheFlyStore::PruneAll(const OpContext& ctx, GcMode mode,
                                                       absl::Duration budget) {
  const absl::Time start = absl::Now();
  OnTheFlyResult r;

  // 1. List the namespace's records and containers; keep what is used.
  ASSIGN_OR_RETURN(const std::vector<Impl::Record> records, impl_->ListRecords(ctx.ns));
  ASSIGN_OR_RETURN(const RawSet used, impl_->UsedImages(ctx.ns, records));
  std::vector<const Impl::Record*> doomed;
  absl::flat_hash_map<Raw, int> left;  // records still to delete, per image
  for (const Impl::Record& rec : records) {
    if (used.contains(rec.target)) continue;
    doomed.push_back(&rec);
    ++left[rec.target];
  }
  r.records_planned = static_cast<int64_t>(doomed.size());
  r.resolve_seconds = SecondsSince(start);

  // 2. Expired leases go (every namespace), then the records, one write each.
  absl::Time t = absl::Now();
  RETURN_IF_ERROR(impl_->RemoveExpiredLeases(ctx.now, &r));
  r.delete_seconds += SecondsSince(t);
  for (const Impl::Record* rec : doomed) {
    if (mode == GcMode::kPerRecord && absl::Now() - start > budget) {
      r.finished = false;
      break;
    }
    t = absl::Now();
    RETURN_IF_ERROR(impl_->DeleteRecord(*rec));
    r.delete_seconds += SecondsSince(t);
    ++r.records_deleted;
    if (--left[rec->target] == 0) ++r.images_deleted;
    // 3a. docker's synchronous delete: a whole GC after every record.
    if (mode == GcMode::kPerRecord) RETURN_IF_ERROR(impl_->CollectGarbage(&r));
  }
  r.records_done = r.records_deleted;
  // 3b. One GC after all the deletes (or the only one, when nothing was
  // deleted but expired leases may have left garbage).
  if (mode == GcMode::kOncePerPrune || (r.finished && r.gc_runs == 0)) {
    RETURN_IF_ERROR(impl_->CollectGarbage(&r));
  }
  return r;
}

absl::StatusOr<OnTheFlyResult> OnTheFlyStore::RemoveByName(std::string_view ns,
                                                           std::string_view name) {
  const absl::Time start = absl::Now();
  OnTheFlyResult r;
  ASSIGN_OR_RETURN(const Reference ref, ParseReference(name));
  Impl::Record rec{.key = NsKey(ns, ref.Full())};
  ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(kImages, rec.key));
  if (!value) return absl::NotFoundError(internal::Cat("No such image: ", ref.Familiar()));
  if (!ImageTarget(*value, &rec.target)) return Corrupt("image");
  const auto st = impl_->index.find(impl_->IndexKey(ns, rec.target));
  const bool last_name = st == impl_->index.end() || st->second.names <= 1;
  if (last_name) {
    ASSIGN_OR_RETURN(std::optional<std::string> user, impl_->ContainerUsing(ns, rec.target));
    if (user) {
      return absl::FailedPreconditionError(internal::Cat(
          "conflict: unable to delete ", ref.Familiar(), " (must be forced) - container ",
          ShortId(*user), " is using its referenced image ", ShortId(Hex(rec.target))));
    }
  }
  r.resolve_seconds = SecondsSince(start);

  const absl::Time t = absl::Now();
  RETURN_IF_ERROR(impl_->DeleteRecord(rec));
  r.delete_seconds = SecondsSince(t);
  r.records_deleted = r.records_done = r.records_planned = 1;
  if (!last_name) return r;  // untagged only: nothing can have been freed
  r.images_deleted = 1;
  RETURN_IF_ERROR(impl_->CollectGarbage(&r));
  return r;
}

absl::StatusOr<std::vector<std::string>> OnTheFlyStore::ListImageIds(std::string_view ns) {
  ASSIGN_OR_RETURN(const std::vector<Impl::Record> records, impl_->ListRecords(ns));
  std::vector<std::string> ids;
  for (const Impl::Record& rec : records) ids.push_back(DigestString(rec.target));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace refstore::bench
