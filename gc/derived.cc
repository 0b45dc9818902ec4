#include "gc/derived.h"

#include <utility>

#include "refstore/util/status_macros.h"

namespace refstore::internal {
namespace {

using SkipFn = std::function<absl::Status(std::string_view key)>;

// A column family read forward only, for keys asked in ascending order: a
// merge-join instead of a point read each.
class Cursor {
 public:
  explicit Cursor(PrefixIterator it) : it_(std::move(it)) {}

  // Moves past every key below `key`, passing each to `skipped` if set.
  absl::Status SkipBelow(std::string_view key, const SkipFn& skipped = nullptr) {
    for (; it_.Valid() && it_.key() < key; it_.Next()) {
      if (skipped) RETURN_IF_ERROR(skipped(it_.key()));
    }
    return it_.status();
  }
  // Whether the cursor is at `key`.
  bool At(std::string_view key) const { return it_.Valid() && it_.key() == key; }
  // Whether `key` is there (skipping, unreported, the keys below it); when
  // it is, moves past it.
  absl::StatusOr<bool> Take(std::string_view key, const SkipFn& skipped) {
    RETURN_IF_ERROR(SkipBelow(key, skipped));
    if (!At(key)) return false;
    it_.Next();
    return true;
  }
  // Moves past the keys that start with `prefix`; returns how many were
  // longer than it.
  absl::StatusOr<size_t> CountUnder(std::string_view prefix) {
    RETURN_IF_ERROR(SkipBelow(prefix));
    size_t n = 0;
    for (; it_.Valid() && it_.key().substr(0, prefix.size()) == prefix; it_.Next()) {
      if (it_.key().size() > prefix.size()) ++n;
    }
    RETURN_IF_ERROR(it_.status());
    return n;
  }
  // Passes every key left to `skipped`.
  absl::Status Drain(const SkipFn& skipped) {
    for (; it_.Valid(); it_.Next()) RETURN_IF_ERROR(skipped(it_.key()));
    return it_.status();
  }

 private:
  PrefixIterator it_;
};

}  // namespace

absl::Status JoinImages(Txn& r, const ImageFn& image, const OrphanFn& orphan) {
  Cursor names(r.Scan(kNames, "")), holders(r.Scan(kHolders, "")), refs(r.Scan(kRefs, "")),
      dangling(r.Scan(kDangling, ""));
  // The refs column family also holds the names (ns \0 N name), and keys
  // that do not parse (JoinNames reports those).
  const SkipFn digest_ref_orphan = [&](std::string_view key) -> absl::Status {
    std::string_view ns, rest;
    if (SplitNs(key, &ns, &rest) && !rest.empty() && rest[0] == 'D') return orphan(kRefs, key);
    return absl::OkStatus();
  };
  const SkipFn dangling_orphan = [&](std::string_view key) { return orphan(kDangling, key); };
  auto it = r.Scan(kImages, "");
  for (; it.Valid(); it.Next()) {
    ImageRow row;
    row.key = it.key();
    row.value = it.value();
    std::string_view ns, id;
    if (SplitNs(row.key, &ns, &id) && id.size() == kRawIdSize) {
      row.well_formed = true;
      row.ns = ns;
      row.id = id;
      // The image key is also the prefix of its names and holder entries,
      // and its dangling entry's key.
      ASSIGN_OR_RETURN(row.names, names.CountUnder(row.key));
      ASSIGN_OR_RETURN(row.holders, holders.CountUnder(row.key));
      ASSIGN_OR_RETURN(row.digest_ref, refs.Take(DigestRefKey(ns, id), digest_ref_orphan));
      ASSIGN_OR_RETURN(row.dangling, dangling.Take(row.key, dangling_orphan));
    }
    RETURN_IF_ERROR(image(row));
  }
  RETURN_IF_ERROR(it.status());
  RETURN_IF_ERROR(refs.Drain(digest_ref_orphan));
  return dangling.Drain(dangling_orphan);
}

absl::Status JoinNames(Txn& r, const NameFn& row, const BadKeyFn& bad_key,
                       const std::string& sort_dir) {
  // The names entries the references imply, keyed as the names column
  // family is.
  StringSorter wanted(sort_dir);
  {
    auto it = r.Scan(kRefs, "");
    for (; it.Valid(); it.Next()) {
      std::string_view ns, rest;
      if (!SplitNs(it.key(), &ns, &rest) || rest.empty() || rest == "N") {
        RETURN_IF_ERROR(bad_key(kRefs, it.key(), "reference key is not namespace/kind/name"));
        continue;
      }
      if (rest[0] == 'D') continue;
      if (rest[0] != 'N') {
        RETURN_IF_ERROR(bad_key(kRefs, it.key(), "unknown reference kind"));
        continue;
      }
      NameRow n;
      n.ns = ns;
      n.full = rest.substr(1);
      n.id = it.value();
      n.referenced = true;
      if (n.id.size() != kRawIdSize) {
        RETURN_IF_ERROR(row(n));  // no image has that ID
        continue;
      }
      RETURN_IF_ERROR(wanted.Add(ImageNameKey(ns, n.id, n.full)));
    }
    RETURN_IF_ERROR(it.status());
  }
  RETURN_IF_ERROR(wanted.Finish());
  Cursor images(r.Scan(kImages, ""));
  auto entries = r.Scan(kNames, "");
  for (;;) {
    const bool have_wanted = wanted.Valid(), have_entry = entries.Valid();
    if (!have_wanted && !have_entry) break;
    // <0: only wanted; 0: both; >0: only stored.
    const int c =
        have_wanted && have_entry ? wanted.value().compare(entries.key()) : (have_wanted ? -1 : 1);
    const std::string_view key = c <= 0 ? wanted.value() : entries.key();
    std::string_view ns, rest;
    if (!SplitNs(key, &ns, &rest) || rest.size() <= kRawIdSize) {
      // (Only a stored key: a wanted one has an ID and a name.)
      RETURN_IF_ERROR(bad_key(kNames, key, "name key is not namespace/id/name"));
    } else {
      NameRow n;
      n.ns = ns;
      n.id = rest.substr(0, kRawIdSize);
      n.full = rest.substr(kRawIdSize);
      n.referenced = c <= 0;
      if (c >= 0) n.entry = entries.value();
      const std::string image_key = ImageKey(ns, n.id);
      RETURN_IF_ERROR(images.SkipBelow(image_key));
      n.image = images.At(image_key);
      RETURN_IF_ERROR(row(n));
    }
    if (c <= 0) RETURN_IF_ERROR(wanted.Next());
    if (c >= 0) entries.Next();
  }
  return entries.status();
}

}  // namespace refstore::internal
