// model.cc: the rules of SEMANTICS.md, one function per operation, over plain
// maps. Section numbers (§) refer to docs/spec/SEMANTICS.md (the amended
// contract); "DESIGN" to DESIGN.md "Choices where the contract is silent".
#include "model.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/str_join.h"
#include "refstore/filters.h"
#include "refstore/reference.h"

namespace refstore::model {
namespace {

constexpr std::string_view kSha = "sha256:";

absl::Status Invalid(std::string m) { return absl::InvalidArgumentError(std::move(m)); }
absl::Status NotFound(std::string m) { return absl::NotFoundError(std::move(m)); }
absl::Status Conflict(std::string m) { return absl::FailedPreconditionError(std::move(m)); }

bool LowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool Alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// §8 Input: empty or only spaces, tabs, CR, LF.
bool Blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// §1: 1-76 chars, [A-Za-z0-9]+([._-][A-Za-z0-9]+)*. Lease IDs alike (§8).
bool GoodNsName(std::string_view s) {
  if (s.empty() || s.size() > 76) return false;
  bool after_sep = true;  // the next char must be alphanumeric
  for (char c : s) {
    if (Alnum(c)) {
      after_sep = false;
    } else if (c == '.' || c == '_' || c == '-') {
      if (after_sep) return false;
      after_sep = true;
    } else {
      return false;
    }
  }
  return !after_sep;
}

// §8: container IDs are 64 lowercase hex.
bool GoodContainerId(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), LowerHex);
}

// §3.1: ^(sha256:)?[a-f0-9]{4,64}$ may be an ID prefix.
bool IdPrefix(std::string_view s, std::string* hex) {
  if (s.starts_with(kSha)) s.remove_prefix(kSha.size());
  if (s.size() < 4 || s.size() > 64 || !std::all_of(s.begin(), s.end(), LowerHex)) return false;
  *hex = std::string(s);
  return true;
}

std::string Short12(std::string_view id) {
  if (id.starts_with(kSha)) id.remove_prefix(kSha.size());
  return std::string(id.substr(0, 12));
}

absl::Status CheckNs(std::string_view ns) {
  if (GoodNsName(ns)) return absl::OkStatus();
  return Invalid(Cat("invalid namespace '", ns, "'"));
}

absl::Status CheckLeaseId(std::string_view id) {
  if (GoodNsName(id)) return absl::OkStatus();
  return Invalid(Cat("invalid lease ID '", id, "'"));
}

absl::Status CheckContainerId(std::string_view id) {
  if (GoodContainerId(id)) return absl::OkStatus();
  return Invalid(Cat("invalid container ID '", id, "': want 64 lowercase hex characters"));
}

// §8 Input: a descriptor has a valid digest, a non-empty media type and a
// size >= 0.
absl::Status CheckDescriptor(const Descriptor& d) {
  if (absl::Status s = ValidateDigest(d.digest); !s.ok()) return s;
  if (d.media_type.empty()) return Invalid(Cat("descriptor ", d.digest, " has no mediaType"));
  if (d.size < 0) {
    return Invalid(Cat("descriptor ", d.digest, " has a negative size ", d.size));
  }
  return absl::OkStatus();
}

// The distinct descriptors of `in` (first occurrence kept); `seen` starts
// with what is already in the request (the target). Two sizes for one
// digest are invalid (§8 Input).
absl::StatusOr<std::vector<Descriptor>> Distinct(const std::vector<Descriptor>& in,
                                                 std::map<std::string, int64_t> seen) {
  std::vector<Descriptor> out;
  for (const Descriptor& d : in) {
    if (absl::Status s = CheckDescriptor(d); !s.ok()) return s;
    auto [it, inserted] = seen.emplace(d.digest, d.size);
    if (!inserted) {
      if (it->second != d.size) {
        return Invalid(
            Cat("digest ", d.digest, " given with two sizes: ", it->second, " and ", d.size));
      }
      continue;
    }
    out.push_back(d);
  }
  return out;
}

// A full normalized name split into repository, tag and digest.
struct Parts {
  std::string repo;
  std::optional<std::string> tag;
  std::optional<std::string> digest;
};

Parts Split(std::string_view full) {
  Parts p;
  if (size_t at = full.find('@'); at != std::string_view::npos) {
    p.digest = std::string(full.substr(at + 1));
    full = full.substr(0, at);
  }
  size_t slash = full.rfind('/');
  size_t colon = full.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    p.tag = std::string(full.substr(colon + 1));
    full = full.substr(0, colon);
  }
  p.repo = std::string(full);
  return p;
}

std::vector<Descriptor> BlobsOf(const Image& img) {
  std::vector<Descriptor> out = {img.target};
  out.insert(out.end(), img.content.begin(), img.content.end());
  return out;
}

bool HeldIn(const Namespace& n, const std::string& id) {
  for (const auto& [cid, c] : n.containers) {
    if (c.image_id == id) return true;
  }
  return false;
}

// §3: the image ID as hex (without "sha256:").
std::string_view HexOf(std::string_view id) { return id.substr(kSha.size()); }

bool LabelHas(const std::map<std::string, std::string>& labels, std::string_view spec) {
  size_t eq = spec.find('=');  // §8: label=k=v splits at the first '='
  if (eq == std::string_view::npos) return labels.count(std::string(spec)) > 0;
  auto it = labels.find(std::string(spec.substr(0, eq)));
  return it != labels.end() && it->second == spec.substr(eq + 1);
}

// ---- Times (§5 until, §8 Input, and the range the store represents) -------
//
// Written from Go's time.ParseDuration and time.Parse and moby's
// daemon/internal/timestamp Parse (docker's GetTimestamp), step by step; only
// whether a value is accepted and which instant it means matter (the error
// message of a bad until value is always the one of §8).

// The times a store keeps (DESIGN "Times a store keeps", filters.h; the
// contract only says a bad time is invalid_argument): whole seconds inside
// int64 Unix nanoseconds, 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z,
// both ends included. A time outside is invalid_argument, never clamped.
const absl::Time kEarliest = absl::FromUnixSeconds(-9223372036);
const absl::Time kLatest = absl::FromUnixSeconds(9223372036);
bool Representable(absl::Time t) { return t >= kEarliest && t <= kLatest; }
std::string OutsideText() {
  return Cat(" is outside the times a store keeps (", FormatRfc3339(kEarliest), " to ",
             FormatRfc3339(kLatest), ")");
}

// Go's %q of ASCII text (what docker's messages quote values with).
std::string GoQuote(std::string_view v) {
  std::string out = "\"";
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
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
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // printable ASCII, or UTF-8 kept as is
        }
    }
  }
  return out + "\"";
}

bool Digit(char c) { return c >= '0' && c <= '9'; }

// Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, with Go's
// overflow rules. nullopt: not a duration.
std::optional<int64_t> GoParseDuration(std::string_view s) {
  constexpr uint64_t kBig = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || Digit(s[0]))) return std::nullopt;
    // leadingInt
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && Digit(s[i]); ++i) {
      if (v > kBig / 10) return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kBig) return std::nullopt;
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // leadingFraction
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && Digit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (kBig - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kBig) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return std::nullopt;
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !Digit(s[u])) ++u;
    if (u == 0) return std::nullopt;  // missing unit
    const std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    static const std::map<std::string_view, uint64_t> kUnits = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000},  // U+00B5 micro sign
        {"\xce\xbcs", 1000},  // U+03BC Greek mu
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", 60ULL * 1000000000},
        {"h", 3600ULL * 1000000000}};
    auto it = kUnits.find(unit_name);
    if (it == kUnits.end()) return std::nullopt;
    const uint64_t unit = it->second;
    if (v > kBig / unit) return std::nullopt;
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kBig) return std::nullopt;
    }
    d += v;
    if (d > kBig) return std::nullopt;
  }
  if (neg) return static_cast<int64_t>(0 - d);  // -2^63 included
  if (d > kBig - 1) return std::nullopt;
  return static_cast<int64_t>(d);
}

// moby's parseTimestamp: "seconds[.fraction]" (strconv.ParseInt base 10 for
// the seconds, sign allowed; up to 20 fraction digits, cut to 9).
std::optional<absl::Time> GoParseUnixTimestamp(std::string_view value) {
  const size_t dot = value.find('.');
  std::string_view s = value.substr(0, dot);
  const bool has_frac = dot != std::string_view::npos;
  std::string_view n = has_frac ? value.substr(dot + 1) : std::string_view();
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t mag = 0;
  for (char c : s) {
    if (!Digit(c)) return std::nullopt;
    if (mag > (uint64_t{1} << 63) / 10) return std::nullopt;
    mag = mag * 10 + static_cast<uint64_t>(c - '0');
    if (mag > (uint64_t{1} << 63)) return std::nullopt;
  }
  if (!neg && mag > (uint64_t{1} << 63) - 1) return std::nullopt;
  const int64_t sec = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  int64_t nsec = 0;
  if (has_frac && !n.empty() && n != "000000000" && n != "0") {
    if (n.size() > 20) return std::nullopt;
    if (!std::all_of(n.begin(), n.end(), Digit)) return std::nullopt;
    std::string nine(n.substr(0, 9));
    nine.resize(9, '0');
    nsec = std::stoll(nine);
  }
  return absl::FromUnixSeconds(sec) + absl::Nanoseconds(nsec);
}

// The layouts moby's Parse picks from (Go reference time 2006-01-02T15:04:05).
enum class Layout { kDate, kHour, kMinute, kSecond };

int DaysIn(int month, int64_t year) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Go's time.Parse of `value` with "2006-01-02" then, by `layout`, "T15",
// "T15:04" or "T15:04:05" (where Go takes a fraction ".ddd" or ",ddd" after
// the seconds even when the layout has none, and the ".999999999" layouts
// make it optional), then "Z07:00" when `zoned` (Z, or ±hh:mm with hh <= 24
// and mm <= 60 as Go allows). Without a zone: UTC (refstore; docker: local).
std::optional<absl::Time> GoParseLayout(std::string_view v, Layout layout, bool zoned) {
  size_t p = 0;
  auto digits = [&](size_t n) -> std::optional<int> {  // exactly n digits
    if (p + n > v.size()) return std::nullopt;
    int x = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!Digit(v[p + i])) return std::nullopt;
      x = x * 10 + (v[p + i] - '0');
    }
    p += n;
    return x;
  };
  auto lit = [&](char c) {
    if (p < v.size() && v[p] == c) {
      ++p;
      return true;
    }
    return false;
  };
  std::optional<int> year = digits(4);
  if (!year || !lit('-')) return std::nullopt;
  std::optional<int> month = digits(2);
  if (!month || *month < 1 || *month > 12 || !lit('-')) return std::nullopt;
  std::optional<int> day = digits(2);
  if (!day) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  int64_t nsec = 0;
  if (layout != Layout::kDate) {
    if (!lit('T')) return std::nullopt;
    // Go's getnum for "15": one or two digits.
    if (p >= v.size() || !Digit(v[p])) return std::nullopt;
    hour = v[p++] - '0';
    if (p < v.size() && Digit(v[p])) hour = hour * 10 + (v[p++] - '0');
    if (hour >= 24) return std::nullopt;
    if (layout != Layout::kHour) {
      std::optional<int> m;
      if (!lit(':') || !(m = digits(2)) || *m >= 60) return std::nullopt;
      minute = *m;
    }
    if (layout == Layout::kSecond) {
      std::optional<int> s;
      if (!lit(':') || !(s = digits(2)) || *s >= 60) return std::nullopt;
      second = *s;
      if (p + 1 < v.size() && (v[p] == '.' || v[p] == ',') && Digit(v[p + 1])) {
        size_t n = 1;
        while (p + n < v.size() && Digit(v[p + n])) ++n;
        std::string frac(v.substr(p + 1, std::min<size_t>(n - 1, 9)));
        frac.resize(9, '0');
        nsec = std::stoll(frac);
        p += n;
      }
    }
  }
  int64_t offset = 0;  // seconds east of UTC
  if (zoned) {
    if (lit('Z')) {
      offset = 0;
    } else {
      if (v.size() - p < 6 || v[p + 3] != ':') return std::nullopt;
      const char sign = v[p];
      if (!Digit(v[p + 1]) || !Digit(v[p + 2]) || !Digit(v[p + 4]) || !Digit(v[p + 5])) {
        return std::nullopt;
      }
      const int hh = (v[p + 1] - '0') * 10 + (v[p + 2] - '0');
      const int mm = (v[p + 4] - '0') * 10 + (v[p + 5] - '0');
      if (hh > 24 || mm > 60) return std::nullopt;
      if (sign != '+' && sign != '-') return std::nullopt;
      offset = (hh * 60 + mm) * 60 * (sign == '-' ? -1 : 1);
      p += 6;
    }
  }
  if (p != v.size()) return std::nullopt;  // extra text
  if (*day < 1 || *day > DaysIn(*month, *year)) return std::nullopt;
  const absl::Time t = absl::FromCivil(absl::CivilSecond(*year, *month, *day, hour, minute, second),
                                       absl::UTCTimeZone());
  return t - absl::Seconds(offset) + absl::Nanoseconds(nsec);
}

// moby's timestamp.Parse(value, now), with a zoneless time taken as UTC
// (§5 (refstore)).
std::optional<absl::Time> GoGetTimestamp(std::string_view value, absl::Time now) {
  if (Blank(value) || value.find_first_not_of(" \t\n\v\f\r") == std::string_view::npos) {
    return std::nullopt;
  }
  if (value != "0") {
    if (std::optional<int64_t> d = GoParseDuration(value)) return now - absl::Nanoseconds(*d);
  }
  auto contains_any = [&](std::string_view chars) {
    return value.find_first_of(chars) != std::string_view::npos;
  };
  const auto dashes = std::count(value.begin(), value.end(), '-');
  const bool in_location = !contains_any("zZ+") && dashes != 3;
  const bool zoned = !in_location;
  std::optional<absl::Time> t;
  if (value.find('.') != std::string_view::npos) {
    t = GoParseLayout(value, Layout::kSecond, zoned);
  } else if (value.find('T') != std::string_view::npos) {
    auto colons = std::count(value.begin(), value.end(), ':');
    if (!in_location && !contains_any("zZ") && colons > 0) --colons;
    const Layout l = colons == 0 ? Layout::kHour : colons == 1 ? Layout::kMinute : Layout::kSecond;
    t = GoParseLayout(value, l, zoned);
  } else {
    t = GoParseLayout(value, Layout::kDate, zoned);
  }
  if (t) return t;
  if (value.find('-') != std::string_view::npos) return std::nullopt;
  return GoParseUnixTimestamp(value);
}

