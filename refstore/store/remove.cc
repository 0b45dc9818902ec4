// RemoveImage: docker's `rmi [-f] REF` (SEMANTICS.md §4 and §8).
#include <algorithm>
#include <optional>
#include <set>

#include "refstore/db/mutate.h"
#include "refstore/db/resolve.h"
#include "refstore/reference.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

std::string Id12(std::string_view raw) { return ShortId(RawToHex(raw)); }

// The names a reference to repository `repo` stands for, as docker's
// getSameReferences: with a tag, the names of `repo` with that tag (with or
// without a digest), plus the repository's repo@digest names when no other
// tag of the repository names the image; without a tag (repo@digest), every
// name of the repository.
std::vector<std::string> SameReferences(const std::vector<NameEntry>& names, std::string_view repo,
                                        std::optional<std::string_view> tag) {
  std::vector<std::string> out, digest_only;
  bool other_tag = false;
  for (const auto& n : names) {
    NameParts p = SplitName(n.full);
    if (p.repo != repo) continue;
    if (!tag || (p.tag && *p.tag == *tag)) {
      out.push_back(n.full);
    } else if (p.tag) {
      other_tag = true;
    } else {
      digest_only.push_back(n.full);
    }
  }
  if (!other_tag) out.insert(out.end(), digest_only.begin(), digest_only.end());
  return out;
}

// The names `rmi NAME` removes for a name the image has (SEMANTICS.md §8):
// NAME, the repo:tag@digest names with NAME's repository and tag, and the
// repository's repo@digest names when no other tag of the repository names
// the image. For a tag (no digest) this is SameReferences(repo, tag); for a
// stored digested name it is that name (and, when the repository has no
// other tag, its repo@digest name): a digested name is "removed as a name"
// (§4), not as the set it would stand for.
std::vector<std::string> NameRules(const std::vector<NameEntry>& names, std::string_view full) {
  const NameParts name = SplitName(full);
  std::vector<std::string> out, digest_only;
  bool other_tag = false;
  for (const auto& n : names) {
    NameParts p = SplitName(n.full);
    if (p.repo != name.repo) continue;
    if (n.full == full) {
      out.push_back(n.full);
    } else if (p.tag && name.tag && *p.tag == *name.tag && p.digest) {
      out.push_back(n.full);
    } else if (p.tag && (!name.tag || *p.tag != *name.tag)) {
      other_tag = true;
    } else if (!p.tag) {
      digest_only.push_back(n.full);
    }
  }
  if (!other_tag) out.insert(out.end(), digest_only.begin(), digest_only.end());
  return out;
}

// docker's "referenced in multiple repositories": names in two repositories,
// or two tags in one. repo@digest names beside a single tag do not count.
bool ReferencedInMultipleRepos(const std::vector<NameEntry>& names) {
  std::set<std::string_view> repos;
  std::set<std::pair<std::string_view, std::string_view>> tags;
  for (const auto& n : names) {
    NameParts p = SplitName(n.full);
    repos.insert(p.repo);
    if (p.tag) tags.emplace(p.repo, *p.tag);
  }
  return repos.size() > 1 || tags.size() > 1;
}

// The names of `all` (an image's names, in key order) whose repository is
// `repo`, in key order: its repo:tag names, then its repo@digest ones.
std::vector<NameEntry> NamesOfRepo(const std::vector<NameEntry>& all, std::string_view repo) {
  std::vector<NameEntry> out;
  for (const auto& n : all) {
    if (SplitName(n.full).repo == repo) out.push_back(n);
  }
  return out;
}

// Whether `names` (names the image has) are all of `all`, its names.
bool OnlyNames(const std::vector<NameEntry>& all, const std::vector<std::string>& names) {
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  return std::all_of(all.begin(), all.end(), [&](const NameEntry& n) {
    return std::binary_search(sorted.begin(), sorted.end(), std::string_view(n.full));
  });
}

void AddUntagged(std::vector<std::string> names, RemoveResult* out) {
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    out->deleted.push_back({DeleteEntry::Kind::kUntagged, FamiliarName(n)});
  }
}

}  // namespace

absl::StatusOr<RemoveResult> StoreImpl::RemoveImage(const OpContext& ctx, std::string_view ref,
                                                    bool force) {
  ASSIGN_OR_RETURN(RemoveResult out, RemoveImageLocked(ctx, ref, force));
  if (!out.deleted.empty() && out.deleted.back().kind == DeleteEntry::Kind::kDeleted) {
    out.collected = CollectAfterChange();
  }
  return out;
}

