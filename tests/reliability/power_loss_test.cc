// Power loss (issue 6, item 3). A store runs the workload over FaultFs,
// beside a shadow store; at a random moment the power goes off (a random
// number of disk-changing calls after the round starts, so cuts land inside
// operations, memtable flushes on close, and reopens), the store is closed,
// everything not synced is dropped, and the store is reopened. Then:
//
//  * with sync_writes: the recovered state is the state after the last
//    acknowledged operation, or after the operation in flight: 0 lost;
//  * without: it is the state after some prefix of the acknowledged
//    operations (no holes);
//  * and in both, after one collection, Check (every blob file hashed)
//    finds no fault: every image's blobs are there, whole.
//
// POWER_CUTS (default 120 per test, two tests) and POWER_SEED (printed)
// replay a run exactly: the workload, the cut points and the fault file
// system all follow from the seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "harness.h"

namespace refstore::testing {
namespace {

struct Point {
  absl::Time now;
  std::string dump;
};

struct Totals {
  int64_t cuts = 0, inside_ops = 0, between_ops = 0, in_reopen = 0;
  int64_t ops_acked = 0, ops_lost = 0, in_flight_applied = 0;
  int64_t bytes_dropped = 0, files_truncated = 0, entries_undone = 0;
  int64_t problems = 0;
};

void RunCuts(bool sync, bool content, int cuts, uint64_t seed, Totals& t) {
  StoreOptions options;
  options.sync_writes = sync;
  options.content_store = content;
  Harness h(seed, options);
  Workload w(seed, content);
  std::mt19937_64 rng(seed * 31 + 7);
  ASSERT_TRUE(h.OpenShadow().ok());
  ASSERT_TRUE(h.OpenReal().ok());
  auto problem = [&](int round, const std::string& what) {
    ++t.problems;
    ADD_FAILURE() << "seed " << seed << " (POWER_SEED=" << seed << "), sync=" << sync
                  << " content=" << content << ", cut " << round << ": " << what;
  };

  for (int round = 0; round < cuts && t.problems == 0; ++round) {
    absl::Time now = absl::FromUnixSeconds(1767225600);
    std::vector<Point> history;  // states after each acknowledged operation
    std::optional<Point> in_flight;
    // Up to 40 operations; the cut comes after 1..240 disk-changing calls.
    h.fs().CutAfter(1 + static_cast<int64_t>(rng() % 240));
    bool reopen_cut = false;
    for (int k = 0; k < 40 && !h.fs().power_off(); ++k) {
      Op op = w.Next();
      now = op.ctx.now;
      if (history.empty()) history.push_back({now, Dump(*h.shadow(), w, now)});
      if (op.kind == OpKind::kReopen) {
        h.CloseReal();  // flushes the memtables: SST files, MANIFEST
        if (h.fs().power_off() || !h.OpenReal().ok()) {
          reopen_cut = true;
          break;
        }
        continue;
      }
      const std::string expected = Apply(*h.shadow(), w, op);
      const std::string got = Apply(*h.real(), w, op);
      if (std::getenv("POWER_TRACE")) {
        std::fprintf(stderr, "cut %d: %s -> %s%s\n", round, Describe(op).c_str(), got.c_str(),
                     got == expected ? "" : (" (shadow: " + expected + ")").c_str());
      }
      Point after{now, Dump(*h.shadow(), w, now)};
      if (h.fs().power_off() && got != expected) {
        in_flight = after;  // failed by the cut: may or may not have happened
        break;
      }
      // Acknowledged with the expected result (even if the power went off
      // during it, in a background flush or after its last write): it must
      // survive the cut.
      if (got != expected) {
        problem(round,
                "without a cut, " + Describe(op) + " gave " + got + ", expected " + expected);
        return;
      }
      history.push_back(after);
    }
    ++t.cuts;
    if (reopen_cut) {
      ++t.in_reopen;
    } else if (in_flight) {
      ++t.inside_ops;
    } else {
      ++t.between_ops;
      h.fs().CutNow();
    }
    h.CloseReal();
    DropStats d = h.fs().DropUnsynced();
    t.bytes_dropped += d.bytes_dropped;
    t.files_truncated += d.files_truncated;
    t.entries_undone += d.entries_undone;
    if (absl::Status s = h.OpenReal(); !s.ok()) {
      problem(round, "reopen after the cut failed: " + std::string(s.message()));
      return;
    }
    if (content) {
      if (auto c = h.real()->Collect(); !c.ok()) {
        problem(round, "collect after the cut failed: " + std::string(c.status().message()));
        return;
      }
    }
    if (std::string f = CheckFaults(*h.real()); !f.empty()) {
      problem(round, "check after the cut: " + f);
      return;
    }
    const int64_t acked = history.empty() ? 0 : static_cast<int64_t>(history.size()) - 1;
    t.ops_acked += acked;
    // Candidates: with sync, the last acknowledged state or the one after
    // the operation in flight; without, any prefix.
    std::vector<std::pair<int64_t, const Point*>> candidates;
    if (in_flight) candidates.push_back({acked + 1, &*in_flight});
    for (int64_t i = acked; i >= 0; --i) {
      if (!history.empty()) candidates.push_back({i, &history[static_cast<size_t>(i)]});
      if (sync) break;
    }
    int64_t matched = -1;
    std::string last_dump;
    for (const auto& [ops, point] : candidates) {
      last_dump = Dump(*h.real(), w, point->now);
      if (last_dump == point->dump) {
        matched = ops;
        break;
      }
    }
    if (history.empty()) matched = 0;  // cut before the first operation: nothing to compare
    if (matched < 0) {
      const Point& last = history.back();
      problem(round, absl::StrCat("the recovered state is no prefix of the ", acked,
                                  " acknowledged operations\n  ",
                                  LineDiff(last.dump, Dump(*h.real(), w, last.now))));
      if (std::getenv("POWER_TRACE")) {
        std::fprintf(stderr, "expected:\n%s\nrecovered:\n%s\n", last.dump.c_str(),
                     Dump(*h.real(), w, last.now).c_str());
      }
      return;
    }
    if (matched > acked) {
      ++t.in_flight_applied;
    } else {
      t.ops_lost += acked - matched;
    }
    if (absl::Status s = h.ResyncShadow(); !s.ok()) {
      problem(round, "resync: " + std::string(s.message()));
      return;
    }
  }
}

void Report(const char* name, uint64_t seed, const Totals& t) {
  std::printf(
      "%s: seed %llu: %lld cuts (%lld inside an operation, %lld between, %lld in a "
      "close/reopen), %lld operations acknowledged, %lld lost, %lld in-flight applied; "
      "dropped %lld unsynced bytes in %lld files, undid %lld directory changes; "
      "%lld problems\n",
      name, static_cast<unsigned long long>(seed), (long long)t.cuts, (long long)t.inside_ops,
      (long long)t.between_ops, (long long)t.in_reopen, (long long)t.ops_acked,
      (long long)t.ops_lost, (long long)t.in_flight_applied, (long long)t.bytes_dropped,
      (long long)t.files_truncated, (long long)t.entries_undone, (long long)t.problems);
  std::fflush(stdout);
}

TEST(PowerLossTest, SyncedWritesLoseNothing) {
  const uint64_t seed = SeedFrom("POWER_SEED");
  const int cuts = static_cast<int>(EnvOr("POWER_CUTS", 120));
  Totals t;
  // Half the cuts on a content store, half on a metadata-only one.
  RunCuts(/*sync=*/true, /*content=*/true, cuts / 2, seed, t);
  RunCuts(/*sync=*/true, /*content=*/false, cuts - cuts / 2, seed + 1, t);
  Report("power loss, synced writes", seed, t);
  EXPECT_EQ(t.ops_lost, 0);
  EXPECT_EQ(t.problems, 0);
  EXPECT_EQ(t.cuts, cuts);
}

TEST(PowerLossTest, UnsyncedWritesRecoverAPrefix) {
  const uint64_t seed = SeedFrom("POWER_SEED");
  const int cuts = static_cast<int>(EnvOr("POWER_CUTS", 120));
  Totals t;
  RunCuts(/*sync=*/false, /*content=*/true, cuts / 2, seed + 2, t);
  RunCuts(/*sync=*/false, /*content=*/false, cuts - cuts / 2, seed + 3, t);
  Report("power loss, unsynced writes", seed, t);
  EXPECT_EQ(t.problems, 0);
  EXPECT_EQ(t.cuts, cuts);
}

}  // namespace
}  // namespace refstore::testing
