#include "refstore/format/codec.h"

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
                .dangling_since_ns = 99};
  auto back = DecodeImage(EncodeImage(r), "k");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->target.raw_digest, r.target.raw_digest);
  EXPECT_EQ(back->content.size(), 2u);
  EXPECT_EQ(back->content[1].size, int64_t{1} << 40);
  EXPECT_EQ(back->labels, r.labels);
  EXPECT_EQ(back->created_ns, -5);
  EXPECT_EQ(back->dangling_since_ns, 99);
  EXPECT_FALSE(IsLegacyImageRecord(EncodeImage(r)));
}

// The layout format version 1 wrote (record version 2, names inside), byte
// by byte, so that the upgrade's reader is checked against the old writer's
// layout rather than against itself.
// Record version 1 lacks the last two fields (last used, pinned).
std::string LegacyRecord(char version = 2) {
  std::string out(1, version);
  auto u64 = [&](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  auto i64 = [&](int64_t v) {
    u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  };
  auto str = [&](std::string_view v) {
    u64(v.size());
    out.append(v);
  };
  str(std::string(32, 'a'));  // target
  i64(1000);
  str("m");
  u64(1);  // content
  str(std::string(32, 'b'));
  i64(300);
  str("l");
  u64(0);  // labels
  i64(5);  // created
  u64(2);  // names
  str("docker.io/library/alpine:3.18");
  i64(42);
  str("x/y:z");
  i64(-7);
  i64(99);                          // dangling since
  u64(3);                           // holders
  str(std::string("\x01\x00", 2));  // owned flags
  if (version >= 2) {
    i64(77);  // last used
    u64(1);   // pinned
  }
  return out;
}

TEST(CodecTest, LegacyImageRecordKeepsEverythingAndYieldsItsNames) {
  const std::string legacy = LegacyRecord();
  EXPECT_TRUE(IsLegacyImageRecord(legacy));
  std::vector<NameEntry> names;
  auto r = DecodeImageWithLegacyNames(legacy, "k", &names);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].full, "docker.io/library/alpine:3.18");
  EXPECT_EQ(names[0].created_ns, 42);
  EXPECT_EQ(names[1].full, "x/y:z");
  EXPECT_EQ(names[1].created_ns, -7);
  EXPECT_EQ(r->created_ns, 5);
  EXPECT_EQ(r->dangling_since_ns, 99);
  EXPECT_EQ(r->holders, 3u);
  EXPECT_TRUE(r->target.owned);
  EXPECT_FALSE(r->content[0].owned);
  EXPECT_EQ(r->last_used_ns, 77);
  EXPECT_TRUE(r->pinned);
  // Re-encoded, it is a current record with the same fields.
  auto again = DecodeImage(EncodeImage(*r), "k");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->holders, 3u);
  EXPECT_EQ(again->last_used_ns, 77);
  // A truncated legacy record is corrupt, never a shorter valid one.
  EXPECT_FALSE(DecodeImage(legacy.substr(0, legacy.size() - 3), "k").ok());
}

TEST(CodecTest, NameValueRoundTrips) {
  auto v = DecodeNameValue(EncodeNameValue(-12345), "k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, -12345);
  EXPECT_FALSE(DecodeNameValue("", "k").ok());
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

  ContainerRecord c{.image_raw = std::string(32, 'x'),
                    .running = true,
                    .created_ns = 3,
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
  const std::string v1 = LegacyRecord(1);
  EXPECT_TRUE(IsLegacyImageRecord(v1));
  std::vector<NameEntry> names;
  auto old = DecodeImageWithLegacyNames(v1, "k", &names);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->last_used_ns, 0);
  EXPECT_FALSE(old->pinned);
  EXPECT_EQ(old->holders, 3u);
  EXPECT_EQ(names.size(), 2u);
  ImageRecord r{.target = Desc('a', 1, "m"), .last_used_ns = 123456789, .pinned = true};
  auto back = DecodeImage(EncodeImage(r), "k");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->last_used_ns, 123456789);
  EXPECT_TRUE(back->pinned);
}

}  // namespace
}  // namespace refstore::internal