// `until` values (§5, §8): docker's timestamp forms; a value that does not
// parse gets §8's message, one outside the store's times §5's
// "invalid value for 'until' filter: <reason>" with the store's reason.
absl::StatusOr<absl::Time> UntilTime(const std::string& v, absl::Time now) {
  constexpr std::string_view kWhat = "invalid value for 'until' filter: ";
  std::optional<absl::Time> t = GoGetTimestamp(v, now);
  if (!t) return Invalid(Cat(kWhat, "failed to parse value as time or duration: ", GoQuote(v)));
  if (!Representable(*t)) return Invalid(Cat(kWhat, GoQuote(v), OutsideText()));
  return *t;
}

// §8 Input "bad times", item: a time outside the store's range (`at`, a lease's
// expiry) is invalid_argument, never clamped.
absl::Status CheckTime(absl::Time t, std::string_view what) {
  if (Representable(t)) return absl::OkStatus();
  return Invalid(Cat(what, " ", FormatRfc3339(t), OutsideText()));
}

// Every operation: the namespace, then the time it runs at.
absl::Status CheckCtx(const OpContext& ctx) {
  if (absl::Status s = CheckNs(ctx.ns); !s.ok()) return s;
  return CheckTime(ctx.now, "the operation's time");
}

// Go's path.Match (the reference glob of §8 "images / inspect"): '*' and '?'
// never match '/'; classes as Go's. Names are ASCII, so bytes are runes.
// nullopt: a malformed pattern (ErrBadPattern).
std::optional<bool> GoMatchChunk(std::string_view chunk, std::string_view s,
                                 std::string_view* rest) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char r = 0;
        if (!failed) {
          r = s[0];
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        auto get_esc = [&](char* out) -> bool {
          if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
          if (chunk[0] == '\\') {
            chunk.remove_prefix(1);
            if (chunk.empty()) return false;
          }
          *out = chunk[0];
          chunk.remove_prefix(1);
          return !chunk.empty();
        };
        for (;;) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char lo, hi;
          if (!get_esc(&lo)) return std::nullopt;
          hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            if (!get_esc(&hi)) return std::nullopt;
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
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return std::nullopt;
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
  if (failed) return false;
  *rest = s;
  return true;
}

void GoScanChunk(std::string_view* pattern, bool* star, std::string_view* chunk) {
  *star = false;
  while (!pattern->empty() && (*pattern)[0] == '*') {
    pattern->remove_prefix(1);
    *star = true;
  }
  bool inrange = false;
  size_t i = 0;
  for (; i < pattern->size(); ++i) {
    const char c = (*pattern)[i];
    if (c == '\\') {
      if (i + 1 < pattern->size()) ++i;
    } else if (c == '[') {
      inrange = true;
    } else if (c == ']') {
      inrange = false;
    } else if (c == '*' && !inrange) {
      break;
    }
  }
  *chunk = pattern->substr(0, i);
  pattern->remove_prefix(i);
}

std::optional<bool> GoPathMatch(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    bool star;
    std::string_view chunk;
    GoScanChunk(&pattern, &star, &chunk);
    if (star && chunk.empty()) return name.find('/') == std::string_view::npos;
    std::string_view t;
    std::optional<bool> ok = GoMatchChunk(chunk, name, &t);
    if (ok && *ok && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    if (!ok) return std::nullopt;
    bool advanced = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        std::optional<bool> ok2 = GoMatchChunk(chunk, name.substr(i + 1), &t);
        if (ok2 && *ok2) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          advanced = true;
          break;
        }
        if (!ok2) return std::nullopt;
      }
    }
    if (advanced) continue;
    while (!pattern.empty()) {
      GoScanChunk(&pattern, &star, &chunk);
      std::string_view ignored;
      if (!GoMatchChunk(chunk, "", &ignored)) return std::nullopt;
    }
    return false;
  }
  return name.empty();
}

bool IsIndexOrManifest(std::string_view t) {
  return t == "application/vnd.oci.image.manifest.v1+json" ||
         t == "application/vnd.oci.image.index.v1+json" ||
         t == "application/vnd.docker.distribution.manifest.v2+json" ||
         t == "application/vnd.docker.distribution.manifest.list.v2+json";
}

}  // namespace

std::string FamiliarOf(std::string_view full) {
  // §2: drop "docker.io/", then "library/" when nothing else has a "/".
  std::string s(full);
  if (!s.starts_with("docker.io/")) return s;
  s = s.substr(10);
  if (s.starts_with("library/") && s.find('/', 8) == std::string::npos) s = s.substr(8);
  return s;
}

bool IsManifestOrIndexType(std::string_view media_type) { return IsIndexOrManifest(media_type); }

// Docker's filters (§5, §8 and DESIGN "images filters").
struct Model::Filter {
  std::vector<std::string> labels, not_labels, references;
  std::vector<absl::Time> until;
  std::vector<absl::Time> before, since;  // creation times of the images named
  std::optional<bool> dangling;
  // Prune options beyond docker (PruneOptions): `references` above holds
  // their globs too.
  std::optional<absl::Time> unused_before;  // last use after it: not a candidate
  int keep = 0;                             // newest per repository kept
  int64_t max_storage = -1;                 // stop once the namespace fits

  // A record created at `t` is selected when older than every until.
  bool Selects(absl::Time t) const {
    return std::all_of(until.begin(), until.end(), [&](absl::Time u) { return t < u; });
  }
  bool LabelsPass(const std::map<std::string, std::string>& l) const {
    for (const auto& s : labels) {
      if (!LabelHas(l, s)) return false;
    }
    for (const auto& s : not_labels) {
      if (LabelHas(l, s)) return false;
    }
    return true;
  }
  // As docker's reference.FamiliarMatch: the glob matches the familiar
  // name ("alpine:3"), or else its repository ("alpine"); globs are Go's
  // path.Match (§8), a malformed one matches nothing.
  bool NameMatches(const std::string& familiar) const {
    if (references.empty()) return true;
    const std::string repo = Split(familiar).repo;
    for (const auto& g : references) {
      if (GoPathMatch(g, familiar).value_or(false)) return true;
      if (GoPathMatch(g, repo).value_or(false)) return true;
    }
    return false;
  }
  // images before=/since= (§8): created strictly before / after each.
  bool CreatedPasses(absl::Time created) const {
    for (absl::Time t : before) {
      if (!(created < t)) return false;
    }
    for (absl::Time t : since) {
      if (!(created > t)) return false;
    }
    return true;
  }

