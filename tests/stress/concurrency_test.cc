// Several threads apply random operations to one store at once; afterwards
// every count must equal a recount (Check finds nothing), and df's
// reclaimable must equal what prune -a then frees.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "random_ops.h"
#include "refstore/store.h"

namespace refstore {
namespace {

TEST(ConcurrencyTest, RandomOperationsFromManyThreadsKeepEveryCount) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("refstore-concurrency-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  // Small prune batches, so that prunes interleave with the other threads.
  auto opened = Store::Open(dir.string(), {.prune_batch = 3});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = std::move(*opened);

  constexpr int kThreads = 4;
  constexpr int kSteps = 3000;
  const uint64_t base_seed = ::testing::UnitTest::GetInstance()->random_seed();
  std::atomic<int> ok{0};
  std::vector<std::string> unexpected(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      stress::RandomOps ops(store.get(), base_seed * 31 + t);
      for (int i = 0; i < kSteps; ++i) {
        absl::Status s = ops.Step(i);
        if (s.ok()) ++ok;
        if (!stress::RandomOps::Expected(s) && unexpected[t].empty()) {
          unexpected[t] = s.ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(unexpected[t].empty())
        << "thread " << t << " (seed " << base_seed << "): " << unexpected[t];
  }
  EXPECT_GT(ok.load(), kThreads * kSteps / 4) << "too few operations succeeded to test much";

  auto problems = store->Check();
  ASSERT_TRUE(problems.ok()) << problems.status();
  for (const auto& p : refstore::Faults(*problems)) {
    ADD_FAILURE() << "seed " << base_seed << ": " << p.category << " " << p.subject << " "
                  << p.detail;
  }
  for (const char* ns : {"ns0", "ns1"}) {
    OpContext ctx{.ns = ns, .now = absl::FromUnixSeconds(1767225600 + kSteps)};
    auto du = store->GetDiskUsage(ctx);
    ASSERT_TRUE(du.ok()) << du.status();
    auto dry = store->Prune(ctx, {.all = true, .dry_run = true});
    ASSERT_TRUE(dry.ok()) << dry.status();
    auto pruned = store->Prune(ctx, {.all = true});
    ASSERT_TRUE(pruned.ok()) << pruned.status();
    EXPECT_EQ(du->reclaimable, pruned->space_reclaimed) << "namespace " << ns;
    EXPECT_EQ(dry->space_reclaimed, pruned->space_reclaimed) << "namespace " << ns;
    auto entries = [](const PruneResult& r) {
      std::multiset<std::pair<int, std::string>> out;
      for (const auto& e : r.deleted) out.emplace(static_cast<int>(e.kind), e.ref);
      return out;
    };
    EXPECT_EQ(entries(*dry), entries(*pruned)) << "namespace " << ns;
  }
  auto after = store->Check();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(refstore::Faults(*after).empty());
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace refstore
