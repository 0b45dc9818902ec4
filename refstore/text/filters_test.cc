#include "refstore/filters.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "refstore/status_code.h"

namespace refstore {
namespace {

TEST(ParseDanglingValue, Cases) {
  EXPECT_EQ(ParseDanglingValue("true").value(), true);
  EXPECT_EQ(ParseDanglingValue("1").value(), true);
  EXPECT_EQ(ParseDanglingValue("false").value(), false);
  EXPECT_EQ(ParseDanglingValue("0").value(), false);
  for (const char* bad : {"maybe", "", "TRUE", "yes", "2"}) {
    absl::StatusOr<bool> v = ParseDanglingValue(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), std::string("invalid filter 'dangling=[") + bad + "]'");
  }
}

TEST(LabelMatches, Cases) {
  const std::map<std::string, std::string> labels = {{"k", "v"}, {"eq", "a=b"}, {"empty", ""}};
  EXPECT_TRUE(LabelMatches(labels, "k"));
  EXPECT_TRUE(LabelMatches(labels, "k=v"));
  EXPECT_FALSE(LabelMatches(labels, "k=w"));
  EXPECT_FALSE(LabelMatches(labels, "k="));
  EXPECT_FALSE(LabelMatches(labels, "missing"));
  EXPECT_FALSE(LabelMatches(labels, "missing=v"));
  // Split at the first '=': key "eq", value "a=b".
  EXPECT_TRUE(LabelMatches(labels, "eq=a=b"));
  EXPECT_FALSE(LabelMatches(labels, "eq=a"));
  EXPECT_FALSE(LabelMatches(labels, "k=v=w"));
  EXPECT_TRUE(LabelMatches(labels, "empty"));
  EXPECT_TRUE(LabelMatches(labels, "empty="));
  EXPECT_FALSE(LabelMatches(labels, "empty=x"));
  EXPECT_FALSE(LabelMatches({}, "k"));
}

TEST(ErrorCodeName, Mapping) {
  EXPECT_EQ(ErrorCodeName(absl::InvalidArgumentError("x")), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(absl::NotFoundError("x")), "not_found");
  EXPECT_EQ(ErrorCodeName(absl::FailedPreconditionError("x")), "conflict");
  EXPECT_EQ(ErrorCodeName(absl::AbortedError("x")), "conflict");
  EXPECT_EQ(ErrorCodeName(absl::AlreadyExistsError("x")), "already_exists");
  EXPECT_EQ(ErrorCodeName(absl::UnimplementedError("x")), "failed_precondition");
  EXPECT_EQ(ErrorCodeName(absl::DataLossError("x")), "data_loss");
  EXPECT_EQ(ErrorCodeName(absl::InternalError("x")), "internal");
  EXPECT_EQ(ErrorCodeName(absl::UnknownError("x")), "internal");
  EXPECT_EQ(ErrorCodeName(absl::ResourceExhaustedError("x")), "internal");
}

}  // namespace
}  // namespace refstore
