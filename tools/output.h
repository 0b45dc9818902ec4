// output.h: JSON as docker prints it, and docker's time strings.
//
// docker's `--format json` prints one object per line with `{{json .}}`:
// Go's encoding/json, map keys sorted, '<', '>' and '&' escaped as
// \u003c, \u003e, \u0026 (the formatter's MarshalJSON uses json.Marshal,
// which escapes HTML). `inspect` prints json.MarshalIndent(v, "", "    ").
//
// Example:
//   nlohmann::json row = {{"ID", "0123456789ab"}, {"Tag", "<none>"}};
//   PrintJsonLine(std::cout, row);  // {"ID":"0123456789ab","Tag":"\u003cnone\u003e"}
//
// Thread-safety: free functions.
#ifndef REFSTORE_TOOLS_OUTPUT_H_
#define REFSTORE_TOOLS_OUTPUT_H_

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace refstore_tool {

// Compact, as Go's json.Marshal prints it (nlohmann::json sorts keys as a Go
// map does; ordered_json keeps the given order, as a Go struct does).
std::string GoJson(const nlohmann::json& value);
std::string GoJson(const nlohmann::ordered_json& value);
// Indented with four spaces, as json.MarshalIndent(v, "", "    ").
std::string GoJsonIndent(const nlohmann::ordered_json& value);

// One JSON line (GoJson + '\n').
void PrintJsonLine(std::ostream& out, const nlohmann::json& value);
void PrintJsonLine(std::ostream& out, const nlohmann::ordered_json& value);

// Go's time.Time.String() in UTC, as docker's CreatedAt columns print it:
// "2026-01-02 15:04:05 +0000 UTC".
std::string GoTimeString(absl::Time t);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_OUTPUT_H_
