// archive.h: the tar archives of `docker load` and `docker save` for the
// Engine API (POST /images/load, GET /images/get).
//
// Load accepts the two formats docker's load accepts:
//   - an OCI image layout in a tar (`oci-layout`, `index.json`,
//     `blobs/sha256/...`; docker 25+ `docker save`, `skopeo copy oci-archive:`),
//   - a docker archive (`manifest.json` listing Config, RepoTags, Layers;
//     docker 1.10 to 24 `docker save`): converted into an OCI image layout
//     (an OCI manifest per entry, the config and layer files as blobs,
//     `io.containerd.image.name` annotations for the RepoTags).
// Save writes docker 25's format: an OCI image layout plus a `manifest.json`
// whose Config and Layers point into blobs/sha256, so both docker 20.10 and
// current clients load it.
//
// Thread-safety: free functions; safe from any thread on distinct paths.
#ifndef REFSTORE_TOOLS_SERVE_ARCHIVE_H_
#define REFSTORE_TOOLS_SERVE_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "refstore/store.h"

namespace refstore_tool {

// Extracts the tar archive `tar_path` (plain, gzip, bzip2, xz or zstd
// compressed, as libarchive reads them) into the empty directory `dir` and
// leaves an OCI image layout there. Only regular files and directories are
// extracted; absolute paths, ".." components and links are refused.
// Errors: InvalidArgument (not a tar archive; an unsafe or non-regular
// entry; neither index.json nor manifest.json; a malformed manifest.json or
// a file it names missing), Internal (I/O errors, with the path).
absl::Status ExtractLoadArchive(const std::string& tar_path, const std::string& dir);

// Writes the images `refs` resolve to (docker's resolution: names, IDs,
// ID prefixes) as a tar archive to `out_fd`, reading blob files from
// `blob_dir` (the content store's blobs/sha256 directory). Each name asked
// for is one index.json entry annotated with the full name; an image asked
// for by ID is one entry without a name.
// Errors: whatever Store::Inspect returns for a ref (NotFound "No such
// image: ..."), FailedPrecondition "the store has no content store",
// NotFound for a blob file that is missing, Internal (I/O errors).
absl::Status WriteSaveArchive(refstore::Store& store, const refstore::OpContext& ctx,
                              const std::vector<std::string>& refs, const std::string& blob_dir,
                              int out_fd);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_SERVE_ARCHIVE_H_
