// The workload generator: deterministic, shaped as documented, and every
// event it makes is accepted by a store that then checks clean.
#include "workload/workload.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace refstore::bench {
namespace {

std::vector<std::string> Describe(const WorkloadOptions& options, WorkloadStats* stats) {
  std::vector<std::string> out;
  auto result = Generate(options, [&](const Event& event) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, CreateImageEvent>) {
            out.push_back(e.ns + " image " + e.request.target.digest + " " +
                          e.request.name.value_or("-"));
          } else if constexpr (std::is_same_v<T, CreateContainerEvent>) {
            out.push_back(e.ns + " container " + e.id + " " + e.image_ref);
          } else {
            out.push_back(e.ns + " lease " + e.id);
          }
        },
        event);
    return absl::OkStatus();
  });
  EXPECT_TRUE(result.ok()) << result.status();
  if (result.ok() && stats) *stats = *result;
  return out;
}

TEST(WorkloadTest, SameSeedSameEventsOtherSeedOtherEvents) {
  WorkloadOptions options{.images = 300, .seed = 11};
  EXPECT_EQ(Describe(options, nullptr), Describe(options, nullptr));
  WorkloadOptions other = options;
  other.seed = 12;
  EXPECT_NE(Describe(options, nullptr), Describe(other, nullptr));
}

TEST(WorkloadTest, ShapeFollowsTheOptions) {
  WorkloadStats stats;
  WorkloadOptions options{.images = 4000, .seed = 3};
  auto events = Describe(options, &stats);
  EXPECT_EQ(stats.images, 4000);
  EXPECT_EQ(stats.leases, options.leases);
  // Shares are random: allow wide margins around the expected values.
  EXPECT_GT(stats.containers, 4000 * 0.03);
  EXPECT_LT(stats.containers, 4000 * 0.07);
  EXPECT_GT(stats.indexes, 0);
  EXPECT_GT(stats.dangling, 0);
  EXPECT_GT(stats.names, stats.images);  // extra tags on top of one name each
  std::set<std::string> namespaces;
  for (const auto& e : events) namespaces.insert(e.substr(0, e.find(' ')));
  EXPECT_EQ(namespaces, (std::set<std::string>{"ns0", "ns1", "ns2"}));
}

TEST(WorkloadTest, EveryEventAppliesAndTheStoreChecksClean) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("refstore-workload-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto store = Store::Open(dir.string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    WorkloadOptions options{.images = 1500, .seed = 5};
    auto stats = Generate(options, [&](const Event& e) { return ApplyToStore(**store, e); });
    ASSERT_TRUE(stats.ok()) << stats.status();
    int64_t images = 0;
    for (const char* ns : {"ns0", "ns1", "ns2"}) {
      auto du = (*store)->GetDiskUsage({.ns = ns, .now = stats->end});
      ASSERT_TRUE(du.ok());
      images += du->total_count;
    }
    EXPECT_EQ(images, stats->images);
    auto problems = (*store)->Check();
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(refstore::Faults(*problems).empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace refstore::bench
