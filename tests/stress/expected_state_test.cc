// Unit test of the crash test's expected state: acknowledged results applied,
// lost operations found and named, the in-flight operation's outcomes
// accepted (both, and for a prune any allowed subset) and nothing else.
#include "expected_state.h"

#include <gtest/gtest.h>

#include <string>

namespace refstore::stress {
namespace {

using nlohmann::json;

std::string D(char c) { return "sha256:" + std::string(64, c); }

class ExpectedStateTest : public ::testing::Test {
 protected:
  // Begins and acknowledges `op` with result `end` (code OK unless given).
  void Ack(json op, json end = json::object()) {
    op["b"] = seq_;
    ASSERT_EQ(state_.Begin(op), "");
    end["e"] = seq_++;
    if (!end.contains("code")) end["code"] = "OK";
    auto problems = state_.End(end);
    ASSERT_TRUE(problems.empty()) << problems[0];
  }
  void Start(json op) {
    op["b"] = seq_++;
    ASSERT_EQ(state_.Begin(op), "");
  }
  // An image (target `t`, one layer `l` of 10 bytes, target 5 bytes) pulled
  // under lease "p" and named `name` (if not empty); the lease is deleted.
  void Pull(char t, char l, const std::string& name) {
    Ack({{"op", "create_lease"}, {"lease", "p"}});
    Ack({{"op", "write_blob"}, {"lease", "p"}, {"digest", D(t)}, {"size", 5}});
    Ack({{"op", "write_blob"}, {"lease", "p"}, {"digest", D(l)}, {"size", 10}});
    json op = {{"op", "create_image"},
               {"target", json::array({D(t), 5})},
               {"content", json::array({json::array({D(l), 10})})},
               {"lease", "p"}};
    if (!name.empty()) op["name"] = name;
    Ack(op, {{"id", D(t)}});
    Ack({{"op", "delete_lease"}, {"lease", "p"}}, {{"freed", 0}});
  }

  ExpectedState state_;
  int64_t seq_ = 100;
};

TEST_F(ExpectedStateTest, AcknowledgedResultsMakeTheModel) {
  Pull('a', '1', "r0:t0");
  Pull('b', '1', "r0:t0");  // the name moves
  Ack({{"op", "tag"}, {"source", D('a')}, {"target", "r1:t1"}});
  Ack({{"op", "pin"}, {"ref", "r1:t1"}, {"pinned", true}});
  Ack({{"op", "create_container"}, {"id", "c1"}, {"ref", "r0:t0"}, {"running", true}},
      {{"id", D('b')}});
  Ack({{"op", "rmi"}, {"ref", "r9:t9"}, {"force", false}}, {{"code", "NOT_FOUND"}});
  const StoreModel& m = state_.model();
  ASSERT_EQ(m.images.size(), 2u);
  EXPECT_EQ(m.images.at(D('a')).names, std::set<std::string>{"r1:t1"});
  EXPECT_TRUE(m.images.at(D('a')).pinned);
  EXPECT_EQ(m.images.at(D('b')).names, std::set<std::string>{"r0:t0"});
  EXPECT_EQ(m.containers.at("c1").image, D('b'));
  EXPECT_TRUE(m.leases.empty());
  EXPECT_EQ(state_.acknowledged(), 14);

  auto v = state_.Verify(m);
  EXPECT_TRUE(v.problems.empty());
  EXPECT_EQ(v.in_flight_outcome, "");
}

TEST_F(ExpectedStateTest, ReclaimedBytesMustBeTheFreedBlobs) {
  Pull('a', '1', "r0:t0");
  Pull('b', '1', "r1:t0");
  Ack({{"op", "rmi"}, {"ref", "r0:t0"}, {"force", false}},
      {{"entries", json::array({json::array({"U", "r0:t0"}), json::array({"D", D('a')})})},
       {"reclaimed", 5}});  // layer 1 still used
  Start({{"op", "rmi"}, {"ref", "r1:t0"}, {"force", false}});
  auto problems = state_.End(
      {{"e", seq_ - 1},
       {"code", "OK"},
       {"entries", json::array({json::array({"U", "r1:t0"}), json::array({"D", D('b')})})},
       {"reclaimed", 5}});  // 15 freed
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("15"), std::string::npos) << problems[0];
}

TEST_F(ExpectedStateTest, AnAcknowledgedOperationMissingIsLost) {
  Pull('a', '1', "r0:t0");
  const int64_t tag_seq = seq_;
  Ack({{"op", "tag"}, {"source", "r0:t0"}, {"target", "r1:t0"}});
  StoreModel actual = state_.model();
  actual.images[D('a')].names.erase("r1:t0");
  auto v = state_.Verify(actual);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.lost, std::set<int64_t>{tag_seq});
  EXPECT_NE(v.problems[0].find("name r1:t0"), std::string::npos) << v.problems[0];
}

