#include "refstore/util/external_sort.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "refstore/util/strcat.h"

namespace refstore::internal {

std::string DefaultSortDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

SortRuns::~SortRuns() {
  for (const std::string& p : paths_) ::unlink(p.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

absl::Status SortRuns::Write(const void* data, size_t n) {
  return WriteWith([&](FILE* f) { return std::fwrite(data, 1, n, f) == n; });
}

absl::Status SortRuns::WriteWith(const std::function<bool(FILE*)>& fill) {
  if (dir_.empty()) {
    std::string tmpl = Cat(parent_, "/refstore-sort-XXXXXX");
    if (!::mkdtemp(tmpl.data())) {
      return absl::InternalError(
          Cat("cannot make a sort directory under ", parent_, ": ", std::strerror(errno)));
    }
    dir_ = tmpl;
  }
  std::string path = Cat(dir_, "/run-", paths_.size());
  FILE* f = std::fopen(path.c_str(), "wbx");
  if (!f) return absl::InternalError(Cat("cannot create ", path, ": ", std::strerror(errno)));
  paths_.push_back(path);  // removed by the destructor from now on
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  const bool ok = fill(f);
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    return absl::InternalError(Cat("cannot write ", path, ": ", std::strerror(ok ? errno : err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<FILE*> SortRuns::Open(size_t i) const {
  FILE* f = std::fopen(paths_[i].c_str(), "rb");
  if (!f) return absl::InternalError(Cat("cannot open ", paths_[i], ": ", std::strerror(errno)));
  return f;
}

absl::StatusOr<size_t> ReadRecords(FILE* f, void* out, size_t size, size_t max) {
  const size_t n = std::fread(out, size, max, f);
  if (n < max && std::ferror(f)) {
    return absl::InternalError(Cat("cannot read a sort run: ", std::strerror(errno)));
  }
  return n;
}

// Per string in memory beyond its bytes: its slot.
constexpr size_t kSlotOverhead = 24;

StringSorter::StringSorter(std::string parent, size_t memory_bytes)
    : runs_(std::move(parent)), cap_(std::max<size_t>(1, memory_bytes)) {}

StringSorter::~StringSorter() {
  for (Source& s : sources_) {
    if (s.file) std::fclose(s.file);
  }
}

void StringSorter::SortSlots() {
  std::sort(slots_.begin(), slots_.end(), [this](const Slot& a, const Slot& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return SlotView(a) < SlotView(b);
  });
}

absl::Status StringSorter::Add(std::string_view s) {
  if (s.size() > UINT32_MAX) return absl::InvalidArgumentError("a sorted string exceeds 4 GiB");
  uint64_t prefix = 0;
  for (size_t i = 0; i < 8; ++i) {
    prefix = (prefix << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0);
  }
  // The arena takes its whole budget at once (untouched pages cost no
  // memory): growing by doubling copied it and faulted in fresh pages.
  if (arena_.capacity() < cap_) arena_.reserve(cap_);
  slots_.push_back({prefix, arena_.size(), static_cast<uint32_t>(s.size())});
  arena_.append(s);
  ++count_;
  if (arena_.size() + slots_.size() * kSlotOverhead < cap_) return absl::OkStatus();
  SortSlots();
  // Written from the arena through the file's buffer, not copied into a
  // run-sized string first.
  absl::Status written = runs_.WriteWith([this](FILE* f) {
    for (const Slot& x : slots_) {
      if (fwrite_unlocked(&x.size, sizeof(x.size), 1, f) != 1 ||
          fwrite_unlocked(arena_.data() + x.offset, 1, x.size, f) != x.size) {
        return false;
      }
    }
    return true;
  });
  arena_.clear();
  slots_.clear();
  return written;
}

absl::StatusOr<bool> StringSorter::Advance(Source& s) {
  if (!s.file) {
    if (s.pos == slots_.size()) return false;
    s.head = SlotView(slots_[s.pos++]);
    return true;
  }
  uint32_t n = 0;
  absl::StatusOr<size_t> got = ReadRecords(s.file, &n, sizeof(n), 1);
  if (!got.ok()) return got.status();
  if (*got == 1) {
    s.buf.resize(n);
    got = n == 0 ? 1 : ReadRecords(s.file, s.buf.data(), n, 1);
    if (!got.ok()) return got.status();
    s.head = s.buf;
    if (*got == 1) return true;
    return absl::InternalError("a sort run ends inside a string");
  }
  std::fclose(s.file);
  s.file = nullptr;
  return false;
}

absl::Status StringSorter::Finish() {
  SortSlots();
  for (size_t i = 0; i < runs_.size(); ++i) {
    absl::StatusOr<FILE*> f = runs_.Open(i);
    if (!f.ok()) return f.status();
    std::setvbuf(*f, nullptr, _IOFBF, 1 << 20);
    sources_.emplace_back().file = *f;
  }
  sources_.emplace_back();  // the in-memory run
  for (size_t i = 0; i < sources_.size(); ++i) {
    absl::StatusOr<bool> more = Advance(sources_[i]);
    if (!more.ok()) return more.status();
    if (*more) heap_.push_back(i);
  }
  std::make_heap(heap_.begin(), heap_.end(), HeapLess{this});
  return absl::OkStatus();
}

absl::Status StringSorter::Next() {
  std::pop_heap(heap_.begin(), heap_.end(), HeapLess{this});
  absl::StatusOr<bool> more = Advance(sources_[heap_.back()]);
  if (!more.ok()) return more.status();
  if (*more) {
    std::push_heap(heap_.begin(), heap_.end(), HeapLess{this});
  } else {
    heap_.pop_back();
  }
  return absl::OkStatus();
}

}  // namespace refstore::internal
