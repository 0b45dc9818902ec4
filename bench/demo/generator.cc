#include "generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace refstore::bench {
namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr int kBaseLayers = 3;
constexpr double kRetagFraction = 0.10;
constexpr int kTagsPerRepository = 4;

// splitmix64's finalizer: a good 64-bit mixing function.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 64 lowercase hex characters derived from (seed, counter).
std::string Hex256(uint64_t seed, uint64_t counter) {
  uint64_t h = Mix(seed ^ Mix(counter));
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", Mix(h), Mix(h + 1), Mix(h + 2),
                     Mix(h + 3));
}

// The random choices, built only on raw mt19937_64 output so that a seed gives
// the same store with any standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}

  // Uniform in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Log-normal with the given median; `sigma` sets the tail.
  double LogNormal(double median, double sigma) {
    double u1 = 1.0 - Unit();  // (0, 1]
    double u2 = Unit();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return median * std::exp(sigma * z);
  }

 private:
  std::mt19937_64 rng_;
};

// Index in [0, n) with P(i) proportional to 1 / (i + 1).
class Zipf {
 public:
  explicit Zipf(int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) cdf_.push_back(sum += 1.0 / static_cast<double>(i + 1));
    for (double& c : cdf_) c /= sum;
  }
  int64_t Sample(Random& random) const {
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), random.Unit());
    return std::min<int64_t>(it - cdf_.begin(), static_cast<int64_t>(cdf_.size()) - 1);
  }

 private:
  std::vector<double> cdf_;
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& options)
      : options_(options), random_(options.seed) {
    ctx_.ns = options.ns;
  }

  absl::StatusOr<GeneratorStats> Run(Store& store,
                                     const std::function<void(int64_t)>& on_image) {
    const int64_t bases = std::clamp<int64_t>(options_.base_images, 0, options_.images);
    stats_.base_images = bases;
    Zipf popular(std::max<int64_t>(bases, 1));
    std::vector<std::array<Descriptor, kBaseLayers>> base_layers;
    int64_t app_names = 0;  // names app0:v0, app0:v1, ... issued so far

    for (int64_t i = 0; i < options_.images; ++i) {
      CreateImageRequest req;
      if (i < bases) {
        std::array<Descriptor, kBaseLayers> layers;
        for (auto& l : layers) l = Layer();
        base_layers.push_back(layers);
        req.name = fmt::format("base{:03d}:latest", i);
        req.content.assign(layers.begin(), layers.end());
      } else {
        int64_t total = random_.Int(3, 8);
        if (bases > 0) {
          const auto& base = base_layers[popular.Sample(random_)];
          int64_t shared = random_.Int(1, kBaseLayers);
          req.content.assign(base.begin(), base.begin() + shared);
        }
        while (static_cast<int64_t>(req.content.size()) < total) req.content.push_back(Layer());
        // A tag moved here leaves its previous image dangling.
        int64_t name = app_names;
        if (app_names > 0 && random_.Chance(kRetagFraction)) {
          name = random_.Int(0, app_names - 1);
          ++stats_.moved_tags;
        } else {
          ++app_names;
        }
        req.name = fmt::format("app{}:v{}", name / kTagsPerRepository, name % kTagsPerRepository);
      }
      req.content.push_back(Blob(kConfigType, random_.Int(1000, 10000)));
      req.target = Blob(kManifestType, random_.Int(500, 2000));

      Tick();
      auto id = store.CreateImage(ctx_, req);
      if (!id.ok()) return id.status();
      ++stats_.images;
      if (on_image) on_image(stats_.images);

      // Containers are spread evenly: after image i, (i+1)*C/N of them exist.
      while (stats_.containers < (i + 1) * options_.containers / options_.images) {
        if (absl::Status s = AddContainer(store, *id, *req.name); !s.ok()) return s;
      }
    }
    stats_.end = ctx_.now;
    return stats_;
  }

 private:
  void Tick() { ctx_.now = options_.start + absl::Seconds(++ticks_); }

  Descriptor Blob(const char* media_type, int64_t size) {
    stats_.blob_bytes += size;
    return {media_type, "sha256:" + Hex256(options_.seed, counter_++), size};
  }

  Descriptor Layer() {
    double size = random_.LogNormal(3e6, 1.4);
    return Blob(kLayerType, static_cast<int64_t>(std::clamp(size, 512.0, 8e9)));
  }

  absl::Status AddContainer(Store& store, const std::string& id, const std::string& name) {
    std::string ref;
    switch (random_.Int(0, 2)) {
      case 0: ref = name; break;
      case 1: ref = id; break;
      default: ref = id.substr(7, 12); break;  // short ID, without "sha256:"
    }
    bool running = random_.Chance(0.5);
    Tick();
    auto held = store.CreateContainer(ctx_, Hex256(options_.seed, counter_++), ref, running);
    if (!held.ok()) return held.status();
    ++stats_.containers;
    if (running) ++stats_.running;
    return absl::OkStatus();
  }

  GeneratorOptions options_;
  Random random_;
  OpContext ctx_;
  GeneratorStats stats_;
  uint64_t counter_ = 0;  // digests and container IDs
  int64_t ticks_ = 0;     // one second per operation
};

}  // namespace

absl::StatusOr<GeneratorStats> Generate(Store& store, const GeneratorOptions& options,
                                        const std::function<void(int64_t)>& on_image) {
  if (options.images < 0 || options.containers < 0 || options.base_images < 0) {
    return absl::InvalidArgumentError("generator: counts must not be negative");
  }
  return Generator(options).Run(store, on_image);
}

}  // namespace refstore::bench
