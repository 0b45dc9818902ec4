#include "refstore/content/media_type.h"

#include <span>
#include <utility>

namespace refstore::content {

MediaKind MediaKindOf(std::string_view media_type) {
  // The table, by kind.
  static constexpr std::string_view kManifests[] = {kOciManifestType, kDockerManifestType};
  static constexpr std::string_view kIndexes[] = {kOciIndexType, kDockerManifestListType};
  static constexpr std::string_view kSchema1[] = {
      "application/vnd.docker.distribution.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws"};
  static constexpr std::string_view kConfigs[] = {"application/vnd.oci.image.config.v1+json",
                                                  "application/vnd.docker.container.image.v1+json"};
  static constexpr std::string_view kLayers[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"};
  static constexpr std::string_view kEmpty[] = {"application/vnd.oci.empty.v1+json"};
  static constexpr std::pair<MediaKind, std::span<const std::string_view>> kTable[] = {
      {MediaKind::kManifest, kManifests},
      {MediaKind::kIndex, kIndexes},
      {MediaKind::kSchema1Manifest, kSchema1},
      {MediaKind::kConfig, kConfigs},
      {MediaKind::kLayer, kLayers},
      {MediaKind::kEmpty, kEmpty}};
  for (const auto& [kind, types] : kTable) {
    for (std::string_view type : types) {
      if (type == media_type) return kind;
    }
  }
  return MediaKind::kUnknown;
}

bool IsManifestOrIndexKind(MediaKind kind) {
  return kind == MediaKind::kManifest || kind == MediaKind::kIndex ||
         kind == MediaKind::kSchema1Manifest;
}

}  // namespace refstore::content
