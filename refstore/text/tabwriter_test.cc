// tabwriter_test.cc: tables as docker/cli's tabwriter prints them.
#include "refstore/text/tabwriter.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace refstore::text {
namespace {

// --- Table ------------------------------------------------------------------

std::string Render(const Table& table) {
  std::ostringstream out;
  table.Print(out);
  return out.str();
}

TEST(TableTest, DockerImageLs) {
  Table table({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  table.Add({"alpine", "latest", "05455a08881e", "2 weeks ago", "7.8MB"});
  table.Add(
      {"registry.example.com/team/app", "v1.2.3", "a1b2c3d4e5f6", "About an hour ago", "1e+03MB"});
  // Columns: 29+3=32, max(6+3,10)=10, 12+3=15, 17+3=20, last unpadded.
  EXPECT_EQ(Render(table),
            "REPOSITORY                      TAG       IMAGE ID       "
            "CREATED             SIZE\n"
            "alpine                          latest    05455a08881e   "
            "2 weeks ago         7.8MB\n"
            "registry.example.com/team/app   v1.2.3    a1b2c3d4e5f6   "
            "About an hour ago   1e+03MB\n");
}

// The header docker users know: "CREATED" padded to 15 by "3 months ago".
TEST(TableTest, FamiliarHeader) {
  Table table({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  table.Add({"nginx", "latest", "a6bd71f48f68", "3 months ago", "187MB"});
  EXPECT_EQ(Render(table),
            "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE\n"
            "nginx        latest    a6bd71f48f68   3 months ago   187MB\n");
}

TEST(TableTest, HeaderOnlyAndEmptyCells) {
  EXPECT_EQ(Render(Table({"NAME", "SIZE"})), "NAME      SIZE\n");
  Table table({"A", "B", "C"});
  table.Add({"", "", ""});
  // Empty cells in a column are padded too; the last cell never is.
  EXPECT_EQ(Render(table), "A         B         C\n                    \n");
  EXPECT_EQ(Render(Table({})), "\n");
}

// Ragged rows follow tabwriter's column blocks: a column only spans
// consecutive lines that have a cell after it.
TEST(TableTest, RaggedRowsAndTabsInCells) {
  Table table({"aaaaaaaaaaaa", "b", "c"});
  table.Add({"x"});
  table.Add({"yy", "zzzzzzzzzzzzzzzz", "w"});
  EXPECT_EQ(Render(table),
            "aaaaaaaaaaaa   b         c\n"
            "x\n"
            "yy        zzzzzzzzzzzzzzzz   w\n");
  Table tabs({"K", "V"});
  tabs.Add({"a\tb", "c"});
  EXPECT_EQ(Render(tabs), "K         V\na         b         c\n");
}

TEST(TableTest, WidthCountsCodePoints) {
  Table table({"N\xC3\x89", "X"});  // "NÉ": 2 code points, 3 bytes
  table.Add(
      {"\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"
       "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC",
       "y"});  // eight euro signs
  EXPECT_EQ(Render(table),
            "N\xC3\x89         X\n"
            "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"
            "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC   y\n");
}

}  // namespace
}  // namespace refstore::text
