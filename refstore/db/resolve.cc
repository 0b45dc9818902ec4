#include "refstore/db/resolve.h"

#include <algorithm>
#include <vector>

#include "refstore/format/keys.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

// Up to two image IDs of namespace `ns` starting with `hex`.
absl::StatusOr<std::vector<std::string>> IdsWithPrefix(Txn& txn, std::string_view ns,
                                                       std::string_view hex) {
  std::string even(hex.substr(0, hex.size() & ~size_t{1}));
  std::string start = NsPrefix(ns) + HexToRaw(even);
  if (hex.size() % 2 == 1) start += HexToRaw(Cat(hex.substr(hex.size() - 1), "0"));
  std::vector<std::string> out;
  auto it = txn.Scan(kImages, NsPrefix(ns), start);
  for (; it.Valid() && out.size() < 2; it.Next()) {
    if (it.rest().size() != kRawIdSize) continue;
    if (!RawToHex(it.rest()).starts_with(hex)) break;
    out.emplace_back(it.rest());
  }
  RETURN_IF_ERROR(it.status());
  return out;
}

absl::Status NoSuchImage(std::string_view shown) {
  return absl::NotFoundError(Cat("No such image: ", shown));
}

}  // namespace

NameParts SplitName(std::string_view full) {
  NameParts p;
  size_t at = full.find('@');
  if (at != std::string_view::npos) {
    p.digest = full.substr(at + 1);
    full = full.substr(0, at);
  }
  size_t slash = full.rfind('/');
  size_t colon = full.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    p.tag = full.substr(colon + 1);
    full = full.substr(0, colon);
  }
  p.repo = full;
  return p;
}

absl::StatusOr<std::vector<NameEntry>> NamesInRepo(Txn& txn, std::string_view ns,
                                                   std::string_view id, std::string_view repo,
                                                   size_t limit) {
  // "repo:" also starts names of other repositories ("localhost:5000/x" for
  // "localhost"), hence the check of each. Every "repo:" name sorts before
  // every "repo@" one, so the result is sorted.
  const std::string prefix = ImageNamesPrefix(ns, id);
  std::vector<NameEntry> out;
  for (char sep : {':', '@'}) {
    auto it = txn.Scan(kNames, Cat(prefix, repo, std::string_view(&sep, 1)));
    for (; it.Valid() && out.size() < limit; it.Next()) {
      if (SplitName(it.key().substr(prefix.size())).repo != repo) continue;
      ASSIGN_OR_RETURN(NameEntry e, DecodeNameEntry(it.key(), prefix.size(), it.value()));
      out.push_back(std::move(e));
    }
    RETURN_IF_ERROR(it.status());
  }
  return out;
}

absl::StatusOr<Resolution> Resolve(Txn& txn, std::string_view ns, std::string_view text,
                                   ResolveMode mode) {
  if (IsBlank(text)) return absl::InvalidArgumentError("image name cannot be blank");
  std::string hex;
  bool maybe_id = LooksLikeIdPrefix(text, &hex);
  absl::StatusOr<Reference> parsed = ParseReference(text);
  if (!parsed.ok() && !maybe_id) return parsed.status();

  Resolution res;
  if (parsed.ok()) res.ref = *parsed;
  std::string shown = parsed.ok() ? parsed->Familiar() : std::string(text);
  // A full ID is a digest to docker: "No such image: sha256:<hex>".
  if (maybe_id && hex.size() == 64) shown = Cat("sha256:", hex);

  // name@digest: the image with that ID, if it has a name in that repository.
  if (parsed.ok() && parsed->digest) {
    std::string id = HexToRaw(*parsed->digest);
    ASSIGN_OR_RETURN(auto img, txn.Get(kImages, ImageKey(ns, id)));
    if (!img) return NoSuchImage(shown);
    ASSIGN_OR_RETURN(auto in_repo, NamesInRepo(txn, ns, id, parsed->Repository(), 1));
    if (in_repo.empty()) return NoSuchImage(shown);
    res.id = std::move(id);
    res.via = Resolution::Via::kRepoDigest;
    return res;
  }

  std::optional<std::string> by_name;
  if (parsed.ok()) {
    ASSIGN_OR_RETURN(by_name, txn.GetName(ns, parsed->Full()));
  }
  std::vector<std::string> by_id;
  if (maybe_id && !(mode == ResolveMode::kLookup && by_name)) {
    ASSIGN_OR_RETURN(by_id, IdsWithPrefix(txn, ns, hex));
  }

  std::vector<std::string> candidates = by_id;
  if (by_name && std::find(candidates.begin(), candidates.end(), *by_name) == candidates.end()) {
    candidates.push_back(*by_name);
  }
  if (candidates.empty()) return NoSuchImage(shown);
  if (candidates.size() > 1) return absl::NotFoundError("ambiguous reference");

  res.id = candidates[0];
  // docker treats the argument as an ID when the image's ID starts with it;
  // for a lookup an exact name wins, so the argument stays a name (a
  // container created with it protects that name, §5).
  const bool is_id =
      maybe_id && RawToHex(res.id).starts_with(hex) && !(mode == ResolveMode::kLookup && by_name);
  res.via = is_id ? Resolution::Via::kId : Resolution::Via::kName;
  return res;
}

}  // namespace refstore::internal
