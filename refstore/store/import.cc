// Import of OCI image layouts, and adoption of images another producer
// wrote into the content store.
//
// Import writes an image's blobs under a lease of its own, then creates the
// image (which counts them), and finally deletes the lease: a failure in the
// middle leaves the blobs held by the lease only, and its deletion frees
// them, so nothing of a failed image stays.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <random>

#include "absl/cleanup/cleanup.h"
#include "refstore/content/oci_layout.h"
#include "refstore/reference.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/posix_file.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {
namespace {

Descriptor ToDescriptor(const content::LayoutBlob& b) { return {b.media_type, b.digest, b.size}; }

// What docker shows of an image from its config: its creation time (when
// it is one a store keeps; otherwise the import's time) and its labels.
void ConfigFields(const content::LayoutImage& li, CreateImageRequest* req) {
  req->labels = li.labels;
  if (li.created.empty()) return;
  absl::StatusOr<absl::Time> created = ParseRfc3339(li.created);
  if (created.ok()) req->created = *created;
}

// A reader over the file at `path` (never following a symlink).
// A layout's blob file, opened on the first read and closed at its end: an
// image of thousands of blobs holds one descriptor at a time, not one per
// blob (issue 15: an import of ~1,000 blobs needed ~1,000 open files).
class FileReader {
 public:
  explicit FileReader(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t cap) {
    if (done_) return 0;
    if (!fd_.valid()) {
      if (const int err = OpenNoFollow(path_, O_RDONLY, &fd_)) {
        if (err == ENOENT) return absl::NotFoundError(Cat(path_, ": ", std::strerror(err)));
        return absl::InternalError(Cat(path_, ": ", std::strerror(err)));
      }
    }
    absl::StatusOr<size_t> n = ReadFull(fd_.get(), buf, cap, path_);
    if (n.ok() && *n == 0) {
      fd_.reset();  // closed at its end: one open blob file at a time
      done_ = true;
    }
    return n;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  bool done_ = false;
};

// 16 random lowercase hex characters.
std::string RandomHex() {
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) | rd());
  const uint64_t v = gen();
  return RawToHex(std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
}

std::string Basename(std::string_view dir) {
  char resolved[PATH_MAX];
  std::string path(dir);
  if (::realpath(path.c_str(), resolved)) path = resolved;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<ImportResult> StoreImpl::ImportLayout(const OpContext& ctx, std::string_view dir,
                                                     const ImportOptions& options) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  content::ReadOptions read;
  read.verify_digests = options.verify_digests;
  ASSIGN_OR_RETURN(content::Layout layout, content::ReadLayout(dir, read));
  const std::string repo = options.repository.empty() ? Basename(dir) : options.repository;
  // Bare tags are named in `repo`: a directory name that is no repository
  // (upper case, spaces) is refused before anything is written, saying where
  // the name came from.
  const bool bare_tags =
      std::any_of(layout.images.begin(), layout.images.end(),
                  [](const content::LayoutImage& li) { return !li.tags.empty(); });
  if (bare_tags) {
    if (absl::StatusOr<Reference> r = ParseReference(Cat(repo, ":latest")); !r.ok()) {
      if (!options.repository.empty()) {
        return absl::InvalidArgumentError(
            Cat("repository \"", repo, "\": ", std::string(r.status().message())));
      }
      return absl::InvalidArgumentError(
          Cat("repository \"", repo, "\" (the layout directory's name, used for its bare tags): ",
              std::string(r.status().message()), "; give one with --repository"));
    }
  }

  ImportResult out;
  const std::string lease = Cat("refstore-import-", RandomHex());
  // The lease expires so that a crash in the middle does not keep the
  // content forever: the next prune drops it.
  RETURN_IF_ERROR(CreateLease(ctx, lease, ctx.now + absl::Hours(24)));
  absl::Cleanup drop = [&] { DeleteLease(ctx, lease).IgnoreError(); };

  for (const content::LayoutImage& li : layout.images) {
    ImportedImage& img = out.images.emplace_back();
    img.id = li.target.digest;
    if (!li.error.empty()) {
      img.error = li.error;
      continue;
    }
    std::vector<std::string> names = li.names;
    for (const auto& tag : li.tags) names.push_back(Cat(repo, ":", tag));
    std::vector<content::LayoutBlob> blobs = li.content;
    blobs.insert(blobs.begin(), li.target);
    absl::Status s;
    int64_t blobs_written = 0, bytes_written = 0;
    if (content_) {
      std::vector<std::unique_ptr<FileReader>> files;
      std::vector<BlobReader> readers;
      readers.reserve(blobs.size());
      std::vector<BlobToWrite> writes;
      for (const content::LayoutBlob& b : blobs) {
        files.push_back(
            std::make_unique<FileReader>(Cat(dir, "/blobs/sha256/", b.digest.substr(7))));
        FileReader* file = files.back().get();
        readers.push_back([file](char* buf, size_t cap) { return file->Read(buf, cap); });
      }
      for (size_t i = 0; i < blobs.size(); ++i) {
        writes.push_back({ToDescriptor(blobs[i]), &readers[i]});
      }
      Written w;
      s = WriteBlobs(ctx, lease, writes, &w);
      blobs_written = w.blobs;
      bytes_written = w.bytes;
    } else {
      std::vector<Descriptor> all;
      for (const auto& b : blobs) all.push_back(ToDescriptor(b));
      s = AddLeaseContent(ctx, lease, all);
    }
    CreateImageRequest req{.target = ToDescriptor(li.target), .lease = lease};
    for (const auto& b : li.content) req.content.push_back(ToDescriptor(b));
    ConfigFields(li, &req);
    if (!names.empty()) req.name = names[0];
    if (s.ok()) s = CreateImage(ctx, req).status();
    for (size_t i = 1; s.ok() && i < names.size(); ++i) s = Tag(ctx, li.target.digest, names[i]);
    if (!s.ok()) {
      img.error = std::string(s.message());
      continue;
    }
    out.blobs_written += blobs_written;
    out.bytes_written += bytes_written;
    for (const auto& n : names) {
      absl::StatusOr<Reference> ref = ParseReference(n);
      img.names.push_back(ref.ok() ? ref->Familiar() : n);
    }
  }
  return out;
}

absl::StatusOr<ImportResult> StoreImpl::Adopt(const OpContext& ctx) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  if (!content_) return absl::FailedPreconditionError("the store has no content store");
  std::vector<std::string> hexes;
  {
    SnapshotTxn st(db_.get(), &cfs_, Txn::Mode::kIndexed, secondary_dir_.empty());
    RETURN_IF_ERROR(content_->ForEachBlob([&](std::string_view hex, int64_t) -> absl::Status {
      std::string raw = HexToRaw(hex);
      ASSIGN_OR_RETURN(auto blob, st.txn().Get(kBlobs, raw));
      if (blob) return absl::OkStatus();
      ASSIGN_OR_RETURN(auto garbage, st.txn().Get(kGarbage, raw));
      if (!garbage) hexes.emplace_back(hex);
      return absl::OkStatus();
    }));
  }
  ImportResult out;
  if (hexes.empty()) return out;
  for (const content::LayoutImage& li : content::FindRoots(content_->root(), hexes)) {
    ImportedImage& img = out.images.emplace_back();
    img.id = li.target.digest;
    if (!li.error.empty()) {
      img.error = li.error;
      continue;
    }
    CreateImageRequest req{.target = ToDescriptor(li.target)};
    for (const auto& b : li.content) req.content.push_back(ToDescriptor(b));
    ConfigFields(li, &req);
    absl::Status s = CreateImage(ctx, req).status();
    if (!s.ok()) img.error = std::string(s.message());
  }
  return out;
}

}  // namespace refstore::internal
