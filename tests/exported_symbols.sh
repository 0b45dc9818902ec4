#!/usr/bin/env bash
# exported_symbols: librefstore.so exports the public API and nothing else.
#   tests/exported_symbols.sh <path of librefstore.so>
# Every exported (dynamic, defined) symbol that names refstore:: must be one
# of the public headers' (include/refstore/*.h, marked REFSTORE_EXPORT); no
# internal one (refstore::internal, refstore::content, ...) may be. Each
# public function and the Store class must be exported. The C API: every
# function c.h declares is exported, and no other refstore_* symbol is.
# Prints the counts.
set -euo pipefail
lib=${1:?usage: exported_symbols.sh <librefstore.so>}
c_header="$(dirname "${BASH_SOURCE[0]}")/../refstore/include/refstore/c.h"
syms=$(nm -DC --defined-only "$lib" | cut -d' ' -f3-)
total=$(printf '%s\n' "$syms" | grep -c . || true)
ours=$(printf '%s\n' "$syms" | grep 'refstore::' || true)

# The public API (refstore/include/refstore/*.h).
public=(
  'refstore::Store::' 'typeinfo for refstore::Store'
  'typeinfo name for refstore::Store' 'vtable for refstore::Store'
  'refstore::Reference::' 'refstore::ParseReference' 'refstore::ParseReferenceNoDefaultTag'
  'refstore::FamiliarName' 'refstore::IsBlank' 'refstore::LooksLikeIdPrefix'
  'refstore::IsDigest' 'refstore::ValidateDigest' 'refstore::IsValidNamespace'
  'refstore::IsContainerId' 'refstore::ShortId'
  'refstore::kEarliestTime' 'refstore::kLatestTime' 'refstore::IsStorableTime'
  'refstore::CheckStorableTime' 'refstore::ParseUntil' 'refstore::ParseRfc3339'
  'refstore::FormatRfc3339' 'refstore::ParseGoDuration' 'refstore::ParseDanglingValue'
  'refstore::LabelMatches' 'refstore::PathMatch' 'refstore::GlobMatches'
  'refstore::ErrorCodeName' 'refstore::IsManifestOrIndex'
)
# Must be exported: one symbol of each.
required=(
  'refstore::Store::Open' 'typeinfo for refstore::Store'
  'refstore::Reference::Full' 'refstore::Reference::Familiar' 'refstore::Reference::Repository'
  'refstore::ParseReference' 'refstore::ParseReferenceNoDefaultTag' 'refstore::FamiliarName'
  'refstore::IsBlank' 'refstore::LooksLikeIdPrefix' 'refstore::IsDigest'
  'refstore::ValidateDigest' 'refstore::IsValidNamespace' 'refstore::IsContainerId'
  'refstore::ShortId' 'refstore::kEarliestTime' 'refstore::kLatestTime'
  'refstore::IsStorableTime' 'refstore::CheckStorableTime' 'refstore::ParseUntil'
  'refstore::ParseRfc3339' 'refstore::FormatRfc3339' 'refstore::ParseGoDuration'
  'refstore::ParseDanglingValue' 'refstore::LabelMatches' 'refstore::PathMatch'
  'refstore::GlobMatches' 'refstore::ErrorCodeName' 'refstore::IsManifestOrIndex'
)

status=0
unexpected=$(printf '%s\n' "$ours" | grep -v -F "${public[@]/#/-e}" || true)
# (grep -F with one -e per public prefix: the lines matching none of them.)
if [ -n "$unexpected" ]; then
  echo "exported_symbols: $(printf '%s\n' "$unexpected" | grep -c .) symbols beyond the public API:"
  printf '%s\n' "$unexpected" | head -50
  status=1
fi
for r in "${required[@]}"; do
  if ! grep -F -e "$r" >/dev/null <<<"$ours"; then
    echo "exported_symbols: public symbol not exported: $r"
    status=1
  fi
done
# The C API: the functions c.h declares, and the plain refstore_* symbols.
c_declared=$(grep -oE '\brefstore_[a-z0-9_]+\(' "$c_header" | tr -d '(' | sort -u)
c_exported=$(printf '%s\n' "$syms" | grep -E '^refstore_[a-z0-9_]+$' | sort -u || true)
if [ "$(printf '%s\n' "$c_declared" | grep -c .)" -lt 60 ]; then
  echo "exported_symbols: read too few functions from $c_header"
  status=1
fi
missing_c=$(comm -23 <(printf '%s\n' "$c_declared") <(printf '%s\n' "$c_exported"))
extra_c=$(comm -13 <(printf '%s\n' "$c_declared") <(printf '%s\n' "$c_exported"))
if [ -n "$missing_c" ]; then
  echo "exported_symbols: C API functions not exported:"; printf '%s\n' "$missing_c"; status=1
fi
if [ -n "$extra_c" ]; then
  echo "exported_symbols: refstore_* symbols c.h does not declare:"; printf '%s\n' "$extra_c"; status=1
fi
internal=$(printf '%s\n' "$ours" | grep -c 'refstore::internal::' || true)
echo "exported_symbols: $total exported symbols, $(printf '%s\n' "$ours" | grep -c . || true) naming refstore::, $internal of refstore::internal, $(printf '%s\n' "$c_exported" | grep -c . || true) C API functions"
exit $status
