// Pulls racing prunes and collections (issue 6, item 5; run under
// ThreadSanitizer by the tsan preset): 8 threads pull images under leases
// (blobs written, image created under the lease, lease deleted), remove,
// tag, and create, start, stop and remove containers, while 2 more threads
// prune and collect over and over. Every thread checks, while its lease is
// live, that each blob written under it is on disk: a collector that deleted
// a live lease's blob would be caught there. At the end Check is clean.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gc/content_dir.h"
#include "gc/test_image.h"
#include "refstore/store.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using gc::testing::Blob;
using gc::testing::Image;

constexpr int kPullers = 8;
constexpr int kImages = 24;

OpContext Ctx() { return {"default", absl::FromUnixSeconds(1767225600)}; }
Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

bool Expected(const absl::Status& s) {
  return s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsAlreadyExists(s) || absl::IsAborted(s);
}

TEST(PullRaceTest, PullsUnderLeasesSurvivePrunesAndCollections) {
  const fs::path dir = fs::temp_directory_path() / ("refstore-pullrace-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  StoreOptions options;
  options.content_store = true;
  options.prune_batch = 3;
  auto opened = Store::Open(dir.string(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  std::printf("pull race: seed %llu\n", static_cast<unsigned long long>(seed));

  std::vector<Image> pool;
  for (int i = 0; i < kImages; ++i) {
    pool.push_back(gc::testing::MakeImage(
        absl::StrCat("config ", i), {absl::StrCat("shared layer ", i % 5, std::string(2000, 's')),
                                     absl::StrCat("own layer ", i)}));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> pulls{0}, lost{0}, unexpected{0};
  auto fail = [&](const absl::Status& s, const char* what) {
    if (!Expected(s)) {
      ++unexpected;
      ADD_FAILURE() << what << ": " << s;
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kPullers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 31 + t);
      for (int step = 0; step < 150; ++step) {
        const Image& img = pool[rng() % pool.size()];
        const std::string name = absl::StrCat("r", rng() % 6, ":", rng() % 4);
        const int pick = static_cast<int>(rng() % 10);
        if (pick < 5) {  // a pull
          const std::string lease = absl::StrCat("pull-", t, "-", step);
          fail(store.CreateLease(Ctx(), lease, std::nullopt), "lease");
          bool ok = true;
          for (const Blob& b : img.all()) {
            absl::Status s = store.WriteBlob(Ctx(), lease, Desc(b), gc::StringReader(b.bytes));
            fail(s, "write");
            ok = ok && s.ok();
          }
          // While the lease lives, every blob written under it is on disk.
          for (const Blob& b : img.all()) {
            if (ok && !fs::exists(dir / "content/blobs/sha256" / b.hex())) ++lost;
          }
          CreateImageRequest req{.name = name, .target = Desc(img.target), .lease = lease};
          for (const Blob& b : img.content) req.content.push_back(Desc(b));
          if (ok) fail(store.CreateImage(Ctx(), req).status(), "create");
          fail(store.DeleteLease(Ctx(), lease).status(), "lease delete");
          ++pulls;
        } else if (pick < 7) {
          fail(store.RemoveImage(Ctx(), name, rng() % 2 == 0).status(), "rmi");
        } else if (pick < 8) {
          fail(store.Tag(Ctx(), img.target.digest, name), "tag");
        } else {
          const std::string cid = gc::Sha256Hex(absl::StrCat("c", t, "-", rng() % 3));
          switch (rng() % 4) {
            case 0: fail(store.CreateContainer(Ctx(), cid, name, false).status(), "ctr"); break;
            case 1: fail(store.StartContainer(Ctx(), cid), "start"); break;
            case 2: fail(store.StopContainer(Ctx(), cid), "stop"); break;
            default: fail(store.RemoveContainer(Ctx(), cid), "ctr rm"); break;
          }
        }
      }
    });
  }
  std::thread pruner([&] {
    for (int i = 0; !stop; ++i) {
      fail(store.Prune(Ctx(), {.all = i % 2 == 0}).status(), "prune");
      fail(store.Prune(Ctx(), {.all = true, .dry_run = true}).status(), "dry run");
    }
  });
  std::thread collector([&] {
    while (!stop) fail(store.Collect().status(), "collect");
  });
  for (auto& th : threads) th.join();
  stop = true;
  pruner.join();
  collector.join();

  std::printf("pull race: %d pulls, %d blobs of a live lease missing\n", pulls.load(), lost.load());
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  ASSERT_TRUE(store.Collect().ok());
  CheckOptions co;
  auto problems = store.Check(co);
  ASSERT_TRUE(problems.ok()) << problems.status();
  for (const auto& p : Faults(*problems)) {
    ADD_FAILURE() << "seed " << seed << ": " << p.category << " " << p.subject << " " << p.detail;
  }
  opened->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace refstore
