// status_code.h: the error codes of the operation log (OPLOG.md) for a status.
//
// Thread-safety: free function; safe from any thread.
#ifndef REFSTORE_STATUS_CODE_H_
#define REFSTORE_STATUS_CODE_H_

#include <string_view>

#include "absl/status/status.h"
#include "refstore/export.h"

namespace refstore {

// ErrorCodeName maps a non-OK status to one of the codes of OPLOG.md:
//   InvalidArgument -> "invalid_argument"   NotFound -> "not_found"
//   FailedPrecondition, Aborted -> "conflict"
//   AlreadyExists -> "already_exists"       Unimplemented -> "failed_precondition"
//   DataLoss -> "data_loss"                 anything else -> "internal"
REFSTORE_EXPORT std::string_view ErrorCodeName(const absl::Status& status);

}  // namespace refstore

#endif  // REFSTORE_STATUS_CODE_H_