absl::StatusOr<RemoveResult> StoreImpl::RemoveImageLocked(const OpContext& ctx,
                                                          std::string_view ref, bool force) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  const int64_t now = ToNanos(ctx.now);
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, ref, ResolveMode::kRemove));
  ASSIGN_OR_RETURN(auto found, txn.GetImage(ctx.ns, res.id));
  if (!found) return absl::DataLossError(Cat("resolved image vanished: ", ref));
  ImageRecord img = std::move(*found);
  const std::string& id = res.id;
  ASSIGN_OR_RETURN(auto holders, Holders(txn, ctx.ns, id));

  RemoveResult out;
  bool by_id = res.via == Resolution::Via::kId;
  // A digested reference that is not itself one of the image's names stands
  // for a set of names; when that set is every name, the image is removed as
  // by ID (SEMANTICS.md §4, docker's ImageDelete with no exact image).
  bool digest_set = false;
  if (res.via == Resolution::Via::kRepoDigest) {
    ASSIGN_OR_RETURN(auto exact, txn.GetName(ctx.ns, res.ref->Full()));
    digest_set = !exact;
  }
  // Every name of the image, read once (one seek): the rules below look at
  // subsets of them, and a removal deletes them all.
  ASSIGN_OR_RETURN(const std::vector<NameEntry> all, txn.GetNames(ctx.ns, id));
  if (!by_id) {
    // Both rules look at the reference's repository only.
    const std::vector<NameEntry> in_repo = NamesOfRepo(all, res.ref->Repository());
    std::vector<std::string> names =
        digest_set ? SameReferences(in_repo, res.ref->Repository(), res.ref->tag)
                   : NameRules(in_repo, res.ref->Full());
    if (names.empty()) return absl::NotFoundError(Cat("No such image: ", res.ref->Familiar()));
    const bool last = OnlyNames(all, names);
    if (!last) {
      AddUntagged(names, &out);
      RemoveNames(txn, ctx.ns, id, img, names, /*none_left=*/false, now);
      RETURN_IF_ERROR(Commit(txn));
      return out;
    }
    if (digest_set) {
      by_id = true;  // the set is every name: removal by ID
    } else if (!holders.empty()) {
      if (!force) {
        return absl::FailedPreconditionError(Cat(
            "conflict: unable to delete ", res.ref->Familiar(), " (must be forced) - container ",
            Id12(holders[0].first), " is using its referenced image ", Id12(id)));
      }
      AddUntagged(names, &out);
      RemoveNames(txn, ctx.ns, id, img, names, /*none_left=*/true, now);
      RETURN_IF_ERROR(Commit(txn));
      return out;
    }
  }
  // The image goes (or a by-ID check needs every name).
  if (by_id) {
    const std::string id12 = Id12(id);
    for (const auto& [cid, running] : holders) {
      if (running) {
        return absl::FailedPreconditionError(
            Cat("conflict: unable to delete ", id12,
                " (cannot be forced) - image is being used by running container ", Id12(cid)));
      }
    }
    if (!force && !holders.empty()) {
      return absl::FailedPreconditionError(Cat(
          "conflict: unable to delete ", id12,
          " (must be forced) - image is being used by stopped container ", Id12(holders[0].first)));
    }
    // A digested reference standing for every name already chose all of
    // them: as in docker, it is not refused for naming several tags.
    if (!force && !digest_set && ReferencedInMultipleRepos(all)) {
      return absl::FailedPreconditionError(
          Cat("conflict: unable to delete ", id12,
              " (must be forced) - image is referenced in multiple repositories"));
    }
  }
  if (img.pinned && !force) {
    return absl::FailedPreconditionError(
        Cat("conflict: unable to remove pinned image ", ref, " (must be forced)"));
  }
  AddUntagged(FullNames(all), &out);
  Freed freed;
  RETURN_IF_ERROR(DeleteImage(txn, ctx.ns, id, img, all, now, &freed));
  RETURN_IF_ERROR(Commit(txn));
  out.deleted.push_back({DeleteEntry::Kind::kDeleted, RawToDigest(id)});
  out.space_reclaimed = freed.bytes;
  return out;
}

}  // namespace refstore::internal
