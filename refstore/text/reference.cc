// reference.cc: docker's distribution/reference grammar, hand-scanned.
//
// The parse follows docker's ParseNormalizedNamed step by step so that the
// same input gives the same error:
//   1. a bare 64-hex string is refused (it is an image ID);
//   2. splitDockerDomain picks the domain and adds docker.io / library/;
//   3. the remote name (remainder up to the first ':') must be lowercase;
//   4. the whole reference must match the grammar, where the digest part is
//      only `algorithm ":" [0-9a-fA-F]{32,}`;
//   5. the path must be at most 255 characters;
//   6. the digest is validated (length, then lowercase hex).
#include "refstore/reference.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "refstore/text/digest.h"

namespace refstore {
namespace {

using text::IsLowerHexString;
using text::IsSha256Hex;
using text::kSha256HexLength;
using text::kSha256Prefix;

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kDefaultDomainPrefix = "docker.io/";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr size_t kMaxPathLength = 255;
constexpr size_t kMaxTagLength = 128;

absl::Status InvalidFormat() { return absl::InvalidArgumentError("invalid reference format"); }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

template <typename Pred>
bool AllOf(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

bool HasUpper(std::string_view s) { return std::any_of(s.begin(), s.end(), absl::ascii_isupper); }

// Path component: [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*.
bool IsValidComponent(std::string_view s) {
  size_t i = 0;
  while (true) {
    const size_t start = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    if (i == start) return false;  // empty run of alphanumerics
    if (i == s.size()) return true;
    // Separator: ".", "_", "__" or one or more "-".
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

// Whether `s` is parts joined by `sep`, each of them `valid`.
bool AllParts(std::string_view s, char sep, bool (*valid)(std::string_view)) {
  while (true) {
    const size_t at = s.find(sep);
    if (!valid(s.substr(0, at))) return false;
    if (at == std::string_view::npos) return true;
    s.remove_prefix(at + 1);
  }
}

// Path: component ("/" component)*.
bool IsValidPath(std::string_view path) { return AllParts(path, '/', IsValidComponent); }

// DNS-label-ish: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
bool IsValidDomainLabel(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

// Host: labels joined by ".", or an IPv6 address in brackets ([a-fA-F0-9:]+).
bool IsValidHost(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (!absl::ascii_isxdigit(c) && c != ':') return false;
    }
    return true;
  }
  return AllParts(host, '.', IsValidDomainLabel);
}

// Domain: host [":" port]. The port separator is the last ':' outside of an
// IPv6 bracket.
//
// docker would also accept a "domain" that is not a valid host but is a valid
// lowercase path component (e.g. "a_b.com/x"), giving a reference with no
// domain at all; refstore always has a domain, so such input is refused as
// "invalid reference format".
bool IsValidDomain(std::string_view domain) {
  const size_t bracket = domain.rfind(']');
  const size_t colon = domain.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string_view port = domain.substr(colon + 1);
    if (port.empty() || !AllOf(port, absl::ascii_isdigit)) return false;
    domain = domain.substr(0, colon);
  }
  return IsValidHost(domain);
}

// Tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !IsWordChar(tag.front())) {
    return false;
  }
  for (char c : tag) {
    if (!IsWordChar(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// Algorithm: [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*.
bool IsValidAlgorithm(std::string_view algo) {
  size_t i = 0;
  while (true) {
    if (i == algo.size() || !absl::ascii_isalpha(algo[i])) return false;
    ++i;
    while (i < algo.size() && absl::ascii_isalnum(algo[i])) ++i;
    if (i == algo.size()) return true;
    const char c = algo[i];
    if (c != '-' && c != '_' && c != '+' && c != '.') return false;
    ++i;
  }
}

// The digest part of the reference grammar: algorithm ":" [0-9a-fA-F]{32,}.
// Passing this does not make it a valid digest (see ValidateDigest).
bool MatchesDigestGrammar(std::string_view digest) {
  const size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view hex = digest.substr(colon + 1);
  return IsValidAlgorithm(digest.substr(0, colon)) && hex.size() >= 32 &&
         AllOf(hex, absl::ascii_isxdigit);
}

// docker's splitDockerDomain: the first component is a domain when it has a
// '.' or ':', is "localhost", or has an uppercase letter.
void SplitDomain(std::string_view text, std::string* domain, std::string* remainder) {
  const size_t slash = text.find('/');
  std::string_view first;
  if (slash != std::string_view::npos) first = text.substr(0, slash);
  if (slash == std::string_view::npos || (first.find_first_of(".:") == std::string_view::npos &&
                                          first != "localhost" && !HasUpper(first))) {
    *domain = std::string(kDefaultDomain);
    *remainder = std::string(text);
  } else {
    *domain = std::string(first);
    *remainder = std::string(text.substr(slash + 1));
  }
  if (*domain == kLegacyDefaultDomain) *domain = std::string(kDefaultDomain);
  if (*domain == kDefaultDomain && remainder->find('/') == std::string::npos) {
    remainder->insert(0, kOfficialRepoPrefix);
  }
}

absl::StatusOr<Reference> Parse(std::string_view text, bool default_tag) {
  if (IsBlank(text)) {
    return absl::InvalidArgumentError("image name cannot be blank");
  }
  if (IsSha256Hex(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid repository name (", std::string(text),
                     "), cannot specify 64-byte hexadecimal strings"));
  }

  Reference ref;
  std::string remainder;
  SplitDomain(text, &ref.domain, &remainder);

  // As in docker, the name checked for case is everything up to the first
  // ':', so with a digest and no tag it includes "@sha256".
  const std::string_view remote = std::string_view(remainder).substr(0, remainder.find(':'));
  if (HasUpper(remote)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid reference format: repository name (",
                                                   std::string(remote), ") must be lowercase"));
  }

  // remainder := path [":" tag] ["@" digest]; neither path nor tag may hold
  // '@' or ':', so the first '@' and then the first ':' split it.
  std::string_view rest = remainder;
  std::string_view digest;
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!MatchesDigestGrammar(digest)) return InvalidFormat();
  }
  const size_t colon = rest.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!IsValidTag(tag)) return InvalidFormat();
    ref.tag = std::string(tag);
  }
  if (!IsValidDomain(ref.domain) || !IsValidPath(rest)) return InvalidFormat();
  if (rest.size() > kMaxPathLength) {
    return absl::InvalidArgumentError("repository name must not be more than 255 characters");
  }
  ref.path = std::string(rest);