  // §5, §8: every key is checked before any value (an unknown key is
  // reported first).
  static absl::StatusOr<Filter> Parse(const Model& m, std::string_view ns, const Filters& filters,
                                      absl::Time now, bool listing) {
    for (const auto& [key, values] : filters) {
      const bool known = key == "label" || key == "label!" || key == "until" || key == "dangling" ||
                         (listing && (key == "reference" || key == "before" || key == "since"));
      if (!known) return Invalid(Cat("invalid filter '", key, "'"));
    }
    // Then the values, in docker's order (DESIGN "Filter order"; the
    // contract is silent): prune dangling, until (ImagePrune); images
    // before, since, until, dangling (setupFilters).
    Filter f;
    auto get = [&](const char* key) -> const std::vector<std::string>* {
      auto it = filters.find(key);
      return it == filters.end() ? nullptr : &it->second;
    };
    if (const auto* v = get("label")) f.labels = *v;
    if (const auto* v = get("label!")) f.not_labels = *v;
    if (const auto* v = get("reference")) f.references = *v;
    auto until = [&]() -> absl::Status {
      if (const auto* values = get("until")) {
        for (const auto& v : *values) {
          absl::StatusOr<absl::Time> t = UntilTime(v, now);
          if (!t.ok()) return t.status();
          f.until.push_back(*t);
        }
      }
      return absl::OkStatus();
    };
    auto dangling = [&]() -> absl::Status {
      const auto* values = get("dangling");
      if (!values) return absl::OkStatus();
      // docker's GetBoolOrDefault: the key with no value is invalid.
      if (values->empty()) return Invalid("invalid filter 'dangling'");
      for (const auto& v : *values) {
        bool d;
        if (v == "true" || v == "1") {
          d = true;
        } else if (v == "false" || v == "0") {
          d = false;
        } else {
          return Invalid(Cat("invalid filter 'dangling=[", v, "]'"));
        }
        if (f.dangling && *f.dangling != d) {
          return Invalid(Cat("invalid filter 'dangling=[", absl::StrJoin(*values, " "), "]'"));
        }
        f.dangling = d;
      }
      return absl::OkStatus();
    };
    if (!listing) {
      if (absl::Status s = dangling(); !s.ok()) return s;
      if (absl::Status s = until(); !s.ok()) return s;
      return f;
    }
    for (const char* key : {"before", "since"}) {  // resolved as inspect resolves
      if (const auto* values = get(key)) {
        for (const auto& v : *values) {
          absl::StatusOr<Resolved> r = m.Resolve(m.ns(ns), v, Mode::kLookup);
          if (!r.ok()) return r.status();
          (key[0] == 'b' ? f.before : f.since).push_back(m.ns(ns).images.at(r->id).created);
        }
      }
    }
    if (absl::Status s = until(); !s.ok()) return s;
    if (absl::Status s = dangling(); !s.ok()) return s;
    return f;
  }
};

void Model::Forget(const std::map<std::string, Descriptor>& recorded) {
  std::erase_if(media_types_, [&](const auto& kv) { return !recorded.count(kv.first); });
}

const Namespace& Model::ns(std::string_view name) const {
  static const Namespace kEmpty;
  auto it = ns_.find(std::string(name));
  return it == ns_.end() ? kEmpty : it->second;
}

std::map<std::string, Descriptor> Model::Recorded() const {
  std::map<std::string, Descriptor> out;
  for (const auto& [name, n] : ns_) {
    for (const auto& [id, img] : n.images) {
      for (const Descriptor& d : BlobsOf(img)) out.emplace(d.digest, d);
    }
    for (const auto& [lid, lease] : n.leases) {
      for (const auto& [digest, d] : lease.holds) out.emplace(digest, d);
    }
  }
  return out;
}

std::map<std::string, int> Model::ImageUses() const {
  std::map<std::string, int> uses;
  for (const auto& [name, n] : ns_) {
    for (const auto& [id, img] : n.images) {
      for (const Descriptor& d : BlobsOf(img)) ++uses[d.digest];
    }
  }
  return uses;
}

// §1 "Reclaimed space", §6, DESIGN "Expired lease and the last image": a
// digest in `digests` that no image uses and no live lease holds is freed;
// expired leases lose their hold on it.
void Model::ReleaseUnused(const std::set<std::string>& digests, absl::Time now) {
  std::map<std::string, int> uses = ImageUses();
  for (const std::string& d : digests) {
    if (uses.count(d)) continue;
    bool live = false;
    for (const auto& [name, n] : ns_) {
      for (const auto& [lid, lease] : n.leases) {
        if (lease.LiveAt(now) && lease.holds.count(d)) live = true;
      }
    }
    if (live) continue;
    for (auto& [name, n] : ns_) {
      for (auto& [lid, lease] : n.leases) lease.holds.erase(d);
    }
  }
}

// §8 Input: a size that differs from the one recorded for the digest.
absl::StatusOr<std::string> Model::RecordedSizeCheck(const std::vector<Descriptor>& ds) const {
  std::map<std::string, Descriptor> rec = Recorded();
  for (const Descriptor& d : ds) {
    auto it = rec.find(d.digest);
    if (it != rec.end() && it->second.size != d.size) {
      return Invalid(Cat("size ", d.size, " of ", d.digest, " differs from the recorded size ",
                         it->second.size));
    }
  }
  return std::string();
}

// §7: the name points to `id`; an image that had it loses it (and becomes
// dangling, now, when it has no name left). A name the image already has
// keeps its creation time (§8).
void Model::SetName(Namespace& n, const std::string& id, const std::string& full, absl::Time now) {
  for (auto& [other_id, other] : n.images) {
    if (other_id != id && other.names.erase(full) && other.names.empty()) {
      other.dangling_since = now;
    }
  }
  n.images.at(id).names.emplace(full, now);
}

// §3.
absl::StatusOr<Model::Resolved> Model::Resolve(const Namespace& n, std::string_view text,
                                               Mode mode) const {
  if (Blank(text)) return Invalid("image name cannot be blank");
  std::string hex;
  const bool maybe_id = IdPrefix(text, &hex);
  absl::StatusOr<Reference> parsed = ParseReference(text);
  if (!parsed.ok() && !maybe_id) return parsed.status();
  const std::string shown = parsed.ok() ? parsed->Familiar() : std::string(text);
  Resolved r;
  if (parsed.ok()) r.ref = *parsed;

  // §3.3: name@sha256:<hex> matches only if that image has a name in that
  // repository.
  if (parsed.ok() && parsed->digest) {
    auto it = n.images.find(*parsed->digest);
    if (mode == Mode::kRemove) {
      // §4 "By a digested reference": the image is the one with that ID; the
      // reference is one of its names (kName) or stands for a set of its
      // names (kRepoDigest, computed by RemoveImage).
      if (it == n.images.end()) return NotFound("No such image: " + shown);
      r.id = it->first;
      r.via = it->second.names.count(parsed->Full()) ? Via::kName : Via::kRepoDigest;
      return r;
    }
    if (it != n.images.end()) {
      for (const auto& [name, t] : it->second.names) {
        if (Split(name).repo == parsed->Repository()) {
          r.id = it->first;
          r.via = Via::kRepoDigest;
          return r;
        }
      }
    }
    return NotFound("No such image: " + shown);
  }

  std::set<std::string> candidates;
  bool by_name = false;
  if (parsed.ok()) {
    for (const auto& [id, img] : n.images) {
      if (img.names.count(parsed->Full())) {
        candidates.insert(id);
        by_name = true;
      }
    }
  }
  // §3.2: for removal names and ID prefixes together; for lookups an exact
  // name wins.
  if (maybe_id && !(mode == Mode::kLookup && by_name)) {
    for (const auto& [id, img] : n.images) {
      if (HexOf(id).starts_with(hex)) candidates.insert(id);
    }
  }
  if (candidates.empty()) {
    // §4: a full 64-hex ID that names no image (docker parses it as a digest).
    if (maybe_id && hex.size() == 64) return NotFound("No such image: sha256:" + hex);
    return NotFound("No such image: " + shown);
  }
  if (candidates.size() > 1) return NotFound("ambiguous reference");
  r.id = *candidates.begin();
  // An argument the image's ID starts with is an ID (docker), except where
  // an exact name won the lookup (§3.2): then it is the name the container
  // was created with (§5).
  r.via = maybe_id && HexOf(r.id).starts_with(hex) && !(mode == Mode::kLookup && by_name)
              ? Via::kId
              : Via::kName;
  return r;
}

