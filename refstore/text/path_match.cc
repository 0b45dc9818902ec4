// path_match.cc: reference globs, matched as Go's path.Match (which docker's
// reference filter uses through reference.FamiliarMatch): '*' is any run of
// non-'/' bytes, '?' one non-'/' character, '[...]' a class of characters
// ('^' negates, 'a-z' ranges, '\\' escapes), '\\c' the character c.
#include <string_view>

#include "refstore/filters.h"

namespace refstore {
namespace {

enum class Chunk { kMatch, kNoMatch, kBadPattern };

// Go's utf8.DecodeRuneInString, reduced to what a match needs: the rune and
// its length, or U+FFFD (0xFFFD) and length 1 for an invalid byte.
char32_t DecodeRune(std::string_view s, size_t* n) {
  const unsigned char c0 = static_cast<unsigned char>(s[0]);
  auto cont = [&](size_t i) {
    return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  };
  *n = 1;
  if (c0 < 0x80) return c0;
  if (c0 >= 0xC2 && c0 <= 0xDF && cont(1)) {
    *n = 2;
    return ((c0 & 0x1F) << 6) | (s[1] & 0x3F);
  }
  if (c0 >= 0xE0 && c0 <= 0xEF && cont(1) && cont(2)) {
    const unsigned char c1 = static_cast<unsigned char>(s[1]);
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 > 0x9F)) return 0xFFFD;
    *n = 3;
    return ((c0 & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (s[2] & 0x3F);
  }
  if (c0 >= 0xF0 && c0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const unsigned char c1 = static_cast<unsigned char>(s[1]);
    if ((c0 == 0xF0 && c1 < 0x90) || (c0 == 0xF4 && c1 > 0x8F)) return 0xFFFD;
    *n = 4;
    return ((c0 & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  }
  return 0xFFFD;
}

// Go's scanChunk: leading stars, then the chunk up to the next unbracketed
// star.
void ScanChunk(std::string_view& pattern, bool* star, std::string_view* chunk) {
  *star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    *star = true;
  }
  bool in_range = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      in_range = true;
    } else if (c == ']') {
      in_range = false;
    } else if (c == '*' && !in_range) {
      break;
    }
  }
  *chunk = pattern.substr(0, i);
  pattern.remove_prefix(i);
}

// Go's getEsc: one possibly escaped character of a class.
bool GetEsc(std::string_view& chunk, char32_t* r) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return false;
  }
  size_t n;
  *r = DecodeRune(chunk, &n);
  const bool bad = *r == 0xFFFD && n == 1 && static_cast<unsigned char>(chunk[0]) >= 0x80;
  chunk.remove_prefix(n);
  return !bad && !chunk.empty();
}

// Go's matchChunk: whether `chunk` matches a prefix of `s` (the rest in
// `*rest`); a malformed chunk is kBadPattern even after a mismatch.
Chunk MatchChunk(std::string_view chunk, std::string_view s, std::string_view* rest) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          size_t n;
          r = DecodeRune(s, &n);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        for (;;) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo, hi;
          if (!GetEsc(chunk, &lo)) return Chunk::kBadPattern;
          hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            if (!GetEsc(chunk, &hi)) return Chunk::kBadPattern;
          }
          if (lo <= r && r <= hi) match = true;
          ++nrange;
        }
        if (match == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          size_t n;
          DecodeRune(s, &n);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return Chunk::kBadPattern;
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
        break;
    }
  }
  if (failed) return Chunk::kNoMatch;
  *rest = s;
  return Chunk::kMatch;
}

}  // namespace

absl::StatusOr<bool> PathMatch(std::string_view pattern, std::string_view name) {
  const auto bad = [] { return absl::InvalidArgumentError("syntax error in pattern"); };
  while (!pattern.empty()) {
    bool star;
    std::string_view chunk;
    ScanChunk(pattern, &star, &chunk);
    if (star && chunk.empty()) {
      // A trailing star matches the rest of the name unless it has a '/'.
      return name.find('/') == std::string_view::npos;
    }
    std::string_view t;
    Chunk c = MatchChunk(chunk, name, &t);
    // The last chunk must use up the name.
    if (c == Chunk::kMatch && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (c == Chunk::kBadPattern) return bad();
    bool advanced = false;
    if (star) {
      // Try the chunk after skipping i+1 bytes; a star never skips '/'.
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        c = MatchChunk(chunk, name.substr(i + 1), &t);
        if (c == Chunk::kMatch) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          advanced = true;
          break;
        }
        if (c == Chunk::kBadPattern) return bad();
      }
    }
    if (advanced) continue;
    // Before answering false, check that the rest of the pattern is valid.
    while (!pattern.empty()) {
      ScanChunk(pattern, &star, &chunk);
      if (MatchChunk(chunk, "", &t) == Chunk::kBadPattern) return bad();
    }
    return false;
  }
  return name.empty();
}

bool GlobMatches(std::string_view pattern, std::string_view text) {
  absl::StatusOr<bool> m = PathMatch(pattern, text);
  return m.ok() && *m;
}

}  // namespace refstore
