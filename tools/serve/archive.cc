#include "serve/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "refstore/content/media_type.h"
#include "refstore/content/sha256.h"
#include "refstore/reference.h"
#include "refstore/text/digest.h"
#include "refstore/util/posix_file.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
using refstore::Descriptor;
using refstore::internal::Cat;
using refstore::internal::UniqueFd;

constexpr size_t kBlock = size_t{256} << 10;  // bytes read or written at a time
constexpr size_t kMaxJsonFile = size_t{16} << 20;
constexpr size_t kMaxManifestBlob = size_t{4} << 20;

constexpr char kOciConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kOciLayerType[] = "application/vnd.oci.image.layer.v1.tar";
constexpr char kOciLayerGzipType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kOciLayerZstdType[] = "application/vnd.oci.image.layer.v1.tar+zstd";
constexpr char kOciLayout[] = R"({"imageLayoutVersion":"1.0.0"})";
constexpr char kContainerdName[] = "io.containerd.image.name";
constexpr char kOciRefName[] = "org.opencontainers.image.ref.name";

// --- Small helpers ---------------------------------------------------------

// `s` as a JSON string (quoted, control characters escaped): untrusted text
// in messages.
std::string Quote(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(Cat("invalid archive: ", what));
}

std::string HexOf(std::string_view digest) {
  return std::string(digest.substr(refstore::text::kSha256Prefix.size()));
}

std::string BlobName(std::string_view hex) { return Cat("blobs/sha256/", hex); }

// Splits the archive path `name` into its components, dropping "." and empty
// ones. False for an absolute path or one with a ".." component.
bool SplitSafe(std::string_view name, std::vector<std::string>* out) {
  out->clear();
  if (name.empty() || name.front() == '/') return false;
  while (!name.empty()) {
    const size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
    if (part == "..") return false;
    if (part.empty() || part == ".") continue;
    out->emplace_back(part);
  }
  return true;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += out.empty() ? p : Cat("/", p);
  return out;
}

// Whether `path` is a regular file (not following a symbolic link).
bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return absl::OkStatus();
  const int err = errno;
  struct stat st;
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  if (err == EEXIST) return Invalid(Cat(path, " exists and is not a directory"));
  return refstore::internal::PosixError("mkdir", path, err);
}

absl::Status WriteFile(const std::string& path, std::string_view data) {
  UniqueFd fd;
  if (const int err =
          refstore::internal::OpenNoFollow(path, O_WRONLY | O_CREAT | O_TRUNC, &fd, 0644)) {
    return refstore::internal::PosixError("open", path, err);
  }
  RETURN_IF_ERROR(refstore::internal::WriteAll(fd.get(), data, path));
  if (const int err = fd.Close()) return refstore::internal::PosixError("close", path, err);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd;
  if (const int err = refstore::internal::OpenNoFollow(path, O_RDONLY, &fd)) {
    return refstore::internal::PosixError("open", path, err);
  }
  return refstore::internal::ReadAll(fd.get(), path, max_bytes);
}

// --- Reading the tar archive -----------------------------------------------

struct ReadArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ReadArchiveFree>;

// The error libarchive reports for `a`, reading `tar_path`: InvalidArgument
// for a malformed archive (libarchive's ARCHIVE_ERRNO_FILE_FORMAT is EILSEQ
// on Linux, ARCHIVE_ERRNO_MISC -1), Internal for a system error.
absl::Status ReadError(struct archive* a, const std::string& tar_path) {
  const int err = archive_errno(a);
  const char* msg = archive_error_string(a);
  const std::string what = msg != nullptr ? msg : "unknown error";
  if (err > 0 && err != EILSEQ && err != EINVAL) {
    return absl::InternalError(Cat("read ", tar_path, ": ", what));
  }
  return Invalid(Cat(tar_path, ": ", what));
}

