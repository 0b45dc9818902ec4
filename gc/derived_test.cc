// The joins of derived.h on a database written key by key: every row, every
// count and every orphan, including keys that do not parse.
#include "gc/derived.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "refstore/util/strcat.h"
#include "rocksdb/db.h"
#include "tests/support/raw_db.h"

namespace refstore::internal {
namespace {

namespace fs = std::filesystem;

std::string Id(char c) { return std::string(kRawIdSize, c); }

class DerivedTest : public RawDbTest {
 protected:
  void Put(Cf cf, const std::string& key, const std::string& value = "") {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), handles_[cf], key, value).ok());
  }
  Txn Reader() { return Txn(db_.get(), &handles_, nullptr); }
};

std::string ImageLine(const ImageRow& r) {
  if (!r.well_formed) return Cat("bad ", Printable(r.key));
  return Cat(r.ns, "/", r.id.substr(0, 1), " value=", r.value, " names=", r.names,
             " holders=", r.holders, " dref=", r.digest_ref, " dangling=", r.dangling);
}

TEST_F(DerivedTest, JoinImagesCountsAndFindsOrphans) {
  Put(kImages, ImageKey("a", Id('1')), "A1");
  Put(kImages, ImageKey("a", Id('2')), "A2");
  Put(kImages, ImageKey("b", Id('1')), "B1");
  Put(kImages, "junk", "J");
  // Names: two for a/1, none for a/2, one of a missing image (not counted,
  // not an orphan here: JoinNames reports it), a malformed key equal to an
  // image key (not counted).
  Put(kNames, ImageNameKey("a", Id('1'), "x:1"));
  Put(kNames, ImageNameKey("a", Id('1'), "y:1"));
  Put(kNames, ImageNameKey("a", Id('0'), "z:1"));
  Put(kNames, ImageKey("b", Id('1')));
  // Holders: one of a/2, one of a missing image (a container outlives a
  // force-removed image: not an orphan).
  Put(kHolders, HolderKey("a", Id('2'), Id('c')), "1");
  Put(kHolders, HolderKey("a", Id('3'), Id('d')), "0");
  // References: digest references of a/1 and b/1, of a missing a/3; names
  // between them are not digest references.
  Put(kRefs, DigestRefKey("a", Id('1')));
  Put(kRefs, DigestRefKey("a", Id('3')));
  Put(kRefs, NameKey("a", "x:1"), Id('1'));
  Put(kRefs, DigestRefKey("b", Id('1')));
  Put(kRefs, DigestRefKey("c", Id('9')));
  // Dangling: a/1 (wrongly: named), a/2, a missing b/0, an unparsable key.
  Put(kDangling, DanglingKey("a", Id('1')));
  Put(kDangling, DanglingKey("a", Id('2')));
  Put(kDangling, DanglingKey("b", Id('0')));
  Put(kDangling, "zzz");

  Txn r = Reader();
  std::vector<std::string> rows, orphans;
  absl::Status s = JoinImages(
      r,
      [&](const ImageRow& row) {
        rows.push_back(ImageLine(row));
        return absl::OkStatus();
      },
      [&](Cf cf, std::string_view key) {
        orphans.push_back(Cat(cf == kRefs ? "ref " : "dangling ", Printable(key)));
        return absl::OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(rows, (std::vector<std::string>{
                      "a/1 value=A1 names=2 holders=0 dref=1 dangling=1",
                      "a/2 value=A2 names=0 holders=1 dref=0 dangling=1",
                      "b/1 value=B1 names=0 holders=0 dref=1 dangling=0",
                      Cat("bad ", Printable("junk")),
                  }));
  EXPECT_EQ(std::set<std::string>(orphans.begin(), orphans.end()),
            (std::set<std::string>{
                Cat("ref ", Printable(DigestRefKey("a", Id('3')))),
                Cat("ref ", Printable(DigestRefKey("c", Id('9')))),
                Cat("dangling ", Printable(DanglingKey("b", Id('0')))),
                Cat("dangling ", Printable("zzz")),
            }));
  EXPECT_EQ(orphans.size(), 4u);
}

TEST_F(DerivedTest, JoinImagesStopsAtTheFirstError) {
  Put(kImages, ImageKey("a", Id('1')), "A1");
  Put(kImages, ImageKey("a", Id('2')), "A2");
  Txn r = Reader();
  int calls = 0;
  absl::Status s = JoinImages(
      r,
      [&](const ImageRow&) {
        ++calls;
        return absl::DataLossError("stop");
      },
      [&](Cf, std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
}

std::string NameLine(const NameRow& n) {
  return Cat(n.ns, "/", n.full, " id=", n.id.size() == kRawIdSize ? n.id.substr(0, 1) : "?",
             " referenced=", n.referenced, " entry=", n.entry ? std::string(*n.entry) : "-",
             " image=", n.image);
}

TEST_F(DerivedTest, JoinNamesPairsReferencesWithEntries) {
  Put(kImages, ImageKey("a", Id('1')), "A1");
  Put(kImages, ImageKey("b", Id('2')), "B2");
  // Agreeing: a/x:1 -> a/1 with its entry. Entry missing: a/y:1 -> a/1.
  // Reference to a missing image: a/z:1 -> a/7. Entry the name does not
  // point back to: a/w:1 (the name points to a/2's missing image). Entry of a
  // missing image: b/q:1 under b/8. A value that is no ID. A bad kind, a
  // key without kind, a names key without a name.
  Put(kRefs, NameKey("a", "x:1"), Id('1'));
  Put(kRefs, NameKey("a", "y:1"), Id('1'));
  Put(kRefs, NameKey("a", "z:1"), Id('7'));
  Put(kRefs, NameKey("a", "w:1"), Id('2'));
  Put(kRefs, NameKey("b", "short:1"), "abc");
  Put(kRefs, DigestRefKey("a", Id('1')));
  Put(kRefs, Cat(NsPrefix("b"), "Qodd"));
  Put(kRefs, "nokind");
  Put(kNames, ImageNameKey("a", Id('1'), "x:1"), "t1");
  Put(kNames, ImageNameKey("a", Id('1'), "w:1"), "t2");
  Put(kNames, ImageNameKey("b", Id('8'), "q:1"), "t3");
  Put(kNames, Cat(NsPrefix("b"), "tooshort"), "t4");

  Txn r = Reader();
  std::vector<std::string> rows, bad;
  absl::Status s = JoinNames(
      r,
      [&](const NameRow& n) {
        rows.push_back(NameLine(n));
        return absl::OkStatus();
      },
      [&](Cf cf, std::string_view key, std::string_view why) {
        bad.push_back(Cat(cf == kRefs ? "refs " : "names ", Printable(key), ": ", why));
        return absl::OkStatus();
      },
      dir_.string());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(rows, (std::vector<std::string>{
                      // Read with the references: the value is no ID.
                      "b/short:1 id=? referenced=1 entry=- image=0",
                      // Then in the names column family's order.
                      "a/w:1 id=1 referenced=0 entry=t2 image=1",
                      "a/x:1 id=1 referenced=1 entry=t1 image=1",
                      "a/y:1 id=1 referenced=1 entry=- image=1",
                      "a/w:1 id=2 referenced=1 entry=- image=0",
                      "a/z:1 id=7 referenced=1 entry=- image=0",
                      "b/q:1 id=8 referenced=0 entry=t3 image=0",
                  }));
  EXPECT_EQ(bad,
            (std::vector<std::string>{
                Cat("refs ", Printable(Cat(NsPrefix("b"), "Qodd")), ": unknown reference kind"),
                Cat("refs ", Printable("nokind"), ": reference key is not namespace/kind/name"),
                Cat("names ", Printable(Cat(NsPrefix("b"), "tooshort")),
                    ": name key is not namespace/id/name"),
            }));
}

}  // namespace
}  // namespace refstore::internal
