// gen_record_seeds: writes the seed corpus of fuzz_records (encoded records
// of every kind, a byte selecting the kind in front) into the directory
// given as argument. Run once; its output is checked in under
// fuzz/corpus/fuzz_records/ (see fuzz/README.md):
//
//   cmake --build build/fuzz --target gen_record_seeds
//   build/fuzz/gen_record_seeds fuzz/corpus/fuzz_records
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "refstore/format/codec.h"

namespace {

using namespace refstore::internal;

// The first byte of a fuzz_records input: the kind (fuzz_records.cc).
enum class Kind : char { kImage = 0, kBlob, kContainer, kLease, kStats, kGarbage };
using enum Kind;

std::string g_dir;
int g_count = 0;

void Write(const std::string& name, Kind kind, const std::string& value) {
  std::ofstream out(g_dir + "/" + name, std::ios::binary);
  out.put(static_cast<char>(kind));
  out << value;
  if (!out) {
    std::perror(name.c_str());
    std::exit(1);
  }
  ++g_count;
}

std::string Raw(char fill) { return std::string(32, fill); }

const char kManifest[] = "application/vnd.oci.image.manifest.v1+json";
const char kIndex[] = "application/vnd.oci.image.index.v1+json";
const char kConfig[] = "application/vnd.oci.image.config.v1+json";
const char kLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_record_seeds DIR\n");
    return 2;
  }
  g_dir = argv[1];
  const int64_t t0 = 1700000000LL * 1000000000LL;

  // Images.
  ImageRecord alpine{
      .target = {Raw('\xaa'), 1000, kManifest, true},
      .content = {{Raw('\x5f'), 1500, kConfig, true}, {Raw('\xdf'), 3000000, kLayer, false}},
      .labels = {{"maintainer", "someone"}, {"org.opencontainers.image.version", "3.18"}},
      .created_ns = t0,
      .names = {{"docker.io/library/alpine:3.18", t0}, {"docker.io/library/alpine:latest", t0 + 1}},
      .holders = 2,
      .last_used_ns = t0 + 5000,
  };
  Write("image-named", kImage, EncodeImage(alpine));
  ImageRecord dangling{
      .target = {Raw('\x01'), 512, kIndex, false},
      .created_ns = -1,
      .dangling_since_ns = t0 + 42,
      .pinned = true,
  };
  Write("image-dangling-pinned", kImage, EncodeImage(dangling));
  ImageRecord big_sizes{
      .target = {Raw('\xff'), INT64_MAX, kManifest, false},
      .content = {{Raw('\x00'), 0, "", false}},
      .labels = {{"", ""}},
      .created_ns = INT64_MIN,
      .names = {{"localhost:5000/a/b:1@sha256:" + std::string(64, 'c'), INT64_MAX}},
      .dangling_since_ns = INT64_MAX,
      .holders = UINT64_MAX,
      .last_used_ns = INT64_MIN,
  };
  Write("image-extremes", kImage, EncodeImage(big_sizes));
  {
    // Written before last_used_ns and pinned were appended: the record ends
    // after the owned flags.
    ImageRecord old = alpine;
    old.last_used_ns = 0;
    old.pinned = false;
    std::string v = EncodeImage(old);
    v.resize(v.size() - 2);  // two one-byte varints: 0, 0
    Write("image-format-without-appended-fields", kImage, v);
    std::string cut = EncodeImage(alpine);
    Write("image-truncated", kImage, cut.substr(0, cut.size() / 2));
    cut[0] = 2;
    Write("image-unknown-version", kImage, cut);
  }

  // Blobs.
  BlobRecord shared{.size = 3000000, .media_type = kLayer, .lease_refs = 1};
  shared.Use("default").refs = 2;
  shared.Use("default").held = 1;
  shared.Use("prod").refs = 1;
  Write("blob-shared", kBlob, EncodeBlob(shared));
  BlobRecord owned{
      .size = 1500, .media_type = kConfig, .owner_ns = "default", .owner_id = Raw('\xaa')};
  owned.Use("default").refs = 1;
  Write("blob-owned", kBlob, EncodeBlob(owned));
  Write("blob-lease-only", kBlob,
        EncodeBlob({.size = 0, .media_type = kManifest, .lease_refs = 3}));

  // Containers.
  Write("container-running", kContainer,
        EncodeContainer({.image_raw = Raw('\xaa'),
                         .running = true,
                         .created_ns = t0,
                         .protected_names = {"docker.io/library/alpine:3.18"}}));
  Write("container-stopped", kContainer,
        EncodeContainer({.image_raw = Raw('\x01'), .created_ns = t0 - 1}));
  Write("container-short-id", kContainer, EncodeContainer({.image_raw = "short"}));

  // Leases.
  Write("lease-expiring", kLease,
        EncodeLease({.has_expiry = true, .expires_ns = t0 + 3600000000000LL, .created_ns = t0}));
  Write("lease-forever", kLease, EncodeLease({.created_ns = t0}));

  // Stats.
  Write("stats", kStats,
        EncodeStats({.images = 3,
                     .active = 1,
                     .size = 3002500,
                     .shared_size = 1500,
                     .reclaimable = 3000000}));
  Write("stats-negative", kStats, EncodeStats({.images = -1, .size = INT64_MIN}));

  // Garbage.
  Write("garbage", kGarbage, EncodeGarbage({.size = 3000000}));
  Write("garbage-negative-size", kGarbage, "\x01\x01");  // zigzag 1 = -1: DataLoss

  std::printf("gen_record_seeds: wrote %d seeds to %s\n", g_count, g_dir.c_str());
  return 0;
}