// Opens (creating them, mode 0755, as needed) the directories `parts` under
// `root`; `entry` names the archive entry for messages.
absl::StatusOr<UniqueFd> OpenDirs(int root, const std::vector<std::string>& parts,
                                  const std::string& entry) {
  UniqueFd cur;
  if (const int err = refstore::internal::OpenAt(root, ".", O_RDONLY | O_DIRECTORY, &cur)) {
    return refstore::internal::PosixError("open", ".", err);
  }
  for (const std::string& part : parts) {
    if (::mkdirat(cur.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return refstore::internal::PosixError("mkdir", Cat(entry, ": ", part), errno);
    }
    UniqueFd next;
    const int err =
        refstore::internal::OpenAt(cur.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, &next);
    if (err == ENOTDIR || err == ELOOP) {
      return Invalid(Cat("entry ", Quote(entry), ": ", Quote(part), " is not a directory"));
    }
    if (err != 0) return refstore::internal::PosixError("open", Cat(entry, ": ", part), err);
    cur = std::move(next);
  }
  return cur;
}

// Copies the data of the current entry of `a` into `fd`, block by block
// (sparse entries at their offsets).
absl::Status CopyEntryData(struct archive* a, int fd, const std::string& entry,
                           const std::string& tar_path) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return absl::OkStatus();
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ReadError(a, tar_path);
    if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      return refstore::internal::PosixError("lseek", entry, errno);
    }
    RETURN_IF_ERROR(refstore::internal::WriteAll(
        fd, std::string_view(static_cast<const char*>(buf), size), entry));
  }
}

absl::Status ExtractFile(struct archive* a, struct archive_entry* e, int root,
                         std::vector<std::string> parts, const std::string& entry,
                         const std::string& tar_path) {
  const std::string base = parts.back();
  parts.pop_back();
  ASSIGN_OR_RETURN(UniqueFd parent, OpenDirs(root, parts, entry));
  UniqueFd fd;
  const int err = refstore::internal::OpenAt(parent.get(), base,
                                             O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, &fd, 0644);
  if (err == EISDIR || err == ELOOP) {
    return Invalid(Cat("entry ", Quote(entry), " conflicts with a directory of the archive"));
  }
  if (err != 0) return refstore::internal::PosixError("open", entry, err);
  RETURN_IF_ERROR(CopyEntryData(a, fd.get(), entry, tar_path));
  if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
    return refstore::internal::PosixError("ftruncate", entry, errno);
  }
  if (const int cerr = fd.Close()) return refstore::internal::PosixError("close", entry, cerr);
  return absl::OkStatus();
}

// Why the entry `e` is not extracted, or "" when it is a regular file or a
// directory.
std::string RefusedType(struct archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return "is a hard link";
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
      return "";
    case AE_IFLNK:
      return "is a symbolic link";
    default:
      return "is a special file";
  }
}

absl::Status ExtractEntry(struct archive* a, struct archive_entry* e, int root,
                          const std::string& tar_path) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr) return Invalid("an entry without a name");
  const std::string entry(raw);
  std::vector<std::string> parts;
  if (!SplitSafe(entry, &parts)) {
    return Invalid(Cat("entry ", Quote(entry), " is outside the archive's directory"));
  }
  if (std::string why = RefusedType(e); !why.empty()) {
    return Invalid(
        Cat("entry ", Quote(entry), " ", why, ": only regular files and directories are loaded"));
  }
  if (archive_entry_filetype(e) == AE_IFDIR) return OpenDirs(root, parts, entry).status();
  if (parts.empty()) return Invalid(Cat("entry ", Quote(entry), " is not a file name"));
  return ExtractFile(a, e, root, std::move(parts), entry, tar_path);
}

absl::Status ExtractTar(const std::string& tar_path, const std::string& dir) {
  RETURN_IF_ERROR(MakeDir(dir));
  UniqueFd root;
  if (const int err = refstore::internal::Open(dir, O_RDONLY | O_DIRECTORY, &root)) {
    return refstore::internal::PosixError("open", dir, err);
  }
  ReadArchive a(archive_read_new());
  if (a == nullptr) return absl::InternalError("archive_read_new failed");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), tar_path.c_str(), kBlock) != ARCHIVE_OK) {
    return ReadError(a.get(), tar_path);
  }
  for (;;) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) return absl::OkStatus();
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ReadError(a.get(), tar_path);
    RETURN_IF_ERROR(ExtractEntry(a.get(), e, root.get(), tar_path));
  }
}

// --- Converting a docker archive -------------------------------------------

