// reference_bench.cc: the reference grammar on its own, no store.
//   BM_ParseReference  refstore::ParseReference over realistic inputs (short
//                      names, tags, registries with ports, name@digest and
//                      the error cases docker users hit), one per iteration.
//   BM_FamiliarName    refstore::FamiliarName over full normalized names.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "refstore/reference.h"

namespace refstore::micro {
namespace {

const std::string kHex = "4ff3ca91275773af45cb4b0834e12b7eb47d1c18f770a0b151381cd227f4c253";

const std::vector<std::string>& ParseInputs() {
  static const auto* inputs = new std::vector<std::string>{
      "alpine",
      "alpine:3.18",
      "library/ubuntu:22.04",
      "docker.io/library/nginx:1.25-alpine",
      "bitnami/postgresql:16.1.0-debian-11-r15",
      "ghcr.io/acme/platform/api-gateway:v2.14.3",
      "localhost:5000/myimage:dev",
      "registry.example.com:8443/team/app/worker:2026.01.02",
      "busybox@sha256:" + kHex,
      "quay.io/prometheus/node-exporter:v1.7.0@sha256:" + kHex,
      kHex,             // error: a 64-hex string cannot be a repository name
      "Alpine:latest",  // error: repository name must be lowercase
  };
  return *inputs;
}

const std::vector<std::string>& FullNames() {
  static const auto* names = new std::vector<std::string>{
      "docker.io/library/alpine:3.18",
      "docker.io/bitnami/postgresql:16.1.0",
      "localhost:5000/myimage:dev",
      "ghcr.io/acme/platform/api-gateway:v2.14.3",
      "docker.io/library/busybox@sha256:" + kHex,
      "quay.io/prometheus/node-exporter:v1.7.0@sha256:" + kHex,
  };
  return *names;
}

void BM_ParseReference(benchmark::State& state) {
  const auto& inputs = ParseInputs();
  size_t i = 0;
  for (auto _ : state) {
    auto parsed = ParseReference(inputs[i]);
    benchmark::DoNotOptimize(parsed);
    if (++i == inputs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseReference);

void BM_FamiliarName(benchmark::State& state) {
  const auto& names = FullNames();
  size_t i = 0;
  for (auto _ : state) {
    std::string familiar = FamiliarName(names[i]);
    benchmark::DoNotOptimize(familiar);
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FamiliarName);

}  // namespace
}  // namespace refstore::micro
