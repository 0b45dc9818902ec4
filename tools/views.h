// views.h: docker's presentation of images and containers: an image's
// names as docker's API shows them (RepoTags: names with a tag; RepoDigests:
// repo@digest), the rows of docker's image tables (one per repository and
// tag), and the `--format json` objects of an image row and a container.
//
// Example:
//   ImageNames names = SplitNames(summary);
//   for (const ImageRow& row : ImageRows(names, false, false)) {
//     PrintJsonLine(std::cout, ImageRowJson(summary, row, false, now));
//   }
//
// Thread-safety: free functions.
#ifndef REFSTORE_TOOLS_VIEWS_H_
#define REFSTORE_TOOLS_VIEWS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "refstore/store.h"

namespace refstore_tool {

struct ImageNames {
  std::vector<std::string> repo_tags;     // familiar names carrying a tag
  std::vector<std::string> repo_digests;  // "repo@sha256:..." (familiar repo)
  // Familiar repository -> its tags / digests, repositories sorted.
  std::map<std::string, std::vector<std::string>> tags_by_repo;
  std::map<std::string, std::vector<std::string>> digests_by_repo;
  // docker's isDangling: neither tags nor digests.
  bool dangling = true;
};

// From ImageSummary::names (tags, "repo@digest" and "repo:tag@digest"
// names) and ImageSummary::repo_digests (only those of repositories that
// `names` shows: a reference filter hides the others, as docker's does).
ImageNames SplitNames(const refstore::ImageSummary& summary);

// One row of `image ls`: repository, tag, digest.
struct ImageRow {
  std::string repo;
  std::string tag;
  std::string digest;
};

// docker/cli formatter/image.go imageFormat: a dangling image is one row
// <none> <none> <none>; otherwise a row per tag of each repository (one per
// tag and digest when `need_digest`), then for repositories with digests
// but no tag a row per digest (`show_digests`) or one row with TAG <none>.
std::vector<ImageRow> ImageRows(const ImageNames& names, bool need_digest, bool show_digests);

// docker's image ID cell: "sha256:<hex>" with `no_trunc`, else 12 hex.
std::string ImageIdCell(const std::string& id, bool no_trunc);

// The `--format json` object of one image row: docker's keys (the
// formatter's imageContext methods: Containers, CreatedAt, CreatedSince,
// Digest, ID, Repository, SharedSize, Size, Tag, UniqueSize, VirtualSize)
// plus the raw byte counts (SizeBytes, SharedSizeBytes, UniqueSizeBytes),
// LastUsedAt, LastUsedSince and Pinned.
nlohmann::json ImageRowJson(const refstore::ImageSummary& image, const ImageRow& row, bool no_trunc,
                            absl::Time now);

// A container as docker's ContainerContext shows it (COMMAND "\"\"", empty
// PORTS and NAMES, STATUS "Up" or "Exited"): table cells and the JSON
// object (docker's keys plus ImageID and ImageExists).
std::string ContainerStatus(const refstore::ContainerInfo& c);
nlohmann::json ContainerJson(const refstore::ContainerInfo& c, bool no_trunc, absl::Time now);

// A new container ID: 64 random lowercase hex characters, as docker's.
std::string NewContainerId();

// docker's {"mediaType", "digest", "size"} of a descriptor.
nlohmann::ordered_json DescriptorJson(const refstore::Descriptor& d);

// The `image inspect` object (GET /images/{name}/json): the fields of
// docker's image.InspectResponse refstore has, in docker's order (Id,
// RepoTags, RepoDigests, Created, Config.Labels, Size, Descriptor), and
// refstore's own figures under "Refstore".
nlohmann::ordered_json InspectJson(const refstore::ImageDetail& d);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_VIEWS_H_