absl::StatusOr<std::string> Model::CreateImage(const OpContext& ctx,
                                               const CreateImageRequest& req) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckDescriptor(req.target); !s.ok()) return s;
  absl::StatusOr<std::vector<Descriptor>> content =
      Distinct(req.content, {{req.target.digest, req.target.size}});
  if (!content.ok()) return content.status();
  std::optional<std::string> full;
  if (req.name) {
    absl::StatusOr<Reference> ref = ParseReference(*req.name);
    if (!ref.ok()) return ref.status();
    if (ref->digest && *ref->digest != req.target.digest) {  // §8, DESIGN "A name on create"
      return Invalid(Cat("name ", *req.name, " carries digest ", *ref->digest,
                         ", not the image's digest ", req.target.digest));
    }
    if (ref->Repository() == "docker.io/library/sha256") {
      return Invalid("refusing to create an ambiguous tag using digest algorithm as name");
    }
    full = ref->Full();
  }
  if (req.lease) {
    if (absl::Status s = CheckLeaseId(*req.lease); !s.ok()) return s;
    if (!ns(ctx.ns).leases.count(*req.lease)) {  // §6: the lease must exist
      return NotFound(Cat("lease ", *req.lease, " not found"));
    }
  }
  std::vector<Descriptor> blobs = {req.target};
  blobs.insert(blobs.end(), content->begin(), content->end());
  if (auto s = RecordedSizeCheck(blobs); !s.ok()) return s.status();

  Namespace& n = mut(ctx.ns);
  const std::string id = req.target.digest;
  if (!n.images.count(id)) {
    // §7/§8: an existing image only gets the name; a new one is recorded
    // dangling until named.
    n.images[id] = Image{.target = req.target,
                         .content = *content,
                         .labels = req.labels,
                         .created = ctx.now,
                         .dangling_since = ctx.now,
                         .names = {}};
    if (req.lease) {
      for (const Descriptor& d : blobs) n.leases.at(*req.lease).holds.emplace(d.digest, d);
    }
    for (const Descriptor& d : blobs) media_types_.emplace(d.digest, d.media_type);
  } else if (req.lease) {
    // §6, §7: an image that already exists has its blobs (the recorded
    // ones: target and content) added to the lease, as containerd adds
    // content already present to the writer's lease.
    for (const Descriptor& d : BlobsOf(n.images.at(id))) {
      n.leases.at(*req.lease).holds.emplace(d.digest, d);
    }
  }
  if (full) SetName(n, id, *full, ctx.now);
  return id;
}

absl::Status Model::Pin(const OpContext& ctx, std::string_view ref, bool pinned) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  absl::StatusOr<Resolved> res = Resolve(ns(ctx.ns), ref, Mode::kLookup);
  if (!res.ok()) return res.status();
  mut(ctx.ns).images.at(res->id).pinned = pinned;
  return absl::OkStatus();
}

absl::Status Model::Tag(const OpContext& ctx, std::string_view source, std::string_view target) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  // §8: the source is resolved before the target is checked (docker's client).
  absl::StatusOr<Resolved> res = Resolve(ns(ctx.ns), source, Mode::kLookup);
  if (!res.ok()) return res.status();
  if (Blank(target)) return Invalid("image name cannot be blank");
  absl::StatusOr<Reference> ref = ParseReference(target);
  if (!ref.ok()) return ref.status();
  if (ref->digest) return Invalid("refusing to create a tag with a digest reference");
  if (ref->Repository() == "docker.io/library/sha256") {
    return Invalid("refusing to create an ambiguous tag using digest algorithm as name");
  }
  SetName(mut(ctx.ns), res->id, ref->Full(), ctx.now);
  return absl::OkStatus();
}

