// reference.h: the image reference grammar of docker's distribution/reference
// package, with docker's normalization and "familiar" display form.
//
// Example:
//   absl::StatusOr<refstore::Reference> r = refstore::ParseReference("alpine");
//   r->Full()      == "docker.io/library/alpine:latest"
//   r->Familiar()  == "alpine:latest"
//
// Thread-safety: free functions and value types; safe from any thread.
#ifndef REFSTORE_REFERENCE_H_
#define REFSTORE_REFERENCE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "refstore/export.h"

namespace refstore {

// A normalized named reference: domain, path, optional tag, optional digest.
// After ParseReference, `domain` is never empty (docker.io by default), a
// single-component docker.io path carries `library/`, and a reference that had
// neither tag nor digest has tag "latest".
struct REFSTORE_EXPORT Reference {
  std::string domain;                 // "docker.io", "localhost:5000", ...
  std::string path;                   // "library/alpine"
  std::optional<std::string> tag;     // "3.18"
  std::optional<std::string> digest;  // "sha256:<64 hex>"

  // Repository: "docker.io/library/alpine".
  std::string Repository() const;
  // Full normalized form: "docker.io/library/alpine:3.18",
  // "docker.io/library/alpine@sha256:...", or "repo:tag@sha256:..." when both.
  std::string Full() const;
  // Familiar form used in every output: "alpine:3.18", "foo/bar:1",
  // "localhost:5000/x:1". Drops "docker.io/", then "library/" when the rest
  // has no other "/".
  std::string Familiar() const;
};

// ParseReference parses and normalizes `text` (docker's ParseNormalizedNamed
// followed by TagNameOnly: a name with no tag and no digest gets ":latest").
//
// Errors (all InvalidArgument, messages exactly as in SEMANTICS.md §2):
//   "image name cannot be blank"            empty or only spaces/tabs/CR/LF
//   "invalid reference format: repository name (<path>) must be lowercase"
//                                           <path>: the normalized remote name
//                                           up to the first ':' (as docker)
//   "invalid reference format"              any other malformed input, incl.
//                                           a digest with fewer than 32 hex
//                                           chars or not sha256
//   "invalid checksum digest length"        sha256 digest of 32+ hex chars,
//                                           but not 64
//   "invalid checksum digest format"        64 hex chars, not all lowercase
//   "repository name must not be more than 255 characters"
//   "invalid repository name (<s>), cannot specify 64-byte hexadecimal strings"
//                                           `text` is exactly 64 lowercase hex
REFSTORE_EXPORT absl::StatusOr<Reference> ParseReference(std::string_view text);

// ParseReferenceNoDefaultTag is ParseReference without the ":latest" default:
// a name with neither tag nor digest keeps neither. Same errors.
REFSTORE_EXPORT absl::StatusOr<Reference> ParseReferenceNoDefaultTag(std::string_view text);

// FamiliarName turns a full normalized name (as returned by Reference::Full)
// into its familiar form. `full` must be a valid full name.
REFSTORE_EXPORT std::string FamiliarName(std::string_view full);

// IsBlank: empty or only ' ', '\t', '\r', '\n'.
REFSTORE_EXPORT bool IsBlank(std::string_view text);

// LooksLikeIdPrefix: `text` matches ^(sha256:)?[a-f0-9]{4,64}$. When true,
// `*hex` (if non-null) receives the hex part.
REFSTORE_EXPORT bool LooksLikeIdPrefix(std::string_view text, std::string* hex);

// IsDigest: "sha256:" followed by exactly 64 lowercase hex characters.
REFSTORE_EXPORT bool IsDigest(std::string_view text);

// ValidateDigest: OK for IsDigest strings; otherwise InvalidArgument with
// "invalid checksum digest length", "invalid checksum digest format" or
// "invalid digest '<text>'" (no or unknown algorithm).
REFSTORE_EXPORT absl::Status ValidateDigest(std::string_view text);

// IsValidNamespace: 1-76 chars matching [A-Za-z0-9]+([._-][A-Za-z0-9]+)*.
// Lease IDs follow the same grammar.
REFSTORE_EXPORT bool IsValidNamespace(std::string_view text);

// IsContainerId: exactly 64 lowercase hex characters.
REFSTORE_EXPORT bool IsContainerId(std::string_view text);

// ShortId: the 12-character display form of an image or container ID, as
// moby's stringid.TruncateID makes it: drops everything up to the first ':'
// (the "sha256:" of a digest), then cuts to 12 characters.
REFSTORE_EXPORT std::string ShortId(std::string_view id);

}  // namespace refstore

#endif  // REFSTORE_REFERENCE_H_
