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

// Records written byte by byte, so that readers of older layouts are checked
// against the old writers' layouts rather than against themselves.
struct Bytes {
  std::string out;
  explicit Bytes(char version) : out(1, version) {}
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void i64(int64_t v) { u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view v) {
    u64(v.size());
    out.append(v);
  }
};

// The layout format version 1 wrote (record version 2, names inside).
// Record version 1 lacks the last two fields (last used, pinned).
std::string LegacyRecord(char version = 2) {
  Bytes b(version);
  b.str(std::string(32, 'a'));  // target
  b.i64(1000);
  b.str("m");
  b.u64(1);  // content
  b.str(std::string(32, 'b'));
  b.i64(300);
  b.str("l");
  b.u64(0);  // labels
  b.i64(5);  // created
  b.u64(2);  // names
  b.str("docker.io/library/alpine:3.18");
  b.i64(42);
  b.str("x/y:z");
  b.i64(-7);
  b.i64(99);                          // dangling since
  b.u64(3);                           // holders
  b.str(std::string("\x01\x00", 2));  // owned flags
  if (version >= 2) {
    b.i64(77);  // last used
    b.u64(1);   // pinned
  }
  return b.out;
}

constexpr std::string_view kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view kManifest = "application/vnd.oci.image.manifest.v1+json";

// The image record format version 2 wrote (record version 3): media types
// spelled out, names outside.
std::string Format2ImageRecord() {
  Bytes b(3);
  b.str(std::string(32, 'a'));  // target
  b.i64(1000);
  b.str(kManifest);
  b.u64(2);  // content
  b.str(std::string(32, 'b'));
  b.i64(300);
  b.str(kLayerGzip);
  b.str(std::string(32, 'c'));
  b.i64(7);
  b.str("application/x-unknown");
  b.u64(1);  // labels
  b.str("tier");
  b.str("a");
  b.i64(5);                               // created
  b.i64(99);                              // dangling since
  b.u64(3);                               // holders
  b.str(std::string("\x01\x00\x01", 3));  // owned flags
  b.i64(77);                              // last used
  b.u64(0);                               // pinned
  return b.out;
}

// The blob record format version 2 wrote (record version 1).
std::string Format2BlobRecord() {
  Bytes b(1);
  b.i64(300);
  b.str(kLayerGzip);
  b.u64(2);  // lease refs
  b.u64(2);  // uses
  b.str("default");
  b.u64(4);
  b.u64(1);
  b.str("other");
  b.u64(1);
  b.u64(0);
  b.str("default");  // owner
  b.str(std::string(32, 'o'));
  return b.out;
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
  EXPECT_EQ(cb->name, "");
  c.name = "web-1";
  cb = DecodeContainer(EncodeContainer(c), "k");
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->name, "web-1");

  auto lb = DecodeLease(EncodeLease({.has_expiry = true, .expires_ns = 11, .created_ns = 1}), "k");
  ASSERT_TRUE(lb.ok());
  EXPECT_TRUE(lb->has_expiry);
  EXPECT_EQ(lb->expires_ns, 11);
}

// A container record written before names (its fields end after the
// protected names) decodes with no name; a name appended to a record is
// what older readers skip (they ignore fields appended after theirs).
TEST(CodecTest, AContainerRecordWithoutANameFieldHasNoName) {
  ContainerRecord c{.image_raw = std::string(32, 'x'),
                    .running = false,
                    .created_ns = 5,
                    .protected_names = {"a"},
                    .name = "web"};
  const std::string with = EncodeContainer(c);
  c.name = "";
  const std::string empty = EncodeContainer(c);
  // The name field is the last: a length-prefixed string after the rest.
  ASSERT_GT(with.size(), empty.size());
  EXPECT_EQ(with.substr(0, empty.size() - 1), empty.substr(0, empty.size() - 1));
  const std::string before_names = empty.substr(0, empty.size() - 1);  // no name field at all
  auto old = DecodeContainer(before_names, "k");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->name, "");
  EXPECT_EQ(old->protected_names, std::vector<std::string>{"a"});
  EXPECT_EQ(old->created_ns, 5);
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

