// tabwriter.h: the tables docker prints: Go's text/tabwriter with
// docker/cli's settings (minwidth 10, padding 3, spaces).
//
// Thread-safety: a value type; one thread uses a Table at a time.
#ifndef REFSTORE_TEXT_TABWRITER_H_
#define REFSTORE_TEXT_TABWRITER_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace refstore::text {

// A table as docker prints one: add the header and the rows, then Print.
// Print writes each row as its cells joined by '\t' plus '\n' through a port
// of Go's text/tabwriter with docker/cli's settings (minwidth 10, padding 3,
// ' ', no flags). So a column is as wide as max(widest cell + 3, 10) and
// every cell in it is padded with spaces to that width (empty ones too);
// the last cell of each line is not padded; every line ends with '\n'. As in
// tabwriter, a column runs only over consecutive lines that have a cell
// after it (rows may be ragged), and a '\t' or '\n' inside a cell splits it
// the way it would in docker's template output. Width counts Unicode code
// points (text/tabwriter); docker/cli's fork counts go-runewidth display
// columns, which differs only for wide (CJK, emoji) or zero-width runes.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE\n" and rows.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace refstore::text

#endif  // REFSTORE_TEXT_TABWRITER_H_
