// ApplyLine: one operation line applied to a real store, as `refstore
// apply` and refstore_apply_json run it (the scenario files cover every op
// through the command; here: the result shapes, errors, and `at`).
#include "refstore/oplog/apply_line.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace refstore::oplog {
namespace {

namespace fs = std::filesystem;

const std::string kDigest(64, 'a');
const std::string kConfig(64, 'b');

class ApplyLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("refstore-apply-line-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto s = Store::Open(dir_.string(), {});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  Json Apply(const std::string& line) {
    return ApplyLine(*store_, line, absl::FromUnixSeconds(1767225600));
  }
  std::string CreateLine(const std::string& name, const std::string& digest = kDigest) {
    return R"({"op":"create_image","name":")" + name +
           R"(","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
           digest +
           R"(","size":100},"content":[{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
           kConfig + R"(","size":50}]})";
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ApplyLineTest, ChangesAndReadsGiveTheOplogShapes) {
  Json created = Apply(CreateLine("alpine:3.18"));
  ASSERT_TRUE(IsSuccess(created)) << created.dump();
  EXPECT_EQ(created["id"], "sha256:" + kDigest);
  EXPECT_EQ(created.begin().key(), "ok");  // "ok" comes first

  Json listed = Apply(R"({"op":"images"})");
  ASSERT_TRUE(IsSuccess(listed)) << listed.dump();
  ASSERT_EQ(listed["images"].size(), 1u);
  EXPECT_EQ(listed["images"][0]["size"], 150);

  Json removed = Apply(R"({"op":"rmi","ref":"alpine:3.18"})");
  ASSERT_TRUE(IsSuccess(removed)) << removed.dump();
  EXPECT_EQ(removed["space_reclaimed"], 150);
  ASSERT_EQ(removed["deleted"].size(), 2u);
  EXPECT_EQ(removed["deleted"][0]["Untagged"], "alpine:3.18");
  EXPECT_EQ(removed["deleted"][1]["Deleted"], "sha256:" + kDigest);

  auto images = store_->ListImages({}, {});
  ASSERT_TRUE(images.ok());
  EXPECT_TRUE(images->empty());  // the line did change the store
}

TEST_F(ApplyLineTest, FailuresAreResultsWithTheOplogCodes) {
  Json missing = Apply(R"({"op":"rmi","ref":"nothing:here"})");
  EXPECT_FALSE(IsSuccess(missing));
  EXPECT_EQ(missing["error"]["code"], "not_found");
  EXPECT_EQ(missing["error"]["message"], "No such image: nothing:here");

  Json malformed = Apply("{not json");
  EXPECT_FALSE(IsSuccess(malformed));
  EXPECT_EQ(malformed["error"]["code"], "invalid_argument");

  Json unknown = Apply(R"({"op":"rmi","ref":"a","bogus":1})");
  EXPECT_EQ(unknown["error"]["code"], "invalid_argument");
  EXPECT_EQ(unknown["error"]["message"], "unknown field 'bogus'");

  ASSERT_TRUE(IsSuccess(Apply(CreateLine("alpine:3.18"))));
  ASSERT_TRUE(IsSuccess(Apply(R"({"op":"container_create","id":")" + std::string(64, 'c') +
                              R"(","image":"alpine:3.18"})")));
  Json conflict = Apply(R"({"op":"rmi","ref":"alpine:3.18"})");
  EXPECT_EQ(conflict["error"]["code"], "conflict");
}

TEST_F(ApplyLineTest, AtIsTheOperationsTimeAndNowOtherwise) {
  ASSERT_TRUE(IsSuccess(Apply(CreateLine("a:1"))));
  auto listed = store_->ListImages({}, {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].created, absl::FromUnixSeconds(1767225600));

  std::string line = CreateLine("b:1", std::string(64, 'd'));
  line.insert(1, R"("at":"2026-02-01T00:00:00Z",)");
  ASSERT_TRUE(IsSuccess(Apply(line)));
  auto detail = store_->Inspect({}, "b:1");
  ASSERT_TRUE(detail.ok()) << detail.status();
  EXPECT_EQ(detail->summary.created, absl::FromUnixSeconds(1769904000));
}

}  // namespace
}  // namespace refstore::oplog
