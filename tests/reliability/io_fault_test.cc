// Injected I/O faults (issue 6, item 4). The workload runs on a store over
// FaultFs with failing writes (1 in 128), syncs (1 in 128) and reads (1 in
// 32), and now and then a full disk (a budget of a few kilobytes, then
// ENOSPC), beside a shadow store without faults. For every operation:
//
//  * if the store answers as the shadow did, its state must equal the
//    shadow's;
//  * otherwise the answer must be an error, and after a reopen (without
//    faults; it must succeed), one collection and a Check without fault,
//    the state must be the shadow's state before the operation (then the
//    operation, retried without faults, must give the shadow's answer and
//    state) or after it: never anything in between.
//
// FAULT_OPS (default 6,000 per test, two tests: metadata-only and content
// store) and FAULT_SEED (printed) replay a run exactly.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "harness.h"

namespace refstore::testing {
namespace {

struct Totals {
  int64_t ops = 0, errors = 0, applied = 0, not_applied = 0, reopens_under_faults = 0,
          failed_opens_under_faults = 0, problems = 0;
};

const FaultPlan kPlan{.write_one_in = 128, .sync_one_in = 128, .read_one_in = 32};

void RunFaults(bool content, int64_t ops, uint64_t seed, Totals& t, FaultCounts& faults) {
  StoreOptions options;
  options.content_store = content;
  options.sync_writes = true;
  Harness h(seed, options);
  Workload w(seed, content);
  std::mt19937_64 rng(seed * 17 + 3);
  ASSERT_TRUE(h.OpenShadow().ok());
  ASSERT_TRUE(h.OpenReal().ok());
  auto problem = [&](int64_t i, const Op& op, const std::string& what) {
    ++t.problems;
    ADD_FAILURE() << "seed " << seed << " (FAULT_SEED=" << seed << "), content=" << content
                  << ", operation " << i << " " << Describe(op) << ": " << what;
  };
  auto recover = [&]() -> absl::Status {
    h.fs().SetFaults(FaultPlan{});
    h.CloseReal();
    if (absl::Status s = h.OpenReal(); !s.ok()) return s;
    if (content) {
      if (auto c = h.real()->Collect(); !c.ok()) return c.status();
    }
    if (std::string f = CheckFaults(*h.real()); !f.empty()) return absl::InternalError(f);
    return absl::OkStatus();
  };

  int64_t full_disk_until = -1;
  for (int64_t i = 0; i < ops && t.problems == 0; ++i) {
    Op op = w.Next();
    FaultPlan plan = kPlan;
    if (full_disk_until < 0 && rng() % 400 == 0) full_disk_until = i + 20;
    if (full_disk_until >= i) {
      plan.space_left = static_cast<int64_t>(rng() % 4096);
    } else {
      full_disk_until = -1;
    }
    if (op.kind == OpKind::kReopen) {
      h.fs().SetFaults(plan);
      h.CloseReal();
      ++t.reopens_under_faults;
      if (!h.OpenReal().ok()) {
        ++t.failed_opens_under_faults;
        if (absl::Status s = recover(); !s.ok()) {
          problem(i, op, "reopen without faults failed: " + std::string(s.message()));
          return;
        }
      }
      h.fs().SetFaults(FaultPlan{});
      continue;
    }
    ++t.ops;
    const std::string before = Dump(*h.shadow(), w, op.ctx.now);
    const std::string expected = Apply(*h.shadow(), w, op);
    const std::string after = Dump(*h.shadow(), w, op.ctx.now);
    h.fs().SetFaults(plan);
    const std::string got = Apply(*h.real(), w, op);
    h.fs().SetFaults(FaultPlan{});
    if (got == expected) {
      std::string now_state = Dump(*h.real(), w, op.ctx.now);
      if (now_state.rfind("ERROR", 0) == 0) {
        // The store may refuse reads after a background write failed:
        // reopen, as a user would.
        if (absl::Status s = recover(); !s.ok()) {
          problem(i, op, "reopen failed: " + std::string(s.message()));
          return;
        }
        now_state = Dump(*h.real(), w, op.ctx.now);
      }
      if (now_state != after) {
        problem(i, op,
                "answered " + got + " as expected, but the state differs from the shadow's:" +
                    LineDiff(after, now_state));
      }
      continue;
    }
    if (got.rfind("ok", 0) == 0) {
      problem(i, op, "answered " + got + " under faults, expected " + expected);
      return;
    }
    ++t.errors;
    if (absl::Status s = recover(); !s.ok()) {
      problem(i, op, "after the error " + got + ", recovery failed: " + std::string(s.message()));
      return;
    }
    const std::string state = Dump(*h.real(), w, op.ctx.now);
    if (state == after) {
      ++t.applied;
    } else if (state == before) {
      ++t.not_applied;
      const std::string retried = Apply(*h.real(), w, op);
      if (retried != expected) {
        problem(i, op, "retried without faults: " + retried + ", expected " + expected);
        return;
      }
      if (Dump(*h.real(), w, op.ctx.now) != after) {
        problem(i, op, "retried without faults: the state differs from the shadow's");
        return;
      }
    } else {
      problem(i, op,
              "after the error " + got + " the state is neither before nor after it; " +
                  "against before:" + LineDiff(before, state) +
                  "\n against after:" + LineDiff(after, state));
      return;
    }
  }
  FaultCounts c = h.fs().counts();
  faults.writes += c.writes;
  faults.syncs += c.syncs;
  faults.reads += c.reads;
  faults.failed_writes += c.failed_writes;
  faults.failed_syncs += c.failed_syncs;
  faults.failed_reads += c.failed_reads;
  faults.no_space += c.no_space;
}

void Report(const char* name, uint64_t seed, const Totals& t, const FaultCounts& f) {
  std::printf(
      "%s: seed %llu: %lld operations under faults, %lld answered with an error "
      "(%lld applied, %lld not applied and retried), %lld reopens under faults (%lld "
      "failed, then reopened without); faults injected: %lld of %lld writes, %lld of "
      "%lld syncs, %lld of %lld reads, %lld disk full; %lld problems\n",
      name, static_cast<unsigned long long>(seed), (long long)t.ops, (long long)t.errors,
      (long long)t.applied, (long long)t.not_applied, (long long)t.reopens_under_faults,
      (long long)t.failed_opens_under_faults, (long long)f.failed_writes, (long long)f.writes,
      (long long)f.failed_syncs, (long long)f.syncs, (long long)f.failed_reads, (long long)f.reads,
      (long long)f.no_space, (long long)t.problems);
  std::fflush(stdout);
}

// The bug this test found, alone: a read error cutting short the scan of a
// lease's holds made DeleteLease drop the lease and keep the holds it had
// not seen. Here the k-th read of the deletion fails, for every k until the
// deletion succeeds: each failed deletion must change nothing.
TEST(IoFaultTest, LeaseDeletionFailingAtEveryReadChangesNothing) {
  StoreOptions options;
  Harness h(7, options);
  Workload w(7, /*content_store=*/false);
  ASSERT_TRUE(h.OpenReal().ok());
  const OpContext ctx{.ns = "default", .now = absl::FromUnixSeconds(1767225600)};
  for (int i = 0; i < 3; ++i) {
    const std::string lease = "pull-" + std::to_string(i);
    ASSERT_TRUE(h.real()->CreateLease(ctx, lease, std::nullopt).ok());
    std::vector<Descriptor> held;
    for (const auto& b : w.images()[i].all()) held.push_back({b.media_type, b.digest, b.size()});
    ASSERT_TRUE(h.real()->AddLeaseContent(ctx, lease, held).ok());
  }
  const std::string before = Dump(*h.real(), w, ctx.now);
  int failures = 0;
  for (int64_t k = 0;; ++k) {
    ASSERT_LT(k, 1000) << "the deletion never succeeded";
    h.CloseReal();  // flushed, and the block cache is cold after the reopen
    ASSERT_TRUE(h.OpenReal().ok());
    h.fs().SetFaults(FaultPlan{.reads_left = k});
    auto deleted = h.real()->DeleteLease(ctx, "pull-1");
    h.fs().SetFaults(FaultPlan{});
    h.CloseReal();
    ASSERT_TRUE(h.OpenReal().ok());
    EXPECT_EQ(CheckFaults(*h.real()), "") << "after failing read " << k;
    if (deleted.ok()) break;
    ++failures;
    ASSERT_EQ(Dump(*h.real(), w, ctx.now), before)
        << "DeleteLease failed at read " << k << " (" << deleted.status()
        << ") but changed the store:" << LineDiff(before, Dump(*h.real(), w, ctx.now));
  }
  EXPECT_GT(failures, 2);
  const std::string after = Dump(*h.real(), w, ctx.now);
  EXPECT_EQ(after.find("pull-1"), std::string::npos) << after;
  std::printf("lease deletion: failed cleanly at each of its first %d reads, then succeeded\n",
              failures);
}

TEST(IoFaultTest, MetadataStoreNeverHalfApplies) {
  const uint64_t seed = SeedFrom("FAULT_SEED");
  Totals t;
  FaultCounts f;
  RunFaults(/*content=*/false, static_cast<int64_t>(EnvOr("FAULT_OPS", 6000)), seed, t, f);
  Report("io faults, metadata store", seed, t, f);
  EXPECT_EQ(t.problems, 0);
  EXPECT_GT(t.errors, 0);
}

TEST(IoFaultTest, ContentStoreNeverHalfApplies) {
  const uint64_t seed = SeedFrom("FAULT_SEED");
  Totals t;
  FaultCounts f;
  RunFaults(/*content=*/true, static_cast<int64_t>(EnvOr("FAULT_OPS", 6000)), seed + 1, t, f);
  Report("io faults, content store", seed, t, f);
  EXPECT_EQ(t.problems, 0);
  EXPECT_GT(t.errors, 0);
}

}  // namespace
}  // namespace refstore::testing
