// The blob recount: grouping, the counts and the owners, with buffers small
// enough that every test spills run files.
#include "gc/recount.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "refstore/format/keys.h"

namespace refstore::internal {
namespace {

namespace fs = std::filesystem;

class RecountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-recount-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  bool DirEmpty() const { return fs::is_empty(dir_); }

  fs::path dir_;
};

std::string RawOf(char c) { return std::string(kRawIdSize, c); }

StoredDescriptor D(char c, int64_t size, bool owned = false) {
  return {RawOf(c), size, std::string("type/") + c, owned};
}

ImageRecord Img(char id, std::vector<StoredDescriptor> content, bool owned_target = false) {
  ImageRecord r;
  r.target = D(id, 100, owned_target);
  r.content = std::move(content);
  return r;
}

TEST_F(RecountTest, GroupsEdgesIntoTheRecordEachBlobMustHave) {
  RecountOptions o;
  o.sort_dir = dir_.string();
  o.memory_bytes = 256;  // a few edges per run
  {
    BlobRecount recount(o);
    // ns "a": image 1 owns its target, shares layer 'x' with image 2; ns "b"
    // image 3 (held) uses 'x' too, declaring another size. A lease holds
    // 'y', which no image uses, and 'x'.
    ASSERT_TRUE(recount.AddImage("a", RawOf('1'), Img('1', {D('x', 10)}, true), false).ok());
    ASSERT_TRUE(recount.AddImage("a", RawOf('2'), Img('2', {D('x', 10)}), false).ok());
    ASSERT_TRUE(recount.AddImage("b", RawOf('3'), Img('3', {D('x', 11)}), true).ok());
    ASSERT_TRUE(recount.AddLeaseHold(RawOf('y'), 7, "type/y").ok());
    ASSERT_TRUE(recount.AddLeaseHold(RawOf('x'), -1, "").ok());
    EXPECT_EQ(recount.edges(), 8u);
    EXPECT_GT(recount.runs(), 0u);

    std::vector<ExpectedBlob> got;
    ASSERT_TRUE(recount
                    .ForEach([&](const ExpectedBlob& b) {
                      got.push_back(b);
                      return absl::OkStatus();
                    })
                    .ok());
    ASSERT_EQ(got.size(), 5u);
    // Digest order: '1' '2' '3' 'x' 'y'.
    EXPECT_EQ(got[0].raw, RawOf('1'));
    ASSERT_EQ(got[0].flagged.size(), 1u);
    EXPECT_EQ(got[0].rec.owner_ns, "a");
    EXPECT_EQ(got[0].rec.owner_id, RawOf('1'));
    ASSERT_EQ(got[0].rec.uses.size(), 1u);
    EXPECT_EQ(got[0].rec.uses[0].refs, 1u);
    EXPECT_EQ(got[0].rec.uses[0].held, 0u);
    EXPECT_EQ(got[1].raw, RawOf('2'));
    EXPECT_TRUE(got[1].rec.owner_id.empty());
    EXPECT_EQ(got[2].raw, RawOf('3'));
    ASSERT_EQ(got[2].rec.uses.size(), 1u);
    EXPECT_EQ(got[2].rec.uses[0].held, 1u);

    const ExpectedBlob& x = got[3];
    EXPECT_EQ(x.raw, RawOf('x'));
    EXPECT_EQ(x.rec.size, 10);  // the first image in key order
    EXPECT_EQ(x.rec.media_type, "type/x");
    EXPECT_EQ(x.sizes, (std::vector<int64_t>{10, 11}));
    ASSERT_EQ(x.other_size.size(), 1u);
    EXPECT_EQ(x.other_size[0], std::make_pair(std::string("b"), RawOf('3')));
    EXPECT_TRUE(x.flagged.empty());
    EXPECT_EQ(x.image_uses, 3u);
    EXPECT_EQ(x.rec.lease_refs, 1u);
    ASSERT_EQ(x.rec.uses.size(), 2u);
    EXPECT_EQ(x.rec.uses[0].ns, "a");
    EXPECT_EQ(x.rec.uses[0].refs, 2u);
    EXPECT_EQ(x.rec.uses[0].held, 0u);
    EXPECT_EQ(x.rec.uses[1].ns, "b");
    EXPECT_EQ(x.rec.uses[1].refs, 1u);
    EXPECT_EQ(x.rec.uses[1].held, 1u);

    const ExpectedBlob& y = got[4];
    EXPECT_EQ(y.raw, RawOf('y'));
    EXPECT_EQ(y.rec.size, 7);
    EXPECT_EQ(y.rec.media_type, "type/y");
    EXPECT_EQ(y.rec.lease_refs, 1u);
    EXPECT_TRUE(y.rec.uses.empty());
    EXPECT_TRUE(y.sizes.empty());
  }
  EXPECT_TRUE(DirEmpty());
}

TEST_F(RecountTest, AnOwnerFlagIsKeptOnlyWhileTheImageIsTheOnlyUser) {
  BlobRecount recount({dir_.string(), 1 << 20});
  // Image 1 flags 'x' owned, but image 2 uses it too; image 3 flags 'z'
  // owned, but a lease holds it.
  ASSERT_TRUE(recount.AddImage("a", RawOf('1'), Img('1', {D('x', 10, true)}), false).ok());
  ASSERT_TRUE(recount.AddImage("a", RawOf('2'), Img('2', {D('x', 10)}), false).ok());
  ASSERT_TRUE(recount.AddImage("a", RawOf('3'), Img('3', {D('z', 5, true)}), false).ok());
  ASSERT_TRUE(recount.AddLeaseHold(RawOf('z'), 5, "type/z").ok());
  std::map<std::string, ExpectedBlob> got;
  ASSERT_TRUE(recount
                  .ForEach([&](const ExpectedBlob& b) {
                    got[b.raw] = b;
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(got[RawOf('x')].flagged.size(), 1u);
  EXPECT_EQ(got[RawOf('x')].flagged[0].second, RawOf('1'));
  EXPECT_TRUE(got[RawOf('x')].rec.owner_id.empty());
  EXPECT_EQ(got[RawOf('z')].flagged.size(), 1u);
  EXPECT_TRUE(got[RawOf('z')].rec.owner_id.empty());
}

TEST_F(RecountTest, AnErrorFromTheCallerStopsTheWalk) {
  BlobRecount recount({dir_.string(), 64});
  ASSERT_TRUE(recount.AddImage("a", RawOf('1'), Img('1', {D('x', 10), D('y', 1)}), false).ok());
  int calls = 0;
  absl::Status s = recount.ForEach([&](const ExpectedBlob&) {
    ++calls;
    return absl::DataLossError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace refstore::internal
