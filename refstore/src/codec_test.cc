#include "codec.h"

#include <gtest/gtest.h>

namespace refstore::internal {
namespace {

StoredDescriptor Desc(char fill, int64_t size, std::string type) {
  return {std::string(32, fill), size, std::move(type)};
}

TEST(CodecTest, ImageRoundTrips) {
  ImageRecord r{.target = Desc('a', 1000, "application/vnd.oci.image.manifest.v1+json"),
                .content = {Desc('b', 1500, "config"), Desc('c', int64_t{1} << 40, "layer")},
                .labels = {{"k", "v"}, {"empty", ""}},
                .created_ns = -5,  // before the epoch still round-trips
                .names = {{"docker.io/library/alpine:3.18", 42}, {"x/y:z", 7}},
                .dangling_since_ns = 99};
  auto back = DecodeImage(EncodeImage(r), "k");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->target.raw_digest, r.target.raw_digest);
  EXPECT_EQ(back->content.size(), 2u);
  EXPECT_EQ(back->content[1].size, int64_t{1} << 40);
  EXPECT_EQ(back->labels, r.labels);
  EXPECT_EQ(back->created_ns, -5);
  ASSERT_EQ(back->names.size(), 2u);
  EXPECT_EQ(back->names[0].full, "docker.io/library/alpine:3.18");
  EXPECT_EQ(back->names[0].created_ns, 42);
  EXPECT_EQ(back->dangling_since_ns, 99);
}

TEST(CodecTest, BlobContainerLeaseRoundTrip) {
  BlobRecord in{.size = 7, .media_type = "t", .lease_refs = 2};
  in.Use("prod").refs = 300;
  in.Use("default").held = 1;
  in.Use("default").refs = 2;
  auto blob = DecodeBlob(EncodeBlob(in), "k");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size, 7);
  EXPECT_EQ(blob->image_refs(), 302u);
  EXPECT_EQ(blob->lease_refs, 2u);
  ASSERT_EQ(blob->uses.size(), 2u);
  EXPECT_EQ(blob->uses[0].ns, "default");  // kept sorted by namespace
  EXPECT_EQ(blob->uses[0].held, 1u);
  EXPECT_EQ(blob->FindUse("prod")->refs, 300u);
  EXPECT_EQ(blob->FindUse("other"), nullptr);

  NsStats stats{.images = 3, .active = 1, .size = -1, .shared_size = 5, .reclaimable = 9};
  auto sb = DecodeStats(EncodeStats(stats), "k");
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(*sb, stats);

  ContainerRecord c{.image_raw = std::string(32, 'x'), .running = true, .created_ns = 3,
                    .protected_names = {"a", "b"}};
  auto cb = DecodeContainer(EncodeContainer(c), "k");
  ASSERT_TRUE(cb.ok());
  EXPECT_TRUE(cb->running);
  EXPECT_EQ(cb->protected_names, c.protected_names);

  auto lb = DecodeLease(EncodeLease({.has_expiry = true, .expires_ns = 11, .created_ns = 1}), "k");
  ASSERT_TRUE(lb.ok());
  EXPECT_TRUE(lb->has_expiry);
  EXPECT_EQ(lb->expires_ns, 11);
}

TEST(CodecTest, CorruptInputIsDataLossNamingTheKey) {
  std::string good = EncodeImage({.target = Desc('a', 1, "m")});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto r = DecodeImage(good.substr(0, cut), "images/default/abc");
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find("images/default/abc"), std::string_view::npos);
  }
  std::string wrong_version = good;
  wrong_version[0] = 9;
  EXPECT_EQ(DecodeImage(wrong_version, "k").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeContainer(EncodeContainer({.image_raw = "short"}), "k").ok());
}

TEST(CodecTest, ImageRecordsOfVersionOneReadWithoutTheLaterFields) {
  ImageRecord r{.target = Desc('a', 1, "m"), .last_used_ns = 0, .pinned = false};
  std::string v2 = EncodeImage(r);
  ASSERT_EQ(v2[0], 2);
  // A version 1 record is the same bytes without last_used and pinned (one
  // byte each here).
  std::string v1 = v2.substr(0, v2.size() - 2);
  v1[0] = 1;
  auto old = DecodeImage(v1, "k");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->last_used_ns, 0);
  EXPECT_FALSE(old->pinned);
  r.last_used_ns = 123456789;
  r.pinned = true;
  auto back = DecodeImage(EncodeImage(r), "k");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->last_used_ns, 123456789);
  EXPECT_TRUE(back->pinned);
}

}  // namespace
}  // namespace refstore::internal
