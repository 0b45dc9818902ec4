#include "refstore/content/oci_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "refstore/content/media_type.h"
#include "refstore/content/sha256.h"
#include "refstore/text/digest.h"
#include "refstore/util/posix_file.h"

namespace refstore::content {
namespace {

using Json = nlohmann::json;

// --- Media types -----------------------------------------------------------

using Kind = MediaKind;

// A kind the layout reader reads: a schema 1 manifest is not one (an OCI
// layout cannot hold it), so it is unknown here.
Kind KindOf(std::string_view media_type) {
  const Kind kind = MediaKindOf(media_type);
  return kind == Kind::kSchema1Manifest ? Kind::kUnknown : kind;
}

bool IsDocumentKind(Kind k) { return k == Kind::kManifest || k == Kind::kIndex; }

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kManifest:
      return "an image manifest";
    case Kind::kIndex:
      return "an image index";
    case Kind::kConfig:
      return "an image config";
    case Kind::kLayer:
      return "a layer";
    case Kind::kEmpty:
      return "an empty descriptor";
    case Kind::kSchema1Manifest:
    case Kind::kUnknown:
      break;
  }
  return "unknown";
}

// The kind of a parsed document without a "mediaType" field: an object with
// a "manifests" array is an index, one with "config" and "layers" a manifest.
Kind InferKind(const Json& doc) {
  if (!doc.is_object()) return Kind::kUnknown;
  auto m = doc.find("manifests");
  bool index = m != doc.end() && m->is_array();
  auto c = doc.find("config");
  auto l = doc.find("layers");
  bool manifest = c != doc.end() && c->is_object() && l != doc.end() && l->is_array();
  if (index && !manifest) return Kind::kIndex;
  if (manifest && !index) return Kind::kManifest;
  return Kind::kUnknown;
}

// The kind of document `doc` claims to be: by its own "mediaType" when it
// has one (which must then be a string), else by inference.
Kind DocumentKind(const Json& doc) {
  if (!doc.is_object()) return Kind::kUnknown;
  auto mt = doc.find("mediaType");
  if (mt == doc.end()) return InferKind(doc);
  if (!mt->is_string()) return Kind::kUnknown;
  return KindOf(mt->get_ref<const std::string&>());
}

// --- Small helpers ---------------------------------------------------------

// `s` as a JSON string (quoted, control characters escaped), cut to a
// readable length: used to show untrusted text in messages.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 120;
  std::string cut(s.substr(0, kMax));
  std::string out = Json(cut).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > kMax) out += "...";
  return out;
}

std::string Field(std::string_view name, size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

using internal::OpenAt;
using internal::UniqueFd;

// A fault with the file it concerns: `path` is shown to the user.
absl::Status LayoutError(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(path + ": " + std::string(what));
}

absl::Status SysError(const std::string& path, std::string_view call, int err) {
  return internal::PosixError(call, path, err);
}

// Describes what is at `name` in `dirfd` when opening it failed with ELOOP,
// ENOTDIR or ENXIO.
std::string WhatIsThere(int dirfd, const char* name) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return "cannot be opened";
  if (S_ISLNK(st.st_mode)) return "is a symbolic link";
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (S_ISREG(st.st_mode)) return "is a regular file";
  return "is a special file";
}

// Opens the directory `name` in `dirfd`; a symbolic link is an error.
absl::StatusOr<UniqueFd> OpenDirAt(int dirfd, const std::string& name, const std::string& path) {
  UniqueFd fd;
  const int err = OpenAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, &fd);
  if (err == 0) return fd;
  if (err == ENOENT) return LayoutError(path, "missing directory");
  if (err == ELOOP || err == ENOTDIR) {
    return LayoutError(path, WhatIsThere(dirfd, name.c_str()) + ", not a directory");
  }
  return SysError(path, "open", err);
}

struct OpenFile {
  UniqueFd fd;
  int64_t size = 0;
};

