// status_code.cc: absl status codes -> the error codes of the operation log.
#include "refstore/status_code.h"

namespace refstore {

std::string_view ErrorCodeName(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return "conflict";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kUnimplemented:
      return "failed_precondition";
    case absl::StatusCode::kDataLoss:
      return "data_loss";
    default:
      return "internal";
  }
}

}  // namespace refstore
