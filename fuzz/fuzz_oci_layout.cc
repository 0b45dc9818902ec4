// fuzz_oci_layout: the OCI image layout reader (refstore/content/oci_layout.h):
// ReadLayout, ReadImage and FindRoots over a layout directory written from
// the input into a private temporary directory (under $TMPDIR).
//
// Input format (fuzz/README.md has an example):
//
//   byte 0       flags (below)
//   the rest     parts separated by the line "%%" ("\n%%\n"):
//                part 0 is index.json, parts 1.. are blobs 1.. (at most 9);
//                with kOciLayoutFromInput, part 1 is the oci-layout file and
//                blobs start at part 2.
//
// A blob is written at blobs/sha256/<hex>. Since the fuzzer cannot forge
// SHA-256 digests, parts may name blobs with placeholders (n = 1..9):
//   @Dn@  "sha256:<hex of blob n>"
//   @Hn@  "<hex of blob n>"
//   @Sn@  the size of blob n in bytes, right-aligned in 20 characters
//         (leading spaces: still valid JSON, and of a size known up front)
// With digest verification (flag kVerify), <hex> is the SHA-256 of the blob
// once its own placeholders are replaced: blobs are resolved from the last
// one, so blob n can name blobs after it; a name of an earlier blob (or of
// itself) gets the SHA-256 of that blob's raw text, which is not a file
// (a missing blob). Without verification, <hex> is the SHA-256 of the raw
// part, so any blob can name any other, cycles included.
//
// Checks: nothing crashes or throws; no exception reaches the safety net of
// oci_layout.cc ("internal error while reading the layout"); ReadLayout's
// errors are InvalidArgument / NotFound / Internal; every image's content
// is distinct by digest, never holds the target, and holds only valid
// digests and sizes; an image without error has a manifest or index target.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "refstore/content/oci_layout.h"
#include "refstore/content/sha256.h"
#include "refstore/text/digest.h"

namespace {

namespace fs = std::filesystem;
using refstore::content::LayoutBlob;
using refstore::content::LayoutImage;

enum Flags : uint8_t {
  kVerify = 1 << 0,              // ReadOptions::verify_digests
  kSmallLimit = 1 << 1,          // ReadOptions::max_manifest_size = 300
  kOciLayoutFromInput = 1 << 2,  // part 1 is the oci-layout file
  kBlob1Symlink = 1 << 3,        // blob 1 is a symbolic link to index.json
  kBlob1Directory = 1 << 4,      // blob 1 is a directory
  kBlobsIsAFile = 1 << 5,        // "blobs" is a regular file: no blobs at all
  kOddHexes = 1 << 6,            // FindRoots also gets invalid and repeated hexes
  kImageIsIndex = 1 << 7,        // ReadImage's target (blob 1) is an index
};

constexpr std::string_view kSeparator = "\n%%\n";
constexpr size_t kMaxBlobs = 9;
constexpr size_t kSizeWidth = 20;
constexpr std::string_view kStandardOciLayout = R"({"imageLayoutVersion": "1.0.0"})";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_oci_layout: %s\n", what.c_str());
  std::abort();
}

// The directory the layout is written to, made once per process and
// removed at exit. (A plain array: it outlives the static destructors.)
char g_base[4096];

const fs::path& LayoutRoot() {
  static const fs::path root = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::snprintf(g_base, sizeof g_base, "%s/fuzz_oci_layout.XXXXXX",
                  tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
    if (::mkdtemp(g_base) == nullptr) {
      std::perror("fuzz_oci_layout: mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(g_base, ec);
    });
    return fs::path(g_base) / "layout";
  }();
  return root;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = s.find(kSeparator);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + kSeparator.size());
  }
}