// Opens the regular file `name` in `dirfd` (never following a symbolic link,
// never blocking on a FIFO). A missing file is NotFound.
absl::StatusOr<OpenFile> OpenRegularAt(int dirfd, const std::string& name,
                                       const std::string& path) {
  OpenFile f;
  if (const int err = OpenAt(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, &f.fd)) {
    if (err == ENOENT) return absl::NotFoundError(path + ": no such file");
    if (err == ELOOP || err == ENXIO) {
      return LayoutError(path, WhatIsThere(dirfd, name.c_str()) + ", not a regular file");
    }
    return SysError(path, "open", err);
  }
  struct stat st;
  if (::fstat(f.fd.get(), &st) != 0) return SysError(path, "fstat", errno);
  if (!S_ISREG(st.st_mode)) {
    return LayoutError(path,
                       std::string(S_ISDIR(st.st_mode) ? "is a directory" : "is a special file") +
                           ", not a regular file");
  }
  f.size = static_cast<int64_t>(st.st_size);
  return f;
}

// Reads the whole file, which fstat said is `size` bytes long.
absl::StatusOr<std::string> ReadWhole(const OpenFile& f, const std::string& path) {
  std::string data(static_cast<size_t>(f.size) + 1, '\0');
  auto got = internal::ReadFull(f.fd.get(), data.data(), data.size(), path);
  if (!got.ok()) return got.status();
  if (*got != static_cast<size_t>(f.size)) {
    return LayoutError(path, "changed size while being read");
  }
  data.resize(*got);
  return data;
}

absl::StatusOr<Json> ParseJson(const std::string& data, const std::string& path) {
  try {
    return Json::parse(data);
  } catch (const Json::exception& e) {
    return LayoutError(path, std::string("not valid JSON: ") + e.what());
  }
}

// Parses a descriptor. On failure returns the reason (without location);
// `out` then holds the fields that were valid.
std::string ParseDescriptor(const Json& j, LayoutBlob* out) {
  *out = LayoutBlob{};
  if (!j.is_object()) return "not a descriptor (not a JSON object)";
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return "descriptor without a \"mediaType\" string";
  out->media_type = mt->get<std::string>();

  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer()) {
    return "descriptor without an integer \"size\"";
  }
  if (size->is_number_unsigned()) {
    uint64_t v = size->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return "descriptor size out of range";
    out->size = static_cast<int64_t>(v);
  } else {
    int64_t v = size->get<int64_t>();
    if (v < 0) return "negative descriptor size " + std::to_string(v);
    out->size = v;
  }

  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return "descriptor without a \"digest\" string";
  const std::string& digest = dg->get_ref<const std::string&>();
  if (!text::IsSha256Digest(digest)) {
    size_t colon = digest.find(':');
    if (colon != std::string::npos && colon > 0 && digest.compare(0, colon, "sha256") != 0) {
      return "unsupported digest algorithm in digest " + Quote(digest);
    }
    return "invalid digest " + Quote(digest);
  }
  out->digest = digest;
  return "";
}

bool ValidLayoutVersion(std::string_view v) {
  // "1.<digits>.<digits>"
  if (!v.starts_with("1.")) return false;
  v.remove_prefix(2);
  size_t dot = v.find('.');
  if (dot == std::string_view::npos) return false;
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(v.substr(0, dot)) && digits(v.substr(dot + 1));
}

// --- The layout directory --------------------------------------------------

// The layout directory, resolved once, and its blobs/sha256 opened without
// following symbolic links: blobs are opened relative to `sha`.
struct LayoutDir {
  std::string display;  // `dir` as the caller wrote it, for messages
  UniqueFd root;
  UniqueFd sha;

  std::string Path(std::string_view rel) const { return display + "/" + std::string(rel); }
  std::string BlobPath(std::string_view hex) const {
    return display + "/blobs/sha256/" + std::string(hex);
  }
};

