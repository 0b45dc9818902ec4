#include "random_ops.h"

#include <cstdio>

namespace refstore::stress {
namespace {

constexpr int kImages = 40;  // image numbers 1..kImages
constexpr int kLayers = 60;  // shared layer pool
constexpr int kNames = 12;
constexpr int kContainers = 10;
constexpr int kLeases = 4;

}  // namespace

RandomOps::RandomOps(Store* store, uint64_t seed, int namespaces)
    : store_(store), rng_(seed), namespaces_(namespaces) {}

std::string RandomOps::Digest(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return std::string("sha256:") + buf;
}

std::string RandomOps::Name() {
  int n = static_cast<int>(rng_() % kNames);
  return "repo" + std::to_string(n % 4) + ":t" + std::to_string(n);
}

std::string RandomOps::ContainerId() {
  char buf[65];
  std::snprintf(buf, sizeof buf, "c%063x", static_cast<unsigned>(rng_() % kContainers));
  return buf;
}

std::string RandomOps::LeaseId() { return "lease" + std::to_string(rng_() % kLeases); }

Descriptor RandomOps::Layer() {
  int n = 100000 + static_cast<int>(rng_() % kLayers);
  // A digest always has the same size: derive it from the digest.
  return {"application/vnd.oci.image.layer.v1.tar+gzip", Digest(n), 1000 + n % 977};
}

bool RandomOps::Expected(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

absl::Status RandomOps::Step(int64_t step) {
  OpContext ctx{.ns = "ns" + std::to_string(rng_() % namespaces_),
                .now = absl::FromUnixSeconds(1767225600 + step)};
  const int image = 1 + static_cast<int>(rng_() % kImages);
  switch (rng_() % 14) {
    case 0:
    case 1:
    case 2: {
      CreateImageRequest req;
      req.target = {"application/vnd.oci.image.manifest.v1+json", Digest(image), 500 + image};
      req.content.push_back(
          {"application/vnd.oci.image.config.v1+json", Digest(50000 + image), 2000 + image});
      for (int i = 0, n = 1 + static_cast<int>(rng_() % 4); i < n; ++i) {
        req.content.push_back(Layer());
      }
      if (rng_() % 4 != 0) req.name = Name();
      req.labels["k"] = std::to_string(image % 3);
      if (rng_() % 5 == 0) req.lease = LeaseId();
      return store_->CreateImage(ctx, req).status();
    }
    case 3:
      return store_->Tag(ctx, Digest(image), Name());
    case 4:
    case 5: {
      std::string ref = rng_() % 2 ? Name() : Digest(image).substr(7, 4 + rng_() % 8);
      return store_->RemoveImage(ctx, ref, rng_() % 3 == 0).status();
    }
    case 6: {
      std::string ref = rng_() % 2 ? Name() : Digest(image);
      return store_->CreateContainer(ctx, ContainerId(), ref, rng_() % 2).status();
    }
    case 7:
      return rng_() % 2 ? store_->StartContainer(ctx, ContainerId())
                        : store_->StopContainer(ctx, ContainerId());
    case 8:
      return store_->RemoveContainer(ctx, ContainerId());
    case 9: {
      std::optional<absl::Time> expires;
      if (rng_() % 2) expires = ctx.now + absl::Seconds(static_cast<int64_t>(rng_() % 20));
      return store_->CreateLease(ctx, LeaseId(), expires);
    }
    case 10:
      return store_->AddLeaseContent(ctx, LeaseId(), {Layer(), Layer()});
    case 11:
      return store_->DeleteLease(ctx, LeaseId()).status();
    case 12: {
      PruneOptions opts{.all = rng_() % 2 == 0, .dry_run = rng_() % 4 == 0};
      if (rng_() % 3 == 0) opts.filters["label"] = {"k=" + std::to_string(rng_() % 3)};
      if (rng_() % 3 == 0) opts.filters["until"] = {std::to_string(rng_() % 30) + "s"};
      return store_->Prune(ctx, opts).status();
    }
    default: {
      auto du = store_->GetDiskUsage(ctx);
      return du.status();
    }
  }
}

}  // namespace refstore::stress
