// store_bench.cc: single store operations on a store that already holds N
// synthetic images (N = the benchmark argument, stores built once per size
// outside every timed loop; see micro.h).
//   BM_ResolveShortId  Store::Inspect by a 12-hex short ID: name lookup miss,
//                      ID-prefix seek, image record and its blob records.
//                      Each iteration inspects a different existing image.
//   BM_CreateImage     CreateImage of a fresh named image (new manifest,
//                      config and top layer; two layers shared with others).
//   BM_RemoveImage     RemoveImage by name of an image with one name: untag,
//                      delete the image, free its own blobs.
// Create and Remove share one store per N and put it back as they found it:
// Create removes its images after the timed loop, Remove creates exactly the
// images it will remove (state.max_iterations) before it.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "micro.h"
#include "refstore/reference.h"

namespace refstore::micro {
namespace {

// The short IDs of the store's images, in a fixed random order so that
// consecutive lookups do not walk the key space in order.
std::vector<std::string> ShuffledShortIds(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(ShortId(id));
  std::shuffle(out.begin(), out.end(), std::mt19937_64(42));
  return out;
}

// Requests for `count` fresh named images ("micro/<repo>:v<serial>").
std::vector<CreateImageRequest> FreshImages(int64_t count, const std::string& repo) {
  std::vector<CreateImageRequest> out;
  out.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t serial = NextSerial();
    out.push_back(SyntheticImage(serial, "micro/" + repo + ":v" + std::to_string(serial)));
  }
  return out;
}

// Creates every request; false (and the benchmark skipped) on an error.
bool CreateAll(benchmark::State& state, Store& store, const std::vector<CreateImageRequest>& reqs,
               int64_t clock) {
  OpContext ctx{.ns = "default"};
  for (const auto& req : reqs) {
    ctx.now = At(clock++);
    if (auto id = store.CreateImage(ctx, req); !id.ok()) {
      state.SkipWithError(id.status().ToString().c_str());
      return false;
    }
  }
  return true;
}

// Removes every request's image by name; false on an error.
bool RemoveAll(benchmark::State& state, Store& store, const std::vector<CreateImageRequest>& reqs,
               int64_t clock) {
  OpContext ctx{.ns = "default"};
  for (const auto& req : reqs) {
    ctx.now = At(clock++);
    if (auto r = store.RemoveImage(ctx, *req.name, false); !r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return false;
    }
  }
  return true;
}

void BM_ResolveShortId(benchmark::State& state) {
  const int64_t n = state.range(0);
  PopulatedStore& populated = CachedStore("resolve", n);
  const std::vector<std::string> short_ids = ShuffledShortIds(populated.ids);
  OpContext ctx{.ns = "default", .now = At(n)};
  size_t i = 0;
  for (auto _ : state) {
    auto detail = populated.store().Inspect(ctx, short_ids[i]);
    if (!detail.ok()) {
      state.SkipWithError(detail.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(detail);
    if (++i == short_ids.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CreateImage(benchmark::State& state) {
  const int64_t n = state.range(0);
  Store& store = CachedStore("mutate", n).store();
  const std::vector<CreateImageRequest> reqs = FreshImages(state.max_iterations, "create");
  OpContext ctx{.ns = "default"};
  size_t i = 0;
  for (auto _ : state) {
    ctx.now = At(n + static_cast<int64_t>(i));
    auto id = store.CreateImage(ctx, reqs[i]);
    if (!id.ok()) {
      state.SkipWithError(id.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(id);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  // Untimed: put the store back to n images for the next run.
  RemoveAll(state, store, {reqs.begin(), reqs.begin() + static_cast<ptrdiff_t>(i)},
            n + static_cast<int64_t>(i));
}

void BM_RemoveImage(benchmark::State& state) {
  const int64_t n = state.range(0);
  Store& store = CachedStore("mutate", n).store();
  const std::vector<CreateImageRequest> reqs = FreshImages(state.max_iterations, "remove");
  if (!CreateAll(state, store, reqs, n)) return;
  OpContext ctx{.ns = "default"};
  size_t i = 0;
  for (auto _ : state) {
    ctx.now = At(n + state.max_iterations + static_cast<int64_t>(i));
    auto removed = store.RemoveImage(ctx, *reqs[i].name, false);
    if (!removed.ok()) {
      state.SkipWithError(removed.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(removed);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

void RegisterStoreBenchmarks(const std::vector<int64_t>& sizes) {
  for (auto* b : {benchmark::RegisterBenchmark("BM_ResolveShortId", BM_ResolveShortId),
                  benchmark::RegisterBenchmark("BM_CreateImage", BM_CreateImage),
                  benchmark::RegisterBenchmark("BM_RemoveImage", BM_RemoveImage)}) {
    b->ArgName("images")->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (int64_t n : sizes) b->Arg(n);
  }
}

}  // namespace refstore::micro