absl::StatusOr<LayoutDir> OpenLayoutRoot(std::string_view dir) {
  LayoutDir d;
  d.display = std::string(dir);
  while (d.display.size() > 1 && d.display.back() == '/') d.display.pop_back();
  if (d.display.empty()) return absl::InvalidArgumentError("empty layout directory name");
  char* real = ::realpath(d.display.c_str(), nullptr);
  if (real == nullptr) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(d.display + ": no such directory");
    return SysError(d.display, "realpath", err);
  }
  std::string resolved(real);
  std::free(real);
  if (const int err = internal::Open(resolved, O_RDONLY | O_DIRECTORY, &d.root)) {
    if (err == ENOTDIR) return LayoutError(d.display, "not a directory");
    return SysError(d.display, "open", err);
  }
  return d;
}

absl::Status OpenBlobDirs(LayoutDir& d) {
  auto blobs = OpenDirAt(d.root.get(), "blobs", d.Path("blobs"));
  if (!blobs.ok()) return blobs.status();
  auto sha = OpenDirAt(blobs->get(), "sha256", d.Path("blobs/sha256"));
  if (!sha.ok()) return sha.status();
  d.sha = std::move(*sha);
  return absl::OkStatus();
}

absl::StatusOr<LayoutDir> OpenLayoutBlobs(std::string_view dir) {
  auto d = OpenLayoutRoot(dir);
  if (!d.ok()) return d.status();
  absl::Status st = OpenBlobDirs(*d);
  if (!st.ok()) return st;
  return d;
}

// --- Walking an image ------------------------------------------------------

constexpr int kMaxDepth = 32;
constexpr size_t kChunk = size_t{1} << 20;

// Where a descriptor was found: the file that holds it and its field there.
struct Where {
  const std::string& file;
  std::string field;
};

enum class Role { kTarget, kIndexEntry, kConfig, kLayer };

class Walker {
 public:
  Walker(const LayoutDir& dir, const ReadOptions& options, LayoutImage* image)
      : dir_(dir), options_(options), image_(image) {}

  // Walks from image_->target, found at `where`.
  void Run(const Where& where) {
    Visit(image_->target, where, Role::kTarget, 0);
    if (more_faults_ > 0) {
      image_->error += " (and " + std::to_string(more_faults_) + " more fault" +
                       (more_faults_ > 1 ? "s" : "") + ")";
    }
  }

 private:
  // Records a fault: the first one is the image's error, the others counted.
  void Fault(std::string message) {
    if (image_->error.empty()) {
      image_->error = std::move(message);
    } else {
      ++more_faults_;
    }
  }
  void Fault(const absl::Status& st) { Fault(std::string(st.message())); }

  // Processes the descriptor `d` (already syntactically valid) found at
  // `where`: records it, verifies its blob, and walks into manifests and
  // indexes. The walk goes on past faults, so that the content of a faulty
  // image is as complete as it can be.
  void Visit(const LayoutBlob& d, const Where& where, Role role, int depth) {
    const std::string at = where.file + ": " + where.field + ": ";
    if (std::find(stack_.begin(), stack_.end(), d.digest) != stack_.end()) {
      Fault(at + d.digest + " refers back to an index that contains it (a cycle)");
      return;
    }
    auto [it, inserted] = seen_.try_emplace(d.digest, d.size);
    if (!inserted) {
      if (it->second != d.size) {
        Fault(at + d.digest + " has size " + std::to_string(d.size) + " here and " +
              std::to_string(it->second) + " elsewhere");
      }
      return;
    }
    if (role != Role::kTarget) image_->content.push_back(d);

    Kind kind = KindOf(d.media_type);
    if (kind == Kind::kUnknown) {
      Fault(at + "unknown media type " + Quote(d.media_type));
      return;
    }
    if ((role == Role::kTarget || role == Role::kIndexEntry) && !IsDocumentKind(kind)) {
      Fault(at + "media type " + d.media_type + " is not a manifest or an index");
      VerifyBlob(d);
      return;
    }
    if (role == Role::kConfig && depth == 1 && kind == Kind::kConfig &&
        d.size <= options_.max_manifest_size) {
      // The config of an image whose target is a manifest: verified, and
      // its creation time and labels kept (what docker shows of an image).
      ReadConfig(d);
      return;
    }
    if (role == Role::kConfig || role == Role::kLayer || !IsDocumentKind(kind)) {
      // A config or layer is only verified, whatever its (known) type.
      VerifyBlob(d);
      return;
    }
    if (depth >= kMaxDepth) {
      Fault(at + "indexes nested deeper than " + std::to_string(kMaxDepth));
      return;
    }
    std::optional<Json> doc = ReadDocument(d, kind);
    if (!doc) return;
    const std::string path = dir_.BlobPath(HexOf(d));
    stack_.push_back(d.digest);
    if (kind == Kind::kIndex) {
      WalkIndex(*doc, path, depth);
    } else {
      WalkManifest(*doc, path, depth);
    }
    stack_.pop_back();
  }