// Replaces the placeholders of `raw`: `hexes[n-1]` and `sizes[n-1]` are
// blob n's. Placeholders of blobs that do not exist are left as they are.
std::string Substitute(std::string_view raw, const std::vector<std::string>& hexes,
                       const std::vector<size_t>& sizes) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] == '@' && i + 3 < raw.size() && raw[i + 3] == '@' &&
        (raw[i + 1] == 'D' || raw[i + 1] == 'H' || raw[i + 1] == 'S') && raw[i + 2] >= '1' &&
        raw[i + 2] <= '9' && static_cast<size_t>(raw[i + 2] - '1') < hexes.size()) {
      const size_t n = static_cast<size_t>(raw[i + 2] - '1');
      if (raw[i + 1] == 'D') {
        out += "sha256:" + hexes[n];
      } else if (raw[i + 1] == 'H') {
        out += hexes[n];
      } else {
        std::string size = std::to_string(sizes[n]);
        out += std::string(kSizeWidth - size.size(), ' ') + size;
      }
      i += 4;
      continue;
    }
    out += raw[i++];
  }
  return out;
}

void WriteFile(const fs::path& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(("fuzz_oci_layout: open " + path.string()).c_str());
    std::abort();
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) {
      std::perror("fuzz_oci_layout: write");
      std::abort();
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
}