TEST_F(ExpectedStateTest, AnAcknowledgedRemovalUndoneIsLost) {
  Pull('a', '1', "r0:t0");
  const StoreModel before = state_.model();
  const int64_t rmi_seq = seq_;
  Ack({{"op", "rmi"}, {"ref", "r0:t0"}, {"force", false}},
      {{"entries", json::array({json::array({"U", "r0:t0"}), json::array({"D", D('a')})})},
       {"reclaimed", 15}});
  auto v = state_.Verify(before);
  EXPECT_EQ(v.lost, std::set<int64_t>{rmi_seq});
  EXPECT_EQ(v.problems.size(), 2u);  // the image and its name
}

TEST_F(ExpectedStateTest, InFlightCreateImageEitherWay) {
  for (bool applied : {false, true}) {
    SCOPED_TRACE(applied);
    ExpectedState fresh;
    state_ = fresh;
    Pull('a', '1', "r0:t0");
    Ack({{"op", "create_lease"}, {"lease", "p"}});
    Ack({{"op", "write_blob"}, {"lease", "p"}, {"digest", D('b')}, {"size", 5}});
    Ack({{"op", "write_blob"}, {"lease", "p"}, {"digest", D('1')}, {"size", 10}});
    StoreModel actual = state_.model();
    Start({{"op", "create_image"},
           {"target", json::array({D('b'), 5})},
           {"content", json::array({json::array({D('1'), 10})})},
           {"lease", "p"},
           {"name", "r0:t0"}});
    if (applied) {
      actual.images[D('a')].names.clear();
      actual.images[D('b')].names = {"r0:t0"};
    }
    auto v = state_.Verify(actual);
    EXPECT_TRUE(v.problems.empty()) << v.problems[0];
    EXPECT_EQ(v.in_flight_outcome, applied ? "applied" : "none");
    EXPECT_EQ(state_.model().images.size(), applied ? 2u : 1u);
    EXPECT_FALSE(state_.in_flight());
  }
}

TEST_F(ExpectedStateTest, InFlightCreateImageHalfAppliedIsAProblem) {
  Pull('a', '1', "r0:t0");
  Ack({{"op", "create_lease"}, {"lease", "p"}});
  Ack({{"op", "write_blob"}, {"lease", "p"}, {"digest", D('b')}, {"size", 5}});
  StoreModel actual = state_.model();
  Start({{"op", "create_image"},
         {"target", json::array({D('b'), 5})},
         {"content", json::array()},
         {"lease", "p"},
         {"name", "r0:t0"}});
  actual.images[D('b')].names = {"r0:t0"};  // the name is on both images
  auto v = state_.Verify(actual);
  EXPECT_FALSE(v.problems.empty());
  EXPECT_EQ(v.in_flight_outcome, "unexplained");
}

