// oplog_json.h: the JSON of the operation log (OPLOG.md): strict decoding of
// one operation line and encoding of results.
//
// Example:
//   absl::StatusOr<Operation> op = DecodeOperation(line, absl::Now());
//   if (!op.ok()) {
//     std::cout << DumpLine(ErrorResult(op.status())) << "\n";
//   }
//
// Decoding is strict (SEMANTICS.md §8 "Input"): a line that is not one JSON
// object, has a duplicate key, lacks `op`, names an unknown op, or carries an
// unknown field, a `null`, a value of the wrong type, a size outside
// 0..2^63-1, a malformed digest or a bad time is InvalidArgument. Decoding
// only checks the form of the input; the store checks everything else.
//
// Thread-safety: free functions without shared state; safe from any thread.
#ifndef REFSTORE_OPLOG_OPLOG_JSON_H_
#define REFSTORE_OPLOG_OPLOG_JSON_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "refstore/store.h"

namespace refstore::oplog {

// The operations of OPLOG.md, one struct each, holding their decoded fields.
struct CreateImageOp {
  refstore::CreateImageRequest request;
};
struct TagOp {
  std::string source;
  std::string target;
};
struct RemoveImageOp {
  std::string ref;
  bool force = false;
};
struct ContainerCreateOp {
  std::string id;
  std::string image;
  bool running = false;
};
struct ContainerStartOp {
  std::string id;
};
struct ContainerStopOp {
  std::string id;
};
struct ContainerRemoveOp {
  std::string id;
};
struct PruneOp {
  refstore::PruneOptions options;
};
struct LeaseCreateOp {
  std::string id;
  std::optional<absl::Time> expires;
};
struct LeaseAddOp {
  std::string id;
  std::vector<refstore::Descriptor> content;
};
struct LeaseDeleteOp {
  std::string id;
};
struct ListImagesOp {
  refstore::ListOptions options;
};
struct InspectOp {
  std::string ref;
};
struct DiskUsageOp {};
struct CheckOp {};

using OpBody =
    std::variant<CreateImageOp, TagOp, RemoveImageOp, ContainerCreateOp, ContainerStartOp,
                 ContainerStopOp, ContainerRemoveOp, PruneOp, LeaseCreateOp, LeaseAddOp,
                 LeaseDeleteOp, ListImagesOp, InspectOp, DiskUsageOp, CheckOp>;

// One decoded line: the namespace and time it runs in, and what it does.
struct Operation {
  refstore::OpContext ctx;
  OpBody body;
};

// DecodeOperation decodes one non-blank line. `now` is the operation's time
// when the line has no `at`. Errors: InvalidArgument naming the offending
// field ("missing field 'ref'", "unknown field 'bogus'",
// "field 'target.size' must be an integer from 0 to 9223372036854775807", ...).
absl::StatusOr<Operation> DecodeOperation(std::string_view line, absl::Time now);

// ParseStrictJson parses `text` as one JSON value and refuses duplicate keys
// in any object. Errors: InvalidArgument.
absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text);

// Result encoding. Results use ordered_json so that "ok" comes first.
using Json = nlohmann::ordered_json;

// OkResult: {"ok": true}; the caller adds the operation's fields.
Json OkResult();
// ErrorResult: {"ok": false, "error": {"code": C, "message": M}} with C from
// refstore::ErrorCodeName. REQUIRES: !status.ok().
Json ErrorResult(const absl::Status& status);

Json EncodeDescriptor(const refstore::Descriptor& descriptor);
Json EncodeDescriptors(const std::vector<refstore::Descriptor>& descriptors);
// [{"Untagged": ref} | {"Deleted": ref}, ...] in the given order.
Json EncodeDeleteEntries(const std::vector<refstore::DeleteEntry>& entries);
Json EncodeImageSummary(const refstore::ImageSummary& summary);
// An image summary plus "target", "content" and "container_ids".
Json EncodeImageDetail(const refstore::ImageDetail& detail);
Json EncodeDiskUsage(const refstore::DiskUsage& usage);
Json EncodeProblems(const std::vector<refstore::Problem>& problems);

// DumpLine renders `result` on one line (no trailing newline). Invalid UTF-8
// is replaced rather than thrown on.
std::string DumpLine(const Json& result);

}  // namespace refstore::oplog

#endif  // REFSTORE_OPLOG_OPLOG_JSON_H_