// REFSTORE_FUZZ_VERBOSE=1 prints what the reader returned (for checking
// seeds by hand).
bool Verbose() {
  static const bool verbose = [] {
    const char* v = std::getenv("REFSTORE_FUZZ_VERBOSE");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return verbose;
}

void Print(const LayoutImage& image, const std::string& where) {
  std::fprintf(stderr, "%s: target %s %s %lld, %zu content, %zu names, %zu tags, error: %s\n",
               where.c_str(), image.target.media_type.c_str(), image.target.digest.c_str(),
               static_cast<long long>(image.target.size), image.content.size(), image.names.size(),
               image.tags.size(), image.error.empty() ? "none" : image.error.c_str());
}

// The message of oci_layout.cc's safety net, which turns an exception into
// an error: "<dir>: internal error while reading the layout: <what>".
// (Matched as a prefix: other messages may quote the input, which may
// hold these words.)
bool IsSafetyNet(std::string_view message) {
  const std::string prefix = LayoutRoot().string() + ": internal error while reading the layout";
  return message.substr(0, prefix.size()) == prefix;
}

void CheckImage(const LayoutImage& image, const std::string& where) {
  if (Verbose()) Print(image, where);
  if (IsSafetyNet(image.error)) Fail(where + ": an exception escaped the reader: " + image.error);
  std::set<std::string> seen;
  for (const LayoutBlob& b : image.content) {
    if (!refstore::text::IsSha256Digest(b.digest)) Fail(where + ": content digest " + b.digest);
    if (b.size < 0) Fail(where + ": negative content size");
    if (b.digest == image.target.digest) Fail(where + ": content holds the target " + b.digest);
    if (!seen.insert(b.digest).second) Fail(where + ": content repeats " + b.digest);
  }
  if (image.error.empty()) {
    if (!refstore::text::IsSha256Digest(image.target.digest)) {
      Fail(where + ": image without error has target digest " + image.target.digest);
    }
    constexpr std::string_view kDocs[] = {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    };
    bool doc = false;
    for (std::string_view t : kDocs) doc = doc || image.target.media_type == t;
    if (!doc) Fail(where + ": image without error has target type " + image.target.media_type);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::vector<std::string_view> parts =
      Split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  size_t next = 0;
  const std::string_view index_raw = parts[next++];
  std::string_view oci_layout = kStandardOciLayout;
  if ((flags & kOciLayoutFromInput) && next < parts.size()) oci_layout = parts[next++];
  std::vector<std::string_view> raws(parts.begin() + static_cast<std::ptrdiff_t>(next),
                                     parts.end());
  if (raws.size() > kMaxBlobs) raws.resize(kMaxBlobs);
  const size_t n = raws.size();

  // Sizes first: placeholders have fixed lengths.
  std::vector<std::string> hexes(n, std::string(64, '0'));
  std::vector<size_t> sizes(n, 0);
  for (size_t i = 0; i < n; ++i) sizes[i] = Substitute(raws[i], hexes, sizes).size();
  std::vector<std::string> blobs(n);
  for (size_t i = 0; i < n; ++i) hexes[i] = refstore::content::Sha256Hex(raws[i]);
  if (flags & kVerify) {
    for (size_t i = n; i-- > 0;) {
      blobs[i] = Substitute(raws[i], hexes, sizes);
      hexes[i] = refstore::content::Sha256Hex(blobs[i]);
    }
  } else {
    for (size_t i = 0; i < n; ++i) blobs[i] = Substitute(raws[i], hexes, sizes);
  }
  const std::string index = Substitute(index_raw, hexes, sizes);

  // Write the layout.
  const fs::path& root = LayoutRoot();
  std::error_code ec;
  fs::remove_all(root, ec);
  if (ec || !fs::create_directory(root, ec)) Fail("cannot make " + root.string());
  WriteFile(root / "oci-layout", oci_layout);
  WriteFile(root / "index.json", index);
  const fs::path sha = root / "blobs" / "sha256";
  if (flags & kBlobsIsAFile) {
    WriteFile(root / "blobs", "");
  } else {
    fs::create_directories(sha, ec);
    if (ec) Fail("cannot make " + sha.string());
    for (size_t i = 0; i < n; ++i) {
      const fs::path path = sha / hexes[i];
      if (i == 0 && (flags & kBlob1Symlink)) {
        fs::remove(path, ec);
        fs::create_symlink("../../index.json", path, ec);
      } else if (i == 0 && (flags & kBlob1Directory)) {
        fs::create_directory(path, ec);
      } else if (!fs::is_directory(path) && !fs::is_symlink(path)) {
        WriteFile(path, blobs[i]);
      }
    }
  }

  refstore::content::ReadOptions options;
  options.verify_digests = (flags & kVerify) != 0;
  if (flags & kSmallLimit) options.max_manifest_size = 300;

  absl::StatusOr<refstore::content::Layout> layout =
      refstore::content::ReadLayout(root.string(), options);
  if (layout.ok()) {
    for (size_t i = 0; i < layout->images.size(); ++i) {
      CheckImage(layout->images[i], "ReadLayout image " + std::to_string(i));
    }
  } else {
    if (Verbose()) std::fprintf(stderr, "ReadLayout: %s\n", layout.status().ToString().c_str());
    const absl::StatusCode code = layout.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kNotFound &&
        code != absl::StatusCode::kInternal) {
      Fail("ReadLayout error " + layout.status().ToString());
    }
    const std::string message(layout.status().message());
    if (IsSafetyNet(message)) Fail("an exception escaped ReadLayout: " + message);
  }

  std::vector<std::string> candidates = hexes;
  if (flags & kOddHexes) {
    candidates.push_back("../../index.json");
    candidates.push_back("");
    candidates.push_back(std::string(64, 'A'));
    if (n > 0) candidates.push_back(hexes[0]);
  }
  std::vector<LayoutImage> roots = refstore::content::FindRoots(root.string(), candidates, options);
  for (size_t i = 0; i < roots.size(); ++i) {
    CheckImage(roots[i], "FindRoots root " + std::to_string(i));
    if (i > 0 && !(roots[i - 1].target.digest < roots[i].target.digest)) {
      Fail("FindRoots not sorted by digest, or repeats one: " + roots[i - 1].target.digest + ", " +
           roots[i].target.digest);
    }
  }

  if (n > 0) {
    LayoutBlob target;
    target.media_type = (flags & kImageIsIndex) ? "application/vnd.oci.image.index.v1+json"
                                                : "application/vnd.oci.image.manifest.v1+json";
    target.digest = "sha256:" + hexes[0];
    target.size = static_cast<int64_t>(blobs[0].size());
    CheckImage(refstore::content::ReadImage(root.string(), target, options), "ReadImage");
  }
  return 0;
}
