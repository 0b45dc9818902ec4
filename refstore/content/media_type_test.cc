#include "refstore/content/media_type.h"

#include <gtest/gtest.h>

#include "refstore/store.h"

namespace refstore::content {
namespace {

TEST(MediaTypeTest, Kinds) {
  EXPECT_EQ(MediaKindOf(kOciManifestType), MediaKind::kManifest);
  EXPECT_EQ(MediaKindOf(kDockerManifestType), MediaKind::kManifest);
  EXPECT_EQ(MediaKindOf(kOciIndexType), MediaKind::kIndex);
  EXPECT_EQ(MediaKindOf(kDockerManifestListType), MediaKind::kIndex);
  EXPECT_EQ(MediaKindOf("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            MediaKind::kSchema1Manifest);
  EXPECT_EQ(MediaKindOf("application/vnd.docker.container.image.v1+json"), MediaKind::kConfig);
  EXPECT_EQ(MediaKindOf("application/vnd.oci.image.layer.v1.tar+zstd"), MediaKind::kLayer);
  EXPECT_EQ(MediaKindOf("application/vnd.oci.empty.v1+json"), MediaKind::kEmpty);
  EXPECT_EQ(MediaKindOf("application/vnd.oci.image.manifest.v1+JSON"), MediaKind::kUnknown);
  EXPECT_EQ(MediaKindOf(""), MediaKind::kUnknown);
}

// store.h's IsManifestOrIndex reads the same table.
TEST(MediaTypeTest, ManifestOrIndexOfEverySchema) {
  for (std::string_view t :
       {kOciManifestType, kOciIndexType, kDockerManifestType, kDockerManifestListType,
        std::string_view("application/vnd.docker.distribution.manifest.v1+json"),
        std::string_view("application/vnd.docker.distribution.manifest.v1+prettyjws")}) {
    EXPECT_TRUE(IsManifestOrIndexKind(MediaKindOf(t))) << t;
    EXPECT_TRUE(refstore::IsManifestOrIndex(t)) << t;
  }
  for (std::string_view t :
       {std::string_view("application/vnd.oci.image.config.v1+json"),
        std::string_view("application/vnd.oci.image.layer.v1.tar"),
        std::string_view("application/vnd.oci.empty.v1+json"), std::string_view("text/plain")}) {
    EXPECT_FALSE(IsManifestOrIndexKind(MediaKindOf(t))) << t;
    EXPECT_FALSE(refstore::IsManifestOrIndex(t)) << t;
  }
}

}  // namespace
}  // namespace refstore::content
