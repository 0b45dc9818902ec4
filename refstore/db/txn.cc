#include "refstore/db/txn.h"

#include <algorithm>

#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"
#include "rocksdb/comparator.h"

namespace refstore::internal {

absl::Status RocksError(const rocksdb::Status& s, std::string_view what) {
  std::string msg = Cat("rocksdb: ", s.ToString(), " at ", what);
  // A file of the store missing is as bad as a damaged one.
  if (s.IsCorruption() || s.IsPathNotFound()) return absl::DataLossError(msg);
  if (s.IsNoSpace() || (s.IsIOError() && msg.find("No space") != std::string::npos)) {
    return absl::ResourceExhaustedError(msg);
  }
  // Retrying may succeed: a lock or a busy resource, or an I/O error.
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsIOError() || s.IsShutdownInProgress()) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

PrefixIterator::PrefixIterator(std::unique_ptr<rocksdb::Iterator> it, std::string prefix,
                               absl::Status* error_sink)
    : it_(std::move(it)), prefix_(std::move(prefix)), error_sink_(error_sink) {}

PrefixIterator::~PrefixIterator() {
  if (it_ && error_sink_ && error_sink_->ok() && !it_->status().ok()) {
    *error_sink_ = RocksError(it_->status(), Printable(prefix_));
  }
}

bool PrefixIterator::Valid() const { return it_->Valid() && it_->key().starts_with(prefix_); }
std::string_view PrefixIterator::key() const {
  auto k = it_->key();
  return {k.data(), k.size()};
}
std::string_view PrefixIterator::rest() const { return key().substr(prefix_.size()); }
std::string_view PrefixIterator::value() const {
  auto v = it_->value();
  return {v.data(), v.size()};
}
absl::Status PrefixIterator::status() const {
  if (!it_->status().ok()) return RocksError(it_->status(), Printable(prefix_));
  return absl::OkStatus();
}

Txn::Txn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs,
         const rocksdb::Snapshot* snapshot, Mode mode)
    : db_(db),
      cfs_(cfs),
      mode_(mode),
      wb_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {
  read_.snapshot = snapshot;
}

Txn::Txn(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* cfs, BulkWrite& bulk)
    : Txn(db, cfs, nullptr, Mode::kBulk) {
  bulk_ = &bulk;
}

namespace {
std::string WrittenKey(Cf cf, std::string_view key) {
  std::string k(1, static_cast<char>(cf));
  k.append(key);
  return k;
}

// How an image record's errors name it.
std::string ImageWhere(std::string_view ns, std::string_view id) {
  return Cat("images/", ns, "/", RawToHex(id));
}

}  // namespace

absl::StatusOr<std::optional<std::string>> Txn::Get(Cf cf, std::string_view key) {
  std::string value;
  rocksdb::Status s;
  if (mode_ == Mode::kAppendOnly && written_.contains(WrittenKey(cf, key))) {
    return absl::InternalError(
        Cat("read after write of ", Printable(key), " in an append-only change"));
  }
  if (mode_ == Mode::kAppendOnly || mode_ == Mode::kBulk) {
    s = db_->Get(read_, (*cfs_)[cf], key, &value);
  } else {
    s = wb_.GetFromBatchAndDB(db_, read_, (*cfs_)[cf], key, &value);
  }
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return RocksError(s, Printable(key));
  return value;
}

void Txn::Put(Cf cf, std::string_view key, std::string_view value) {
  if (mode_ == Mode::kDiscard) return;
  if (mode_ == Mode::kBulk) {
    if (absl::Status s = bulk_->Put(cf, key, value); !s.ok() && scan_error_.ok()) scan_error_ = s;
    return;
  }
  if (mode_ == Mode::kAppendOnly) {
    written_.insert(WrittenKey(cf, key));
    appended_.push_back({cf, std::string(key), true, std::string(value)});
    return;
  }
  wb_.Put((*cfs_)[cf], key, value);
}

void Txn::Delete(Cf cf, std::string_view key) {
  if (mode_ == Mode::kDiscard) return;
  if (mode_ == Mode::kBulk) {
    if (absl::Status s = bulk_->Delete(cf, key); !s.ok() && scan_error_.ok()) scan_error_ = s;
    return;
  }
  if (mode_ == Mode::kAppendOnly) {
    written_.insert(WrittenKey(cf, key));
    appended_.push_back({cf, std::string(key), false, {}});
    return;
  }
  wb_.Delete((*cfs_)[cf], key);
}

PrefixIterator Txn::Scan(Cf cf, std::string_view prefix, std::string_view start) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_, (*cfs_)[cf]));
  if (mode_ == Mode::kIndexed) it.reset(wb_.NewIteratorWithBase((*cfs_)[cf], it.release()));
  it->Seek(start.empty() ? prefix : start);
  return PrefixIterator(std::move(it), std::string(prefix), &scan_error_);
}

absl::StatusOr<std::optional<ImageRecord>> Txn::GetImage(std::string_view ns, std::string_view id) {
  std::string key = ImageKey(ns, id);
  ASSIGN_OR_RETURN(auto v, Get(kImages, key));
  if (!v) return std::nullopt;
  ASSIGN_OR_RETURN(auto r, DecodeImage(*v, ImageWhere(ns, id)));
  return r;
}