// §4 and §8 "rmi NAME".
absl::StatusOr<RemoveResult> Model::RemoveImage(const OpContext& ctx, std::string_view text,
                                                bool force) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  absl::StatusOr<Resolved> res = Resolve(ns(ctx.ns), text, Mode::kRemove);
  if (!res.ok()) return res.status();
  Namespace& n = mut(ctx.ns);
  const std::string id = res->id;
  Image& img = n.images.at(id);
  std::vector<std::string> holders;  // container IDs, ascending
  std::vector<std::string> running;
  for (const auto& [cid, c] : n.containers) {
    if (c.image_id != id) continue;
    holders.push_back(cid);
    if (c.running) running.push_back(cid);
  }
  RemoveResult out;
  auto untag = [&](const std::set<std::string>& names) {
    for (const auto& name : names) {  // byte order of the full name
      out.deleted.push_back({DeleteEntry::Kind::kUntagged, FamiliarOf(name)});
      img.names.erase(name);
    }
    if (img.names.empty()) img.dangling_since = ctx.now;
  };

  bool by_id = res->via == Via::kId;
  if (!by_id) {
    std::set<std::string> names;
    const std::string repo = res->ref->Repository();
    const std::optional<std::string>& tag = res->ref->tag;
    // Whether a name of the repository with a tag other than `tag` names
    // the image.
    auto other_tag = [&]() {
      for (const auto& [name, t] : img.names) {
        Parts p = Split(name);
        if (p.repo == repo && p.tag && (!tag || *p.tag != *tag)) return true;
      }
      return false;
    };
    auto repo_digest_names = [&]() {
      for (const auto& [name, t] : img.names) {
        Parts p = Split(name);
        if (p.repo == repo && !p.tag && p.digest) names.insert(name);
      }
    };
    // §4: a digested reference that is itself a stored name is removed as a
    // name, by §8 "rmi NAME": NAME, the repo:tag@digest names with its
    // repository and tag, and the repository's repo@digest names when no
    // other tag of the repository names the image.
    // Otherwise the names a reference to the repository stands for (§4, §8
    // "rmi NAME" for a tag, docker's getSameReferences): with a tag, that
    // tag's names with or without the digest, plus the repository's
    // repo@digest names when no other tag of the repository names the
    // image; without a tag (repo@digest), every name of the repository.
    if (res->ref->digest && res->via == Via::kName) {
      names.insert(res->ref->Full());
      for (const auto& [name, t] : img.names) {
        Parts p = Split(name);
        if (tag && p.repo == repo && p.tag && *p.tag == *tag && p.digest) names.insert(name);
      }
      if (!other_tag()) repo_digest_names();
    } else if (tag) {
      for (const auto& [name, t] : img.names) {
        Parts p = Split(name);
        if (p.repo == repo && p.tag && *p.tag == *tag) names.insert(name);
      }
      if (!other_tag()) repo_digest_names();
    } else {
      for (const auto& [name, t] : img.names) {
        if (Split(name).repo == repo) names.insert(name);
      }
    }
    if (names.empty()) {  // §4: a tag that names nothing is never ignored
      return NotFound("No such image: " + res->ref->Familiar());
    }
    if (names.size() < img.names.size()) {  // other names remain: untag only
      untag(names);
      return out;
    }
    if (res->via == Via::kRepoDigest) {
      // §4: a digested reference standing for every name is removed as by
      // ID, with the container checks but not the multiple-repositories one.
      by_id = true;
    } else if (!holders.empty()) {
      if (!force) {
        return Conflict(Cat("conflict: unable to delete ", res->ref->Familiar(),
                            " (must be forced) - container ", Short12(holders[0]),
                            " is using its referenced image ", Short12(id)));
      }
      untag(names);  // the image stays, dangling, held by the container
      return out;
    }
  }
  if (by_id) {
    const std::string id12 = Short12(id);
    if (!running.empty()) {
      return Conflict(Cat("conflict: unable to delete ", id12,
                          " (cannot be forced) - image is being used by running container ",
                          Short12(running[0])));
    }
    if (!force && !holders.empty()) {
      return Conflict(Cat("conflict: unable to delete ", id12,
                          " (must be forced) - image is being used by stopped container ",
                          Short12(holders[0])));
    }
    if (!force && res->via == Via::kId) {
      std::set<std::string> repos;
      std::set<std::pair<std::string, std::string>> tags;
      for (const auto& [name, t] : img.names) {
        Parts p = Split(name);
        repos.insert(p.repo);
        if (p.tag) tags.emplace(p.repo, *p.tag);
      }
      if (repos.size() > 1 || tags.size() > 1) {
        return Conflict(Cat("conflict: unable to delete ", id12,
                            " (must be forced) - image is referenced in multiple repositories"));
      }
    }
  }
  // Beyond docker (store.h Pin): a pinned image is only deleted by force.
  if (img.pinned && !force) {
    return Conflict(Cat("conflict: unable to remove pinned image ", text, " (must be forced)"));
  }
  // Delete: every name, then the image; blobs nothing else holds are freed.
  const std::map<std::string, Descriptor> before = Recorded();
  for (const auto& [name, t] : img.names) {
    out.deleted.push_back({DeleteEntry::Kind::kUntagged, FamiliarOf(name)});
  }
  std::set<std::string> digests;
  for (const Descriptor& d : BlobsOf(img)) digests.insert(d.digest);
  n.images.erase(id);
  ReleaseUnused(digests, ctx.now);
  const std::map<std::string, Descriptor> after = Recorded();
  for (const auto& [d, desc] : before) {
    if (!after.count(d)) out.space_reclaimed += desc.size;
  }
  Forget(after);
  out.deleted.push_back({DeleteEntry::Kind::kDeleted, id});
  return out;
}

// §8 Containers; §5 protected names.
absl::StatusOr<std::string> Model::CreateContainer(const OpContext& ctx, std::string_view id,
                                                   std::string_view image_ref, bool running) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckContainerId(id); !s.ok()) return s;
  absl::StatusOr<Resolved> res = Resolve(ns(ctx.ns), image_ref, Mode::kLookup);
  if (!res.ok()) return res.status();
  Namespace& n = mut(ctx.ns);
  if (n.containers.count(std::string(id))) {
    return absl::AlreadyExistsError(Cat("container ", id, " already exists"));
  }
  Container c{.image_id = res->id, .running = running, .created = ctx.now, .protected_names = {}};
  if (res->via != Via::kId && res->ref) {
    // The name it was created with; repo:tag@digest protects repo:tag too.
    c.protected_names.insert(res->ref->Full());
    if (res->ref->tag && res->ref->digest) {
      Reference tagged = *res->ref;
      tagged.digest.reset();
      c.protected_names.insert(tagged.Full());
    }
  }
  n.containers[std::string(id)] = std::move(c);
  n.images.at(res->id).last_used = ctx.now;
  return res->id;
}

absl::Status Model::StartContainer(const OpContext& ctx, std::string_view id) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckContainerId(id); !s.ok()) return s;
  if (!ns(ctx.ns).containers.count(std::string(id))) {
    return NotFound(Cat("No such container: ", id));
  }
  Namespace& n = mut(ctx.ns);
  Container& c = n.containers.at(std::string(id));
  if (c.running) return absl::OkStatus();  // already running: not a new use
  c.running = true;
  // The image may have been force-removed since.
  if (auto it = n.images.find(c.image_id); it != n.images.end()) it->second.last_used = ctx.now;
  return absl::OkStatus();
}

absl::Status Model::StopContainer(const OpContext& ctx, std::string_view id) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckContainerId(id); !s.ok()) return s;
  if (!ns(ctx.ns).containers.count(std::string(id))) {
    return NotFound(Cat("No such container: ", id));
  }
  mut(ctx.ns).containers.at(std::string(id)).running = false;
  return absl::OkStatus();
}

absl::Status Model::RemoveContainer(const OpContext& ctx, std::string_view id) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckContainerId(id); !s.ok()) return s;
  auto it = ns(ctx.ns).containers.find(std::string(id));
  if (it == ns(ctx.ns).containers.end()) return NotFound(Cat("No such container: ", id));
  if (it->second.running) {
    return Conflict(Cat("conflict: You cannot remove a running container ", id,
                        ". Stop the container before attempting removal or force remove"));
  }
  mut(ctx.ns).containers.erase(std::string(id));
  return absl::OkStatus();
}

// §6.
absl::Status Model::CreateLease(const OpContext& ctx, std::string_view id,
                                std::optional<absl::Time> expires) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckLeaseId(id); !s.ok()) return s;
  if (expires) {
    if (absl::Status s = CheckTime(*expires, Cat("lease ", id, " expiry")); !s.ok()) return s;
  }
  if (ns(ctx.ns).leases.count(std::string(id))) {
    return absl::AlreadyExistsError(Cat("lease ", id, " already exists"));
  }
  mut(ctx.ns).leases[std::string(id)] = Lease{.created = ctx.now, .expires = expires, .holds = {}};
  return absl::OkStatus();
}

