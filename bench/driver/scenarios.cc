#include "driver/scenarios.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "driver/measure.h"
#include "fmt/format.h"
#include "refstore/store.h"

namespace refstore::bench {
namespace {

StoreOptions& RefstoreOptions() {
  static StoreOptions options;
  return options;
}

std::unique_ptr<Store> OpenOrThrow(const std::string& dir) {
  auto store = Store::Open(dir, RefstoreOptions());
  if (!store.ok()) throw std::runtime_error(std::string(store.status().message()));
  return std::move(*store);
}

void ThrowIfError(const absl::Status& s) {
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

OpContext Ctx(const BenchStore& store) { return {.ns = "ns0", .now = store.now}; }

// A progress line on stderr, only when it is a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(std::string what) : what_(std::move(what)), tty_(isatty(2) == 1) {}
  ~ProgressLine() {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }
  void Show(int64_t done, int64_t total) {
    if (tty_ && (done % 1024 == 0 || done == total)) {
      std::fprintf(stderr, "\r  %s: %lld/%lld\033[K", what_.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total));
    }
  }

 private:
  std::string what_;
  bool tty_;
};

}  // namespace

const char* PruneKindName(PruneKind kind) {
  switch (kind) {
    case PruneKind::kDangling:
      return "prune_dangling";
    case PruneKind::kAll:
      return "prune_all";
    case PruneKind::kAllLabel:
      return "prune_all_label";
  }
  return "?";
}

nlohmann::json BenchStoreToJson(const BenchStore& s) {
  return {{"dir", s.dir},
          {"remove_names", s.remove_names},
          {"now_unix_ns", absl::ToUnixNanos(s.now)},
          {"images", s.stats.images},
          {"names", s.stats.names},
          {"dangling", s.stats.dangling},
          {"indexes", s.stats.indexes},
          {"containers", s.stats.containers},
          {"running", s.stats.running},
          {"leases", s.stats.leases},
          {"blobs", s.stats.blobs},
          {"blob_bytes", s.stats.blob_bytes},
          {"events", s.stats.events}};
}

BenchStore BenchStoreFromJson(const nlohmann::json& j) {
  BenchStore s;
  s.dir = j.at("dir");
  s.remove_names = j.at("remove_names").get<std::vector<std::string>>();
  s.now = absl::FromUnixNanos(j.at("now_unix_ns").get<int64_t>());
  s.stats.images = j.at("images");
  s.stats.names = j.at("names");
  s.stats.dangling = j.at("dangling");
  s.stats.indexes = j.at("indexes");
  s.stats.containers = j.at("containers");
  s.stats.running = j.at("running");
  s.stats.leases = j.at("leases");
  s.stats.blobs = j.at("blobs");
  s.stats.blob_bytes = j.at("blob_bytes");
  s.stats.events = j.at("events");
  s.stats.end = s.now - absl::Seconds(1);
  return s;
}

void SetRefstoreOptions(int64_t bulk_ingest_writes) {
  RefstoreOptions().bulk_ingest_writes = bulk_ingest_writes;
}

nlohmann::json CreateRefstore(const WorkloadOptions& options, const ContainerPins& pins,
                              const std::string& dir, int64_t remove_count) {
  BenchStore bench;
  BenchStore* out = &bench;
  auto store = OpenOrThrow(dir);
  ProgressLine progress("creating images");
  const int64_t every = std::max<int64_t>(1, options.images / std::max<int64_t>(remove_count, 1));
  int64_t images = 0;
  Stopwatch clock;
  auto stats = Generate(options, [&](const Event& event) {
    if (const auto* image = std::get_if<CreateImageEvent>(&event)) {
      if (image->ns == "ns0" && image->request.name && images % every == 0 &&
          static_cast<int64_t>(out->remove_names.size()) < remove_count) {
        out->remove_names.push_back(*image->request.name);
      }
      progress.Show(++images, options.images);
    }
    Event e = event;
    PinContainer(pins, e);
    return ApplyToStore(*store, e);
  });
  const double seconds = clock.Seconds();
  ThrowIfError(stats.status());
  store.reset();  // flushes nothing extra: the store's own close
  out->dir = dir;
  out->stats = *stats;
  out->now = stats->end + absl::Seconds(1);
  return {{"seconds", seconds},
          {"items", stats->events},
          {"images", stats->images},
          {"store_bytes", DirectoryBytes(dir)},
          {"bench_store", BenchStoreToJson(bench)}};
}