absl::StatusOr<std::vector<std::optional<ImageRecord>>> Txn::GetImages(
    std::string_view ns, const std::vector<std::string_view>& ids) {
  std::vector<std::optional<ImageRecord>> out(ids.size());
  if (mode_ != Mode::kDiscard && mode_ != Mode::kBulk) {
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSIGN_OR_RETURN(out[i], GetImage(ns, ids[i]));
    }
    return out;
  }
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (std::string_view id : ids) keys.push_back(ImageKey(ns, id));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  // This Txn has written nothing the database does not show (kDiscard writes
  // nothing, kBulk's writes are not read back), so the database answers.
  db_->MultiGet(read_, (*cfs_)[kImages], keys.size(), slices.data(), values.data(), statuses.data(),
                /*sorted_input=*/std::is_sorted(keys.begin(), keys.end()));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return RocksError(statuses[i], Printable(keys[i]));
    ASSIGN_OR_RETURN(out[i], DecodeImage(values[i].ToStringView(), ImageWhere(ns, ids[i])));
  }
  return out;
}

void Txn::PutImage(std::string_view ns, std::string_view id, const ImageRecord& r) {
  Put(kImages, ImageKey(ns, id), EncodeImage(r));
}

absl::StatusOr<std::optional<BlobRecord>> Txn::GetBlob(std::string_view raw) {
  auto it = blobs_.find(absl::string_view(raw.data(), raw.size()));
  if (it != blobs_.end()) return it->second.record;
  ASSIGN_OR_RETURN(auto v, Get(kBlobs, raw));
  CachedBlob& entry = blobs_[std::string(raw)];
  if (v) {
    ASSIGN_OR_RETURN(entry.record, DecodeBlob(*v, RawToDigest(raw)));
  }
  return entry.record;
}

absl::Status Txn::PrefetchBlobs(std::vector<std::string> raws) {
  std::sort(raws.begin(), raws.end());
  raws.erase(std::unique(raws.begin(), raws.end()), raws.end());
  std::erase_if(raws, [&](const std::string& r) { return blobs_.contains(r); });
  if (raws.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> keys(raws.begin(), raws.end());
  std::vector<rocksdb::PinnableSlice> values(raws.size());
  std::vector<rocksdb::Status> statuses(raws.size());
  // Blob records are never in the batch (see Finish), so the database is
  // the whole truth for keys not cached.
  db_->MultiGet(read_, (*cfs_)[kBlobs], keys.size(), keys.data(), values.data(), statuses.data(),
                /*sorted_input=*/true);
  for (size_t i = 0; i < raws.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      blobs_[raws[i]];
      continue;
    }
    if (!statuses[i].ok()) return RocksError(statuses[i], RawToDigest(raws[i]));
    ASSIGN_OR_RETURN(auto r, DecodeBlob(values[i].ToStringView(), RawToDigest(raws[i])));
    blobs_[raws[i]].record = std::move(r);
  }
  return absl::OkStatus();
}

void Txn::PutBlob(std::string_view raw, const BlobRecord& r) {
  blobs_[std::string(raw)] = CachedBlob{r, true};
}

bool Txn::FreedHere(std::string_view raw) const {
  auto it = blobs_.find(absl::string_view(raw.data(), raw.size()));
  return it != blobs_.end() && it->second.dirty && !it->second.record;
}

void Txn::DeleteBlob(std::string_view raw) {
  if ((mode_ == Mode::kDiscard || mode_ == Mode::kBulk) &&
      !blobs_.contains(absl::string_view(raw.data(), raw.size()))) {
    // Never read, so never needed again (an owned blob: see Mode::kDiscard):
    // a bulk change writes the deletion at once instead of caching it.
    if (mode_ == Mode::kBulk) Delete(kBlobs, raw);
    return;
  }
  blobs_[std::string(raw)] = CachedBlob{std::nullopt, true};
}

absl::StatusOr<std::optional<ContainerRecord>> Txn::GetContainer(std::string_view ns,
                                                                 std::string_view cid) {
  ASSIGN_OR_RETURN(auto v, Get(kContainers, ContainerKey(ns, cid)));
  if (!v) return std::nullopt;
  ASSIGN_OR_RETURN(auto r, DecodeContainer(*v, Cat("containers/", ns, "/", RawToHex(cid))));
  return r;
}

absl::StatusOr<std::optional<LeaseRecord>> Txn::GetLease(std::string_view ns, std::string_view id) {
  ASSIGN_OR_RETURN(auto v, Get(kLeases, LeaseKey(ns, id)));
  if (!v) return std::nullopt;
  ASSIGN_OR_RETURN(auto r, DecodeLease(*v, Cat("leases/", ns, "/", id)));
  return r;
}

absl::StatusOr<NsStats> Txn::GetStats(std::string_view ns) {
  ASSIGN_OR_RETURN(auto v, Get(kStats, ns));
  if (!v) return NsStats{};
  return DecodeStats(*v, Cat("stats/", ns));
}

