// apply.cc: `refstore apply`: reads operation lines from a stream and
// applies each (refstore/oplog/apply_line.h).
#include "apply.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "refstore/oplog/apply_line.h"
#include "refstore/reference.h"

namespace refstore_tool {

using refstore::Store;
using refstore::oplog::ApplyLine;
using refstore::oplog::DumpLine;
using refstore::oplog::ErrorResult;
using refstore::oplog::IsSuccess;
using refstore::oplog::Json;

namespace {

// Reads one line (without its newline) of at most kMaxLineBytes into
// `line`; a longer one is consumed whole and `*too_long` set. False at the
// end of the input.
bool ReadLine(std::istream& in, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return any;
    }
    any = true;
    if (c == '\n') return true;
    if (line->size() < kMaxLineBytes) {
      line->push_back(static_cast<char>(c));
    } else {
      *too_long = true;
    }
  }
}

}  // namespace

int ApplyStream(Store& store, std::istream& in, std::ostream& out, std::ostream& err,
                std::optional<absl::Time> at) {
  bool all_ok = true;
  std::string line;
  bool too_long = false;
  for (int64_t number = 1; ReadLine(in, &line, &too_long); ++number) {
    if (!too_long && refstore::IsBlank(line)) continue;
    Json result = too_long ? ErrorResult(absl::InvalidArgumentError(absl::StrCat(
                                 "line ", number, " is longer than ", kMaxLineBytes, " bytes")))
                           : ApplyLine(store, line, at.value_or(absl::Now()));
    all_ok = IsSuccess(result) && all_ok;
    out << DumpLine(result) << '\n' << std::flush;
    // An unprinted result acknowledges nothing: stop rather than go on
    // applying operations nobody can see the results of.
    if (!out) return 1;
  }
  if (in.bad()) {
    err << "refstore: reading the operations failed\n";
    return 1;
  }
  return all_ok ? 0 : 1;
}

}  // namespace refstore_tool