nlohmann::json PruneRefstore(const BenchStore& bench, PruneKind kind) {
  auto store = OpenOrThrow(bench.dir);
  PruneOptions options{.all = kind != PruneKind::kDangling};
  if (kind == PruneKind::kAllLabel) options.filters["label"] = {"tier=a"};
  int64_t entries = 0;
  options.on_entry = [&](const DeleteEntry&) { ++entries; };
  ProgressLine progress(PruneKindName(kind));
  options.on_progress = [&](const Progress& p) {
    progress.Show(p.images_scanned, bench.stats.images);
  };
  Stopwatch clock;
  auto result = store->Prune(Ctx(bench), options);
  const double seconds = clock.Seconds();
  ThrowIfError(result.status());
  store.reset();
  return {{"seconds", seconds},
          {"items", result->images_deleted},
          {"images_deleted", result->images_deleted},
          {"entries", entries},
          {"reclaimed_bytes", result->space_reclaimed},
          {"store_bytes", DirectoryBytes(bench.dir)}};
}

nlohmann::json RemoveStreamRefstore(const BenchStore& bench) {
  auto store = OpenOrThrow(bench.dir);
  Latencies latencies;
  int64_t ok = 0, refused = 0, reclaimed = 0;
  Stopwatch clock;
  for (const auto& name : bench.remove_names) {
    Stopwatch one;
    auto r = store->RemoveImage(Ctx(bench), name, /*force=*/false);
    latencies.Add(one.Seconds());
    if (r.ok()) {
      ++ok;
      reclaimed += r->space_reclaimed;
    } else {
      ++refused;  // moved away, in use, or already gone with an earlier name
    }
  }
  const double seconds = clock.Seconds();
  nlohmann::json out = latencies.Summary();
  out.update({{"seconds", seconds},
              {"items", bench.remove_names.size()},
              {"removed", ok},
              {"refused", refused},
              {"reclaimed_bytes", reclaimed}});
  return out;
}

nlohmann::json DiskUsageRefstore(const BenchStore& bench, int calls) {
  auto store = OpenOrThrow(bench.dir);
  Latencies latencies;
  DiskUsage last;
  Stopwatch clock;
  for (int i = 0; i < calls; ++i) {
    Stopwatch one;
    auto du = store->GetDiskUsage(Ctx(bench));
    latencies.Add(one.Seconds());
    ThrowIfError(du.status());
    last = *du;
  }
  nlohmann::json out = latencies.Summary();
  out.update({{"seconds", clock.Seconds()},
              {"items", calls},
              {"images", last.total_count},
              {"size", last.size},
              {"reclaimable", last.reclaimable}});
  return out;
}

nlohmann::json CheckRefstore(const BenchStore& bench) {
  auto store = OpenOrThrow(bench.dir);
  Stopwatch clock;
  auto problems = store->Check();
  const double seconds = clock.Seconds();
  ThrowIfError(problems.status());
  return {{"seconds", seconds},
          {"items", bench.stats.images},
          {"problems", refstore::Faults(*problems).size()}};
}

nlohmann::json RepairRefstore(const BenchStore& bench) {
  auto store = OpenOrThrow(bench.dir);
  Stopwatch clock;
  auto repaired = store->Repair(Ctx(bench));
  const double seconds = clock.Seconds();
  ThrowIfError(repaired.status());
  auto after = store->Check();
  ThrowIfError(after.status());
  return {{"seconds", seconds},
          {"items", bench.stats.images},
          {"faults_found", repaired->found.size()},
          {"actions", repaired->actions.size()},
          {"faults_after", refstore::Faults(*after).size()}};
}

nlohmann::json ReopenRefstore(const BenchStore& bench) {
  Stopwatch clock;
  auto store = OpenOrThrow(bench.dir);
  const double open_seconds = clock.Seconds();
  auto du = store->GetDiskUsage(Ctx(bench));  // a first answer after opening
  ThrowIfError(du.status());
  return {{"seconds", clock.Seconds()}, {"open_seconds", open_seconds}, {"items", 1}};
}

}  // namespace refstore::bench
