// apply_line.h: one line of the operation log (OPLOG.md) applied to a
// Store: what `refstore apply` does per line, and the C API's
// refstore_apply_json.
//
// Example:
//   Json result = refstore::oplog::ApplyLine(store, line, absl::Now());
//   std::cout << DumpLine(result) << "\n";
//
// Thread-safety: a call uses only its arguments and the (thread-safe)
// Store; calls may run concurrently.
#ifndef REFSTORE_OPLOG_APPLY_LINE_H_
#define REFSTORE_OPLOG_APPLY_LINE_H_

#include <string_view>

#include "absl/time/time.h"
#include "refstore/oplog/oplog_json.h"
#include "refstore/store.h"

namespace refstore::oplog {

// ApplyLine decodes one non-blank line and applies it to `store`; `now` is
// the operation's time when the line has no `at`. Returns the result object:
// {"ok": true, ...} or {"ok": false, "error": {...}}. Never throws.
Json ApplyLine(Store& store, std::string_view line, absl::Time now);

// Whether `result` (of ApplyLine) says "ok": true.
bool IsSuccess(const Json& result);

}  // namespace refstore::oplog

#endif  // REFSTORE_OPLOG_APPLY_LINE_H_
