// micro_support.cc: the shared helpers of micro.h (scratch stores, synthetic
// images, the store cache). Nothing here is timed.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <system_error>
#include <utility>

#include "micro.h"
#include "workload/workload.h"

namespace refstore::micro {
namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr uint64_t kSharedLayers = 32;

// Kinds of blob, mixed into the digest so that kinds never collide.
enum class Kind : uint64_t { kManifest = 1, kConfig, kOwnLayer, kSharedLayer };

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "refstore_micro: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::abort();
}

// "sha256:" + 64 lowercase hex derived from (kind, n).
std::string Digest(Kind kind, uint64_t n) {
  return refstore::bench::SyntheticDigest(static_cast<uint64_t>(kind), n);
}

Descriptor Blob(Kind kind, uint64_t n, const char* media_type, int64_t size) {
  return Descriptor{.media_type = media_type, .digest = Digest(kind, n), .size = size};
}

// Shared layer `k`: its size depends on k only, as every descriptor of a
// digest must agree on the size.
Descriptor SharedLayer(uint64_t k) {
  return Blob(Kind::kSharedLayer, k, kLayerType, 1'000'000 + static_cast<int64_t>(k) * 65'536);
}

std::unique_ptr<PopulatedStore> Populate(int64_t images) {
  auto out = std::make_unique<PopulatedStore>();
  out->scratch = OpenScratchStore();
  out->ids.reserve(images);
  OpContext ctx{.ns = "default"};
  for (int64_t i = 0; i < images; ++i) {
    uint64_t serial = NextSerial();
    ctx.now = At(i);
    auto id = out->store().CreateImage(
        ctx, SyntheticImage(
                 serial, "micro/base-" + std::to_string(i % 1000) + ":v" + std::to_string(serial)));
    if (!id.ok()) Die("populating a store", id.status());
    out->ids.push_back(*std::move(id));
  }
  return out;
}

std::map<std::pair<std::string, int64_t>, std::unique_ptr<PopulatedStore>>& Cache() {
  static auto* cache =
      new std::map<std::pair<std::string, int64_t>, std::unique_ptr<PopulatedStore>>;
  return *cache;
}

}  // namespace

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("refstore-micro-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::unique_ptr<ScratchStore> OpenScratchStore(const StoreOptions& options) {
  auto out = std::make_unique<ScratchStore>();
  auto store = Store::Open(out->dir.path().string(), options);
  if (!store.ok()) Die("opening a store", store.status());
  out->store = *std::move(store);
  return out;
}

absl::Time At(int64_t i) { return absl::FromUnixSeconds(1767225600 + i); }

uint64_t NextSerial() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

CreateImageRequest SyntheticImage(uint64_t serial, std::optional<std::string> name) {
  uint64_t a = serial % kSharedLayers;
  uint64_t b = (a + 1 + (serial / kSharedLayers) % (kSharedLayers - 1)) % kSharedLayers;
  int64_t jitter = static_cast<int64_t>(serial % 1000);
  return CreateImageRequest{
      .name = std::move(name),
      .target = Blob(Kind::kManifest, serial, kManifestType, 1000 + jitter),
      .content = {Blob(Kind::kConfig, serial, kConfigType, 4000 + jitter), SharedLayer(a),
                  SharedLayer(b), Blob(Kind::kOwnLayer, serial, kLayerType, 3'000'000 + jitter)},
      .labels = {{"tier", "a"}},
  };
}

PopulatedStore& CachedStore(std::string_view purpose, int64_t images) {
  auto& slot = Cache()[{std::string(purpose), images}];
  if (!slot) slot = Populate(images);
  return *slot;
}

void CloseCachedStores() { Cache().clear(); }

}  // namespace refstore::micro
