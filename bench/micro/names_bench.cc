// names_bench.cc: one image with many names (issue 15: tags on one image
// used to cost more the more names it had, and check grew with their square).
//   BM_TagOneImage     Tag of one image to a new name, on an image that
//                      already has N names (the argument). Each iteration
//                      adds a name; the store is built once per N (untimed)
//                      and the names added are removed after the loop (each
//                      in its own repository: rmi NAME reads the image's
//                      names in NAME's repository).
//   BM_CheckManyNames  Store::Check of a store whose one image has N names.
//                      items/s counts names, so a flat rate means linear.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "micro.h"

namespace refstore::micro {
namespace {

struct NamedStore {
  std::unique_ptr<ScratchStore> scratch;
  std::string id;
};

// One image with `names` names ("many/r<k % 100>:t<k>").
NamedStore& ManyNames(int64_t names) {
  // Destroyed at exit, which closes the stores and deletes their directories.
  static std::map<int64_t, NamedStore> stores;
  auto it = stores.find(names);
  if (it != stores.end()) return it->second;
  NamedStore s{.scratch = OpenScratchStore()};
  Store& store = *s.scratch->store;
  auto id = store.CreateImage({.ns = "default", .now = At(0)},
                              SyntheticImage(NextSerial(), std::string("many/base:1")));
  if (!id.ok()) std::abort();
  s.id = *id;
  for (int64_t k = 1; k < names; ++k) {
    absl::Status st =
        store.Tag({.ns = "default", .now = At(k)}, s.id, absl::StrCat("many/r", k % 100, ":t", k));
    if (!st.ok()) std::abort();
  }
  return stores.emplace(names, std::move(s)).first->second;
}

void BM_TagOneImage(benchmark::State& state) {
  const int64_t n = state.range(0);
  NamedStore& named = ManyNames(n);
  Store& store = *named.scratch->store;
  int64_t i = 0;
  for (auto _ : state) {
    absl::Status st = store.Tag({.ns = "default", .now = At(n + i)}, named.id,
                                absl::StrCat("many/extra", i, ":1"));
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  for (int64_t k = 0; k < i; ++k) {  // untimed: back to n names
    auto removed = store.RemoveImage({.ns = "default", .now = At(n + i + k)},
                                     absl::StrCat("many/extra", k, ":1"), false);
    if (!removed.ok()) {
      state.SkipWithError(removed.status().ToString().c_str());
      break;
    }
  }
}

void BM_CheckManyNames(benchmark::State& state) {
  const int64_t n = state.range(0);
  Store& store = *ManyNames(n).scratch->store;
  for (auto _ : state) {
    auto problems = store.Check();
    if (!problems.ok() || !Faults(*problems).empty()) {
      state.SkipWithError("check failed or found faults");
      break;
    }
    benchmark::DoNotOptimize(problems);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

}  // namespace

void RegisterNameBenchmarks(const std::vector<int64_t>& sizes) {
  for (auto* b : {benchmark::RegisterBenchmark("BM_TagOneImage", BM_TagOneImage),
                  benchmark::RegisterBenchmark("BM_CheckManyNames", BM_CheckManyNames)}) {
    b->ArgName("names")->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (int64_t n : sizes) b->Arg(n);
  }
}

}  // namespace refstore::micro
