// export.h: REFSTORE_EXPORT marks the public API of the shared library.
//
// The library is built with hidden visibility (-fvisibility=hidden
// -fvisibility-inlines-hidden): only what a public header marks with
// REFSTORE_EXPORT is exported from librefstore.so; every internal symbol
// (refstore::internal, refstore::content, ...) stays inside it. A static
// library exports nothing and needs no marking; the macro is harmless there.
#ifndef REFSTORE_EXPORT_H_
#define REFSTORE_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define REFSTORE_EXPORT __attribute__((visibility("default")))
#else
#define REFSTORE_EXPORT
#endif

#endif  // REFSTORE_EXPORT_H_