struct DockerTag {
  std::string full;  // "docker.io/library/foo:latest"
  std::string tag;   // "latest"
};

// One entry of a docker archive's manifest.json.
struct DockerEntry {
  std::string config;               // path in the archive
  std::vector<std::string> layers;  // paths in the archive
  std::vector<DockerTag> tags;
};

// The path `field` of manifest.json names, made safe and relative.
absl::StatusOr<std::string> ArchivePath(const Json& value, const std::string& field) {
  if (!value.is_string()) return Invalid(Cat("manifest.json: ", field, " is not a string"));
  const std::string& name = value.get_ref<const std::string&>();
  std::vector<std::string> parts;
  if (!SplitSafe(name, &parts) || parts.empty()) {
    return Invalid(
        Cat("manifest.json: ", field, " ", Quote(name), " is outside the archive's directory"));
  }
  return Join(parts);
}

absl::StatusOr<std::vector<DockerTag>> ParseRepoTags(const Json& entry, const std::string& at) {
  std::vector<DockerTag> out;
  auto it = entry.find("RepoTags");
  if (it == entry.end() || it->is_null()) return out;
  if (!it->is_array()) return Invalid(Cat("manifest.json: ", at, ".RepoTags is not an array"));
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& t = (*it)[i];
    const std::string field = Cat(at, ".RepoTags[", i, "]");
    if (!t.is_string()) return Invalid(Cat("manifest.json: ", field, " is not a string"));
    auto ref = refstore::ParseReference(t.get_ref<const std::string&>());
    if (!ref.ok()) {
      return Invalid(Cat("manifest.json: ", field, " ", Quote(t.get_ref<const std::string&>()),
                         ": ", std::string(ref.status().message())));
    }
    if (ref->digest.has_value() || !ref->tag.has_value()) {
      return Invalid(Cat("manifest.json: ", field, " ", Quote(t.get_ref<const std::string&>()),
                         " is not a tagged name"));
    }
    out.push_back({ref->Full(), *ref->tag});
  }
  return out;
}

absl::StatusOr<DockerEntry> ParseDockerEntry(const Json& j, size_t i) {
  const std::string at = Cat("[", i, "]");
  if (!j.is_object()) return Invalid(Cat("manifest.json: ", at, " is not an object"));
  DockerEntry e;
  auto config = j.find("Config");
  if (config == j.end()) return Invalid(Cat("manifest.json: ", at, " has no Config"));
  ASSIGN_OR_RETURN(e.config, ArchivePath(*config, Cat(at, ".Config")));
  auto layers = j.find("Layers");
  if (layers == j.end() || !layers->is_array()) {
    return Invalid(Cat("manifest.json: ", at, " has no Layers array"));
  }
  for (size_t k = 0; k < layers->size(); ++k) {
    ASSIGN_OR_RETURN(std::string path, ArchivePath((*layers)[k], Cat(at, ".Layers[", k, "]")));
    e.layers.push_back(std::move(path));
  }
  ASSIGN_OR_RETURN(e.tags, ParseRepoTags(j, at));
  return e;
}

absl::StatusOr<std::vector<DockerEntry>> ReadDockerManifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  ASSIGN_OR_RETURN(std::string data, ReadFile(path, kMaxJsonFile));
  Json doc = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid("manifest.json is not valid JSON");
  if (!doc.is_array()) return Invalid("manifest.json is not a JSON array");
  std::vector<DockerEntry> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    ASSIGN_OR_RETURN(DockerEntry e, ParseDockerEntry(doc[i], i));
    out.push_back(std::move(e));
  }
  return out;
}

// What streaming a file found: its SHA-256, size and compression.
struct FileDigest {
  std::string hex;
  int64_t size = 0;
  bool gzip = false;
  bool zstd = false;
};

