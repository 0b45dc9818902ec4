// churn_bench.cc: what keys that come and go cost later operations. Every
// pull creates a lease and deletes it; with a content store every freed
// blob gets a garbage record that the collector deletes. Deleted keys stay
// as tombstones until a flush and a compaction drop them, and the scans of
// prune (expired leases) and of the collector (garbage) step over them.
//   BM_PruneAfterPulls/pulls:N  N pulls that each created and deleted a
//                     lease (untimed), then a dry-run Prune{.all = true} of
//                     the empty namespace, timed.
//   BM_PullAndFree/pulls:N  content store, N iterations of one pull that
//                     frees what it wrote: create a lease, write a distinct
//                     small blob under it, delete the lease (which frees the
//                     blob and runs the collector). Time per pull; a cost
//                     that grows with the tombstones shows as a time per
//                     pull that grows with N.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "micro.h"
#include "refstore/content/sha256.h"

namespace refstore::micro {
namespace {

void BM_PruneAfterPulls(benchmark::State& state) {
  std::unique_ptr<ScratchStore> scratch = OpenScratchStore();
  Store& store = *scratch->store;
  const OpContext ctx{.ns = "default", .now = At(0)};
  for (int64_t i = 0; i < state.range(0); ++i) {
    const std::string lease = "pull-" + std::to_string(i);
    absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
    if (s.ok()) s = store.DeleteLease(ctx, lease).status();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  for (auto _ : state) {
    auto pruned = store.Prune(ctx, {.all = true, .dry_run = true});
    if (!pruned.ok()) {
      state.SkipWithError(pruned.status().ToString().c_str());
      break;
    }
  }
}

void BM_PullAndFree(benchmark::State& state) {
  std::unique_ptr<ScratchStore> scratch = OpenScratchStore({.content_store = true});
  Store& store = *scratch->store;
  const OpContext ctx{.ns = "default", .now = At(0)};
  int64_t i = 0;
  int64_t freed = 0;
  for (auto _ : state) {
    const std::string lease = "pull-" + std::to_string(i);
    const std::string bytes = "blob " + std::to_string(i++);
    const Descriptor d{.media_type = "application/octet-stream",
                       .digest = "sha256:" + content::Sha256Hex(bytes),
                       .size = static_cast<int64_t>(bytes.size())};
    bool given = false;
    auto reader = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
      if (given || cap < bytes.size()) return 0;
      given = true;
      std::memcpy(buf, bytes.data(), bytes.size());
      return bytes.size();
    };
    absl::Status s = store.CreateLease(ctx, lease, std::nullopt);
    if (s.ok()) s = store.WriteBlob(ctx, lease, d, reader);
    absl::StatusOr<DeleteLeaseResult> released =
        s.ok() ? store.DeleteLease(ctx, lease) : absl::StatusOr<DeleteLeaseResult>(s);
    if (!released.ok()) {
      state.SkipWithError(released.status().ToString().c_str());
      break;
    }
    freed += released->space_reclaimed;
  }
  state.counters["bytes_freed"] = static_cast<double>(freed);
}

}  // namespace

void RegisterChurnBenchmarks(const std::vector<int64_t>& sizes) {
  auto* b = benchmark::RegisterBenchmark("BM_PruneAfterPulls", BM_PruneAfterPulls);
  b->ArgName("pulls")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (int64_t n : sizes) b->Arg(n * 4);
  // Iterations(N): the average over exactly N pulls, so that the figure
  // for N shows what N pulls' tombstones cost.
  for (int64_t n : sizes) {
    const int64_t pulls = std::max<int64_t>(n / 4, 50);
    benchmark::RegisterBenchmark("BM_PullAndFree", BM_PullAndFree)
        ->ArgName("pulls")
        ->Arg(pulls)
        ->Iterations(pulls)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace refstore::micro
