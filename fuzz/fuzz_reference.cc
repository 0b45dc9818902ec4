// fuzz_reference: the reference parser (refstore/reference.h).
//
// Input: the text of a reference, as a user would type it.
//
// Checks:
//   - errors are InvalidArgument (reference.h);
//   - ParseReferenceNoDefaultTag accepts exactly what ParseReference accepts
//     and differs only by the default ":latest";
//   - parse then print is stable: ParseReference(r.Full()) succeeds, gives
//     back the same fields and the same Full();
//   - Familiar() reparses to the same Full(), except for the one case where
//     docker's familiar form is ambiguous (see FamiliarIsAmbiguous). Set
//     REFSTORE_FUZZ_STRICT_FAMILIAR=1 to check that case too.
// A violation prints what went wrong and aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "refstore/reference.h"

namespace {

[[noreturn]] void Fail(std::string_view input, const std::string& what) {
  std::fprintf(stderr, "fuzz_reference: input \"%.*s\": %s\n", static_cast<int>(input.size()),
               input.data(), what.c_str());
  std::abort();
}

std::string Show(const absl::StatusOr<refstore::Reference>& r) {
  return r.ok() ? "\"" + r->Full() + "\"" : r.status().ToString();
}

// docker's familiar form drops "docker.io/": when the first component of
// the remaining path contains a '.' or is "localhost" (both valid in a path
// component), reading the familiar form back takes that component for a
// domain: "docker.io/foo.bar/x:1" is shown as "foo.bar/x:1", which names
// the repository "x" on the registry foo.bar. docker
// (distribution/reference's FamiliarString) behaves the same way and
// refstore follows it (SEMANTICS.md §2).
bool FamiliarIsAmbiguous(const refstore::Reference& r) {
  if (r.domain != "docker.io") return false;
  std::string_view first = std::string_view(r.path).substr(0, r.path.find('/'));
  if (first == "library") return false;  // "library/x" drops it, or keeps "library/"
  return first.find('.') != std::string_view::npos || first == "localhost";
}

bool StrictFamiliar() {
  static const bool strict = [] {
    const char* v = std::getenv("REFSTORE_FUZZ_STRICT_FAMILIAR");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return strict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<refstore::Reference> ref = refstore::ParseReference(input);
  absl::StatusOr<refstore::Reference> bare = refstore::ParseReferenceNoDefaultTag(input);
  if (ref.ok() != bare.ok()) {
    Fail(input,
         "ParseReference gives " + Show(ref) + " but ParseReferenceNoDefaultTag " + Show(bare));
  }
  if (!ref.ok()) {
    if (ref.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail(input, "error is not InvalidArgument: " + ref.status().ToString());
    }
    if (ref.status() != bare.status()) {
      Fail(input, "errors differ: " + ref.status().ToString() + " vs " + bare.status().ToString());
    }
    return 0;
  }
  if (bare->tag.has_value() || bare->digest.has_value()) {
    if (bare->Full() != ref->Full()) {
      Fail(input,
           "ParseReferenceNoDefaultTag gives " + Show(bare) + ", ParseReference " + Show(ref));
    }
  } else if (ref->tag != "latest" || ref->digest.has_value() ||
             ref->Repository() != bare->Repository()) {
    Fail(input, "default tag: " + Show(ref) + " from " + Show(bare));
  }

  const std::string full = ref->Full();
  absl::StatusOr<refstore::Reference> again = refstore::ParseReference(full);
  if (!again.ok()) Fail(input, "Full() \"" + full + "\" does not parse: " + Show(again));
  if (again->Full() != full || again->domain != ref->domain || again->path != ref->path ||
      again->tag != ref->tag || again->digest != ref->digest) {
    Fail(input, "Full() \"" + full + "\" reparses as " + Show(again));
  }
  if (refstore::FamiliarName(full) != ref->Familiar()) {
    Fail(input, "FamiliarName(Full()) differs from Familiar()");
  }

  const std::string familiar = ref->Familiar();
  if (!StrictFamiliar() && FamiliarIsAmbiguous(*ref)) return 0;
  absl::StatusOr<refstore::Reference> from_familiar = refstore::ParseReference(familiar);
  if (!from_familiar.ok() || from_familiar->Full() != full) {
    Fail(input, "Familiar() \"" + familiar + "\" reparses as " + Show(from_familiar) + ", not \"" +
                    full + "\"");
  }
  return 0;
}
