// external_sort.h: sorts more records than fit in memory.
//
// Records are fixed-size (trivially copyable) values. They collect in a
// buffer of a fixed number of bytes; a full buffer is sorted and written as
// a run file to a temporary directory; Finish sorts what is left, and the
// records come back in order through a k-way merge of the runs, read in
// small blocks. Memory: the buffer plus one block per run, whatever the
// number of records. The temporary directory (made on the first spill) and
// its run files are removed by the destructor, on success or error.
//
// StringSorter does the same for byte strings of any length (keys to
// write, sorted as RocksDB's bytewise comparator sorts them).
//
// Thread-compatible: one thread uses a sorter.
#ifndef REFSTORE_UTIL_EXTERNAL_SORT_H_
#define REFSTORE_UTIL_EXTERNAL_SORT_H_

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace refstore::internal {

// The bytes of the in-memory buffer unless told otherwise.
inline constexpr size_t kSortRunBytes = 64 << 20;

// The directory under which temporary run directories go: $TMPDIR, else
// /tmp.
std::string DefaultSortDir();

// Run files of one sort: a temporary directory made on first use, removed
// (with every run file in it) on destruction.
class SortRuns {
 public:
  explicit SortRuns(std::string parent) : parent_(std::move(parent)) {}
  ~SortRuns();
  SortRuns(const SortRuns&) = delete;
  SortRuns& operator=(const SortRuns&) = delete;

  // Writes `n` bytes at `data` as a new run file.
  absl::Status Write(const void* data, size_t n);
  // Writes a new run file through `fill`, which writes it to the FILE (1 MiB
  // buffered) and returns false if a write failed.
  absl::Status WriteWith(const std::function<bool(FILE*)>& fill);
  size_t size() const { return paths_.size(); }
  // Opens run `i` for reading (the FILE is closed by the caller).
  absl::StatusOr<FILE*> Open(size_t i) const;

 private:
  std::string parent_;
  std::string dir_;  // empty until the first run
  std::vector<std::string> paths_;
};

// Reads `max` records of `size` bytes from `f` into `out`; returns how many
// (0 at the end); an error for a short or failed read.
absl::StatusOr<size_t> ReadRecords(FILE* f, void* out, size_t size, size_t max);

template <typename T, typename Less>
class ExternalSorter {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit ExternalSorter(std::string parent = DefaultSortDir(),
                          size_t memory_bytes = kSortRunBytes, Less less = Less())
      : runs_(std::move(parent)),
        cap_(std::max<size_t>(1, memory_bytes / sizeof(T))),
        less_(less) {}
  ~ExternalSorter() {
    for (Source& s : sources_) {
      if (s.file) std::fclose(s.file);
    }
  }

  absl::Status Add(const T& t) {
    if (buf_.capacity() < cap_) buf_.reserve(cap_);
    buf_.push_back(t);
    ++count_;
    if (buf_.size() < cap_) return absl::OkStatus();
    std::sort(buf_.begin(), buf_.end(), less_);
    absl::Status s = runs_.Write(buf_.data(), buf_.size() * sizeof(T));
    buf_.clear();
    return s;
  }
  // Records added so far.
  uint64_t count() const { return count_; }
  // Run files written (0: everything fitted in memory).
  size_t runs() const { return runs_.size(); }

  // Ends the adding; the records then come in order through Valid, value
  // and Next.
  absl::Status Finish() {
    std::sort(buf_.begin(), buf_.end(), less_);
    // The last run stays in memory; the others are read a block at a time.
    const size_t block = std::max<size_t>(1, (1 << 20) / sizeof(T));
    for (size_t i = 0; i < runs_.size(); ++i) {
      absl::StatusOr<FILE*> f = runs_.Open(i);
      if (!f.ok()) return f.status();
      Source s;
      s.file = *f;
      s.block.resize(block);
      sources_.push_back(std::move(s));
      absl::Status st = Refill(sources_.back());
      if (!st.ok()) return st;
    }
    Source mem;
    mem.block = std::move(buf_);
    mem.end = mem.block.size();
    sources_.push_back(std::move(mem));
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (sources_[i].pos < sources_[i].end) heap_.push_back(i);
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapLess{this});
    return absl::OkStatus();
  }

  bool Valid() const { return !heap_.empty(); }
  const T& value() const {
    const Source& s = sources_[heap_.front()];
    return s.block[s.pos];
  }
  absl::Status Next() {
    std::pop_heap(heap_.begin(), heap_.end(), HeapLess{this});
    Source& s = sources_[heap_.back()];
    if (++s.pos == s.end && s.file) {
      absl::Status st = Refill(s);
      if (!st.ok()) return st;
    }
    if (s.pos < s.end) {
      std::push_heap(heap_.begin(), heap_.end(), HeapLess{this});
    } else {
      heap_.pop_back();
    }
    return absl::OkStatus();
  }

 private:
  struct Source {
    FILE* file = nullptr;  // null: the in-memory run
    std::vector<T> block;
    size_t pos = 0, end = 0;
  };
  // A max-heap of sources whose top is the smallest head.
  struct HeapLess {
    const ExternalSorter* s;
    bool operator()(size_t a, size_t b) const {
      const Source& x = s->sources_[a];
      const Source& y = s->sources_[b];
      return s->less_(y.block[y.pos], x.block[x.pos]);
    }
  };

  absl::Status Refill(Source& s) {
    absl::StatusOr<size_t> n = ReadRecords(s.file, s.block.data(), sizeof(T), s.block.size());
    if (!n.ok()) return n.status();
    s.pos = 0;
    s.end = *n;
    if (*n == 0) {
      std::fclose(s.file);
      s.file = nullptr;
    }
    return absl::OkStatus();
  }

  SortRuns runs_;
  const size_t cap_;
  Less less_;
  std::vector<T> buf_;
  uint64_t count_ = 0;
  std::vector<Source> sources_;
  std::vector<size_t> heap_;
};

