// The on-the-fly baseline must give the same results as refstore on the same
// events (SEMANTICS.md §1, §5, §6), so that a benchmark compares the cost of
// two designs doing the same job. Each test applies one event stream to both
// and compares reclaimed bytes, images deleted and the images left.
#include "baselines/onthefly.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baselines/compare.h"
#include "gtest/gtest.h"
#include "refstore/store.h"
#include "workload/workload.h"

namespace refstore::bench {
namespace {

using Mode = OnTheFlyStore::GcMode;
namespace fs = std::filesystem;

// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = absl::StrCat(info->test_suite_name(), "_", info->name());
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::path(testing::TempDir()) / absl::StrCat("onthefly_", name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Sub(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct Workload {
  std::vector<Event> events;
  WorkloadStats stats;
  int64_t pinned = 0;  // container references pinned to an ID (compare.h)
};

// The workload of `options`, made comparable (compare.h: containers whose
// name moves later refer to their image by ID instead).
// DivergesWhenContainerNameMoves checks that case on its own.
Workload Make(const WorkloadOptions& options) {
  Workload w;
  auto pins = MovedNameContainers(options);
  EXPECT_TRUE(pins.ok()) << pins.status();
  auto stats = Generate(options, [&](const Event& e) {
    w.events.push_back(e);
    if (pins.ok() && PinContainer(*pins, w.events.back())) ++w.pinned;
    return absl::OkStatus();
  });
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (stats.ok()) w.stats = *stats;
  return w;
}

std::unique_ptr<Store> OpenRefstore(const std::string& dir) {
  auto store = Store::Open(dir, {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<OnTheFlyStore> OpenBaseline(const std::string& dir) {
  auto store = OnTheFlyStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

void ApplyAll(const std::vector<Event>& events, Store* ref, OnTheFlyStore* otf) {
  for (const Event& e : events) {
    if (ref) {
      absl::Status s = ApplyToStore(*ref, e);
      ASSERT_TRUE(s.ok()) << s;
    }
    if (otf) {
      absl::Status s = otf->Apply(e);
      ASSERT_TRUE(s.ok()) << s;
    }
  }
}

std::vector<std::string> RefstoreIds(Store& store, const std::string& ns) {
  auto images = store.ListImages({.ns = ns}, {.all = true});
  EXPECT_TRUE(images.ok()) << images.status();
  std::vector<std::string> ids;
  if (images.ok()) {
    for (const auto& img : *images) ids.push_back(img.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> BaselineIds(OnTheFlyStore& store, const std::string& ns) {
  auto ids = store.ListImageIds(ns);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<std::string>{};
}

// ---------------------------------------------------------------------------
// Generated workloads: prune -a in ns0 on both designs.

struct Case {
  int64_t images;
  uint64_t seed;
  int namespaces;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "{images " << c.images << ", seed " << c.seed << ", namespaces " << c.namespaces << "}";
}

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  return absl::StrCat("images", info.param.images, "_seed", info.param.seed, "_ns",
                      info.param.namespaces);
}

class OnTheFlyVsRefstore : public testing::TestWithParam<Case> {};

TEST_P(OnTheFlyVsRefstore, PruneAllReclaimsTheSame) {
  const Case c = GetParam();
  const Workload w = Make({.images = c.images, .namespaces = c.namespaces, .seed = c.seed});
  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(ref && otf);
  ApplyAll(w.events, ref.get(), otf.get());

  const OpContext ctx{.ns = "ns0", .now = w.stats.end};
  auto want = ref->Prune(ctx, {.all = true});
  ASSERT_TRUE(want.ok()) << want.status();
  auto got = otf->PruneAll(ctx, Mode::kOncePerPrune);
  ASSERT_TRUE(got.ok()) << got.status();
  RecordProperty("pinned_container_refs", static_cast<int>(w.pinned));

  EXPECT_GT(want->space_reclaimed, 0);
  EXPECT_EQ(got->reclaimed_bytes, want->space_reclaimed);
  EXPECT_EQ(got->images_deleted, want->images_deleted);
  EXPECT_TRUE(got->finished);
  EXPECT_EQ(got->gc_runs, 1);
  EXPECT_GE(got->records_deleted, got->images_deleted);
  EXPECT_EQ(got->leases_removed, w.stats.leases / 2);  // every other one has expired
  for (int ns = 0; ns < c.namespaces; ++ns) {
    const std::string name = absl::StrCat("ns", ns);
    EXPECT_EQ(BaselineIds(*otf, name), RefstoreIds(*ref, name)) << name;
  }

  // Nothing is left to free on either side.
  auto again_want = ref->Prune(ctx, {.all = true});
  auto again_got = otf->PruneAll(ctx, Mode::kOncePerPrune);
  ASSERT_TRUE(again_want.ok() && again_got.ok());
  EXPECT_EQ(again_want->space_reclaimed, 0);
  EXPECT_EQ(again_got->reclaimed_bytes, 0);
  EXPECT_EQ(again_got->images_deleted, 0);
}

INSTANTIATE_TEST_SUITE_P(Workloads, OnTheFlyVsRefstore,
                         testing::Values(Case{200, 1, 1}, Case{200, 1, 3}, Case{200, 7, 3},
                                         Case{500, 2, 1}, Case{500, 3, 3}, Case{1000, 1, 1},
                                         Case{1000, 7, 3}, Case{1000, 42, 3}, Case{2000, 1, 1},
                                         Case{2000, 5, 3}, Case{2000, 42, 1}, Case{2000, 42, 3}),
                         CaseName);

// ---------------------------------------------------------------------------
// The two GC modes free the same content.

class OnTheFlyModes : public testing::TestWithParam<Case> {};

TEST_P(OnTheFlyModes, PerRecordFreesWhatOnceFrees) {
  const Case c = GetParam();
  const Workload w = Make({.images = c.images, .namespaces = c.namespaces, .seed = c.seed});
  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto once = OpenBaseline(dir.Sub("once"));
  auto per_record = OpenBaseline(dir.Sub("per_record"));
  ASSERT_TRUE(ref && once && per_record);
  ApplyAll(w.events, ref.get(), once.get());
  ApplyAll(w.events, nullptr, per_record.get());

  const OpContext ctx{.ns = "ns0", .now = w.stats.end};
  auto want = ref->Prune(ctx, {.all = true});
  auto a = once->PruneAll(ctx, Mode::kOncePerPrune);
  auto b = per_record->PruneAll(ctx, Mode::kPerRecord, absl::Minutes(10));
  ASSERT_TRUE(want.ok() && a.ok() && b.ok());
  EXPECT_TRUE(b->finished);
  EXPECT_EQ(b->records_done, b->records_planned);
  EXPECT_EQ(b->gc_runs, b->records_done);
  EXPECT_EQ(b->images_deleted, a->images_deleted);
  EXPECT_EQ(b->records_deleted, a->records_deleted);
  EXPECT_EQ(b->blobs_freed, a->blobs_freed);
  EXPECT_EQ(b->reclaimed_bytes, a->reclaimed_bytes);
  EXPECT_EQ(b->reclaimed_bytes, want->space_reclaimed);
  EXPECT_EQ(BaselineIds(*per_record, "ns0"), RefstoreIds(*ref, "ns0"));
}

INSTANTIATE_TEST_SUITE_P(Workloads, OnTheFlyModes,
                         testing::Values(Case{200, 1, 1}, Case{200, 9, 3}, Case{400, 2, 3}),
                         CaseName);

TEST(OnTheFlyBudget, PerRecordStopsWhenTheBudgetRunsOut) {
  const Workload w = Make({.images = 300, .namespaces = 1, .seed = 4});
  TempDir dir;
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(otf);
  ApplyAll(w.events, nullptr, otf.get());
  auto r = otf->PruneAll({.ns = "ns0", .now = w.stats.end}, Mode::kPerRecord, absl::ZeroDuration());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->finished);
  EXPECT_GT(r->records_planned, 0);
  EXPECT_EQ(r->records_done, 0);
  EXPECT_EQ(r->gc_runs, 0);
  EXPECT_EQ(r->reclaimed_bytes, 0);
}

// ---------------------------------------------------------------------------
// rmi NAME, one name after another, on both designs.

class OnTheFlyRemove : public testing::TestWithParam<Case> {};

TEST_P(OnTheFlyRemove, RemoveByNameReclaimsTheSame) {
  const Case c = GetParam();
  const Workload w = Make({.images = c.images, .namespaces = c.namespaces, .seed = c.seed});
  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(ref && otf);
  ApplyAll(w.events, ref.get(), otf.get());

  std::vector<std::string> names;  // ns0's names in creation order, once each
  for (const Event& event : w.events) {
    const auto* e = std::get_if<CreateImageEvent>(&event);
    if (e && e->ns == "ns0" &&
        std::find(names.begin(), names.end(), *e->request.name) == names.end()) {
      names.push_back(*e->request.name);
    }
  }
  int freed = 0, untagged = 0, refused = 0;
  const OpContext ctx{.ns = "ns0", .now = w.stats.end};
  for (size_t i = 0; i < names.size(); i += 7) {
    auto want = ref->RemoveImage(ctx, names[i], /*force=*/false);
    auto got = otf->RemoveByName("ns0", names[i]);
    ASSERT_EQ(got.status().code(), want.status().code())
        << names[i] << ": " << got.status() << " vs " << want.status();
    if (!want.ok()) {
      ++refused;
      continue;
    }
    const bool deleted = std::any_of(want->deleted.begin(), want->deleted.end(), [](const auto& d) {
      return d.kind == DeleteEntry::Kind::kDeleted;
    });
    EXPECT_EQ(got->images_deleted, deleted ? 1 : 0) << names[i];
    EXPECT_EQ(got->reclaimed_bytes, want->space_reclaimed) << names[i];
    if (want->space_reclaimed > 0) ++freed;
    if (!deleted) ++untagged;
  }
  EXPECT_GT(freed, 0);
  EXPECT_EQ(BaselineIds(*otf, "ns0"), RefstoreIds(*ref, "ns0"));
  RecordProperty("freed", freed);
  RecordProperty("untagged_only", untagged);
  RecordProperty("refused", refused);
}

INSTANTIATE_TEST_SUITE_P(Workloads, OnTheFlyRemove,
                         testing::Values(Case{500, 1, 1}, Case{1000, 3, 3}, Case{1000, 8, 1}),
                         CaseName);

// ---------------------------------------------------------------------------
// Hand-made scenarios with figures worked out by hand.

// A digest whose first 12 hex characters differ from blob to blob (short IDs).
Descriptor Blob(const char* type, int n, int64_t size) {
  const std::string hex = absl::StrCat(absl::Hex(n * 0x9e3779b97f4a7c15ULL, absl::kZeroPad16));
  return {type, absl::StrCat("sha256:", hex, hex, hex, hex), size};
}
Descriptor Manifest(int n, int64_t size) {
  return Blob("application/vnd.oci.image.manifest.v1+json", n, size);
}
Descriptor Layer(int n, int64_t size) {
  return Blob("application/vnd.oci.image.layer.v1.tar+gzip", n, size);
}
std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string ContainerId(int n) { return std::string(63, 'c') + static_cast<char>('0' + n); }

struct Scenario {
  std::vector<Event> events;
  absl::Time now = absl::FromUnixSeconds(1767225600);

  void Image(std::string ns, std::optional<std::string> name, Descriptor target,
             std::vector<Descriptor> content) {
    events.push_back(CreateImageEvent{
        .ns = ns, .request = {.name = name, .target = target, .content = content}, .at = Tick()});
  }
  void Container(std::string ns, int id, std::string ref) {
    events.push_back(CreateContainerEvent{
        .ns = ns, .id = ContainerId(id), .image_ref = ref, .running = id % 2 == 0, .at = Tick()});
  }
  void Lease(std::string ns, std::string id, std::optional<absl::Time> expires,
             std::vector<Descriptor> content) {
    events.push_back(
        LeaseEvent{.ns = ns, .id = id, .expires = expires, .content = content, .at = Tick()});
  }
  absl::Time Tick() { return now += absl::Seconds(1); }
};

// Images are manifest + layers. Shared layers X (A, B), Y (C, D), Z (E in ns0,
// F in ns1). C (no name) is held by short ID, D by repo@digest. A live lease
// holds l1, an expired one l2. prune -a in ns0 deletes A, B (two names) and
// E and frees mA a mB b X mE e and l2; Z stays for F.
TEST(OnTheFlyScenario, SharedLayersLeasesAndNamespaces) {
  const Descriptor mA = Manifest(1, 1), mB = Manifest(2, 2), mC = Manifest(3, 4),
                   mD = Manifest(4, 8), mE = Manifest(5, 16), mF = Manifest(6, 32);
  const Descriptor X = Layer(10, 64), Y = Layer(11, 128), Z = Layer(12, 256);
  const Descriptor a = Layer(20, 512), b = Layer(21, 1024), c = Layer(22, 2048),
                   d = Layer(23, 4096), e = Layer(24, 8192), f = Layer(25, 16384);
  const Descriptor l1 = Layer(30, 32768), l2 = Layer(31, 65536);
  Scenario s;
  s.Image("ns0", "a:1", mA, {X, a});
  s.Image("ns0", "b:1", mB, {X, b});
  s.Image("ns0", "b:2", mB, {X, b});
  s.Image("ns0", std::nullopt, mC, {Y, c});
  s.Image("ns0", "d:1", mD, {Y, d});
  s.Image("ns0", "e:1", mE, {Z, e});
  s.Image("ns1", "f:1", mF, {Z, f});
  s.Container("ns0", 1, mC.digest.substr(7, 12));
  s.Container("ns0", 2, "d@" + mD.digest);
  s.Lease("ns1", "l1", std::nullopt, {l1});
  s.Lease("ns0", "l2", s.now - absl::Hours(1), {l2});
  const int64_t expected = 1 + 512 + 2 + 1024 + 64 + 16 + 8192 + 65536;

  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(ref && otf);
  ApplyAll(s.events, ref.get(), otf.get());
  const OpContext ctx{.ns = "ns0", .now = s.now};

  auto want = ref->Prune(ctx, {.all = true});
  auto got = otf->PruneAll(ctx, Mode::kOncePerPrune);
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(want->space_reclaimed, expected);
  EXPECT_EQ(want->images_deleted, 3);
  EXPECT_EQ(got->reclaimed_bytes, expected);
  EXPECT_EQ(got->images_deleted, 3);
  EXPECT_EQ(got->records_deleted, 4);
  EXPECT_EQ(got->blobs_freed, 8);
  EXPECT_EQ(got->leases_removed, 1);
  EXPECT_EQ(BaselineIds(*otf, "ns0"), Sorted({mC.digest, mD.digest}));

  // rmi f:1 in ns1 frees F with Z, now that E is gone; the live lease stays.
  auto rm_want = ref->RemoveImage({.ns = "ns1", .now = s.now}, "f:1", false);
  auto rm_got = otf->RemoveByName("ns1", "f:1");
  ASSERT_TRUE(rm_want.ok() && rm_got.ok());
  EXPECT_EQ(rm_want->space_reclaimed, 32 + 256 + 16384);
  EXPECT_EQ(rm_got->reclaimed_bytes, 32 + 256 + 16384);
}

// rmi NAME: another name keeps the image; the last name frees it; a container
// (here by full ID) refuses it; an expired lease is not touched by rmi. Also
// checks that reopening rebuilds what the baseline keeps in memory.
TEST(OnTheFlyScenario, RemoveByNameAfterReopen) {
  const Descriptor m1 = Manifest(1, 1), m2 = Manifest(2, 2);
  const Descriptor x = Layer(10, 100), y = Layer(11, 1000), l = Layer(12, 10000);
  Scenario s;
  s.Image("default", "one:1", m1, {x});
  s.Image("default", "one:2", m1, {x});
  s.Image("default", "two:1", m2, {y});
  s.Container("default", 1, m2.digest);
  s.Lease("default", "old", s.now - absl::Hours(1), {l});

  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(ref && otf);
  ApplyAll(s.events, ref.get(), otf.get());
  otf.reset();
  otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(otf);
  const OpContext ctx{.ns = "default", .now = s.now};

  auto untag = otf->RemoveByName("default", "one:1");
  ASSERT_TRUE(untag.ok()) << untag.status();
  EXPECT_EQ(untag->images_deleted, 0);
  EXPECT_EQ(untag->gc_runs, 0);
  auto last = otf->RemoveByName("default", "one:2");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->images_deleted, 1);
  EXPECT_EQ(last->reclaimed_bytes, 101);
  auto held = otf->RemoveByName("default", "two:1");
  EXPECT_EQ(held.status().code(), absl::StatusCode::kFailedPrecondition) << held.status();
  EXPECT_EQ(otf->RemoveByName("default", "one:1").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(ref->RemoveImage(ctx, "one:1", false).ok());
  auto want = ref->RemoveImage(ctx, "one:2", false);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(want->space_reclaimed, 101);
  EXPECT_EQ(ref->RemoveImage(ctx, "two:1", false).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // The expired lease's content goes with the next prune, on both sides.
  auto p_want = ref->Prune(ctx, {.all = true});
  auto p_got = otf->PruneAll(ctx, Mode::kPerRecord, absl::Minutes(1));
  ASSERT_TRUE(p_want.ok() && p_got.ok());
  EXPECT_EQ(p_want->space_reclaimed, 10000);
  EXPECT_EQ(p_got->reclaimed_bytes, 10000);
  EXPECT_EQ(p_got->gc_runs, 1);
  EXPECT_TRUE(p_got->finished);
}

// A moved tag leaves the old image with a dangling record, and it keeps the
// image's content until a prune.
TEST(OnTheFlyScenario, MovedTagLeavesDanglingImage) {
  const Descriptor m1 = Manifest(1, 1), m2 = Manifest(2, 2);
  const Descriptor x = Layer(10, 100), y = Layer(11, 1000);
  Scenario s;
  s.Image("default", "app:v1", m1, {x});
  s.Image("default", "app:v1", m2, {y});
  TempDir dir;
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(otf);
  ApplyAll(s.events, nullptr, otf.get());
  EXPECT_EQ(BaselineIds(*otf, "default"), Sorted({m1.digest, m2.digest}));
  auto r = otf->PruneAll({.ns = "default", .now = s.now}, Mode::kOncePerPrune);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images_deleted, 2);
  EXPECT_EQ(r->records_deleted, 2);  // app:v1 and moby-dangling@<m1>
  EXPECT_EQ(r->reclaimed_bytes, 1103);
}

// The deliberate difference (compare.h): a container created from
// "app:v1" before the name moved to B. docker protects B (what the name is
// now), refstore protects A (what the container was created from).
TEST(OnTheFlyScenario, DivergesWhenContainerNameMoves) {
  const Descriptor mA = Manifest(1, 1), mB = Manifest(2, 2);
  const Descriptor shared = Layer(10, 100), a = Layer(11, 1000), b = Layer(12, 10000);
  Scenario s;
  s.Image("default", "app:v1", mA, {shared, a});
  s.Container("default", 1, "app:v1");
  s.Image("default", "app:v1", mB, {shared, b});
  TempDir dir;
  auto ref = OpenRefstore(dir.Sub("refstore"));
  auto otf = OpenBaseline(dir.Sub("onthefly"));
  ASSERT_TRUE(ref && otf);
  ApplyAll(s.events, ref.get(), otf.get());
  const OpContext ctx{.ns = "default", .now = s.now};
  auto want = ref->Prune(ctx, {.all = true});
  auto got = otf->PruneAll(ctx, Mode::kOncePerPrune);
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(want->space_reclaimed, 2 + 10000);  // B goes
  EXPECT_EQ(RefstoreIds(*ref, "default"), std::vector<std::string>{mA.digest});
  EXPECT_EQ(got->reclaimed_bytes, 1 + 1000);  // A goes
  EXPECT_EQ(BaselineIds(*otf, "default"), std::vector<std::string>{mB.digest});
}

}  // namespace
}  // namespace refstore::bench
