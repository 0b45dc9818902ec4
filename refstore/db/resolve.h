// resolve.h: resolving a reference argument to an image (SEMANTICS.md §3).
#ifndef REFSTORE_DB_RESOLVE_H_
#define REFSTORE_DB_RESOLVE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "refstore/db/txn.h"
#include "refstore/reference.h"

namespace refstore::internal {

struct Resolution {
  enum class Via {
    kName,        // an exact name ("alpine:3.18")
    kId,          // a full or short ID, "sha256:..." included
    kRepoDigest,  // "name@sha256:..." with a name of that repository
  };
  std::string id;  // raw image ID
  Via via = Via::kName;
  std::optional<Reference> ref;  // the argument parsed as a reference, if it is one
};

enum class ResolveMode {
  kRemove,  // name and ID-prefix candidates together; two images: ambiguous
  kLookup,  // an exact name wins over an ID prefix (inspect, tag, containers)
};

// Errors: InvalidArgument from the reference grammar; NotFound
// "No such image: <familiar ref>" or "ambiguous reference".
absl::StatusOr<Resolution> Resolve(Txn& txn, std::string_view ns, std::string_view text,
                                   ResolveMode mode);

// Splits a full normalized name into repository, tag and digest.
struct NameParts {
  std::string_view repo;
  std::optional<std::string_view> tag;
  std::optional<std::string_view> digest;
};
NameParts SplitName(std::string_view full);

// The names of image (ns, id) in repository `repo`, sorted, at most `limit`
// of them. Only names starting "repo:" or "repo@" are read (in the name
// order of the `names` family), so the cost follows the repository's names
// of the image, not all its names.
absl::StatusOr<std::vector<NameEntry>> NamesInRepo(Txn& txn, std::string_view ns,
                                                   std::string_view id, std::string_view repo,
                                                   size_t limit = SIZE_MAX);

}  // namespace refstore::internal

#endif  // REFSTORE_DB_RESOLVE_H_
