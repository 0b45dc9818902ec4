#include "human_size.h"

#include <gtest/gtest.h>

namespace refstore::bench {
namespace {

TEST(HumanSize, DockerExamples) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(999), "999B");
  EXPECT_EQ(HumanSize(1000), "1kB");
  EXPECT_EQ(HumanSize(1500), "1.5kB");
  EXPECT_EQ(HumanSize(999999), "1000kB");  // like go-units: rounding happens after the unit is chosen
  EXPECT_EQ(HumanSize(1000000), "1MB");
  EXPECT_EQ(HumanSize(3503000), "3.503MB");
  EXPECT_EQ(HumanSize(10005300), "10.01MB");
  EXPECT_EQ(HumanSize(1234567890), "1.235GB");
  EXPECT_EQ(HumanSize(int64_t{5} * 1000 * 1000 * 1000 * 1000), "5TB");
}

}  // namespace
}  // namespace refstore::bench