absl::StatusOr<FileDigest> DigestFile(const std::string& path, const std::string& rel) {
  UniqueFd fd;
  const int err = refstore::internal::OpenNoFollow(path, O_RDONLY | O_NONBLOCK, &fd);
  if (err == ENOENT || err == ELOOP || err == ENOTDIR) {
    return Invalid(Cat("manifest.json names ", Quote(rel), ", which is not a file of the archive"));
  }
  if (err != 0) return refstore::internal::PosixError("open", path, err);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return refstore::internal::PosixError("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Invalid(Cat("manifest.json names ", Quote(rel), ", which is not a file of the archive"));
  }
  refstore::content::Sha256 hash;
  std::string buf(kBlock, '\0');
  FileDigest out;
  for (;;) {
    ASSIGN_OR_RETURN(size_t got,
                     refstore::internal::ReadFull(fd.get(), buf.data(), buf.size(), path));
    if (out.size == 0 && got >= 2) out.gzip = buf[0] == '\x1f' && buf[1] == '\x8b';
    if (out.size == 0 && got >= 4) out.zstd = buf.compare(0, 4, "\x28\xb5\x2f\xfd") == 0;
    hash.Update(std::string_view(buf.data(), got));
    out.size += static_cast<int64_t>(got);
    if (got < buf.size()) break;
  }
  out.hex = hash.HexDigest();
  return out;
}

std::string LayerType(const FileDigest& f) {
  if (f.gzip) return kOciLayerGzipType;
  if (f.zstd) return kOciLayerZstdType;
  return kOciLayerType;
}

OrderedJson DescriptorJson(const Descriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

// Moves the files a docker archive names into blobs/sha256 of `dir`.
class BlobMover {
 public:
  explicit BlobMover(std::string dir) : dir_(std::move(dir)) {}

  // Hashes the file `rel` of the archive and moves it to its blob path
  // (once per path; a second file with the same content is removed).
  absl::StatusOr<Descriptor> Move(const std::string& rel, bool layer) {
    if (auto it = by_path_.find(rel); it != by_path_.end()) return Typed(it->second, layer);
    const std::string src = Cat(dir_, "/", rel);
    ASSIGN_OR_RETURN(FileDigest f, DigestFile(src, rel));
    const std::string dst = Cat(dir_, "/", BlobName(f.hex));
    if (moved_.contains(f.hex) && rel != BlobName(f.hex)) {
      if (::unlink(src.c_str()) != 0) return refstore::internal::PosixError("unlink", src, errno);
    } else if (::rename(src.c_str(), dst.c_str()) != 0) {
      return refstore::internal::PosixError("rename", Cat(src, " to ", dst), errno);
    }
    moved_.insert(f.hex);
    Entry& e = by_path_[rel];
    e = {Descriptor{kOciConfigType, Cat("sha256:", f.hex), f.size}, LayerType(f)};
    return Typed(e, layer);
  }

  // Writes `data` (a manifest) as a blob of type `media_type`.
  absl::StatusOr<Descriptor> Write(std::string_view media_type, const std::string& data) {
    const std::string hex = refstore::content::Sha256Hex(data);
    if (!moved_.contains(hex)) {
      RETURN_IF_ERROR(WriteFile(Cat(dir_, "/", BlobName(hex)), data));
      moved_.insert(hex);
    }
    return Descriptor{std::string(media_type), Cat("sha256:", hex),
                      static_cast<int64_t>(data.size())};
  }

 private:
  struct Entry {
    Descriptor config;  // the file as a config
    std::string layer_type;
  };
  static Descriptor Typed(const Entry& e, bool layer) {
    Descriptor d = e.config;
    if (layer) d.media_type = e.layer_type;
    return d;
  }

  std::string dir_;
  std::map<std::string, Entry> by_path_;  // archive path -> its blob
  std::set<std::string> moved_;           // hexes in blobs/sha256
};

// Converts one manifest.json entry into an OCI manifest blob; returns its
// descriptor.
absl::StatusOr<Descriptor> ConvertEntry(const DockerEntry& e, BlobMover& blobs) {
  ASSIGN_OR_RETURN(Descriptor config, blobs.Move(e.config, /*layer=*/false));
  OrderedJson layers = OrderedJson::array();
  for (const std::string& path : e.layers) {
    ASSIGN_OR_RETURN(Descriptor layer, blobs.Move(path, /*layer=*/true));
    layers.push_back(DescriptorJson(layer));
  }
  OrderedJson manifest = {{"schemaVersion", 2},
                          {"mediaType", refstore::content::kOciManifestType},
                          {"config", DescriptorJson(config)},
                          {"layers", std::move(layers)}};
  return blobs.Write(refstore::content::kOciManifestType, manifest.dump());
}

// The index.json entries of one converted image: one per tag, or one
// without a name.
void AddIndexEntries(const Descriptor& manifest, const std::vector<DockerTag>& tags,
                     OrderedJson& out) {
  if (tags.empty()) {
    out.push_back(DescriptorJson(manifest));
    return;
  }
  for (const DockerTag& t : tags) {
    OrderedJson d = DescriptorJson(manifest);
    d["annotations"] = {{kContainerdName, t.full}, {kOciRefName, t.tag}};
    out.push_back(std::move(d));
  }
}

absl::Status ConvertDockerArchive(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<DockerEntry> entries, ReadDockerManifest(dir));
  RETURN_IF_ERROR(MakeDir(dir + "/blobs"));
  RETURN_IF_ERROR(MakeDir(dir + "/blobs/sha256"));
  BlobMover blobs(dir);
  OrderedJson manifests = OrderedJson::array();
  for (const DockerEntry& e : entries) {
    ASSIGN_OR_RETURN(Descriptor manifest, ConvertEntry(e, blobs));
    AddIndexEntries(manifest, e.tags, manifests);
  }
  OrderedJson index = {{"schemaVersion", 2}, {"manifests", std::move(manifests)}};
  RETURN_IF_ERROR(WriteFile(dir + "/oci-layout", kOciLayout));
  return WriteFile(dir + "/index.json", index.dump());
}

