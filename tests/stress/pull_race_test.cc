// Pulls racing prunes and collections (issue 6, item 5; run under
// ThreadSanitizer by the tsan preset): 8 threads pull images under leases
// (lease created, every blob written into the content store under it, image
// created under the lease, lease deleted), remove, tag, and create, start,
// stop and remove containers, while 2 more threads prune (real and dry runs)
// and collect over and over; the pullers start once both are running. Every
// puller checks, twice while its lease is live (after writing the blobs, and
// after creating the image), that each blob written under it is on disk: a
// collector that deleted a live lease's blob would be caught there. At the end
// Check is clean. The seed and the figures are printed; the threads' order is
// up to the scheduler, so a seed (--gtest_random_seed=N) replays the choices,
// not the interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "refstore/content/content_dir.h"
#include "refstore/store.h"
#include "tests/support/test_image.h"

namespace refstore {
namespace {

namespace fs = std::filesystem;
using test_oci::Blob;
using test_oci::Image;

constexpr int kPullers = 8;
constexpr int kImages = 24;
constexpr int kSteps = 150;  // operations per puller

OpContext Ctx() { return {"default", absl::FromUnixSeconds(1767225600)}; }
Descriptor Desc(const Blob& b) { return {b.media_type, b.digest, b.size()}; }

bool Expected(const absl::Status& s) {
  return s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsAlreadyExists(s) || absl::IsAborted(s);
}

TEST(PullRaceTest, PullsUnderLeasesSurvivePrunesAndCollections) {
  const fs::path dir =
      fs::temp_directory_path() / ("refstore-pullrace-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  StoreOptions options;
  options.content_store = true;
  options.prune_batch = 3;
  auto opened = Store::Open(dir.string(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  std::printf("pull race: seed %llu (replay the choices with --gtest_random_seed=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  std::vector<Image> pool;
  for (int i = 0; i < kImages; ++i) {
    pool.push_back(test_oci::MakeImage(
        absl::StrCat("config ", i), {absl::StrCat("shared layer ", i % 5, std::string(2000, 's')),
                                     absl::StrCat("own layer ", i)}));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};  // the pruner and the collector, once started
  std::atomic<int> pulls{0}, images{0}, removes{0}, tags{0}, container_ops{0};
  std::atomic<int> prunes{0}, dry_runs{0}, pruned_images{0}, collections{0};
  std::atomic<int64_t> files_collected{0};
  std::atomic<int> lost{0}, unexpected{0};
  auto fail = [&](const absl::Status& s, const char* what) {
    if (!Expected(s)) {
      ++unexpected;
      ADD_FAILURE() << what << ": " << s;
    }
  };
  // A pull's own steps on its own lease (which never expires and which no
  // one else touches) must succeed.
  auto must = [&](const absl::Status& s, const char* what) {
    if (!s.ok()) {
      ++unexpected;
      ADD_FAILURE() << what << ": " << s;
    }
    return s.ok();
  };
  // Blobs of `img` missing from disk.
  auto missing = [&](const Image& img) {
    int n = 0;
    for (const Blob& b : img.all()) n += !fs::exists(dir / "content/blobs/sha256" / b.hex());
    return n;
  };

  std::thread pruner([&] {
    ++running;
    int i = 0;
    do {
      auto pruned = store.Prune(Ctx(), {.all = i++ % 2 == 0});
      fail(pruned.status(), "prune");
      if (pruned.ok()) {
        ++prunes;
        pruned_images += static_cast<int>(pruned->images_deleted);
      }
      fail(store.Prune(Ctx(), {.all = true, .dry_run = true}).status(), "dry run");
      ++dry_runs;
    } while (!stop);
  });
  std::thread collector([&] {
    ++running;
    do {
      auto collected = store.Collect();
      fail(collected.status(), "collect");
      if (collected.ok()) files_collected += collected->files_deleted;
      ++collections;
    } while (!stop);
  });
  while (running < 2) std::this_thread::yield();

  std::vector<std::thread> threads;
  for (int t = 0; t < kPullers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 31 + t);
      for (int step = 0; step < kSteps; ++step) {
        const Image& img = pool[rng() % pool.size()];
        const std::string name = absl::StrCat("r", rng() % 6, ":", rng() % 4);
        const int pick = static_cast<int>(rng() % 10);
        if (pick < 5) {  // a pull
          const std::string lease = absl::StrCat("pull-", t, "-", step);
          if (!must(store.CreateLease(Ctx(), lease, std::nullopt), "lease")) continue;
          bool ok = true;
          for (const Blob& b : img.all()) {
            ok = must(store.WriteBlob(Ctx(), lease, Desc(b), content::StringReader(b.bytes)),
                      "write") &&
                 ok;
          }
          // While the lease lives, every blob written under it is on disk.
          if (ok) lost += missing(img);
          CreateImageRequest req{.name = name, .target = Desc(img.target), .lease = lease};
          for (const Blob& b : img.content) req.content.push_back(Desc(b));
          if (ok) {
            images += must(store.CreateImage(Ctx(), req).status(), "create");
            lost += missing(img);  // the lease still holds every blob
          }
          must(store.DeleteLease(Ctx(), lease).status(), "lease delete");
          ++pulls;
        } else if (pick < 7) {
          fail(store.RemoveImage(Ctx(), name, rng() % 2 == 0).status(), "rmi");
          ++removes;
        } else if (pick < 8) {
          fail(store.Tag(Ctx(), img.target.digest, name), "tag");
          ++tags;
        } else {
          const std::string cid = content::Sha256Hex(absl::StrCat("c", t, "-", rng() % 3));
          switch (rng() % 4) {
            case 0:
              fail(store.CreateContainer(Ctx(), cid, name, false).status(), "ctr");
              break;
            case 1:
              fail(store.StartContainer(Ctx(), cid), "start");
              break;
            case 2:
              fail(store.StopContainer(Ctx(), cid), "stop");
              break;
            default:
              fail(store.RemoveContainer(Ctx(), cid), "ctr rm");
              break;
          }
          ++container_ops;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  pruner.join();
  collector.join();

  std::printf(
      "pull race: seed %llu; %d pullers x %d operations: %d pulls (%d images created), %d "
      "removes, %d tags, %d container operations; concurrently %d prunes (%d images pruned) "
      "+ %d dry runs, %d collections (%lld files deleted); %d blobs of a live lease missing\n",
      static_cast<unsigned long long>(seed), kPullers, kSteps, pulls.load(), images.load(),
      removes.load(), tags.load(), container_ops.load(), prunes.load(), pruned_images.load(),
      dry_runs.load(), collections.load(), static_cast<long long>(files_collected.load()),
      lost.load());
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(prunes.load(), 0);
  EXPECT_GT(collections.load(), 0);
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