NsStats& Txn::StatsDelta(std::string_view ns) {
  auto it = stats_delta_.find(ns);
  if (it == stats_delta_.end()) it = stats_delta_.emplace(std::string(ns), NsStats{}).first;
  return it->second;
}

absl::StatusOr<rocksdb::WriteBatch> Txn::SortedBatch() {
  if (mode_ == Mode::kAppendOnly) {
    // Key order, and for a key written twice its last write only.
    std::stable_sort(appended_.begin(), appended_.end(), [](const Appended& a, const Appended& b) {
      return a.cf != b.cf ? a.cf < b.cf : a.key < b.key;
    });
    rocksdb::WriteBatch out;
    for (size_t i = 0; i < appended_.size(); ++i) {
      const Appended& op = appended_[i];
      if (i + 1 < appended_.size() && appended_[i + 1].cf == op.cf &&
          appended_[i + 1].key == op.key) {
        continue;  // a later write of the same key wins
      }
      rocksdb::Status s =
          op.put ? out.Put((*cfs_)[op.cf], op.key, op.value) : out.Delete((*cfs_)[op.cf], op.key);
      if (!s.ok()) return RocksError(s, Printable(op.key));
    }
    return out;
  }
  rocksdb::WriteBatch out(wb_.GetWriteBatch()->GetDataSize());
  for (rocksdb::ColumnFamilyHandle* cf : *cfs_) {
    std::unique_ptr<rocksdb::WBWIIterator> it(wb_.NewIterator(cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::WriteEntry e = it->Entry();
      rocksdb::Status s;
      if (e.type == rocksdb::kPutRecord) {
        s = out.Put(cf, e.key, e.value);
      } else if (e.type == rocksdb::kDeleteRecord) {
        s = out.Delete(cf, e.key);
      } else {
        return absl::InternalError(Cat("unexpected write type ", static_cast<int>(e.type)));
      }
      if (!s.ok()) return RocksError(s, Printable(e.key.ToStringView()));
    }
    if (!it->status().ok()) return RocksError(it->status(), "sorting the batch");
  }
  return out;
}

absl::Status Txn::Finish() {
  if (mode_ == Mode::kDiscard) return absl::InternalError("a discarding change cannot be written");
  if (!scan_error_.ok()) return scan_error_;
  for (auto& [raw, entry] : blobs_) {
    if (!entry.dirty) continue;
    if (entry.record) {
      Put(kBlobs, raw, EncodeBlob(*entry.record));
    } else {
      Delete(kBlobs, raw);
    }
    entry.dirty = false;
  }
  for (const auto& [ns, delta] : stats_delta_) {
    if (delta.IsZero()) continue;
    ASSIGN_OR_RETURN(NsStats stats, GetStats(ns));
    stats += delta;
    if (stats.overflow) {
      // Sizes are each at most 2^63-1; what a namespace reports must fit
      // too (image sizes, df, reclaimed bytes are all at most its size).
      return absl::InvalidArgumentError(
          Cat("namespace ", ns, ": its images would use more than 9223372036854775807 bytes"));
    }
    Put(kStats, ns, EncodeStats(stats));
  }
  stats_delta_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Txn::GetName(std::string_view ns,
                                                        std::string_view full) {
  return Get(kRefs, NameKey(ns, full));
}

absl::StatusOr<NameEntry> DecodeNameEntry(std::string_view key, size_t name_at,
                                          std::string_view value) {
  ASSIGN_OR_RETURN(int64_t created, DecodeNameValue(value, Printable(key)));
  return NameEntry{std::string(key.substr(name_at)), created};
}

NameCursor::NameCursor(Txn& txn, std::string_view ns) : it_(txn.Scan(kNames, NsPrefix(ns))) {}

absl::StatusOr<std::vector<NameEntry>> NameCursor::NamesOf(std::string_view image) {
  // An image key is never a prefix of another (ns \0 and 32 bytes), so the
  // names of a smaller image key sort before those of a larger one.
  std::vector<NameEntry> out;
  for (; it_.Valid(); it_.Next()) {
    const std::string_view rest = it_.rest();
    const std::string_view head = rest.substr(0, image.size());
    if (head < image) continue;
    if (head > image) break;
    if (rest.size() == image.size()) continue;  // no name: check reports it
    const size_t name_at = it_.key().size() - rest.size() + image.size();
    ASSIGN_OR_RETURN(NameEntry e, DecodeNameEntry(it_.key(), name_at, it_.value()));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(it_.status());
  return out;
}

absl::StatusOr<std::vector<NameEntry>> Txn::GetNames(std::string_view ns, std::string_view id) {
  std::vector<NameEntry> out;
  auto it = Scan(kNames, ImageNamesPrefix(ns, id));
  for (; it.Valid(); it.Next()) {
    const size_t name_at = it.key().size() - it.rest().size();
    ASSIGN_OR_RETURN(NameEntry e, DecodeNameEntry(it.key(), name_at, it.value()));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(it.status());
  return out;
}

}  // namespace refstore::internal
