// fuzz_apply_line: the decoder of one line of `refstore apply`
// (refstore/oplog/oplog_json.h, DecodeOperation), then the encoding of its error
// result as `apply` prints it.
//
// Input: one line (any bytes; `apply` passes every non-blank line).
//
// Checks: DecodeOperation never throws (an exception escaping it would end
// the run: libFuzzer reports it as a crash), every error is
// InvalidArgument with a message (oplog_json.h), a decoded operation has a
// valid namespace, and DumpLine(ErrorResult(error)) never throws and gives
// one line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "refstore/oplog/oplog_json.h"
#include "refstore/reference.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_apply_line: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  // A fixed "now": runs are reproducible.
  const absl::Time now = absl::FromUnixSeconds(1700000000);

  absl::StatusOr<refstore::oplog::Operation> op = refstore::oplog::DecodeOperation(line, now);
  if (op.ok()) {
    if (!refstore::IsValidNamespace(op->ctx.ns)) {
      Fail("decoded an operation with the invalid namespace \"" + op->ctx.ns + "\"");
    }
    return 0;
  }
  if (op.status().code() != absl::StatusCode::kInvalidArgument) {
    Fail("error is not InvalidArgument: " + op.status().ToString());
  }
  if (op.status().message().empty()) Fail("error without a message");
  const std::string out = refstore::oplog::DumpLine(refstore::oplog::ErrorResult(op.status()));
  if (out.find('\n') != std::string::npos) Fail("result is not one line: " + out);
  return 0;
}