TEST(CodecTest, RecordsOfFormatVersionTwoReadAsTheyAre) {
  auto img = DecodeImage(Format2ImageRecord(), "k");
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->target.media_type, kManifest);
  EXPECT_EQ(img->target.size, 1000);
  ASSERT_EQ(img->content.size(), 2u);
  EXPECT_EQ(img->content[0].media_type, kLayerGzip);
  EXPECT_EQ(img->content[1].media_type, "application/x-unknown");
  EXPECT_EQ(img->content[1].size, 7);
  EXPECT_EQ(img->labels.at("tier"), "a");
  EXPECT_EQ(img->holders, 3u);
  EXPECT_TRUE(img->target.owned);
  EXPECT_FALSE(img->content[0].owned);
  EXPECT_TRUE(img->content[1].owned);
  EXPECT_EQ(img->last_used_ns, 77);
  EXPECT_FALSE(IsLegacyImageRecord(Format2ImageRecord()));

  auto blob = DecodeBlob(Format2BlobRecord(), "k");
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(blob->size, 300);
  EXPECT_EQ(blob->media_type, kLayerGzip);
  EXPECT_EQ(blob->lease_refs, 2u);
  ASSERT_EQ(blob->uses.size(), 2u);
  EXPECT_EQ(blob->uses[0].refs, 4u);
  EXPECT_EQ(blob->uses[1].ns, "other");
  EXPECT_EQ(blob->owner_id, std::string(32, 'o'));

  // Written again, each is shorter (its known media types are codes) and
  // reads back the same.
  const std::string img_again = EncodeImage(*img);
  const std::string blob_again = EncodeBlob(*blob);
  EXPECT_LT(img_again.size(), Format2ImageRecord().size() - 60);
  EXPECT_EQ(blob_again.size(), Format2BlobRecord().size() - kLayerGzip.size());
  auto img2 = DecodeImage(img_again, "k");
  auto blob2 = DecodeBlob(blob_again, "k");
  ASSERT_TRUE(img2.ok() && blob2.ok());
  EXPECT_EQ(img2->content[0].media_type, kLayerGzip);
  EXPECT_EQ(img2->content[1].media_type, "application/x-unknown");
  EXPECT_EQ(blob2->media_type, kLayerGzip);
  // A truncated old record is corrupt, never a shorter valid one.
  EXPECT_FALSE(DecodeBlob(Format2BlobRecord().substr(0, 20), "k").ok());
}

TEST(CodecTest, EveryMediaTypeRoundTripsAndKnownOnesTakeOneByte) {
  const std::string types[] = {
      "",
      std::string(kManifest),
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.config.v1+json",
      "application/vnd.oci.image.layer.v1.tar",
      std::string(kLayerGzip),
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.oci.empty.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.container.image.v1+json",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      "application/vnd.docker.distribution.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      // Near misses of known types stay strings, exactly as given.
      "application/vnd.oci.image.layer.v1.tar+GZIP",
      "application/vnd.oci.image.layer.v1.tar+gzip ",
      std::string("application/vnd.oci.image.layer.v1.tar\0gzip", 43),
      "text/plain",
  };
  const size_t empty_blob = EncodeBlob({.size = 1, .media_type = ""}).size();
  int coded = 0;
  for (const std::string& type : types) {
    auto blob = DecodeBlob(EncodeBlob({.size = 1, .media_type = type}), "k");
    ASSERT_TRUE(blob.ok()) << type;
    EXPECT_EQ(blob->media_type, type);
    ImageRecord r{.target = Desc('a', 1, type), .content = {Desc('b', 2, type)}};
    auto img = DecodeImage(EncodeImage(r), "k");
    ASSERT_TRUE(img.ok()) << type;
    EXPECT_EQ(img->target.media_type, type);
    EXPECT_EQ(img->content[0].media_type, type);
    const size_t size = EncodeBlob({.size = 1, .media_type = type}).size();
    if (size == empty_blob - 1) {
      ++coded;  // one byte for the code, none for the string
    } else {
      EXPECT_EQ(size, empty_blob + type.size()) << type;
    }
  }
  EXPECT_EQ(coded, 17);  // the 17 known types of codec.cc's list
}

TEST(CodecTest, AnUnknownMediaCodeIsDataLoss) {
  std::string blob = EncodeBlob({.size = 1, .media_type = std::string(kLayerGzip)});
  // Layout: version, size (1 byte), code (1 byte), ...
  ASSERT_EQ(static_cast<uint8_t>(blob[2]), 5u);
  blob[2] = 100;
  EXPECT_EQ(DecodeBlob(blob, "k").status().code(), absl::StatusCode::kDataLoss);
  blob[2] = 18;  // one past the list
  EXPECT_EQ(DecodeBlob(blob, "k").status().code(), absl::StatusCode::kDataLoss);
  blob[2] = 17;  // the last code
  ASSERT_TRUE(DecodeBlob(blob, "k").ok());
  EXPECT_EQ(DecodeBlob(blob, "k")->media_type,
            "application/vnd.docker.distribution.manifest.v1+prettyjws");
}

}  // namespace
}  // namespace refstore::internal
