#include "refstore/db/bulk_write.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "refstore/db/txn.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"
#include "rocksdb/sst_file_writer.h"

namespace refstore::internal {
namespace {

// A write as the sort orders it: the column family, the key escaped so
// that the bytes sort as the keys do (\0 -> \0 \xff, then \0 \0), the
// order written (big-endian: a later write sorts after), the kind, the
// value.
constexpr char kPut = 'P', kDelete = 'D';

void AppendEscaped(std::string& out, std::string_view key) {
  for (char c : key) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  out.append(2, '\0');
}

struct Write {
  Cf cf;
  std::string key;
  char op;
  std::string_view value;  // into the sort's current record
};

// Where a record's key (with its column family) ends: after its first
// \0 that is followed by \0 (an escaped \0 is followed by \xff).
size_t KeyEnd(std::string_view rec) {
  size_t i = 1;
  while (i + 1 < rec.size()) {
    const void* zero = std::memchr(rec.data() + i, '\0', rec.size() - 1 - i);
    if (zero == nullptr) break;
    i = static_cast<const char*>(zero) - rec.data();
    if (rec[i + 1] == '\0') return i + 2;
    i += 2;  // past an escaped \0
  }
  return rec.size();
}

// Reads `rec`, whose key ends at `end` (KeyEnd), into `*w` (whose key
// buffer is reused).
absl::Status Parse(std::string_view rec, size_t end, Write* w) {
  if (rec.empty()) return absl::InternalError("an empty record in a bulk write");
  if (end < 3 || rec.substr(end - 2, 2) != std::string_view("\0\0", 2)) {
    return absl::InternalError("a bulk write's key does not end");
  }
  if (end + 8 + 1 > rec.size()) return absl::InternalError("a bulk write record is cut short");
  w->cf = static_cast<Cf>(static_cast<unsigned char>(rec[0]));
  w->key.clear();
  std::string_view escaped = rec.substr(1, end - 3);
  while (!escaped.empty()) {
    const size_t zero = escaped.find('\0');
    if (zero == std::string_view::npos) {
      w->key.append(escaped);
      break;
    }
    w->key.append(escaped.substr(0, zero + 1));
    escaped.remove_prefix(std::min(zero + 2, escaped.size()));  // and the \xff after it
  }
  w->op = rec[end + 8];
  w->value = rec.substr(end + 9);
  return absl::OkStatus();
}

}  // namespace

BulkWrite::BulkWrite(std::string sort_dir, std::string table_dir)
    : sorter_(std::move(sort_dir)), table_dir_(std::move(table_dir)) {}

BulkWrite::~BulkWrite() {
  for (const std::string& t : tables_) ::unlink(t.c_str());  // moved away unless it failed
  if (!tables_.empty()) ::rmdir(table_dir_.c_str());
}

absl::Status BulkWrite::Add(Cf cf, std::string_view key, char op, std::string_view value) {
  std::string& rec = record_;
  rec.clear();
  rec.push_back(static_cast<char>(cf));
  AppendEscaped(rec, key);
  const uint64_t seq = seq_++;
  for (int shift = 56; shift >= 0; shift -= 8) rec.push_back(static_cast<char>(seq >> shift));
  rec.push_back(op);
  rec.append(value);
  return sorter_.Add(rec);
}

absl::Status BulkWrite::Put(Cf cf, std::string_view key, std::string_view value) {
  return Add(cf, key, kPut, value);
}

absl::Status BulkWrite::Delete(Cf cf, std::string_view key) { return Add(cf, key, kDelete, {}); }

absl::Status BulkWrite::Commit(
    rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs, uint64_t batch_max,
    const std::function<absl::Status(rocksdb::WriteBatch&)>& write_batch) {
  RETURN_IF_ERROR(sorter_.Finish());
  const bool ingest = writes() > batch_max;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::SstFileWriter> table;
  std::optional<Cf> table_cf;
  std::vector<rocksdb::IngestExternalFileArg> args;
  auto close_table = [&]() -> absl::Status {
    if (!table) return absl::OkStatus();
    rocksdb::Status s = table->Finish();
    if (!s.ok()) return RocksError(s, Cat("table file of ", kCfNames[*table_cf]));
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = cfs[*table_cf];
    arg.external_files = {tables_.back()};
    arg.options.move_files = true;
    args.push_back(std::move(arg));
    table.reset();
    return absl::OkStatus();
  };
  // Emits one write, the last one of its key.
  auto emit = [&](const Write& w) -> absl::Status {
    rocksdb::Status s;
    if (!ingest) {
      s = w.op == kPut ? batch.Put(cfs[w.cf], w.key, w.value) : batch.Delete(cfs[w.cf], w.key);
      return s.ok() ? absl::OkStatus() : RocksError(s, Printable(w.key));
    }
    if (table_cf != w.cf) {
      RETURN_IF_ERROR(close_table());
      if (tables_.empty() && ::mkdir(table_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::InternalError(Cat("cannot make ", table_dir_, ": ", std::strerror(errno)));
      }
      rocksdb::Options options = db->GetOptions(cfs[w.cf]);
      table = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(options), options,
                                                       cfs[w.cf]);
      tables_.push_back(Cat(table_dir_, "/", kCfNames[w.cf], ".sst"));
      table_cf = w.cf;
      s = table->Open(tables_.back());
      if (!s.ok()) return RocksError(s, tables_.back());
    }
    s = w.op == kPut ? table->Put(w.key, w.value) : table->Delete(w.key);
    return s.ok() ? absl::OkStatus() : RocksError(s, Printable(w.key));
  };
  // The sort brings the writes of a key together, last one last.
  std::string held;  // the record of the last write seen, not emitted yet
  size_t held_end = 0;
  Write w{};
  while (sorter_.Valid()) {
    const std::string_view rec = sorter_.value();
    const size_t end = KeyEnd(rec);
    if (!held.empty() && std::string_view(held).substr(0, held_end) != rec.substr(0, end)) {
      RETURN_IF_ERROR(Parse(held, held_end, &w));
      RETURN_IF_ERROR(emit(w));
    }
    held.assign(rec);
    held_end = end;
    RETURN_IF_ERROR(sorter_.Next());
  }
  if (!held.empty()) {
    RETURN_IF_ERROR(Parse(held, held_end, &w));
    RETURN_IF_ERROR(emit(w));
  }
  if (!ingest) return batch.Count() == 0 ? absl::OkStatus() : write_batch(batch);
  RETURN_IF_ERROR(close_table());
  if (args.empty()) return absl::OkStatus();
  rocksdb::Status s = db->IngestExternalFiles(args);
  if (!s.ok()) return RocksError(s, "ingesting a bulk write");
  ingested_ = true;
  return absl::OkStatus();
}

}  // namespace refstore::internal