  if (at != std::string_view::npos) {
    // Only sha256 is supported: a digest with another algorithm (even one
    // docker knows, like sha512) is "invalid reference format".
    if (digest.substr(0, digest.find(':')) != "sha256") return InvalidFormat();
    if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
    ref.digest = std::string(digest);
  }
  if (default_tag && !ref.tag && !ref.digest) ref.tag = "latest";
  return ref;
}

}  // namespace

std::string Reference::Repository() const { return absl::StrCat(domain, "/", path); }

std::string Reference::Full() const {
  std::string full = Repository();
  if (tag) absl::StrAppend(&full, ":", *tag);
  if (digest) absl::StrAppend(&full, "@", *digest);
  return full;
}

std::string Reference::Familiar() const { return FamiliarName(Full()); }

absl::StatusOr<Reference> ParseReference(std::string_view text) {
  return Parse(text, /*default_tag=*/true);
}

absl::StatusOr<Reference> ParseReferenceNoDefaultTag(std::string_view text) {
  return Parse(text, /*default_tag=*/false);
}

std::string FamiliarName(std::string_view full) {
  if (full.substr(0, kDefaultDomainPrefix.size()) != kDefaultDomainPrefix) {
    return std::string(full);
  }
  full.remove_prefix(kDefaultDomainPrefix.size());
  // Tags and digests never hold '/', so "no other '/'" can be checked on the
  // whole rest.
  if (full.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
      full.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
    full.remove_prefix(kOfficialRepoPrefix.size());
  }
  return std::string(full);
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool LooksLikeIdPrefix(std::string_view text, std::string* hex) {
  if (text.substr(0, kSha256Prefix.size()) == kSha256Prefix) {
    text.remove_prefix(kSha256Prefix.size());
  }
  if (text.size() < 4 || text.size() > kSha256HexLength || !IsLowerHexString(text)) {
    return false;
  }
  if (hex != nullptr) *hex = std::string(text);
  return true;
}

bool IsDigest(std::string_view text) { return ValidateDigest(text).ok(); }

absl::Status ValidateDigest(std::string_view text) {
  if (text.substr(0, kSha256Prefix.size()) != kSha256Prefix) {
    return absl::InvalidArgumentError(absl::StrCat("invalid digest '", std::string(text), "'"));
  }
  const std::string_view hex = text.substr(kSha256Prefix.size());
  if (hex.size() != kSha256HexLength) {
    return absl::InvalidArgumentError("invalid checksum digest length");
  }
  if (!IsLowerHexString(hex)) {
    return absl::InvalidArgumentError("invalid checksum digest format");
  }
  return absl::OkStatus();
}

bool IsValidNamespace(std::string_view text) {
  if (text.empty() || text.size() > 76) return false;
  bool after_separator = true;  // at the start, as after a separator
  for (char c : text) {
    if (absl::ascii_isalnum(c)) {
      after_separator = false;
    } else if ((c == '.' || c == '_' || c == '-') && !after_separator) {
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}

bool IsContainerId(std::string_view text) { return IsSha256Hex(text); }

std::string ShortId(std::string_view id) {
  // moby's stringid.TruncateID: everything up to the first ':' goes.
  const size_t colon = id.find(':');
  if (colon != std::string_view::npos) id.remove_prefix(colon + 1);
  return std::string(id.substr(0, 12));
}

}  // namespace refstore
