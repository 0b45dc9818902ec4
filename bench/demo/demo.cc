// refstore-demo: generates a store of N images with shared layers, dangling
// images and containers, then runs `docker image prune -a` on it and prints
// docker's summary plus timings and peak memory.
//
//   refstore-demo [--images N] [--seed S] [--container-share F] [--dir DIR] [--keep]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "refstore/store.h"
#include "refstore/text/go_units.h"
#include "workload/workload.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in kB on Linux
}

struct Flags {
  int64_t images = 100000;
  uint64_t seed = 1;
  double container_share = 0.05;
  std::string dir;
  bool keep = false;
};

int Run(const Flags& flags, const std::string& store_dir) {
  const bool tty = isatty(STDERR_FILENO) == 1;

  // One namespace, as on a docker host; the rest of the shape is the
  // benchmark workload's (bench/workload/workload.h).
  refstore::bench::WorkloadOptions gen{.images = flags.images,
                                       .container_share = flags.container_share,
                                       .namespaces = 1,
                                       .seed = flags.seed};

  auto store = refstore::Store::Open(store_dir, {});
  if (!store.ok()) {
    fmt::print(stderr, "refstore-demo: cannot open {}: {}\n", store_dir, store.status().ToString());
    return 1;
  }

  fmt::print("Generating {} images (seed {}) in {}\n", gen.images, gen.seed, store_dir);
  std::fflush(stdout);
  auto gen_start = Clock::now();
  int64_t images = 0;
  auto generated = refstore::bench::Generate(gen, [&](const refstore::bench::Event& event) {
    if (tty && std::holds_alternative<refstore::bench::CreateImageEvent>(event) &&
        (++images % 1000 == 0 || images == gen.images)) {
      fmt::print(stderr, "\r  generating: {}/{} images\033[K", images, gen.images);
    }
    return refstore::bench::ApplyToStore(**store, event);
  });
  if (tty) fmt::print(stderr, "\r\033[K");
  if (!generated.ok()) {
    fmt::print(stderr, "refstore-demo: generating failed: {}\n", generated.status().ToString());
    return 1;
  }
  const double gen_seconds = SecondsSince(gen_start);
  fmt::print(
      "Images generated: {} ({} multi-platform, {} left dangling by a moved tag), names: {}, "
      "containers: {} ({} running; by name, ID, short ID and name@digest in turn), leases: {}\n",
      generated->images, generated->indexes, generated->dangling, generated->names,
      generated->containers, generated->running, generated->leases);
  fmt::print("Distinct blobs: {} ({})\n", generated->blobs,
             refstore::text::HumanSize(static_cast<double>(generated->blob_bytes)));
  fmt::print("Generate time: {:.2f}s\n", gen_seconds);
  std::fflush(stdout);

  // docker image prune -a, one second after the last generated operation.
  refstore::OpContext ctx{.ns = "ns0", .now = generated->end + absl::Seconds(1)};
  int64_t untagged = 0, deleted = 0;
  refstore::PruneOptions prune;
  prune.all = true;
  prune.on_entry = [&](const refstore::DeleteEntry& e) {
    (e.kind == refstore::DeleteEntry::Kind::kUntagged ? untagged : deleted)++;
  };
  if (tty) {
    prune.on_progress = [&](const refstore::Progress& p) {
      fmt::print(stderr, "\r  pruning: {}/{} images scanned, {} deleted, {} reclaimed\033[K",
                 p.images_scanned, generated->images, p.images_deleted,
                 refstore::text::HumanSize(static_cast<double>(p.space_reclaimed)));
    };
  }
  auto prune_start = Clock::now();
  auto pruned = (*store)->Prune(ctx, prune);
  const double prune_seconds = SecondsSince(prune_start);
  if (tty) fmt::print(stderr, "\r\033[K");
  if (!pruned.ok()) {
    fmt::print(stderr, "refstore-demo: prune failed: {}\n", pruned.status().ToString());
    return 1;
  }

  fmt::print("Deleted entries: {} (untagged {}, deleted {})\n", untagged + deleted, untagged,
             deleted);
  fmt::print("Total reclaimed space: {}\n",
             refstore::text::HumanSize(static_cast<double>(pruned->space_reclaimed)));
  fmt::print("Images deleted: {} of {}\n", pruned->images_deleted, generated->images);
  fmt::print("Prune time: {:.2f}s\n", prune_seconds);
  fmt::print("Peak RSS: {:.1f} MB\n", PeakRssMb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"refstore-demo: generate a store of images sharing layers, then `prune -a` it"};
  app.add_option("--images", flags.images, "Images to generate, base images included")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--seed", flags.seed, "Seed of the generator")->capture_default_str();
  app.add_option("--container-share", flags.container_share, "Share of the images a container uses")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--dir", flags.dir,
                 "Store directory, created and never removed (default: a new temporary "
                 "directory, removed at the end unless --keep)");
  app.add_flag("--keep", flags.keep, "Keep the temporary store directory");
  CLI11_PARSE(app, argc, argv);

  std::string root;  // the temporary directory to remove, if any
  std::string store_dir = flags.dir;
  if (store_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "refstore-demo-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      fmt::print(stderr, "refstore-demo: cannot create a temporary directory\n");
      return 1;
    }
    root = tmpl;
    store_dir = root + "/store";
  } else {
    std::error_code ec;
    if (std::filesystem::exists(store_dir, ec) && !std::filesystem::is_empty(store_dir, ec)) {
      fmt::print(stderr, "refstore-demo: --dir {} is not empty\n", store_dir);
      return 1;
    }
  }

  int rc = Run(flags, store_dir);  // the store is closed when Run returns

  if (!root.empty()) {
    if (flags.keep) {
      fmt::print("Store kept in {}\n", store_dir);
    } else {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    }
  }
  return rc;
}
