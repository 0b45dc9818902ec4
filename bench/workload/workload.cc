#include "workload/workload.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "fmt/format.h"

namespace refstore::bench {
namespace {

constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";
constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr int kBaseLayers = 3;
constexpr int kTagsPerRepository = 8;

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
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", Mix(h), Mix(h + 1), Mix(h + 2), Mix(h + 3));
}

// Random choices built only on raw mt19937_64 output, so that a seed gives
// the same workload with any standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  int64_t Int(int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  double Unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }  // [0, 1)
  bool Chance(double p) { return Unit() < p; }
  double LogNormal(double median, double sigma) {
    double u1 = 1.0 - Unit();
    double u2 = Unit();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return median * std::exp(sigma * z);
  }

 private:
  std::mt19937_64 rng_;
};

// Index in [0, n) with P(i) proportional to 1 / (i + 1)^s.
class Zipf {
 public:
  Zipf(int64_t n, double s) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      cdf_.push_back(sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
    }
    for (double& c : cdf_) c /= sum;
  }
  int64_t Sample(Random& random) const {
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), random.Unit());
    return std::min<int64_t>(it - cdf_.begin(), static_cast<int64_t>(cdf_.size()) - 1);
  }

 private:
  std::vector<double> cdf_;
};

class Builder {
 public:
  Builder(const WorkloadOptions& options, const std::function<absl::Status(const Event&)>& sink)
      : o_(options), sink_(sink), random_(options.seed), names_(options.namespaces) {}

  absl::StatusOr<WorkloadStats> Run() {
    const int64_t bases =
        o_.base_images >= 0
            ? std::min(o_.base_images, o_.images)
            : std::min<int64_t>(o_.images, std::clamp<int64_t>(o_.images / 100, 10, 5000));
    Zipf popular(std::max<int64_t>(bases, 1), 1.1);
    std::vector<std::vector<Descriptor>> base_layers;
    for (int64_t i = 0; i < o_.images; ++i) {
      const int ns = PickNamespace();
      CreateImageEvent e{.ns = NsName(ns)};
      CreateImageRequest& req = e.request;
      std::vector<Descriptor> shared;
      if (i < bases) {
        for (int l = 0; l < kBaseLayers; ++l) shared.push_back(Layer());
        base_layers.push_back(shared);
      } else if (bases > 0) {
        const auto& base = base_layers[popular.Sample(random_)];
        shared.assign(base.begin(), base.begin() + random_.Int(1, kBaseLayers));
      }
      if (i >= bases && random_.Chance(o_.index_share)) {
        BuildIndex(shared, req);
      } else {
        BuildManifest(shared, i < bases ? 0 : random_.Int(o_.layers_min, o_.layers_max), req);
      }
      req.labels["tier"] = std::string(1, static_cast<char>('a' + random_.Int(0, 2)));
      if (random_.Chance(0.25)) req.labels["team"] = fmt::format("t{}", random_.Int(0, 9));
      const int64_t image = stats_.images++;
      name_count_.push_back(0);
      req.name = i < bases ? fmt::format("base{}:latest", i) : NextName(ns, image);
      Claim(ns, *req.name, image);
      if (absl::Status s = Emit(e); !s.ok()) return s;

      // Extra names: geometric, with mean tags_mean - 1.
      const double more = o_.tags_mean > 1 ? (o_.tags_mean - 1) / o_.tags_mean : 0;
      while (i >= bases && random_.Chance(more)) {
        CreateImageEvent extra = e;
        extra.request.name = NewName(ns);
        Claim(ns, *extra.request.name, image);
        if (absl::Status s = Emit(extra); !s.ok()) return s;
      }
      if (random_.Chance(o_.container_share)) {
        if (absl::Status s = AddContainer(ns, req); !s.ok()) return s;
      }
    }
    for (int l = 0; l < o_.leases; ++l) {
      LeaseEvent e{.ns = NsName(PickNamespace()), .id = fmt::format("pull-{}", l)};
      if (l % 2 == 1) e.expires = Now() - absl::Hours(1);  // already expired
      for (int64_t k = 0, n = random_.Int(1, 3); k < n; ++k) e.content.push_back(Layer());
      if (absl::Status s = Emit(e); !s.ok()) return s;
      ++stats_.leases;
    }
    stats_.end = Now();
    return stats_;
  }

 private:
  std::string NsName(int ns) const { return fmt::format("ns{}", ns); }
  absl::Time Now() const { return o_.start + absl::Seconds(stats_.events); }

  // ns0 holds most images; the others share the rest evenly.
  int PickNamespace() {
    if (o_.namespaces <= 1 || random_.Chance(0.8)) return 0;
    return static_cast<int>(random_.Int(1, o_.namespaces - 1));
  }

  absl::Status Emit(Event event) {
    ++stats_.events;
    std::visit([&](auto& e) { e.at = Now(); }, event);
    return sink_(event);
  }

