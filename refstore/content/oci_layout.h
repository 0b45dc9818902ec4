// oci_layout.h: reads an OCI image layout (image-spec v1.0/1.1) into the
// images it holds, verifying every blob.
//
// An image is one entry of the top-level index.json: its target is that
// entry's descriptor (a manifest or an index), its content the distinct
// descriptors reachable from it (nested indexes, manifests, configs,
// layers), never the target itself. Entries of index.json with the same
// digest are one image with several names.
//
// Names: the annotation "io.containerd.image.name" when present, else
// "org.opencontainers.image.ref.name". A ref.name that holds only a tag
// (no '/', ':' or '@', as umoci and skopeo write it) is returned as it is in
// LayoutImage::tags; a full reference goes to LayoutImage::names. The caller
// decides the repository of bare tags.
//
// Every blob an image reaches must be a regular file (not a symlink) at
// blobs/sha256/<hex> inside the layout, of the descriptor's size and
// SHA-256. Known media types only (see KnownMediaType). A fault in one
// image makes that image an error (LayoutImage::error names the file and
// what is wrong) and does not stop the others. A fault of the layout itself
// (no oci-layout file or a wrong version, index.json missing or bad JSON,
// blobs/ a symlink) is an error of ReadLayout: InvalidArgument naming the
// file (NotFound when `dir` does not exist, Internal when a system call
// fails). A digest must be "sha256:" and 64 lowercase hex characters, which
// keeps every blob path inside blobs/sha256; `dir` itself is resolved once
// (realpath) and blobs are opened relative to blobs/sha256 with O_NOFOLLOW.
//
// Thread-safety: functions only; no shared state.
#ifndef REFSTORE_CONTENT_OCI_LAYOUT_H_
#define REFSTORE_CONTENT_OCI_LAYOUT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace refstore::content {

struct LayoutBlob {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
};

struct LayoutImage {
  LayoutBlob target;
  // Distinct by digest, in discovery order (depth first: an index's
  // entries, a manifest's config then its layers). When `error` is set the
  // walk went on past the fault where it could: `content` holds what was
  // reached, possibly not all the image references.
  std::vector<LayoutBlob> content;
  std::vector<std::string> names;  // full references, as annotated
  std::vector<std::string> tags;   // bare tags, as annotated
  // When the target is a manifest whose config is an image config (OCI's or
  // docker's) that is JSON: its "created" (as written, RFC 3339) and its
  // "config"."Labels" (string values). Empty otherwise.
  std::string created;
  std::map<std::string, std::string> labels;
  // Non-empty: the image is unusable; the first fault, naming the file
  // (and how many more faults there were).
  std::string error;
};

struct Layout {
  std::vector<LayoutImage> images;  // in index.json order (first occurrence)
};

struct ReadOptions {
  // Hash every blob (otherwise only sizes are checked).
  bool verify_digests = true;
  // Manifests and indexes larger than this are an error (they are read
  // whole into memory).
  int64_t max_manifest_size = 4 << 20;
};

// Whether refstore knows `media_type`: OCI and Docker v2 manifests,
// indexes/manifest lists, image configs, layers (tar, tar+gzip, tar+zstd,
// their non-distributable variants, Docker's rootfs diff and foreign
// layers), and the OCI empty descriptor (application/vnd.oci.empty.v1+json).
// A manifest's config and layers may be of any known type (they are only
// verified); an index's entries and an image's target must be manifests or
// indexes.
bool KnownMediaType(std::string_view media_type);

// Reads the layout in directory `dir`.
absl::StatusOr<Layout> ReadLayout(std::string_view dir, const ReadOptions& options = {});

// Reads the image whose target is `target` from the blobs of the layout in
// `dir` (index.json is not read). The result's `error` is set as in
// ReadLayout.
LayoutImage ReadImage(std::string_view dir, const LayoutBlob& target,
                      const ReadOptions& options = {});

// Among the blobs `hexes` of the layout in `dir`, the ones that are
// manifests or indexes (JSON with a known "mediaType" of a manifest or an
// index; other blobs are ignored) and that no other manifest or index among
// them references: the roots of the images those blobs make up, each read
// as by ReadImage. For adopting content another producer wrote.
// A manifest without "mediaType" is recognized by its fields (an index by a
// "manifests" array, a manifest by "config" and "layers") and its target
// gets the OCI media type. Blobs larger than max_manifest_size, not JSON,
// not regular files or with an invalid hex are ignored. Sorted by digest.
// When `dir` or its blobs/sha256 cannot be opened, the result is one
// LayoutImage with an empty target and `error` set.
std::vector<LayoutImage> FindRoots(std::string_view dir, const std::vector<std::string>& hexes,
                                   const ReadOptions& options = {});

}  // namespace refstore::content

#endif  // REFSTORE_CONTENT_OCI_LAYOUT_H_