TEST_F(ExpectedStateTest, InFlightPruneAnySubsetOfWhatItMayDelete) {
  Pull('a', '1', "");
  Pull('b', '2', "");
  Pull('c', '3', "");
  Pull('d', '4', "r0:t0");
  Ack({{"op", "create_container"}, {"id", "c1"}, {"ref", D('c')}, {"running", false}},
      {{"id", D('c')}});
  StoreModel actual = state_.model();
  Start({{"op", "prune"}, {"all", false}});
  actual.images.erase(D('b'));  // a, b are candidates; c is held, d named
  auto v = state_.Verify(actual);
  EXPECT_TRUE(v.problems.empty()) << v.problems[0];
  EXPECT_EQ(v.in_flight_outcome, "applied (some or all of it)");
  EXPECT_FALSE(state_.model().images.contains(D('b')));

  for (char victim : {'c', 'd'}) {
    SCOPED_TRACE(victim);
    actual = state_.model();
    Start({{"op", "prune"}, {"all", false}});
    actual.images.erase(D(victim));
    v = state_.Verify(actual);
    EXPECT_FALSE(v.problems.empty());
  }
}

TEST_F(ExpectedStateTest, InFlightPruneAllUntagsHeldImagesButKeepsOneName) {
  Pull('a', '1', "r0:t0");
  Ack({{"op", "tag"}, {"source", "r0:t0"}, {"target", "r1:t0"}});
  Ack({{"op", "tag"}, {"source", "r0:t0"}, {"target", "r2:t0"}});
  Ack({{"op", "create_container"}, {"id", "c1"}, {"ref", "r1:t0"}, {"running", true}},
      {{"id", D('a')}});
  const StoreModel before = state_.model();

  StoreModel actual = before;
  actual.images[D('a')].names = {"r1:t0"};  // the protected name stays
  Start({{"op", "prune"}, {"all", true}});
  auto v = state_.Verify(actual);
  EXPECT_TRUE(v.problems.empty()) << v.problems[0];

  ExpectedState fresh;
  state_ = fresh;
  seq_ = 100;
  Pull('a', '1', "r0:t0");
  Ack({{"op", "tag"}, {"source", "r0:t0"}, {"target", "r1:t0"}});
  Ack({{"op", "tag"}, {"source", "r0:t0"}, {"target", "r2:t0"}});
  Ack({{"op", "create_container"}, {"id", "c1"}, {"ref", "r1:t0"}, {"running", true}},
      {{"id", D('a')}});
  actual = before;
  actual.images[D('a')].names = {"r0:t0"};  // the protected name went
  Start({{"op", "prune"}, {"all", true}});
  v = state_.Verify(actual);
  EXPECT_FALSE(v.problems.empty());
}

TEST_F(ExpectedStateTest, InFlightRmiOnlyTouchesTheImageItSelects) {
  Pull('a', '1', "r0:t0");
  Pull('b', '2', "r1:t0");
  StoreModel actual = state_.model();
  Start({{"op", "rmi"}, {"ref", "r0:t0"}, {"force", false}});
  actual.images.erase(D('b'));
  auto v = state_.Verify(actual);
  EXPECT_FALSE(v.problems.empty());

  actual = state_.model();
  Start({{"op", "rmi"}, {"ref", "r0:t0"}, {"force", false}});
  actual.images.erase(D('a'));
  v = state_.Verify(actual);
  EXPECT_TRUE(v.problems.empty()) << v.problems[0];
  EXPECT_EQ(v.in_flight_outcome, "applied");
}

TEST_F(ExpectedStateTest, InFlightCollectChangesNothing) {
  Pull('a', '1', "r0:t0");
  StoreModel actual = state_.model();
  Start({{"op", "collect"}});
  actual.images.erase(D('a'));
  auto v = state_.Verify(actual);
  EXPECT_FALSE(v.problems.empty());
}

TEST_F(ExpectedStateTest, SequenceNumbersMustFollow) {
  EXPECT_EQ(state_.Begin({{"b", 5}, {"op", "collect"}}), "");
  EXPECT_NE(state_.Begin({{"b", 6}, {"op", "collect"}}), "");  // 5 still in flight
  EXPECT_FALSE(state_.End({{"e", 9}, {"code", "OK"}}).empty());
}

}  // namespace
}  // namespace refstore::stress
