// derived.h: the records derived from images and names, streamed in key
// order beside what is stored. With the blob recount (recount.h) this is the
// engine check and repair share: each walks the same rows; check reports
// where a row differs from what it must be, repair writes the difference.
//
// Both joins read every column family once, in key order, and make no
// point reads: the column families they join are keyed like the images
// (ns \0 ID ...), and the references, which are keyed by name, are sorted
// by image first (an external sort: bounded memory whatever the store's
// size).
//
// Thread-compatible; the Txn must not be written meanwhile.
#ifndef REFSTORE_GC_DERIVED_H_
#define REFSTORE_GC_DERIVED_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "refstore/db/txn.h"
#include "refstore/format/keys.h"
#include "refstore/util/external_sort.h"

namespace refstore::internal {

// One image record beside the records derived from it, as stored.
struct ImageRow {
  std::string_view key;    // its key in the images column family
  std::string_view value;  // its stored record, undecoded
  // Whether the key is namespace \0 raw ID; when it is not, ns and id are
  // empty and nothing was joined with it (the counts are 0, the flags
  // false).
  bool well_formed = false;
  std::string_view ns, id;
  size_t names = 0;         // entries of the names column family under it
  size_t holders = 0;       // holder entries under it
  bool digest_ref = false;  // its digest reference is stored
  bool dangling = false;    // it is in the dangling index
};

using ImageFn = std::function<absl::Status(const ImageRow&)>;
// A stored derived record of no image: a digest reference (kRefs) or a
// dangling entry (kDangling), by key.
using OrphanFn = std::function<absl::Status(Cf cf, std::string_view key)>;

// Calls `image` for every record of the images column family, in key
// order, and `orphan` for every digest reference and dangling entry whose
// image does not exist (interleaved, in key order within each column
// family). Holder entries of a missing image are not orphans: a container
// outlives its force-removed image. The first error a callback returns
// stops the walk and is returned.
absl::Status JoinImages(Txn& r, const ImageFn& image, const OrphanFn& orphan);

// One name, as the references and the names column family have it.
struct NameRow {
  std::string_view ns, id, full;
  // The reference ns/full points to image `id`.
  bool referenced = false;
  // The names column family's entry (ns, id, full): its stored value.
  std::optional<std::string_view> entry;
  // Image ns/id exists.
  bool image = false;
};

using NameFn = std::function<absl::Status(const NameRow&)>;
// A key that does not parse (left out of the join), its column family
// (kRefs or kNames), and why.
using BadKeyFn = std::function<absl::Status(Cf cf, std::string_view key, std::string_view why)>;

// Joins the names column family with what the name references say it must
// hold: one row per (namespace, image, name) that a reference or an entry
// has, in the names column family's key order, except a reference whose
// value is not an image ID at all (no image has it), whose row comes first,
// while the references are read. `bad_key` gets every reference key that is
// not ns \0 kind rest with kind N or D, and every names key that is not
// ns \0 ID name. Digest references are JoinImages' business.
absl::Status JoinNames(Txn& r, const NameFn& row, const BadKeyFn& bad_key,
                       const std::string& sort_dir = DefaultSortDir());

}  // namespace refstore::internal

#endif  // REFSTORE_GC_DERIVED_H_
