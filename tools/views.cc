// views.cc: RepoTags / RepoDigests, docker's image table rows, and the
// JSON objects of image rows and containers.
//
// docker sources: cli/command/formatter/image.go (isDangling, imageFormat,
// imageFormatTaggedAndDigest). docker walks Go maps there, so its row order
// across repositories is random; refstore sorts repositories by name and
// keeps the tags in the order of the image's (sorted) names.
// cli/command/formatter/reflect.go (the JSON keys are the contexts'
// methods), cli/command/formatter/container.go (Command is strconv.Quote'd,
// RunningFor = HumanDuration + " ago", Size "0B" when none).
#include "views.h"

#include <algorithm>
#include <random>

#include "format.h"
#include "output.h"
#include "refstore/reference.h"
#include "refstore/text/digest.h"

namespace refstore_tool {
namespace {

void AddUnique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

ImageNames SplitNames(const refstore::ImageSummary& summary) {
  ImageNames out;
  auto add_digest = [&out](const refstore::Reference& ref) {
    const std::string repo = refstore::FamiliarName(ref.Repository());
    AddUnique(out.digests_by_repo[repo], *ref.digest);
    AddUnique(out.repo_digests, repo + "@" + *ref.digest);
  };
  for (const std::string& name : summary.names) {
    absl::StatusOr<refstore::Reference> ref = refstore::ParseReferenceNoDefaultTag(name);
    if (!ref.ok()) continue;
    if (ref->tag) {
      out.repo_tags.push_back(name);
      out.tags_by_repo[refstore::FamiliarName(ref->Repository())].push_back(*ref->tag);
    } else if (ref->digest) {
      add_digest(*ref);
    }
  }
  // Repo digests of the repositories the (possibly filtered) names show:
  // docker drops the references a reference filter rejects, digests too.
  for (const std::string& name : summary.repo_digests) {
    absl::StatusOr<refstore::Reference> ref = refstore::ParseReferenceNoDefaultTag(name);
    if (!ref.ok() || !ref->digest) continue;
    const std::string repo = refstore::FamiliarName(ref->Repository());
    if (out.tags_by_repo.contains(repo) || out.digests_by_repo.contains(repo)) add_digest(*ref);
  }
  std::sort(out.repo_digests.begin(), out.repo_digests.end());
  out.dangling = out.repo_tags.empty() && out.repo_digests.empty();
  return out;
}

std::vector<ImageRow> ImageRows(const ImageNames& names, bool need_digest, bool show_digests) {
  std::vector<ImageRow> rows;
  if (names.dangling) {
    rows.push_back({"<none>", "<none>", "<none>"});
    return rows;
  }
  for (const auto& [repo, tags] : names.tags_by_repo) {
    auto it = names.digests_by_repo.find(repo);
    const bool with_digests = need_digest && it != names.digests_by_repo.end();
    for (const std::string& tag : tags) {
      if (!with_digests) {
        rows.push_back({repo, tag, "<none>"});
        continue;
      }
      for (const std::string& digest : it->second) rows.push_back({repo, tag, digest});
    }
  }
  for (const auto& [repo, digests] : names.digests_by_repo) {
    if (names.tags_by_repo.contains(repo)) continue;
    if (show_digests) {
      for (const std::string& digest : digests) rows.push_back({repo, "<none>", digest});
    } else {
      rows.push_back({repo, "<none>", ""});
    }
  }
  return rows;
}

std::string ImageIdCell(const std::string& id, bool no_trunc) {
  return no_trunc ? id : ShortId(id);
}

nlohmann::json ImageRowJson(const refstore::ImageSummary& img, const ImageRow& row, bool no_trunc,
                            absl::Time now) {
  nlohmann::json j;
  j["Containers"] = std::to_string(img.containers);
  j["CreatedAt"] = GoTimeString(img.created);
  j["CreatedSince"] = Ago(img.created, now);
  j["Digest"] = row.digest;
  j["ID"] = ImageIdCell(img.id, no_trunc);
  j["Repository"] = row.repo;
  j["SharedSize"] = HumanSize(static_cast<double>(img.shared_size));
  j["Size"] = HumanSize(static_cast<double>(img.size), 3);
  j["Tag"] = row.tag;
  j["UniqueSize"] = HumanSize(static_cast<double>(img.unique_size));
  j["VirtualSize"] = HumanSize(static_cast<double>(img.size));
  j["SizeBytes"] = img.size;
  j["SharedSizeBytes"] = img.shared_size;
  j["UniqueSizeBytes"] = img.unique_size;
  j["LastUsedAt"] = GoTimeString(img.last_used);
  j["LastUsedSince"] = Ago(img.last_used, now);
  j["Pinned"] = img.pinned;
  return j;
}

std::string ContainerStatus(const refstore::ContainerInfo& c) {
  return c.running ? "Up" : "Exited";
}

nlohmann::json ContainerJson(const refstore::ContainerInfo& c, bool no_trunc, absl::Time now) {
  nlohmann::json j;
  j["Command"] = "\"\"";
  j["CreatedAt"] = GoTimeString(c.created);
  j["ID"] = no_trunc ? c.id : ShortId(c.id);
  j["Image"] = no_trunc ? c.image_id : ShortId(c.image_id);
  j["Labels"] = "";
  j["LocalVolumes"] = "0";
  j["Mounts"] = "";
  j["Names"] = c.name;
  j["Networks"] = "";
  j["Ports"] = "";
  j["RunningFor"] = Ago(c.created, now);
  j["Size"] = "0B";
  j["State"] = c.running ? "running" : "exited";
  j["Status"] = ContainerStatus(c);
  j["ImageID"] = c.image_id;
  j["ImageExists"] = c.image_exists;
  return j;
}

std::string NewContainerId() {
  std::random_device rd;
  std::string raw(refstore::text::kSha256RawLength, '\0');
  for (char& c : raw) c = static_cast<char>(rd());
  return refstore::text::RawToHex(raw);
}

nlohmann::ordered_json DescriptorJson(const refstore::Descriptor& d) {
  return nlohmann::ordered_json{
      {"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

// docker's image.InspectResponse fields refstore has, in docker's order;
// refstore's own figures under "Refstore".
nlohmann::ordered_json InspectJson(const refstore::ImageDetail& d) {
  const refstore::ImageSummary& s = d.summary;
  const ImageNames names = SplitNames(s);
  nlohmann::ordered_json j;
  j["Id"] = s.id;
  j["RepoTags"] = names.repo_tags;
  j["RepoDigests"] = names.repo_digests;
  j["Created"] = refstore::FormatRfc3339(s.created);
  nlohmann::ordered_json config;
  config["Labels"] =
      s.labels.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.labels);
  j["Config"] = config;
  j["Size"] = s.size;
  j["Descriptor"] = DescriptorJson(d.target);
  nlohmann::ordered_json own;
  own["SharedSize"] = s.shared_size;
  own["UniqueSize"] = s.unique_size;
  own["Containers"] = d.container_ids;
  own["LastUsed"] = refstore::FormatRfc3339(s.last_used);
  own["Pinned"] = s.pinned;
  nlohmann::ordered_json content = nlohmann::ordered_json::array();
  for (const refstore::Descriptor& c : d.content) content.push_back(DescriptorJson(c));
  own["Content"] = content;
  j["Refstore"] = own;
  return j;
}

}  // namespace refstore_tool
