// media_type.h: the one table of the media types refstore knows, and what
// each one is. The OCI layout reader (oci_layout.h) and the store's
// IsManifestOrIndex (store.h) both read it.
//
// Thread-safety: pure functions.
#ifndef REFSTORE_CONTENT_MEDIA_TYPE_H_
#define REFSTORE_CONTENT_MEDIA_TYPE_H_

#include <string_view>

namespace refstore::content {

inline constexpr std::string_view kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";

enum class MediaKind {
  kUnknown,
  kManifest,         // OCI image manifest, Docker schema 2 manifest
  kIndex,            // OCI image index, Docker manifest list
  kConfig,           // OCI image config, Docker container image config
  kLayer,            // tar, tar+gzip, tar+zstd, non-distributable, Docker rootfs diffs
  kEmpty,            // the OCI empty descriptor
  kSchema1Manifest,  // Docker schema 1 (v1+json, v1+prettyjws): a manifest
                     // docker records but cannot be read from an OCI layout
};

// What `media_type` (compared exactly, case included) is; kUnknown for a
// type not in the table.
MediaKind MediaKindOf(std::string_view media_type);

// A manifest or an index of any schema: kManifest, kIndex, kSchema1Manifest.
bool IsManifestOrIndexKind(MediaKind kind);

}  // namespace refstore::content

#endif  // REFSTORE_CONTENT_MEDIA_TYPE_H_