  Descriptor Blob(const char* media_type, int64_t size) {
    ++stats_.blobs;
    stats_.blob_bytes += size;
    return {media_type, "sha256:" + Hex256(o_.seed, counter_++), size};
  }
  Descriptor Layer() {
    double size = random_.LogNormal(o_.layer_median_bytes, 1.4);
    return Blob(kLayerType, static_cast<int64_t>(std::clamp(size, 512.0, 8e9)));
  }
  Descriptor Config() { return Blob(kConfigType, random_.Int(1000, 10000)); }

  // A single-platform image: `shared` then own layers up to `layers`, a
  // config, and the manifest as target.
  void BuildManifest(const std::vector<Descriptor>& shared, int64_t layers,
                     CreateImageRequest& req) {
    req.content = shared;
    while (static_cast<int64_t>(req.content.size()) < layers) req.content.push_back(Layer());
    req.content.push_back(Config());
    req.target = Blob(kManifestType, random_.Int(500, 2000));
  }

  // A multi-platform image: an index over 2-4 platform manifests, each with
  // the shared layers, its own config and top layer.
  void BuildIndex(const std::vector<Descriptor>& shared, CreateImageRequest& req) {
    req.content = shared;
    for (int64_t p = 0, n = random_.Int(2, 4); p < n; ++p) {
      req.content.push_back(Blob(kManifestType, random_.Int(500, 2000)));
      req.content.push_back(Config());
      req.content.push_back(Layer());
    }
    req.target = Blob(kIndexType, random_.Int(300, 1500));
    ++stats_.indexes;
  }

  // A name for a new image of `ns`: usually new; with dangling_share, one an
  // earlier image has (the tag moves).
  std::string NextName(int ns, int64_t image) {
    if (!names_[ns].empty() && random_.Chance(o_.dangling_share)) {
      return names_[ns][random_.Int(0, static_cast<int64_t>(names_[ns].size()) - 1)];
    }
    return NewName(ns);
  }
  std::string NewName(int ns) {
    const int64_t n = static_cast<int64_t>(names_[ns].size());
    names_[ns].push_back(fmt::format("app{}:v{}", n / kTagsPerRepository, n % kTagsPerRepository));
    return names_[ns].back();
  }

  // Records that `name` in `ns` now points to `image`.
  void Claim(int ns, const std::string& name, int64_t image) {
    ++stats_.names;
    auto [it, inserted] = owner_.try_emplace(NsName(ns) + "/" + name, image);
    if (!inserted) {
      if (it->second == image) return;
      if (--name_count_[it->second] == 0) ++stats_.dangling;
      it->second = image;
    }
    ++name_count_[image];
  }

  absl::Status AddContainer(int ns, const CreateImageRequest& req) {
    const std::string& id = req.target.digest;
    std::string ref;
    switch (stats_.containers % 4) {
      case 0:
        ref = *req.name;
        break;
      case 1:
        ref = id;
        break;
      case 2:
        ref = id.substr(7, 12);
        break;
      default:
        ref = req.name->substr(0, req.name->find(':')) + "@" + id;
        break;
    }
    CreateContainerEvent e{.ns = NsName(ns),
                           .id = Hex256(o_.seed, counter_++),
                           .image_ref = ref,
                           .running = stats_.containers % 2 == 0};
    ++stats_.containers;
    if (e.running) ++stats_.running;
    return Emit(e);
  }

  const WorkloadOptions o_;
  const std::function<absl::Status(const Event&)>& sink_;
  Random random_;
  WorkloadStats stats_;
  uint64_t counter_ = 0;                            // digests and container IDs
  std::vector<std::vector<std::string>> names_;     // names issued, per namespace
  std::unordered_map<std::string, int64_t> owner_;  // "ns/name" -> image
  std::vector<int64_t> name_count_;                 // names each image has
};

}  // namespace

absl::StatusOr<WorkloadStats> Generate(const WorkloadOptions& options,
                                       const std::function<absl::Status(const Event&)>& sink) {
  if (options.images < 0 || options.layers_min < 0 || options.layers_max < options.layers_min ||
      options.namespaces < 1 || options.leases < 0) {
    return absl::InvalidArgumentError("workload: bad options");
  }
  return Builder(options, sink).Run();
}

std::string SyntheticDigest(uint64_t seed, uint64_t counter) {
  return "sha256:" + Hex256(seed, counter);
}

absl::Status ApplyToStore(Store& store, const Event& event) {
  return std::visit(
      [&](const auto& e) -> absl::Status {
        using T = std::decay_t<decltype(e)>;
        OpContext ctx{.ns = e.ns, .now = e.at};
        if constexpr (std::is_same_v<T, CreateImageEvent>) {
          return store.CreateImage(ctx, e.request).status();
        } else if constexpr (std::is_same_v<T, CreateContainerEvent>) {
          return store.CreateContainer(ctx, e.id, e.image_ref, e.running).status();
        } else {
          if (absl::Status s = store.CreateLease(ctx, e.id, e.expires); !s.ok()) return s;
          return store.AddLeaseContent(ctx, e.id, e.content);
        }
      },
      event);
}

}  // namespace refstore::bench
