// format.h: docker's text formats for the refstore command's output. They
// are the library's text layer (one implementation for the library, the
// tools and the demo); this header names them in the command's namespace.
//   go-units sizes and durations: refstore/text/go_units.h
//   docker/cli's tables (text/tabwriter): refstore/text/tabwriter.h
//   Go durations (time.ParseDuration): refstore/filters.h
//   short IDs (moby's stringid.TruncateID): refstore/reference.h
#ifndef REFSTORE_TOOLS_FORMAT_H_
#define REFSTORE_TOOLS_FORMAT_H_

#include "refstore/filters.h"
#include "refstore/reference.h"
#include "refstore/text/go_units.h"
#include "refstore/text/tabwriter.h"

namespace refstore_tool {

using refstore::ParseGoDuration;
using refstore::ShortId;
using refstore::text::Ago;
using refstore::text::HumanDuration;
using refstore::text::HumanSize;
using refstore::text::ParseHumanSize;
using refstore::text::Table;

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_FORMAT_H_
