// apply.h: `refstore apply`, the operation log of OPLOG.md.
//
// Example:
//   int status = refstore_tool::ApplyStream(*store, std::cin, std::cout, std::cerr);
//
// Thread-safety: a call uses only its arguments; run one call per stream.
#ifndef REFSTORE_TOOLS_APPLY_H_
#define REFSTORE_TOOLS_APPLY_H_

#include <istream>
#include <optional>
#include <ostream>
#include <string_view>

#include "absl/time/time.h"
#include "refstore/store.h"

namespace refstore_tool {

// The longest input line apply reads (16 MiB: an image of ~100,000
// descriptors). A longer line is skipped whole and answered with
// invalid_argument "line N is longer than 16777216 bytes".
inline constexpr size_t kMaxLineBytes = size_t{16} << 20;

// ApplyStream reads JSON Lines from `in` until its end and writes one result
// line to `out` per non-blank input line, flushing after each, so that a
// printed result acknowledges an applied operation. Blank lines produce no
// output. Lines without `at` run at `at` when given, else at the clock.
// Returns the exit status: 0 when every operation succeeded, 1 when any
// failed or `in` could not be read (the reason goes to `err`).
int ApplyStream(refstore::Store& store, std::istream& in, std::ostream& out, std::ostream& err,
                std::optional<absl::Time> at = std::nullopt);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_APPLY_H_