absl::Status Model::AddLeaseContent(const OpContext& ctx, std::string_view id,
                                    const std::vector<Descriptor>& content) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckLeaseId(id); !s.ok()) return s;
  // §6: the lease is looked up first, then each descriptor is checked.
  if (!ns(ctx.ns).leases.count(std::string(id))) {
    return NotFound(Cat("lease ", id, " not found"));
  }
  absl::StatusOr<std::vector<Descriptor>> blobs = Distinct(content, {});
  if (!blobs.ok()) return blobs.status();
  if (auto s = RecordedSizeCheck(*blobs); !s.ok()) return s.status();
  Lease& lease = mut(ctx.ns).leases.at(std::string(id));
  for (const Descriptor& d : *blobs) {
    lease.holds.emplace(d.digest, d);
    media_types_.emplace(d.digest, d.media_type);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Model::DeleteLease(const OpContext& ctx, std::string_view id) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  if (absl::Status s = CheckLeaseId(id); !s.ok()) return s;
  if (!ns(ctx.ns).leases.count(std::string(id))) {
    return NotFound(Cat("lease ", id, " not found"));
  }
  const std::map<std::string, Descriptor> before = Recorded();
  Namespace& n = mut(ctx.ns);
  std::set<std::string> digests;
  for (const auto& [d, desc] : n.leases.at(std::string(id)).holds) digests.insert(d);
  n.leases.erase(std::string(id));
  ReleaseUnused(digests, ctx.now);
  const std::map<std::string, Descriptor> after = Recorded();
  int64_t freed = 0;
  for (const auto& [d, desc] : before) {
    if (!after.count(d)) freed += desc.size;
  }
  Forget(after);
  return freed;
}

// §5 and §8 "Prune selects records", "Prune entries"; DESIGN "Prune options"
// for the options beyond docker.
absl::StatusOr<PruneResult> Model::Prune(const OpContext& ctx, const PruneOptions& options,
                                         std::vector<PrunedImage>* pruned) {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  absl::StatusOr<Filter> f =
      Filter::Parse(*this, ctx.ns, options.filters, ctx.now, /*listing=*/false);
  if (!f.ok()) return f.status();
  f->references = options.references;
  if (options.unused_for) {
    if (*options.unused_for < absl::ZeroDuration()) {
      return Invalid("invalid unused-for duration: negative");
    }
    f->unused_before = ctx.now - *options.unused_for;
  }
  if (options.keep < 0) return Invalid(Cat("invalid keep count ", options.keep));
  f->keep = options.keep;
  f->max_storage = options.max_storage;
  Model next = *this;  // a dry run reports exactly what a real one would do
  PruneResult r = next.PruneHere(ctx.ns, *f, options.all, ctx.now, pruned);
  if (!options.dry_run) *this = std::move(next);
  return r;
}

