// tabwriter.cc: Go's text/tabwriter as docker/cli configures it, and the
// Table docker prints through it.
#include "refstore/text/tabwriter.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "refstore/text/go_text.h"

namespace refstore::text {
namespace {

// A port of text/tabwriter.Writer with docker/cli's settings:
// NewWriter(out, minwidth 10, tabwidth 1, padding 3, ' ', flags 0).
class TabWriter {
 public:
  explicit TabWriter(std::ostream& out) : out_(out) { Reset(); }

  void Write(std::string_view buf) {
    size_t n = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
      unsigned char ch = static_cast<unsigned char>(buf[i]);
      if (end_char_ == 0) {
        if (ch == '\t' || ch == '\v' || ch == '\n' || ch == '\f') {
          Append(buf.substr(n, i - n));
          UpdateWidth();
          n = i + 1;
          size_t ncells = TerminateCell(ch == '\t');
          if (ch == '\n' || ch == '\f') {
            AddLine();
            if (ch == '\f' || ncells == 1) Flush();
          }
        } else if (ch == kEscape) {
          Append(buf.substr(n, i - n));
          UpdateWidth();
          n = i;  // the Escape stays in the text (no StripEscape)
          end_char_ = kEscape;
        }
      } else if (ch == end_char_) {
        size_t j = i + 1;
        Append(buf.substr(n, j - n));
        n = i + 1;
        EndEscape();
      }
    }
    Append(buf.substr(n));
  }

  void Flush() {
    if (cell_.size > 0) {
      if (end_char_ != 0) EndEscape();
      TerminateCell(false);
    }
    Format(0, 0, lines_.size());
    Reset();
  }

 private:
  static constexpr unsigned char kEscape = 0xFF;
  static constexpr int kMinWidth = 10;
  static constexpr int kPadding = 3;

  struct Cell {
    size_t size = 0;  // bytes
    int width = 0;    // runes
    bool htab = false;
  };

  void Reset() {
    buf_.clear();
    pos_ = 0;
    cell_ = Cell{};
    end_char_ = 0;
    lines_.clear();
    widths_.clear();
    AddLine();
  }

  void AddLine() { lines_.emplace_back(); }

  void Append(std::string_view text) {
    buf_.append(text);
    cell_.size += text.size();
  }

  void UpdateWidth() {
    cell_.width += RuneCount(std::string_view(buf_).substr(pos_));
    pos_ = buf_.size();
  }

  void EndEscape() {
    UpdateWidth();
    cell_.width -= 2;  // the Escape characters take no room
    pos_ = buf_.size();
    end_char_ = 0;
  }

  size_t TerminateCell(bool htab) {
    cell_.htab = htab;
    std::vector<Cell>& line = lines_.back();
    line.push_back(cell_);
    cell_ = Cell{};
    return line.size();
  }

  void WritePadding(int textw, int cellw) {
    if (cellw > textw) out_ << std::string(cellw - textw, ' ');
  }

  size_t WriteLines(size_t pos, size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const std::vector<Cell>& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        const Cell& c = line[j];
        if (c.size > 0) {
          out_.write(buf_.data() + pos, static_cast<std::streamsize>(c.size));
          pos += c.size;
        }
        if (j < widths_.size()) WritePadding(c.width, widths_[j]);
      }
      if (i + 1 == lines_.size()) {
        // The last buffered line has no newline: write what it holds.
        out_.write(buf_.data() + pos, static_cast<std::streamsize>(cell_.size));
        pos += cell_.size;
      } else {
        out_ << '\n';
      }
    }
    return pos;
  }

  // Elastic tabstops: a column is a run of lines that have a cell there
  // (the last cell of a line belongs to no column).
  size_t Format(size_t pos, size_t line0, size_t line1) {
    size_t column = widths_.size();
    for (size_t this_line = line0; this_line < line1; ++this_line) {
      if (column + 1 >= lines_[this_line].size()) continue;
      pos = WriteLines(pos, line0, this_line);
      line0 = this_line;
      int width = kMinWidth;
      for (; this_line < line1; ++this_line) {
        const std::vector<Cell>& line = lines_[this_line];
        if (column + 1 >= line.size()) break;
        width = std::max(width, line[column].width + kPadding);
      }
      widths_.push_back(width);
      pos = Format(pos, line0, this_line);
      widths_.pop_back();
      line0 = this_line;
    }
    return WriteLines(pos, line0, line1);
  }

  std::ostream& out_;
  std::string buf_;
  size_t pos_ = 0;
  Cell cell_;
  unsigned char end_char_ = 0;
  std::vector<std::vector<Cell>> lines_;
  std::vector<int> widths_;
};

}  // namespace

void Table::Print(std::ostream& out) const {
  // docker/cli's Context.postFormat: the header line, then each row's line,
  // cells joined by tabs, through the tabwriter.
  std::string text;
  for (const std::vector<std::string>& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) text.push_back('\t');
      text += row[i];
    }
    text.push_back('\n');
  }
  TabWriter writer(out);
  writer.Write(text);
  writer.Flush();
}

}  // namespace refstore::text
