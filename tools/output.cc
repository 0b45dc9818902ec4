// output.cc: Go-compatible JSON text and time strings.
//
// docker sources: cli/command/formatter/formatter.go (JSONFormat
// "{{json .}}"), cli/command/formatter/reflect.go (MarshalJSON:
// json.Marshal of a map of the context's methods), templates/templates.go
// ("json" function), cli/command/inspect/inspector.go (NewIndentedInspector:
// json.MarshalIndent(v, "", "    ")).
#include "output.h"

#include "absl/time/time.h"

namespace refstore_tool {
namespace {

// Go's encoding/json escapes these even inside strings; they never occur
// outside strings in JSON text, so the whole text can be rewritten.
std::string EscapeLikeGo(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
      out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

template <typename J>
std::string Dump(const J& value, int indent) {
  return EscapeLikeGo(value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

std::string GoJson(const nlohmann::json& value) { return Dump(value, -1); }
std::string GoJson(const nlohmann::ordered_json& value) { return Dump(value, -1); }
std::string GoJsonIndent(const nlohmann::ordered_json& value) { return Dump(value, 4); }

void PrintJsonLine(std::ostream& out, const nlohmann::json& value) { out << GoJson(value) << "\n"; }
void PrintJsonLine(std::ostream& out, const nlohmann::ordered_json& value) {
  out << GoJson(value) << "\n";
}

std::string GoTimeString(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S +0000 UTC", t, absl::UTCTimeZone());
}

}  // namespace refstore_tool
