// gc_commands.h: `refstore gc`, `refstore check [--repair]`, `refstore image
// import DIR` and `refstore image adopt`: printing over the library's
// Collect, Check, Repair, ImportLayout and Adopt.
#ifndef REFSTORE_TOOLS_GC_COMMANDS_H_
#define REFSTORE_TOOLS_GC_COMMANDS_H_

#include <ostream>
#include <string>

#include "refstore/store.h"

namespace refstore_tool {

struct CheckFlags {
  bool repair = false;
  bool json = false;
  bool verify_digests = true;
};

// Each returns the process exit status: 0 on success (check: the store is
// consistent, after the repair when asked), 1 otherwise. Errors go to `err`.
int RunGc(refstore::Store& store, bool json, std::ostream& out, std::ostream& err);
int RunCheck(refstore::Store& store, const refstore::OpContext& ctx, const CheckFlags& flags,
             std::ostream& out, std::ostream& err);
int RunImport(refstore::Store& store, const refstore::OpContext& ctx, const std::string& dir,
              const refstore::ImportOptions& options, bool json, std::ostream& out,
              std::ostream& err);
int RunAdopt(refstore::Store& store, const refstore::OpContext& ctx, bool json,
             std::ostream& out, std::ostream& err);

}  // namespace refstore_tool

#endif  // REFSTORE_TOOLS_GC_COMMANDS_H_
