// go_text.cc: Go's text primitives, reproduced byte for byte. Each function
// names the Go code it follows; go_text_test.cc holds the outputs that code
// gives.
#include "refstore/text/go_text.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <wctype.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "refstore/util/strcat.h"

namespace refstore::text {

using internal::Cat;

namespace {

// ---------------------------------------------------------------------------
// Go's fmt "%.*g" (fmt.fmtFloat over strconv.AppendFloat(x, 'g', prec, 64)).

// A decimal x = 0.d[0]d[1]... * 10^dp with trailing zeros removed, as
// strconv's decimalSlice holds it; zero is nd == 0, dp == 0.
struct Digits {
  std::string d;
  int dp = 0;
};

// Parses the magnitude printed as "D[.DDD]e±XX" into Digits.
Digits DigitsFromScientific(std::string_view text) {
  Digits out;
  size_t e = text.find_first_of("eE");
  std::string_view mant = text.substr(0, e);
  for (char c : mant) {
    if (c >= '0' && c <= '9') out.d.push_back(c);
  }
  int exp = 0;
  std::string_view exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  while (!out.d.empty() && out.d.back() == '0') out.d.pop_back();
  if (out.d.empty()) {
    out.dp = 0;  // zero
  } else {
    out.dp = exp + 1;
  }
  return out;
}

// |x| correctly rounded (ties to even, like strconv's ryuFtoaFixed64 and
// bigFtoa) to `prec` >= 1 significant digits. glibc's printf is exact.
Digits FixedDigits(double x, int prec) {
  std::string buf(static_cast<size_t>(prec) + 32, '\0');
  int n = snprintf(buf.data(), buf.size(), "%.*e", prec - 1, std::fabs(x));
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return DigitsFromScientific(buf);
}

// |x| in the fewest digits that read back as x (strconv's shortest mode).
Digits ShortestDigits(double x) {
  char buf[64];
  std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), std::fabs(x), std::chars_format::scientific);
  return DigitsFromScientific(std::string_view(buf, r.ptr - buf));
}

// strconv's fmtE: d.ddde±dd with `prec` digits after the point.
void AppendGoE(std::string& out, const Digits& digs, int prec) {
  int nd = static_cast<int>(digs.d.size());
  out.push_back(nd == 0 ? '0' : digs.d[0]);
  if (prec > 0) {
    out.push_back('.');
    int i = 1;
    int m = std::min(nd, prec + 1);
    if (i < m) {
      out.append(digs.d, i, m - i);
      i = m;
    }
    for (; i <= prec; ++i) out.push_back('0');
  }
  out.push_back('e');
  int exp = digs.dp - 1;
  if (nd == 0) exp = 0;  // zero
  if (exp < 0) {
    out.push_back('-');
    exp = -exp;
  } else {
    out.push_back('+');
  }
  if (exp < 10) {
    out.push_back('0');
    out.push_back(static_cast<char>('0' + exp));
  } else if (exp < 100) {
    out.push_back(static_cast<char>('0' + exp / 10));
    out.push_back(static_cast<char>('0' + exp % 10));
  } else {
    out.push_back(static_cast<char>('0' + exp / 100));
    out.push_back(static_cast<char>('0' + exp / 10 % 10));
    out.push_back(static_cast<char>('0' + exp % 10));
  }
}

// strconv's fmtF: ddd.ddd with `prec` digits after the point.
void AppendGoF(std::string& out, const Digits& digs, int prec) {
  int nd = static_cast<int>(digs.d.size());
  if (digs.dp > 0) {
    int m = std::min(nd, digs.dp);
    out.append(digs.d, 0, m);
    for (; m < digs.dp; ++m) out.push_back('0');
  } else {
    out.push_back('0');
  }
  if (prec > 0) {
    out.push_back('.');
    for (int i = 1; i <= prec; ++i) {
      char ch = '0';
      int j = digs.dp + i - 1;
      if (j >= 0 && j < nd) ch = digs.d[j];
      out.push_back(ch);
    }
  }
}

}  // namespace

// fmt.Sprintf("%.*g", prec, x) for a precision fmt accepted
// (precision_present) or the shortest form (fmt's "%g" without one).
std::string GoFormatG(double x, int prec, bool precision_present) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
  std::string out;
  if (std::signbit(x)) out.push_back('-');
  Digits digs;
  bool shortest = !precision_present;
  if (shortest) {
    digs = ShortestDigits(x);
    prec = static_cast<int>(digs.d.size());
  } else {
    if (prec == 0) prec = 1;
    digs = FixedDigits(x, prec);
  }
  int nd = static_cast<int>(digs.d.size());
  // strconv.formatDigits, case 'g'.
  int eprec = prec;
  if (eprec > nd && nd >= digs.dp) eprec = nd;
  if (shortest) eprec = 6;
  int exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > nd) prec = nd;
    AppendGoE(out, digs, prec - 1);
    return out;
  }
  if (prec > digs.dp) prec = nd;
  AppendGoF(out, digs, std::max(prec - digs.dp, 0));
  return out;
}