namespace {

// The images `keep` keeps: the `keep` most recently created (then lowest ID)
// of each repository any of their names is in.
std::set<std::string> KeptImages(const Namespace& n, int keep) {
  std::set<std::string> kept;
  if (keep <= 0) return kept;
  std::map<std::string, std::vector<std::pair<absl::Time, std::string>>> repos;
  for (const auto& [id, img] : n.images) {
    std::set<std::string> mine;
    for (const auto& [name, t] : img.names) mine.insert(Split(name).repo);
    for (const auto& repo : mine) repos[repo].emplace_back(img.created, id);
  }
  for (auto& [repo, images] : repos) {
    std::sort(images.begin(), images.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (size_t i = 0; i < images.size() && i < static_cast<size_t>(keep); ++i) {
      kept.insert(images[i].second);
    }
  }
  return kept;
}

// df SIZE: the distinct blobs of the namespace's images.
int64_t SizeOf(const Namespace& n) {
  std::map<std::string, int64_t> blobs;
  for (const auto& [id, img] : n.images) {
    for (const Descriptor& d : BlobsOf(img)) blobs[d.digest] = d.size;
  }
  int64_t size = 0;
  for (const auto& [d, s] : blobs) size += s;
  return size;
}

}  // namespace

PruneResult Model::PruneHere(std::string_view ns_name, const Filter& f, bool all, absl::Time now,
                             std::vector<PrunedImage>* pruned) {
  const std::map<std::string, Descriptor> before = Recorded();
  // Expired leases of every namespace go first (§6).
  for (auto& [name, n] : ns_) {
    std::erase_if(n.leases, [&](const auto& kv) { return !kv.second.LiveAt(now); });
  }
  Namespace& n = mut(ns_name);
  const bool dangling_only = f.dangling ? *f.dangling : !all;
  const std::set<std::string> kept = KeptImages(n, f.keep);
  // The order images are taken in matters only for max_storage: least
  // recently used first, then by ID; each is deleted before the next is
  // looked at, and the prune stops once the namespace fits.
  std::vector<std::pair<absl::Time, std::string>> order;
  for (const auto& [id, img] : n.images) {
    order.emplace_back(f.max_storage >= 0 ? img.LastUse() : absl::InfinitePast(), id);
  }
  std::sort(order.begin(), order.end());
  PruneResult r;
  std::set<std::string> released, children, doomed_ids;
  for (const auto& [last_use, id] : order) {
    if (f.max_storage >= 0 && SizeOf(n) <= f.max_storage) break;
    Image& img = n.images.at(id);
    const bool dangling = img.names.empty();
    if (dangling_only && !dangling) continue;
    if (!f.LabelsPass(img.labels)) continue;
    if (img.pinned || kept.count(id)) continue;  // never a candidate, not even for untagging
    if (f.unused_before && img.LastUse() > *f.unused_before) continue;
    if (dangling && !f.references.empty()) continue;  // no name for a glob to match
    std::set<std::string> protected_names;
    bool held = false;
    for (const auto& [cid, c] : n.containers) {
      if (c.image_id != id) continue;
      held = true;
      protected_names.insert(c.protected_names.begin(), c.protected_names.end());
    }
    bool doomed = false;
    std::vector<std::string> untag;
    if (dangling) {  // one record: its digest reference, dated when it became dangling
      doomed = !held && f.Selects(img.dangling_since);
    } else {
      std::vector<std::string> selected;  // sorted (map order)
      for (const auto& [name, t] : img.names) {
        if (f.Selects(t) && f.NameMatches(FamiliarOf(name))) selected.push_back(name);
      }
      if (!held) {
        doomed = selected.size() == img.names.size();
        if (!doomed) untag = selected;
      } else {
        for (const auto& s : selected) {
          if (!protected_names.count(s)) untag.push_back(s);
        }
        // Never nameless: the lexicographically last full name is kept.
        if (untag.size() == img.names.size()) untag.pop_back();
      }
    }
    for (const auto& name : untag) {
      r.deleted.push_back({DeleteEntry::Kind::kUntagged, FamiliarOf(name)});
      img.names.erase(name);
    }
    if (!doomed) continue;
    PrunedImage p{.id = id, .untagged = {}};
    if (img.names.empty()) {
      p.untagged.push_back(id);
    } else {
      for (const auto& [name, t] : img.names) p.untagged.push_back(FamiliarOf(name));
    }
    for (const auto& u : p.untagged) r.deleted.push_back({DeleteEntry::Kind::kUntagged, u});
    r.deleted.push_back({DeleteEntry::Kind::kDeleted, id});
    for (const Descriptor& d : BlobsOf(img)) released.insert(d.digest);
    for (const Descriptor& d : img.content) children.insert(d.digest);
    doomed_ids.insert(id);
    if (pruned) pruned->push_back(std::move(p));
    n.images.erase(id);
  }
  ReleaseUnused(released, now);
  const std::map<std::string, Descriptor> after = Recorded();
  for (const auto& [d, desc] : before) {
    if (after.count(d)) continue;
    r.space_reclaimed += desc.size;
    // Freed child manifests and indexes of the deleted images, once each.
    if (children.count(d) && !doomed_ids.count(d) && IsIndexOrManifest(desc.media_type)) {
      r.deleted.push_back({DeleteEntry::Kind::kDeleted, d});
    }
  }
  r.images_deleted = static_cast<int64_t>(doomed_ids.size());
  Forget(after);
  return r;
}

ImageSummary Model::Summarize(std::string_view ns_name, const std::string& id, const Image& img,
                              const std::vector<std::string>& names,
                              const std::map<std::string, int>& uses) const {
  ImageSummary s;
  s.id = id;
  for (const auto& name : names) s.names.push_back(FamiliarOf(name));
  std::sort(s.names.begin(), s.names.end());
  for (const Descriptor& d : BlobsOf(img)) {
    s.size += d.size;
    auto it = uses.find(d.digest);
    if (it != uses.end() && it->second >= 2) s.shared_size += d.size;
  }
  s.unique_size = s.size - s.shared_size;
  for (const auto& [cid, c] : ns(ns_name).containers) {
    if (c.image_id == id) ++s.containers;
  }
  s.created = img.created;
  s.last_used = img.LastUse();
  s.labels = img.labels;
  s.pinned = img.pinned;
  std::set<std::string> repos;  // of the names shown
  for (const auto& name : names) repos.insert(FamiliarOf(Split(name).repo) + "@" + id);
  s.repo_digests.assign(repos.begin(), repos.end());
  return s;
}

// §8 "images / inspect", DESIGN "images filters".
absl::StatusOr<std::vector<ImageSummary>> Model::ListImages(const OpContext& ctx,
                                                            const ListOptions& options) const {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  absl::StatusOr<Filter> f =
      Filter::Parse(*this, ctx.ns, options.filters, ctx.now, /*listing=*/true);
  if (!f.ok()) return f.status();
  const bool name_filters = !f->until.empty() || !f->references.empty();
  const std::map<std::string, int> uses = ImageUses();
  std::vector<ImageSummary> out;
  for (const auto& [id, img] : ns(ctx.ns).images) {
    const bool dangling = img.names.empty();
    // §8: the dangling filter, when given, decides the candidates and
    // overrides `all`.
    if (dangling && !options.all && !f->dangling) continue;
    if (f->dangling && *f->dangling != dangling) continue;
    if (!f->LabelsPass(img.labels)) continue;
    if (!f->CreatedPasses(img.created)) continue;
    std::vector<std::string> names;
    for (const auto& [name, t] : img.names) {
      if (f->Selects(t) && f->NameMatches(FamiliarOf(name))) names.push_back(name);
    }
    if (name_filters) {
      const bool shown =
          dangling ? f->references.empty() && f->Selects(img.dangling_since) : !names.empty();
      if (!shown) continue;
    }
    out.push_back(Summarize(ctx.ns, id, img, names, uses));
  }
  std::sort(out.begin(), out.end(), [](const ImageSummary& a, const ImageSummary& b) {
    if (a.created != b.created) return a.created > b.created;  // newest first
    return a.id < b.id;
  });
  return out;
}

absl::StatusOr<ImageDetail> Model::Inspect(const OpContext& ctx, std::string_view ref) const {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  absl::StatusOr<Resolved> res = Resolve(ns(ctx.ns), ref, Mode::kLookup);
  if (!res.ok()) return res.status();
  const Image& img = ns(ctx.ns).images.at(res->id);
  std::vector<std::string> names;
  for (const auto& [name, t] : img.names) names.push_back(name);
  ImageDetail d;
  d.summary = Summarize(ctx.ns, res->id, img, names, ImageUses());
  d.target = img.target;
  d.content = img.content;
  for (const auto& [cid, c] : ns(ctx.ns).containers) {
    if (c.image_id == res->id) d.container_ids.push_back(cid);
  }
  return d;
}

// OPLOG df: figures of the namespace; reclaimable is what prune -a frees now.
absl::StatusOr<DiskUsage> Model::GetDiskUsage(const OpContext& ctx) const {
  if (absl::Status s = CheckCtx(ctx); !s.ok()) return s;
  const Namespace& n = ns(ctx.ns);
  const std::map<std::string, int> uses = ImageUses();
  DiskUsage du;
  std::map<std::string, int64_t> blobs;
  for (const auto& [id, img] : n.images) {
    ++du.total_count;
    if (HeldIn(n, id)) ++du.active;
    for (const Descriptor& d : BlobsOf(img)) blobs[d.digest] = d.size;
  }
  for (const auto& [d, size] : blobs) {
    du.size += size;
    if (uses.at(d) >= 2) du.shared_size += size;
  }
  du.unique_size = du.size - du.shared_size;
  Model copy = *this;
  du.reclaimable = copy.PruneHere(ctx.ns, Filter{}, /*all=*/true, ctx.now, nullptr).space_reclaimed;
  return du;
}

std::vector<ContainerInfo> Model::ListContainers(std::string_view ns_name) const {
  std::vector<ContainerInfo> out;
  const Namespace& n = ns(ns_name);
  for (const auto& [cid, c] : n.containers) {
    out.push_back(ContainerInfo{.id = cid,
                                .image_id = c.image_id,
                                .running = c.running,
                                .created = c.created,
                                .image_exists = n.images.count(c.image_id) > 0});
  }
  return out;
}

std::vector<LeaseInfo> Model::ListLeases(std::string_view ns_name) const {
  std::vector<LeaseInfo> out;
  for (const auto& [lid, lease] : ns(ns_name).leases) {
    LeaseInfo info{.id = lid, .created = lease.created, .expires = lease.expires, .content = {}};
    for (const auto& [d, desc] : lease.holds) {
      info.content.push_back({media_types_.at(d), d, desc.size});  // the blob record's type
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<BlobFacts> Model::ExplainBlob(std::string_view digest, absl::Time now) const {
  const std::map<std::string, Descriptor> rec = Recorded();
  auto it = rec.find(std::string(digest));
  if (it == rec.end()) return std::nullopt;
  BlobFacts f{.size = it->second.size, .images = {}, .leases = {}};
  for (const auto& [name, n] : ns_) {
    for (const auto& [id, img] : n.images) {
      for (const Descriptor& d : BlobsOf(img)) {
        if (d.digest == digest) {
          f.images.push_back(name + "/" + id);
          break;
        }
      }
    }
    for (const auto& [lid, lease] : n.leases) {
      if (lease.holds.count(std::string(digest))) {
        f.leases.push_back(name + "/" + lid + (lease.LiveAt(now) ? "" : " (expired)"));
      }
    }
  }
  std::sort(f.images.begin(), f.images.end());
  std::sort(f.leases.begin(), f.leases.end());
  return f;
}

}  // namespace refstore::model
