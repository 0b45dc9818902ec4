// test_image.h: synthetic OCI images with real digests, for tests only.
//
// MakeImage builds a config and layers from given bytes and a manifest that
// references them; WriteLayout writes images into an OCI image layout
// directory, as another producer (a builder, umoci, skopeo) would.
#ifndef TESTS_SUPPORT_TEST_IMAGE_H_
#define TESTS_SUPPORT_TEST_IMAGE_H_

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "refstore/content/sha256.h"

namespace refstore::test_oci {

inline constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar";

struct Blob {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  std::string bytes;
  int64_t size() const { return static_cast<int64_t>(bytes.size()); }
  std::string hex() const { return digest.substr(7); }
};

inline Blob MakeBlob(std::string media_type, std::string bytes) {
  std::string digest = "sha256:" + content::Sha256Hex(bytes);
  return {std::move(media_type), std::move(digest), std::move(bytes)};
}

inline nlohmann::json DescriptorJson(const Blob& b) {
  return {{"mediaType", b.media_type}, {"digest", b.digest}, {"size", b.size()}};
}

struct Image {
  Blob target;                // the manifest
  std::vector<Blob> content;  // config, then layers
  std::vector<Blob> all() const {
    std::vector<Blob> out{target};
    out.insert(out.end(), content.begin(), content.end());
    return out;
  }
};

// An image whose config says `config_text` and whose layers hold `layers`.
inline Image MakeImage(const std::string& config_text, const std::vector<std::string>& layers) {
  Image img;
  img.content.push_back(
      MakeBlob(kConfigType, nlohmann::json{{"architecture", "amd64"},
                                           {"os", "linux"},
                                           {"config", {{"Labels", {{"text", config_text}}}}}}
                                .dump()));
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", kManifestType},
                             {"config", DescriptorJson(img.content[0])},
                             {"layers", nlohmann::json::array()}};
  for (const auto& l : layers) {
    img.content.push_back(MakeBlob(kLayerType, l));
    manifest["layers"].push_back(DescriptorJson(img.content.back()));
  }
  img.target = MakeBlob(kManifestType, manifest.dump());
  return img;
}

inline void WriteFile(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// Writes the blobs of `images` under dir/blobs/sha256.
inline void WriteBlobs(const std::filesystem::path& dir, const std::vector<Image>& images) {
  for (const auto& img : images) {
    for (const auto& b : img.all()) WriteFile(dir / "blobs" / "sha256" / b.hex(), b.bytes);
  }
}

// Writes an OCI image layout holding `images`, each with the ref.name
// annotations listed beside it (none: an entry without a name).
inline void WriteLayout(const std::filesystem::path& dir,
                        const std::vector<std::pair<Image, std::vector<std::string>>>& images) {
  nlohmann::json index = {{"schemaVersion", 2}, {"manifests", nlohmann::json::array()}};
  std::vector<Image> all;
  for (const auto& [img, names] : images) {
    all.push_back(img);
    if (names.empty()) index["manifests"].push_back(DescriptorJson(img.target));
    for (const auto& n : names) {
      nlohmann::json d = DescriptorJson(img.target);
      d["annotations"] = {{"org.opencontainers.image.ref.name", n}};
      index["manifests"].push_back(d);
    }
  }
  WriteBlobs(dir, all);
  WriteFile(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  WriteFile(dir / "index.json", index.dump());
}

}  // namespace refstore::test_oci

#endif  // TESTS_SUPPORT_TEST_IMAGE_H_
