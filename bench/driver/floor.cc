#include "driver/floor.h"

#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "driver/measure.h"
#include "refstore/db/rocks_options.h"
#include "refstore/format/keys.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace refstore::bench {
namespace {

using internal::kCfNames;

// A RocksDB database opened with every refstore column family.
class Db {
 public:
  Db(const std::string& dir, bool read_only) {
    auto cache = internal::NewRocksCache();
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : kCfNames) {
      cfs.emplace_back(name, internal::RocksCfOptions(cache, name));
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::DBOptions options = internal::RocksDbOptions(/*create_if_missing=*/false);
    rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(options, dir, cfs, &handles_, &raw)
                                  : rocksdb::DB::Open(options, dir, cfs, &handles_, &raw);
    if (!s.ok()) throw std::runtime_error("open " + dir + ": " + s.ToString());
    db_.reset(raw);
  }
  ~Db() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::DB* get() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(int i) { return handles_[i]; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

void Check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

}  // namespace

nlohmann::json MakeFloorPlan(const std::string& before_dir, const std::string& after_dir,
                             const std::string& plan_file, int batch_ops) {
  Db before(before_dir, true), after(after_dir, true);
  std::ofstream out(plan_file, std::ios::binary | std::ios::trunc);
  rocksdb::WriteBatch batch;
  int64_t ops = 0, batches = 0, bytes = 0;
  auto flush = [&] {
    if (batch.Count() == 0) return;
    const std::string& data = batch.Data();
    uint64_t n = data.size();
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
    out.write(data.data(), static_cast<std::streamsize>(n));
    bytes += static_cast<int64_t>(n);
    ++batches;
    batch.Clear();
  };
  for (int cf = 0; cf < internal::kCfCount; ++cf) {
    if (cf == internal::kDefault) continue;  // the format version never changes
    std::unique_ptr<rocksdb::Iterator> a(before.get()->NewIterator({}, before.cf(cf)));
    std::unique_ptr<rocksdb::Iterator> b(after.get()->NewIterator({}, after.cf(cf)));
    a->SeekToFirst();
    b->SeekToFirst();
    while (a->Valid() || b->Valid()) {
      int order = !a->Valid() ? 1 : !b->Valid() ? -1 : a->key().compare(b->key());
      bool changed = true;
      if (order < 0) {  // gone after the prune
        Check(batch.Delete(after.cf(cf), a->key()), "plan");
        a->Next();
      } else if (order > 0) {  // new after the prune
        Check(batch.Put(after.cf(cf), b->key(), b->value()), "plan");
        b->Next();
      } else {
        changed = a->value() != b->value();
        if (changed) Check(batch.Put(after.cf(cf), b->key(), b->value()), "plan");
        a->Next();
        b->Next();
      }
      if (!changed) continue;
      ++ops;
      if (static_cast<int>(batch.Count()) >= batch_ops) flush();
    }
    Check(a->status(), "scan before");
    Check(b->status(), "scan after");
  }
  flush();
  return {{"ops", ops}, {"batches", batches}, {"bytes", bytes}};
}

nlohmann::json RunFloor(const std::string& store, const std::string& plan_file, bool all_images) {
  Db db(store, false);
  std::ifstream in(plan_file, std::ios::binary);
  std::vector<std::string> plan;
  for (uint64_t n; in.read(reinterpret_cast<char*>(&n), sizeof n);) {
    std::string data(n, '\0');
    in.read(data.data(), static_cast<std::streamsize>(n));
    plan.push_back(std::move(data));
  }
  // Column family IDs are recorded in the batches; the copy has the same IDs.
  Stopwatch clock;
  int64_t scanned = 0, value_bytes = 0;
  const std::string prefix = internal::NsPrefix("ns0");
  std::unique_ptr<rocksdb::Iterator> it(
      db.get()->NewIterator({}, db.cf(all_images ? internal::kImages : internal::kDangling)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ++scanned;
    value_bytes += static_cast<int64_t>(it->value().size());
  }
  Check(it->status(), "scan");
  int64_t ops = 0;
  for (const auto& data : plan) {
    rocksdb::WriteBatch batch(data);
    ops += batch.Count();
    Check(db.get()->Write(rocksdb::WriteOptions(), &batch), "write");
  }
  const double seconds = clock.Seconds();
  return {{"seconds", seconds},
          {"scanned", scanned},
          {"items", scanned},
          {"ops", ops},
          {"scanned_value_bytes", value_bytes}};
}

}  // namespace refstore::bench