  void WalkIndex(const Json& doc, const std::string& path, int depth) {
    WalkArray(doc, "index", "manifests", path, Role::kIndexEntry, depth);
  }

  void WalkManifest(const Json& doc, const std::string& path, int depth) {
    auto c = doc.find("config");
    if (c == doc.end() || !c->is_object()) {
      Fault(path + ": manifest without a \"config\" descriptor");
    } else {
      Child(*c, Where{path, "config"}, Role::kConfig, depth);
    }
    WalkArray(doc, "manifest", "layers", path, Role::kLayer, depth);
  }

  // Visits each descriptor of the array `field` of document `doc` (`what`:
  // "index" or "manifest"); a missing or non-array field is a fault.
  void WalkArray(const Json& doc, std::string_view what, const std::string& field,
                 const std::string& path, Role role, int depth) {
    auto a = doc.find(field);
    if (a == doc.end() || !a->is_array()) {
      Fault(path + ": " + std::string(what) + " without a \"" + field + "\" array");
      return;
    }
    for (size_t i = 0; i < a->size(); ++i) {
      Child((*a)[i], Where{path, Field(field, i)}, role, depth);
    }
  }

  void Child(const Json& j, const Where& where, Role role, int depth) {
    LayoutBlob d;
    std::string bad = ParseDescriptor(j, &d);
    if (!bad.empty()) {
      Fault(where.file + ": " + where.field + ": " + bad);
      return;
    }
    Visit(d, where, role, depth + 1);
  }

  static std::string_view HexOf(const LayoutBlob& d) {
    return std::string_view(d.digest).substr(7);  // after "sha256:"
  }

  // Opens the blob of `d` and checks its size. Null (after a fault) when
  // that fails.
  std::optional<OpenFile> OpenBlob(const LayoutBlob& d) {
    const std::string hex(HexOf(d));
    const std::string path = dir_.BlobPath(hex);
    auto f = OpenRegularAt(dir_.sha.get(), hex, path);
    if (!f.ok()) {
      Fault(absl::IsNotFound(f.status()) ? path + ": missing blob (" + d.media_type + ")"
                                         : std::string(f.status().message()));
      return std::nullopt;
    }
    if (f->size != d.size) {
      Fault(path + ": blob is " + std::to_string(f->size) + " bytes, its descriptor says " +
            std::to_string(d.size));
      return std::nullopt;
    }
    return std::move(*f);
  }

  void CheckDigest(const LayoutBlob& d, Sha256& hash) {
    std::string got = hash.HexDigest();
    if (got != HexOf(d)) {
      Fault(dir_.BlobPath(HexOf(d)) + ": content does not match its digest (its SHA-256 is " + got +
            ")");
    }
  }

