// An installed-package smoke test: opens a store in a temporary directory,
// creates one image, runs `prune -a` and checks that the space reclaimed is
// the sum of the image's blob sizes. Exits 0 on success, 1 otherwise.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "refstore/store.h"

namespace {

int Run(const std::string& dir) {
  auto store = refstore::Store::Open(dir + "/store", {});
  if (!store.ok()) {
    std::cerr << "open failed: " << store.status() << "\n";
    return 1;
  }
  std::cout << "opened store in " << dir << "/store\n";

  refstore::OpContext ctx{.ns = "default", .now = absl::FromUnixSeconds(1767225600)};
  refstore::CreateImageRequest req;
  req.name = "alpine:3.18";
  req.target = {"application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'a'),
                1000};
  req.content = {
      {"application/vnd.oci.image.config.v1+json", "sha256:" + std::string(64, 'b'), 1500},
      {"application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + std::string(64, 'c'), 3000000},
  };
  const int64_t want = 1000 + 1500 + 3000000;

  auto id = (*store)->CreateImage(ctx, req);
  if (!id.ok()) {
    std::cerr << "CreateImage failed: " << id.status() << "\n";
    return 1;
  }
  std::cout << "created image " << *req.name << " (" << *id << ")\n";

  auto pruned = (*store)->Prune(ctx, {.all = true});
  if (!pruned.ok()) {
    std::cerr << "Prune failed: " << pruned.status() << "\n";
    return 1;
  }
  std::cout << "prune -a: " << pruned->deleted.size() << " entries, " << pruned->images_deleted
            << " image(s) deleted, " << pruned->space_reclaimed << " bytes reclaimed\n";
  for (const auto& e : pruned->deleted) {
    std::cout << "  "
              << (e.kind == refstore::DeleteEntry::Kind::kUntagged ? "Untagged: " : "Deleted: ")
              << e.ref << "\n";
  }
  if (pruned->space_reclaimed != want || pruned->images_deleted != 1) {
    std::cerr << "FAIL: expected 1 image and " << want << " bytes reclaimed\n";
    return 1;
  }
  std::cout << "OK: reclaimed " << want << " bytes as expected\n";
  return 0;
}

}  // namespace

int main() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "refstore-consumer-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "mkdtemp failed\n";
    return 1;
  }
  int rc = Run(tmpl);  // the store is closed when Run returns
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