// --- Writing the save archive ----------------------------------------------

struct WriteArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<struct archive, WriteArchiveFree>;
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<struct archive_entry, EntryFree>;

// A tar (pax restricted) written to a file descriptor, with fixed times,
// owners and modes.
class TarWriter {
 public:
  absl::Status Open(int fd) {
    a_.reset(archive_write_new());
    if (a_ == nullptr) return absl::InternalError("archive_write_new failed");
    if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) {
      return Error();
    }
    return absl::OkStatus();
  }

  absl::Status AddDir(const std::string& name) { return Header(name, AE_IFDIR, 0755, 0); }

  absl::Status AddBytes(const std::string& name, std::string_view data) {
    RETURN_IF_ERROR(Header(name, AE_IFREG, 0644, static_cast<int64_t>(data.size())));
    return Data(data);
  }

  // Streams the file `path` (`size` bytes) as entry `name`.
  absl::Status AddFile(const std::string& name, const std::string& path, int64_t size) {
    UniqueFd fd;
    if (const int err = refstore::internal::OpenNoFollow(path, O_RDONLY, &fd)) {
      return refstore::internal::PosixError("open", path, err);
    }
    RETURN_IF_ERROR(Header(name, AE_IFREG, 0644, size));
    if (buf_.empty()) buf_.resize(kBlock);
    int64_t total = 0;
    for (;;) {
      ASSIGN_OR_RETURN(size_t got,
                       refstore::internal::ReadFull(fd.get(), buf_.data(), buf_.size(), path));
      total += static_cast<int64_t>(got);
      if (total > size) break;
      RETURN_IF_ERROR(Data(std::string_view(buf_.data(), got)));
      if (got < buf_.size()) break;
    }
    if (total != size) return absl::DataLossError(Cat(path, ": changed size while being read"));
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return Error();
    return absl::OkStatus();
  }

 private:
  absl::Status Header(const std::string& name, unsigned type, int mode, int64_t size) {
    EntryPtr e(archive_entry_new());
    if (e == nullptr) return absl::InternalError("archive_entry_new failed");
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_size(e.get(), size);
    archive_entry_set_mtime(e.get(), 0, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return Error();
    return absl::OkStatus();
  }

  absl::Status Data(std::string_view data) {
    while (!data.empty()) {
      const la_ssize_t n = archive_write_data(a_.get(), data.data(), data.size());
      if (n <= 0) return Error();
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Error() {
    const char* msg = archive_error_string(a_.get());
    return absl::InternalError(Cat("write archive: ", msg != nullptr ? msg : "unknown error"));
  }

  WriteArchive a_;
  std::string buf_;
};

// What the save archive holds, gathered before a byte is written.
struct SavePlan {
  OrderedJson index = OrderedJson::array();     // index.json's manifests
  OrderedJson manifest = OrderedJson::array();  // manifest.json
  std::map<std::string, size_t> manifest_at;    // target digest -> manifest.json entry
  std::set<std::string> index_keys;             // digest + name, written once
  std::vector<Descriptor> blobs;                // distinct, in order
  std::set<std::string> blob_digests;
};

// The name `ref` asks for, when it is one of the image's names (not an ID or
// an ID prefix).
std::optional<refstore::Reference> AskedName(const std::string& ref,
                                             const refstore::ImageSummary& image) {
  auto parsed = refstore::ParseReference(ref);
  if (!parsed.ok() || !parsed->tag.has_value() || parsed->digest.has_value()) return std::nullopt;
  const std::string familiar = parsed->Familiar();
  if (std::find(image.names.begin(), image.names.end(), familiar) == image.names.end()) {
    return std::nullopt;
  }
  return *std::move(parsed);
}

void AddIndexEntry(const refstore::ImageDetail& image,
                   const std::optional<refstore::Reference>& name, SavePlan& plan) {
  const std::string full = name ? name->Full() : "";
  if (!plan.index_keys.insert(Cat(image.target.digest, " ", full)).second) return;
  OrderedJson d = DescriptorJson(image.target);
  if (name) d["annotations"] = {{kContainerdName, full}, {kOciRefName, *name->tag}};
  plan.index.push_back(std::move(d));
}

// The digest of descriptor `j` of the manifest `path`.
absl::StatusOr<std::string> ManifestDigest(const Json& j, const std::string& path,
                                           const std::string& field) {
  if (j.is_object()) {
    auto d = j.find("digest");
    if (d != j.end() && d->is_string() &&
        refstore::text::IsSha256Digest(d->get_ref<const std::string&>())) {
      return d->get<std::string>();
    }
  }
  return absl::DataLossError(Cat(path, ": ", field, " is not a descriptor with a sha256 digest"));
}

// docker's manifest.json entry for the image manifest `target`.
absl::StatusOr<OrderedJson> DockerManifestEntry(const Descriptor& target,
                                                const std::string& blob_dir) {
  const std::string path = Cat(blob_dir, "/", HexOf(target.digest));
  auto data = ReadFile(path, kMaxManifestBlob);
  if (absl::IsInternal(data.status()) && !IsRegularFile(path)) {
    return absl::NotFoundError(Cat("content ", target.digest, " is not in the content store"));
  }
  if (!data.ok()) return data.status();
  Json doc = Json::parse(*data, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::DataLossError(Cat(path, ": not a JSON object"));
  auto config = doc.find("config");
  ASSIGN_OR_RETURN(std::string config_digest,
                   ManifestDigest(config != doc.end() ? *config : Json(), path, "config"));
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) {
    return absl::DataLossError(Cat(path, ": manifest without a \"layers\" array"));
  }
  OrderedJson layer_paths = OrderedJson::array();
  for (size_t i = 0; i < layers->size(); ++i) {
    ASSIGN_OR_RETURN(std::string d, ManifestDigest((*layers)[i], path, Cat("layers[", i, "]")));
    layer_paths.push_back(BlobName(HexOf(d)));
  }
  return OrderedJson{{"Config", BlobName(HexOf(config_digest))},
                     {"RepoTags", OrderedJson::array()},
                     {"Layers", std::move(layer_paths)}};
}

absl::Status AddDockerEntry(const refstore::ImageDetail& image,
                            const std::optional<refstore::Reference>& name,
                            const std::string& blob_dir, SavePlan& plan) {
  using refstore::content::MediaKind;
  if (refstore::content::MediaKindOf(image.target.media_type) != MediaKind::kManifest) {
    return absl::OkStatus();  // an index has no docker manifest.json entry
  }
  auto it = plan.manifest_at.find(image.target.digest);
  if (it == plan.manifest_at.end()) {
    ASSIGN_OR_RETURN(OrderedJson entry, DockerManifestEntry(image.target, blob_dir));
    it = plan.manifest_at.emplace(image.target.digest, plan.manifest.size()).first;
    plan.manifest.push_back(std::move(entry));
  }
  if (!name) return absl::OkStatus();
  OrderedJson& tags = plan.manifest[it->second]["RepoTags"];
  const std::string familiar = name->Familiar();
  if (std::find(tags.begin(), tags.end(), familiar) == tags.end()) tags.push_back(familiar);
  return absl::OkStatus();
}

void AddBlob(const Descriptor& d, SavePlan& plan) {
  if (plan.blob_digests.insert(d.digest).second) plan.blobs.push_back(d);
}

// Checks that every blob file is there, with its size, before writing.
absl::Status CheckBlobFiles(const std::vector<Descriptor>& blobs, const std::string& blob_dir) {
  for (const Descriptor& d : blobs) {
    if (!refstore::text::IsSha256Digest(d.digest)) {
      return absl::DataLossError(Cat("invalid blob digest ", Quote(d.digest)));
    }
    const std::string path = Cat(blob_dir, "/", HexOf(d.digest));
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::NotFoundError(Cat("content ", d.digest, " is not in the content store"));
    }
    if (static_cast<int64_t>(st.st_size) != d.size) {
      return absl::DataLossError(Cat(path, ": blob is ", static_cast<int64_t>(st.st_size),
                                     " bytes, its descriptor says ", d.size));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SavePlan> PlanSave(refstore::Store& store, const refstore::OpContext& ctx,
                                  const std::vector<std::string>& refs,
                                  const std::string& blob_dir) {
  SavePlan plan;
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(refstore::ImageDetail image, store.Inspect(ctx, ref));
    const std::optional<refstore::Reference> name = AskedName(ref, image.summary);
    AddIndexEntry(image, name, plan);
    RETURN_IF_ERROR(AddDockerEntry(image, name, blob_dir, plan));
    AddBlob(image.target, plan);
    for (const Descriptor& d : image.content) AddBlob(d, plan);
  }
  RETURN_IF_ERROR(CheckBlobFiles(plan.blobs, blob_dir));
  return plan;
}

absl::Status WritePlan(const SavePlan& plan, const std::string& blob_dir, int out_fd) {
  TarWriter tar;
  RETURN_IF_ERROR(tar.Open(out_fd));
  RETURN_IF_ERROR(tar.AddBytes("oci-layout", kOciLayout));
  const OrderedJson index = {{"schemaVersion", 2},
                             {"mediaType", refstore::content::kOciIndexType},
                             {"manifests", plan.index}};
  RETURN_IF_ERROR(tar.AddBytes("index.json", index.dump()));
  RETURN_IF_ERROR(tar.AddBytes("manifest.json", plan.manifest.dump()));
  RETURN_IF_ERROR(tar.AddDir("blobs/"));
  RETURN_IF_ERROR(tar.AddDir("blobs/sha256/"));
  for (const Descriptor& d : plan.blobs) {
    const std::string hex = HexOf(d.digest);
    RETURN_IF_ERROR(tar.AddFile(BlobName(hex), Cat(blob_dir, "/", hex), d.size));
  }
  return tar.Close();
}

}  // namespace

absl::Status ExtractLoadArchive(const std::string& tar_path, const std::string& dir) {
  RETURN_IF_ERROR(ExtractTar(tar_path, dir));
  if (IsRegularFile(dir + "/index.json") && IsRegularFile(dir + "/oci-layout")) {
    return absl::OkStatus();  // an OCI layout (docker 25+'s manifest.json is ignored)
  }
  if (IsRegularFile(dir + "/manifest.json")) return ConvertDockerArchive(dir);
  return Invalid("neither index.json nor manifest.json found");
}

absl::Status WriteSaveArchive(refstore::Store& store, const refstore::OpContext& ctx,
                              const std::vector<std::string>& refs, const std::string& blob_dir,
                              int out_fd) {
  if (!store.HasContentStore()) {
    return absl::FailedPreconditionError("the store has no content store");
  }
  ASSIGN_OR_RETURN(SavePlan plan, PlanSave(store, ctx, refs, blob_dir));
  return WritePlan(plan, blob_dir, out_fd);
}

}  // namespace refstore_tool