  // Verifies the blob of a config or layer: streams it when hashing.
  void VerifyBlob(const LayoutBlob& d) {
    std::optional<OpenFile> f = OpenBlob(d);
    if (!f || !options_.verify_digests) return;
    const std::string path = dir_.BlobPath(HexOf(d));
    if (buf_.empty()) buf_.resize(kChunk);
    Sha256 hash;
    int64_t total = 0;
    for (;;) {
      auto got = internal::ReadFull(f->fd.get(), buf_.data(), buf_.size(), path);
      if (!got.ok()) {
        Fault(got.status());
        return;
      }
      if (*got == 0) break;
      hash.Update(std::string_view(buf_.data(), *got));
      total += static_cast<int64_t>(*got);
      if (*got < buf_.size()) break;
    }
    if (total != d.size) {
      Fault(path + ": changed size while being read");
      return;
    }
    CheckDigest(d, hash);
  }

  // Reads and verifies the image config `d`, and keeps its "created" and
  // "config"."Labels" when it is JSON of that shape (a config is otherwise
  // only verified: anything else in it is not a fault).
  void ReadConfig(const LayoutBlob& d) {
    const std::string path = dir_.BlobPath(HexOf(d));
    std::optional<OpenFile> f = OpenBlob(d);
    if (!f) return;
    auto data = ReadWhole(*f, path);
    if (!data.ok()) {
      Fault(data.status());
      return;
    }
    if (options_.verify_digests) {
      Sha256 hash;
      hash.Update(*data);
      CheckDigest(d, hash);
    }
    Json doc = Json::parse(*data, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return;
    auto created = doc.find("created");
    if (created != doc.end() && created->is_string()) image_->created = created->get<std::string>();
    auto config = doc.find("config");
    if (config == doc.end() || !config->is_object()) return;
    auto labels = config->find("Labels");
    if (labels == config->end() || !labels->is_object()) return;
    for (const auto& [k, v] : labels->items()) {
      if (v.is_string()) image_->labels[k] = v.get<std::string>();
    }
  }

  // Reads, verifies and parses the manifest or index `d` of kind `kind`.
  std::optional<Json> ReadDocument(const LayoutBlob& d, Kind kind) {
    const std::string path = dir_.BlobPath(HexOf(d));
    if (d.size > options_.max_manifest_size) {
      Fault(path + ": " + std::string(kind == Kind::kIndex ? "index" : "manifest") + " of " +
            std::to_string(d.size) + " bytes, larger than the limit of " +
            std::to_string(options_.max_manifest_size));
      return std::nullopt;
    }
    std::optional<OpenFile> f = OpenBlob(d);
    if (!f) return std::nullopt;
    auto data = ReadWhole(*f, path);
    if (!data.ok()) {
      Fault(data.status());
      return std::nullopt;
    }
    if (options_.verify_digests) {
      Sha256 hash;
      hash.Update(*data);
      std::string got = hash.HexDigest();
      if (got != HexOf(d)) {
        Fault(path + ": content does not match its digest (its SHA-256 is " + got + ")");
        return std::nullopt;
      }
    }
    auto doc = ParseJson(*data, path);
    if (!doc.ok()) {
      Fault(doc.status());
      return std::nullopt;
    }
    if (!doc->is_object()) {
      Fault(path + ": not a JSON object");
      return std::nullopt;
    }
    auto mt = doc->find("mediaType");
    if (mt != doc->end()) {
      if (!mt->is_string() || mt->get_ref<const std::string&>() != d.media_type) {
        Fault(path + ": its mediaType " +
              (mt->is_string() ? Quote(mt->get_ref<const std::string&>()) : "(not a string)") +
              " does not match its descriptor's " + d.media_type);
        return std::nullopt;
      }
    } else if (InferKind(*doc) != kind) {
      Fault(path + ": content is not " + KindName(kind) + " as its descriptor's media type " +
            d.media_type + " says");
      return std::nullopt;
    }
    auto sv = doc->find("schemaVersion");
    if (sv != doc->end() && !(sv->is_number_integer() && sv->get<int64_t>() == 2)) {
      Fault(path + ": schemaVersion is not 2");
      return std::nullopt;
    }
    return std::move(*doc);
  }

  const LayoutDir& dir_;
  const ReadOptions& options_;
  LayoutImage* image_;
  absl::flat_hash_map<std::string, int64_t> seen_;  // digest -> size, target included
  std::vector<std::string> stack_;                  // digests of the documents being walked
  std::string buf_;
  int more_faults_ = 0;
};

LayoutImage ReadImageIn(const LayoutDir& dir, const LayoutBlob& target, const Where& where,
                        const ReadOptions& options) {
  LayoutImage image;
  image.target = target;
  Walker(dir, options, &image).Run(where);
  return image;
}

// Appends `s` to `v` unless it is there.
void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// Adds the names an index.json entry annotates to `image`.
void AddNames(const Json& entry, LayoutImage& image) {
  auto ann = entry.find("annotations");
  if (ann == entry.end() || !ann->is_object()) return;
  auto containerd = ann->find("io.containerd.image.name");
  if (containerd != ann->end() && containerd->is_string()) {
    AddUnique(image.names, containerd->get<std::string>());
    return;
  }
  auto ref = ann->find("org.opencontainers.image.ref.name");
  if (ref == ann->end() || !ref->is_string()) return;
  const std::string& name = ref->get_ref<const std::string&>();
  if (name.empty()) return;
  if (name.find_first_of("/:@") != std::string::npos) {
    AddUnique(image.names, name);
  } else {
    AddUnique(image.tags, name);
  }
}

// Reads the JSON object in file `name` at the root of the layout: a missing
// file is the fault `missing`; one larger than `limit` bytes is a fault
// ("too large", or with the figures when `say_limit`).
absl::StatusOr<Json> ReadRootObject(const LayoutDir& d, const std::string& name,
                                    std::string_view missing, int64_t limit, bool say_limit) {
  const std::string path = d.Path(name);
  auto f = OpenRegularAt(d.root.get(), name, path);
  if (!f.ok()) {
    if (absl::IsNotFound(f.status())) return LayoutError(path, missing);
    return f.status();
  }
  if (f->size > limit) {
    if (!say_limit) return LayoutError(path, "too large");
    return LayoutError(path, std::to_string(f->size) + " bytes, larger than the limit of " +
                                 std::to_string(limit));
  }
  auto data = ReadWhole(*f, path);
  if (!data.ok()) return data.status();
  auto doc = ParseJson(*data, path);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return LayoutError(path, "not a JSON object");
  return doc;
}

absl::Status CheckOciLayoutFile(const LayoutDir& d) {
  const std::string path = d.Path("oci-layout");
  auto doc = ReadRootObject(d, "oci-layout", "missing: not an OCI image layout", int64_t{1} << 20,
                            /*say_limit=*/false);
  if (!doc.ok()) return doc.status();
  auto v = doc->find("imageLayoutVersion");
  if (v == doc->end() || !v->is_string()) {
    return LayoutError(path, "no \"imageLayoutVersion\" string");
  }
  if (!ValidLayoutVersion(v->get_ref<const std::string&>())) {
    return LayoutError(path,
                       "unsupported imageLayoutVersion " + Quote(v->get_ref<const std::string&>()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ReadIndexJson(const LayoutDir& d, const ReadOptions& options) {
  const std::string path = d.Path("index.json");
  // index.json lists every tag: allow it more room than one manifest.
  const int64_t limit = std::max<int64_t>(options.max_manifest_size, int64_t{64} << 20);
  auto doc = ReadRootObject(d, "index.json", "missing", limit, /*say_limit=*/true);
  if (!doc.ok()) return doc.status();
  auto sv = doc->find("schemaVersion");
  if (sv != doc->end() && !(sv->is_number_integer() && sv->get<int64_t>() == 2)) {
    return LayoutError(path, "schemaVersion is not 2");
  }
  auto mt = doc->find("mediaType");
  if (mt != doc->end() &&
      !(mt->is_string() && mt->get_ref<const std::string&>() == kOciIndexType)) {
    return LayoutError(path, "mediaType is not " + std::string(kOciIndexType));
  }
  auto m = doc->find("manifests");
  if (m == doc->end() || !m->is_array()) return LayoutError(path, "no \"manifests\" array");
  for (size_t i = 0; i < m->size(); ++i) {
    if (!(*m)[i].is_object()) return LayoutError(path, Field("manifests", i) + " is not an object");
  }
  return std::move(*doc);
}

absl::StatusOr<Layout> ReadLayoutImpl(std::string_view dir, const ReadOptions& options) {
  auto d = OpenLayoutRoot(dir);
  if (!d.ok()) return d.status();
  absl::Status st = CheckOciLayoutFile(*d);
  if (!st.ok()) return st;
  auto index = ReadIndexJson(*d, options);
  if (!index.ok()) return index.status();
  st = OpenBlobDirs(*d);
  if (!st.ok()) return st;

  const std::string index_path = d->Path("index.json");
  struct Entry {
    LayoutImage image;
    std::string field;  // where the target was first listed
    bool valid = false;
  };
  std::vector<Entry> entries;
  absl::flat_hash_map<std::string, size_t> by_digest;
  const Json& manifests = (*index)["manifests"];
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Json& e = manifests[i];
    const std::string field = Field("manifests", i);
    LayoutBlob target;
    std::string bad = ParseDescriptor(e, &target);
    if (!bad.empty()) {
      Entry entry;
      entry.image.target = target;
      entry.image.error = index_path + ": " + field + ": " + bad;
      AddNames(e, entry.image);
      entries.push_back(std::move(entry));
      continue;
    }
    auto [it, inserted] = by_digest.try_emplace(target.digest, entries.size());
    if (inserted) {
      Entry entry;
      entry.image.target = target;
      entry.field = field;
      entry.valid = true;
      AddNames(e, entry.image);
      entries.push_back(std::move(entry));
      continue;
    }
    Entry& first = entries[it->second];
    AddNames(e, first.image);
    if ((first.image.target.size != target.size ||
         first.image.target.media_type != target.media_type) &&
        first.image.error.empty()) {
      first.image.error = index_path + ": " + field + ": " + target.digest +
                          " listed with another size or media type than in " + first.field;
    }
  }

  Layout layout;
  layout.images.reserve(entries.size());
  for (Entry& entry : entries) {
    if (entry.valid) {
      LayoutImage walked =
          ReadImageIn(*d, entry.image.target, Where{index_path, entry.field}, options);
      walked.names = std::move(entry.image.names);
      walked.tags = std::move(entry.image.tags);
      if (!entry.image.error.empty()) {
        walked.error =
            walked.error.empty() ? entry.image.error : entry.image.error + "; " + walked.error;
      }
      layout.images.push_back(std::move(walked));
    } else {
      layout.images.push_back(std::move(entry.image));
    }
  }
  return layout;
}

// A target given by the caller (ReadImage, FindRoots): its syntax checked
// as a descriptor's would be.
std::string CheckTarget(const LayoutBlob& target) {
  Json j = {{"mediaType", target.media_type}, {"digest", target.digest}, {"size", target.size}};
  LayoutBlob parsed;
  return ParseDescriptor(j, &parsed);
}

LayoutImage ReadImageImpl(std::string_view dir, const LayoutBlob& target,
                          const ReadOptions& options) {
  LayoutImage image;
  image.target = target;
  auto d = OpenLayoutBlobs(dir);
  if (!d.ok()) {
    image.error = std::string(d.status().message());
    return image;
  }
  std::string bad = CheckTarget(target);
  if (!bad.empty()) {
    image.error = d->display + ": target: " + bad;
    return image;
  }
  const std::string where = d->display;
  return ReadImageIn(*d, target, Where{where, "target"}, options);
}

struct Candidate {
  std::string hex;
  std::string media_type;
  int64_t size = 0;
};

std::vector<LayoutImage> FindRootsImpl(std::string_view dir, const std::vector<std::string>& hexes,
                                       const ReadOptions& options) {
  std::vector<LayoutImage> roots;
  auto d = OpenLayoutBlobs(dir);
  if (!d.ok()) {
    LayoutImage image;
    image.error = std::string(d.status().message());
    roots.push_back(std::move(image));
    return roots;
  }
  std::vector<std::string> sorted;
  for (const std::string& hex : hexes) {
    if (text::IsSha256Digest("sha256:" + hex)) sorted.push_back(hex);
  }
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

  std::vector<Candidate> candidates;
  absl::flat_hash_set<std::string> referenced;  // digests referenced by another candidate
  for (const std::string& hex : sorted) {
    const std::string path = d->BlobPath(hex);
    auto f = OpenRegularAt(d->sha.get(), hex, path);
    if (!f.ok() || f->size > options.max_manifest_size) continue;
    auto data = ReadWhole(*f, path);
    if (!data.ok()) continue;
    Json doc = Json::parse(*data, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) continue;
    Kind kind = DocumentKind(doc);
    if (!IsDocumentKind(kind)) continue;
    std::string media_type;
    auto mt = doc.find("mediaType");
    if (mt != doc.end()) {
      media_type = mt->get<std::string>();  // a string: DocumentKind checked
    } else {
      media_type = std::string(kind == Kind::kIndex ? kOciIndexType : kOciManifestType);
    }
    const std::string self = "sha256:" + hex;
    auto reference = [&](const Json& desc) {
      if (!desc.is_object()) return;
      auto dg = desc.find("digest");
      if (dg != desc.end() && dg->is_string() && dg->get_ref<const std::string&>() != self) {
        referenced.insert(dg->get<std::string>());
      }
    };
    if (kind == Kind::kIndex) {
      auto m = doc.find("manifests");
      if (m != doc.end() && m->is_array()) {
        for (const Json& e : *m) reference(e);
      }
    } else {
      auto c = doc.find("config");
      if (c != doc.end()) reference(*c);
      auto l = doc.find("layers");
      if (l != doc.end() && l->is_array()) {
        for (const Json& e : *l) reference(e);
      }
    }
    candidates.push_back(Candidate{hex, std::move(media_type), f->size});
  }

  for (const Candidate& c : candidates) {
    const std::string digest = "sha256:" + c.hex;
    if (referenced.contains(digest)) continue;
    LayoutBlob target{c.media_type, digest, c.size};
    roots.push_back(ReadImageIn(*d, target, Where{d->display, "candidate " + digest}, options));
  }
  return roots;
}

std::string InternalFault(std::string_view dir, const std::exception& e) {
  return std::string(dir) + ": internal error while reading the layout: " + e.what();
}

}  // namespace

bool KnownMediaType(std::string_view media_type) { return KindOf(media_type) != Kind::kUnknown; }

absl::StatusOr<Layout> ReadLayout(std::string_view dir, const ReadOptions& options) {
  try {
    return ReadLayoutImpl(dir, options);
  } catch (const std::exception& e) {
    return absl::InternalError(InternalFault(dir, e));
  }
}

LayoutImage ReadImage(std::string_view dir, const LayoutBlob& target, const ReadOptions& options) {
  try {
    return ReadImageImpl(dir, target, options);
  } catch (const std::exception& e) {
    LayoutImage image;
    image.target = target;
    image.error = InternalFault(dir, e);
    return image;
  }
}

std::vector<LayoutImage> FindRoots(std::string_view dir, const std::vector<std::string>& hexes,
                                   const ReadOptions& options) {
  try {
    return FindRootsImpl(dir, hexes, options);
  } catch (const std::exception& e) {
    LayoutImage image;
    image.error = InternalFault(dir, e);
    return {std::move(image)};
  }
}

}  // namespace refstore::content