// Sorts byte strings, bytewise ascending (duplicates kept), in bounded
// memory: strings collect up to `memory_bytes` (their bytes plus a fixed
// overhead each); a full buffer is sorted and written as a run file of
// length-prefixed strings; the runs are merged as ExternalSorter's are.
class StringSorter {
 public:
  explicit StringSorter(std::string parent = DefaultSortDir(), size_t memory_bytes = kSortRunBytes);
  ~StringSorter();
  StringSorter(const StringSorter&) = delete;
  StringSorter& operator=(const StringSorter&) = delete;

  absl::Status Add(std::string_view s);
  uint64_t count() const { return count_; }
  size_t runs() const { return runs_.size(); }

  // Ends the adding; the strings then come in order.
  absl::Status Finish();
  bool Valid() const { return !heap_.empty(); }
  // Valid until the next call of Next.
  std::string_view value() const { return sources_[heap_.front()].head; }
  absl::Status Next();

 private:
  // A string of the in-memory run: its first eight bytes (big-endian, zero
  // padded) decide most comparisons without touching the arena.
  struct Slot {
    uint64_t prefix;
    uint64_t offset;  // into arena_
    uint32_t size;
  };
  struct Source {
    FILE* file = nullptr;  // null: the in-memory run (arena_, slots_)
    size_t pos = 0;
    std::string buf;        // a file's current string
    std::string_view head;  // the current string
  };
  // Sorts the in-memory run.
  void SortSlots();
  std::string_view SlotView(const Slot& s) const { return {arena_.data() + s.offset, s.size}; }
  // Loads the source's next string into head; false at its end.
  absl::StatusOr<bool> Advance(Source& s);
  struct HeapLess {
    const StringSorter* s;
    bool operator()(size_t a, size_t b) const { return s->sources_[b].head < s->sources_[a].head; }
  };

  SortRuns runs_;
  const size_t cap_;
  std::string arena_;  // the strings of the in-memory run, back to back
  std::vector<Slot> slots_;
  uint64_t count_ = 0;
  std::vector<Source> sources_;
  std::vector<size_t> heap_;
};

}  // namespace refstore::internal

#endif  // REFSTORE_UTIL_EXTERNAL_SORT_H_