namespace {

// ---------------------------------------------------------------------------
// Go's strconv.ParseFloat(s, 64) and strconv.Quote, for go-units' parseSize.

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// strconv.underscoreOK.
bool UnderscoreOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (LowerAscii(s[1]) == 'b' || LowerAscii(s[1]) == 'o' || LowerAscii(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = LowerAscii(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    char c = s[i];
    char lc = LowerAscii(c);
    if (IsDigit(c) || (hex && lc >= 'a' && lc <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv.readFloat's syntax: the length of the float at the start of s,
// or 0 when there is none.
size_t ReadFloatLength(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool base16 = false;
  if (i + 2 < s.size() && s[i] == '0' && LowerAscii(s[i + 1]) == 'x') {
    base16 = true;
    i += 2;
  }
  bool underscores = false;
  bool sawdot = false;
  bool sawdigits = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    char lc = LowerAscii(c);
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c == '.') {
      if (sawdot) break;
      sawdot = true;
      continue;
    }
    if (IsDigit(c) || (base16 && lc >= 'a' && lc <= 'f')) {
      sawdigits = true;
      continue;
    }
    break;
  }
  if (!sawdigits) return 0;
  char exp_char = base16 ? 'p' : 'e';
  if (i < s.size() && LowerAscii(s[i]) == exp_char) {
    ++i;
    if (i >= s.size()) return 0;
    if (s[i] == '+' || s[i] == '-') ++i;
    if (i >= s.size() || !IsDigit(s[i])) return 0;
    for (; i < s.size() && (IsDigit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') underscores = true;
    }
  } else if (base16) {
    return 0;  // a hexadecimal mantissa needs a 'p' exponent
  }
  if (underscores && !UnderscoreOk(s.substr(0, i))) return 0;
  return i;
}

// Length of the common prefix of s and lower-case `word`, ignoring case.
size_t CommonPrefixIgnoreCase(std::string_view s, std::string_view word) {
  size_t n = 0;
  while (n < s.size() && n < word.size() && LowerAscii(s[n]) == word[n]) ++n;
  return n;
}

// strconv.special: "inf", "infinity" (signed) and "nan", case-insensitive.
bool ParseSpecial(std::string_view s, double* value, size_t* length) {
  if (s.empty()) return false;
  double sign = 1;
  size_t nsign = 0;
  std::string_view rest = s;
  char c = s[0];
  if (c == '+' || c == '-') {
    if (c == '-') sign = -1;
    nsign = 1;
    rest.remove_prefix(1);
    c = 'i';  // Go falls through to the "infinity" case
  }
  if (c == 'i' || c == 'I') {
    size_t n = CommonPrefixIgnoreCase(rest, "infinity");
    if (3 < n && n < 8) n = 3;
    if (n == 3 || n == 8) {
      *value = sign * std::numeric_limits<double>::infinity();
      *length = nsign + n;
      return true;
    }
  } else if (c == 'n' || c == 'N') {
    if (CommonPrefixIgnoreCase(rest, "nan") == 3) {
      *value = std::numeric_limits<double>::quiet_NaN();
      *length = 3;
      return true;
    }
  }
  return false;
}

}  // namespace

// A UTF-8 sequence decoded as Go's utf8.DecodeRuneInString does: invalid
// input (overlong, surrogate, out of range, truncated) is rune -1, width 1.
std::pair<int32_t, int> DecodeRune(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (cont(1)) return {((b0 & 0x1F) << 6) | (byte(1) & 0x3F), 2};
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (cont(1, lo, hi) && cont(2)) {
      return {((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F), 3};
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      return {((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
                  (byte(3) & 0x3F),
              4};
    }
  }
  return {-1, 1};
}

namespace {

void AppendUtf8(std::string& out, int32_t r) {
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// unicode.ToLower (simple case mapping), taken from glibc's C.UTF-8 locale.
// Should that locale be missing, the mappings that can change what
// parseSize accepts (a suffix's first byte or its length) are built in.
int32_t UnicodeToLower(int32_t r) {
  if (r < 0x80) return LowerAscii(static_cast<char>(r));
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  if (utf8 != static_cast<locale_t>(0)) {
    return static_cast<int32_t>(towlower_l(static_cast<wint_t>(r), utf8));
  }
  switch (r) {
    case 0x0130:
      return 0x0069;  // İ -> i
    case 0x212A:
      return 0x006B;  // Kelvin sign -> k
    case 0x023A:
      return 0x2C65;
    case 0x023E:
      return 0x2C66;
    case 0x1E9E:
      return 0x00DF;
    case 0x2126:
      return 0x03C9;
    case 0x212B:
      return 0x00E5;
    default:
      return r;
  }
}

}  // namespace

// strings.ToLower: ASCII lowered in place; otherwise strings.Map over runes,
// which also turns each invalid byte into U+FFFD (three bytes). go-units
// checks the suffix length after lowering, so that growth matters: Go takes
// "30T-\xff" as 30 TB.
std::string GoToLower(std::string_view s) {
  std::string out;
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    for (char c : s) out.push_back(LowerAscii(c));
    return out;
  }
  while (!s.empty()) {
    auto [r, width] = DecodeRune(s);
    AppendUtf8(out, r < 0 ? 0xFFFD : UnicodeToLower(r));
    s.remove_prefix(width);
  }
  return out;
}

namespace {

// Runes that strconv.IsPrint rejects, as far as this file knows them: the
// C1 controls and the common non-ASCII spaces and format characters.
bool IsNonPrintableNonAscii(int32_t r) {
  return (r >= 0x80 && r <= 0x9F) || r == 0xA0 || r == 0xAD || r == 0x1680 ||
         (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
         (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF ||
         (r >= 0xFFF9 && r <= 0xFFFB) || (r >= 0xE000 && r <= 0xF8FF) || r == 0xFFFE || r == 0xFFFF;
}

}  // namespace

// strconv.Quote: exact for ASCII and invalid UTF-8; for other runes only
// the ones IsNonPrintableNonAscii names are escaped.
std::string GoQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  while (!s.empty()) {
    auto [r, width] = DecodeRune(s);
    if (r < 0) {
      unsigned char b = static_cast<unsigned char>(s[0]);
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    } else if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x20 && r < 0x7F) {
      out.push_back(static_cast<char>(r));
    } else if (r < 0x80) {
      switch (r) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          out += "\\x";
          out.push_back(kHex[r >> 4]);
          out.push_back(kHex[r & 0xF]);
      }
    } else if (IsNonPrintableNonAscii(r)) {
      bool big = r >= 0x10000;
      out += big ? "\\U" : "\\u";
      for (int shift = big ? 28 : 12; shift >= 0; shift -= 4) {
        out.push_back(kHex[(r >> shift) & 0xF]);
      }
    } else {
      out.append(s.substr(0, width));
    }
    s.remove_prefix(width);
  }
  out.push_back('"');
  return out;
}

namespace {

// The value of a string ReadFloatLength accepted whole, as strconv gives it
// (correctly rounded; glibc's strtod is too). Underscores are dropped first;
// the "C" locale keeps '.' the decimal point whatever setlocale says.
double ConvertFloat(std::string_view s) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  std::string text;
  text.reserve(s.size());
  for (char c : s) {
    if (c != '_') text.push_back(c);
  }
  return strtod_l(text.c_str(), nullptr, c_locale);
}

}  // namespace

// strconv.ParseFloat(s, 64): the value, or the error text Go gives.
absl::StatusOr<double> GoParseFloat(std::string_view s) {
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(Cat("strconv.ParseFloat: parsing ", GoQuote(s), ": ", why));
  };
  double special = 0;
  size_t length = 0;
  if (ParseSpecial(s, &special, &length)) {
    if (length != s.size()) return fail("invalid syntax");
    return special;
  }
  length = ReadFloatLength(s);
  if (length == 0 || length != s.size()) return fail("invalid syntax");
  double value = ConvertFloat(s);
  if (std::isinf(value)) return fail("value out of range");
  return value;
}

// Go's time package quotes with its own quote (not strconv's): every byte
// below ' ' or above 0x7F as \xNN, '"' and '\\' escaped.
std::string GoTimeQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || c < ' ') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------
// Go's UTF-8 and time.Duration arithmetic.

// Go's utf8.RuneCount: each invalid byte counts as one rune.
int RuneCount(std::string_view s) {
  int n = 0;
  while (!s.empty()) {
    s.remove_prefix(DecodeRune(s).second);
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------
// time.Duration arithmetic.

// absl::Duration -> Go's int64 nanoseconds, saturating as Go's Time.Sub
// does; sub-nanosecond parts are truncated toward zero.
int64_t GoNanoseconds(absl::Duration d) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (d >= absl::Nanoseconds(kMax)) return kMax;
  if (d <= absl::Nanoseconds(kMin)) return kMin;
  return absl::ToInt64Nanoseconds(d);
}

}  // namespace refstore::text
