#include "refstore/content/media_type.h"

#include <utility>

namespace refstore::content {

MediaKind MediaKindOf(std::string_view media_type) {
  static constexpr std::pair<std::string_view, MediaKind> kTypes[] = {
      {kOciManifestType, MediaKind::kManifest},
      {kDockerManifestType, MediaKind::kManifest},
      {kOciIndexType, MediaKind::kIndex},
      {kDockerManifestListType, MediaKind::kIndex},
      {"application/vnd.docker.distribution.manifest.v1+json", MediaKind::kSchema1Manifest},
      {"application/vnd.docker.distribution.manifest.v1+prettyjws", MediaKind::kSchema1Manifest},
      {"application/vnd.oci.image.config.v1+json", MediaKind::kConfig},
      {"application/vnd.docker.container.image.v1+json", MediaKind::kConfig},
      {"application/vnd.oci.image.layer.v1.tar", MediaKind::kLayer},
      {"application/vnd.oci.image.layer.v1.tar+gzip", MediaKind::kLayer},
      {"application/vnd.oci.image.layer.v1.tar+zstd", MediaKind::kLayer},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", MediaKind::kLayer},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", MediaKind::kLayer},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", MediaKind::kLayer},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", MediaKind::kLayer},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", MediaKind::kLayer},
      {"application/vnd.oci.empty.v1+json", MediaKind::kEmpty},
  };
  for (const auto& [name, kind] : kTypes) {
    if (name == media_type) return kind;
  }
  return MediaKind::kUnknown;
}

bool IsManifestOrIndexKind(MediaKind kind) {
  return kind == MediaKind::kManifest || kind == MediaKind::kIndex ||
         kind == MediaKind::kSchema1Manifest;
}

}  // namespace refstore::content
