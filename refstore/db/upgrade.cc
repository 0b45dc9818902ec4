#include "refstore/db/upgrade.h"

#include <memory>
#include <string>

#include "refstore/db/txn.h"
#include "refstore/format/codec.h"
#include "refstore/format/keys.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

absl::Status UpgradeFromFormat1(rocksdb::DB* db,
                                const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                                int64_t batch_images, int64_t max_batches) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::WriteBatch batch;
  int64_t in_batch = 0, batches = 0;
  auto flush = [&]() -> absl::Status {
    if (batch.Count() == 0) return absl::OkStatus();
    if (max_batches >= 0 && batches++ >= max_batches) {
      return absl::AbortedError("format upgrade stopped (test)");
    }
    rocksdb::Status s = db->Write(wo, &batch);
    batch.Clear();
    in_batch = 0;
    if (!s.ok()) return RocksError(s, "format upgrade");
    return absl::OkStatus();
  };
  // The iterator reads the state at its creation; the batches it leads to
  // only rewrite keys it has passed.
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cfs[kImages]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    if (!IsLegacyImageRecord(value)) continue;
    std::string_view ns, id;
    if (!SplitNs(key, &ns, &id) || id.size() != kRawIdSize) {
      return absl::DataLossError(Cat("format upgrade: image key ", Printable(key),
                                     " is not namespace/id (run check --repair with the "
                                     "previous build first)"));
    }
    std::vector<NameEntry> names;
    ASSIGN_OR_RETURN(ImageRecord rec, DecodeImageWithLegacyNames(value, Printable(key), &names));
    for (const NameEntry& n : names) {
      batch.Put(cfs[kNames], ImageNameKey(ns, id, n.full), EncodeNameValue(n.created_ns))
          .PermitUncheckedError();
    }
    batch.Put(cfs[kImages], key, EncodeImage(rec)).PermitUncheckedError();
    if (++in_batch >= batch_images) RETURN_IF_ERROR(flush());
  }
  if (!it->status().ok()) return RocksError(it->status(), "format upgrade");
  it.reset();
  batch.Put(cfs[kDefault], "format_version", std::to_string(kFormatVersion)).PermitUncheckedError();
  return flush();
}

absl::Status UpgradeFromFormat2(rocksdb::DB* db,
                                const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db->Put(wo, cfs[kDefault], "format_version", std::to_string(kFormatVersion));
  if (!s.ok()) return RocksError(s, "format upgrade");
  return absl::OkStatus();
}

}  // namespace refstore::internal
