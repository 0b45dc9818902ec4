#include "workload.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "refstore/content/content_dir.h"
#include "refstore/filters.h"

namespace refstore::testing {
namespace {

using test_oci::Blob;
using test_oci::MakeImage;

const char* kNamespaces[] = {"default", "other"};
const char* kRepos[] = {"app", "db", "web"};
const char* kTags[] = {"1", "latest"};
constexpr int kImages = 12;
constexpr int kLayers = 10;
constexpr int kContainers = 4;

std::string ContainerId(int k) { return std::string(63, "0123456789abcdef"[k + 1]) + "c"; }

std::string Text(const absl::Status& s) {
  if (s.ok()) return "ok";
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

std::string Entries(const std::vector<DeleteEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) {
    out.push_back(
        absl::StrCat(e.kind == DeleteEntry::Kind::kDeleted ? "Deleted " : "Untagged ", e.ref));
  }
  return absl::StrJoin(out, ",");
}

Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

std::vector<Descriptor> ContentOf(const test_oci::Image& img) {
  std::vector<Descriptor> out;
  for (const auto& b : img.content) out.push_back(Desc(b));
  return out;
}

}  // namespace

Workload::Workload(uint64_t seed, bool content_store)
    : rng_(seed), content_(content_store), now_(absl::FromUnixSeconds(1767225600)) {
  std::vector<std::string> layers;
  for (int k = 0; k < kLayers; ++k) {
    layers.push_back(std::string(static_cast<size_t>(200 + 331 * k), static_cast<char>('a' + k)));
  }
  for (int i = 0; i < kImages; ++i) {
    std::vector<std::string> mine = {layers[i % kLayers], layers[(i * 3 + 1) % kLayers]};
    if (mine[0] == mine[1]) mine.pop_back();
    images_.push_back(MakeImage("image " + std::to_string(i), mine));
  }
  for (const auto& img : images_) {
    for (const auto& b : img.all()) {
      if (std::find(digests_.begin(), digests_.end(), b.digest) == digests_.end()) {
        digests_.push_back(b.digest);
      }
    }
  }
}

std::string Workload::Name() { return absl::StrCat(kRepos[R(3)], ":", kTags[R(2)]); }

std::string Workload::Ref(const std::string& ns) {
  (void)ns;
  const int r = static_cast<int>(R(100));
  const auto& img = images_[R(images_.size())];
  if (r < 55) return Name();
  if (r < 75) return img.target.hex().substr(0, 12);
  if (r < 90) return img.target.digest;
  return absl::StrCat(kRepos[R(3)], "@", img.target.digest);
}

Op Workload::Next() {
  const int t = static_cast<int>(R(100));
  if (t < 85) {
    now_ += absl::Seconds(1);
  } else if (t < 95) {
    now_ += absl::Seconds(120 + static_cast<int64_t>(R(600)));
  }
  if (!queued_.empty()) {
    Op op = queued_.front();
    queued_.pop_front();
    op.ctx.now = now_;
    return op;
  }
  Op op;
  op.ctx.ns = kNamespaces[R(4) == 0 ? 1 : 0];
  op.ctx.now = now_;
  const std::string& ns = op.ctx.ns;
  const int r = static_cast<int>(R(100));
  if (r < 30) {
    // A pull: lease, blobs, image, and usually the lease's deletion.
    const int i = static_cast<int>(R(images_.size()));
    const std::string lease = absl::StrCat("pull-", leases_++);
    Op create{.kind = OpKind::kLeaseCreate, .ctx = op.ctx, .a = lease, .image = i};
    // A lease the pull leaves behind always expires, so that prunes drop it
    // and the leases in a long run stay few (Dump lists them all).
    const bool left_behind = R(4) == 0;
    if (left_behind || R(10) < 3) {
      create.expires = now_ + absl::Seconds(300 + static_cast<int64_t>(R(600)));
    }
    Op image{.kind = OpKind::kCreateImage, .ctx = op.ctx, .a = lease, .image = i};
    if (R(10) < 8) image.b = Name();
    if (content_) {
      for (size_t k = 0; k < images_[i].all().size(); ++k) {
        queued_.push_back(Op{.kind = OpKind::kWriteBlobs,
                             .ctx = op.ctx,
                             .a = lease,
                             .b = std::to_string(k),
                             .image = i});
      }
    } else {
      queued_.push_back(Op{.kind = OpKind::kLeaseAdd, .ctx = op.ctx, .a = lease, .image = i});
    }
    queued_.push_back(image);
    if (!left_behind)
      queued_.push_back(Op{.kind = OpKind::kLeaseDelete, .ctx = op.ctx, .a = lease});
    return create;
  }
  if (r < 34) {
    op.kind = OpKind::kCreateImage;  // without a lease
    op.image = static_cast<int>(R(images_.size()));
    op.b = Name();
  } else if (r < 43) {
    op.kind = OpKind::kTag;
    op.a = Ref(ns);
    op.b = Name();
  } else if (r < 56) {
    op.kind = OpKind::kRmi;
    op.a = Ref(ns);
    op.flag = R(10) < 3;
  } else if (r < 62) {
    op.kind = OpKind::kContainerCreate;
    op.a = ContainerId(static_cast<int>(R(kContainers)));
    op.b = Ref(ns);
    op.flag = R(2) == 0;
  } else if (r < 66) {
    op.kind = OpKind::kContainerStart;
    op.a = ContainerId(static_cast<int>(R(kContainers)));
  } else if (r < 70) {
    op.kind = OpKind::kContainerStop;
    op.a = ContainerId(static_cast<int>(R(kContainers)));
  } else if (r < 75) {
    op.kind = OpKind::kContainerRm;
    op.a = ContainerId(static_cast<int>(R(kContainers)));
  } else if (r < 86) {
    op.kind = OpKind::kPrune;
    op.flag = R(2) == 0;
    op.dry_run = R(5) == 0;
    if (R(5) == 0)
      op.until = FormatRfc3339(now_ - absl::Seconds(30 + static_cast<int64_t>(R(900))));
  } else if (r < 93) {
    op.kind = OpKind::kCollect;
  } else if (r < 97) {
    op.kind = OpKind::kLeaseDelete;
    op.a = absl::StrCat("pull-", leases_ > 0 ? R(static_cast<uint64_t>(leases_)) : 0);
  } else {
    op.kind = OpKind::kReopen;
  }
  return op;
}

std::string Apply(Store& store, const Workload& w, const Op& op) {
  const OpContext& ctx = op.ctx;
  switch (op.kind) {
    case OpKind::kLeaseCreate:
      return Text(store.CreateLease(ctx, op.a, op.expires));
    case OpKind::kWriteBlobs: {
      const Blob b = w.images()[op.image].all()[std::stoul(op.b)];
      return Text(store.WriteBlob(ctx, op.a, Desc(b), content::StringReader(b.bytes)));
    }
    case OpKind::kLeaseAdd: {
      std::vector<Descriptor> all = ContentOf(w.images()[op.image]);
      all.push_back(Desc(w.images()[op.image].target));
      return Text(store.AddLeaseContent(ctx, op.a, all));
    }
    case OpKind::kCreateImage: {
      const auto& img = w.images()[op.image];
      CreateImageRequest req;
      if (!op.b.empty()) req.name = op.b;
      req.target = Desc(img.target);
      req.content = ContentOf(img);
      req.labels = {{"n", std::to_string(op.image % 3)}};
      if (!op.a.empty()) req.lease = op.a;
      auto r = store.CreateImage(ctx, req);
      return r.ok() ? "ok " + *r : Text(r.status());
    }
    case OpKind::kLeaseDelete: {
      auto r = store.DeleteLease(ctx, op.a);
      return r.ok() ? absl::StrCat("ok ", r->space_reclaimed) : Text(r.status());
    }
    case OpKind::kTag:
      return Text(store.Tag(ctx, op.a, op.b));
    case OpKind::kRmi: {
      auto r = store.RemoveImage(ctx, op.a, op.flag);
      return r.ok() ? absl::StrCat("ok ", Entries(r->deleted), " ", r->space_reclaimed)
                    : Text(r.status());
    }
    case OpKind::kContainerCreate: {
      auto r = store.CreateContainer(ctx, op.a, op.b, op.flag);
      return r.ok() ? "ok " + *r : Text(r.status());
    }
    case OpKind::kContainerStart:
      return Text(store.StartContainer(ctx, op.a));
    case OpKind::kContainerStop:
      return Text(store.StopContainer(ctx, op.a));
    case OpKind::kContainerRm:
      return Text(store.RemoveContainer(ctx, op.a));
    case OpKind::kPrune: {
      PruneOptions o;
      o.all = op.flag;
      o.dry_run = op.dry_run;
      if (!op.until.empty()) o.filters["until"] = {op.until};
      auto r = store.Prune(ctx, o);
      return r.ok() ? absl::StrCat("ok ", Entries(r->deleted), " ", r->images_deleted, " ",
                                   r->space_reclaimed)
                    : Text(r.status());
    }
    case OpKind::kCollect:
      return Text(store.Collect().status());
    case OpKind::kReopen:
      return "reopen";
  }
  return "?";
}

std::string Describe(const Op& op) {
  static const char* names[] = {
      "lease_create", "write_blob", "lease_add",        "create_image",    "lease_delete",
      "tag",          "rmi",        "container_create", "container_start", "container_stop",
      "container_rm", "prune",      "collect",          "reopen"};
  return absl::StrCat(names[static_cast<int>(op.kind)], " ns=", op.ctx.ns, " a=", op.a, " b=", op.b,
                      " image=", op.image, " flag=", op.flag, " dry=", op.dry_run,
                      op.until.empty() ? "" : " until=" + op.until, " at ",
                      FormatRfc3339(op.ctx.now));
}

std::string Dump(Store& store, const Workload& w, absl::Time now) {
  std::ostringstream out;
  bool failed = false;
  auto fail = [&](const absl::Status& s) {
    failed = true;
    out << " [" << Text(s) << "]";
  };
  for (const char* ns : kNamespaces) {
    OpContext ctx{.ns = ns, .now = now};
    out << "ns " << ns << "\n";
    auto images = store.ListImages(ctx, ListOptions{});
    if (!images.ok()) {
      fail(images.status());
    } else {
      for (const auto& i : *images) {
        std::vector<std::string> labels;
        for (const auto& [k, v] : i.labels) labels.push_back(k + "=" + v);
        out << " image " << i.id << " names=" << absl::StrJoin(i.names, ",")
            << " digests=" << absl::StrJoin(i.repo_digests, ",") << " size=" << i.size
            << " shared=" << i.shared_size << " containers=" << i.containers
            << " created=" << FormatRfc3339(i.created) << " used=" << FormatRfc3339(i.last_used)
            << " labels=" << absl::StrJoin(labels, ",") << "\n";
      }
    }
    auto containers = store.ListContainers(ctx);
    if (!containers.ok()) {
      fail(containers.status());
    } else {
      for (const auto& c : *containers) {
        out << " container " << c.id << " image=" << c.image_id << " running=" << c.running
            << " exists=" << c.image_exists << "\n";
      }
    }
    auto leases = store.ListLeases(ctx);
    if (!leases.ok()) {
      fail(leases.status());
    } else {
      for (const auto& l : *leases) {
        std::vector<std::string> held;
        for (const auto& d : l.content) held.push_back(d.digest.substr(7, 12));
        out << " lease " << l.id
            << " expires=" << (l.expires ? FormatRfc3339(*l.expires) : std::string("never"))
            << " holds=" << absl::StrJoin(held, ",") << "\n";
      }
    }
    auto df = store.GetDiskUsage(ctx);
    if (!df.ok()) {
      fail(df.status());
    } else {
      out << " df " << df->total_count << " " << df->active << " " << df->size << " "
          << df->shared_size << " " << df->reclaimable << "\n";
    }
  }
  OpContext probe{.ns = "probe", .now = now};
  for (const std::string& d : w.digests()) {
    auto e = store.Explain(probe, d);
    if (!e.ok()) {
      if (e.status().code() == absl::StatusCode::kNotFound) {
        out << "blob " << d.substr(7, 12) << " none\n";
      } else {
        fail(e.status());
      }
      continue;
    }
    std::vector<std::string> images = e->images, leases = e->leases;
    std::sort(images.begin(), images.end());
    std::sort(leases.begin(), leases.end());
    out << "blob " << d.substr(7, 12) << " size=" << e->size
        << " images=" << absl::StrJoin(images, ",") << " leases=" << absl::StrJoin(leases, ",")
        << "\n";
  }
  return failed ? "ERROR " + out.str() : out.str();
}

}  // namespace refstore::testing
