/* c.h: the C API of refstore, for programs in C and for every language with
 * a C FFI (the Go package in bindings/go is built on it). The style is
 * rocksdb/c.h's: opaque handles made by *_create and freed by *_destroy,
 * an error out-parameter on every call that can fail, results owned by the
 * caller.
 *
 * Example:
 *   refstore_error_t* err = NULL;
 *   refstore_options_t* opts = refstore_options_create();
 *   refstore_t* db = refstore_open(opts, "/var/lib/refstore", &err);
 *   refstore_options_destroy(opts);
 *   if (err) { fprintf(stderr, "%s\n", refstore_error_message(err));
 *              refstore_error_destroy(err); return 1; }
 *   refstore_ctx_t ctx = {"default", now_unix_nano};
 *   refstore_prune_options_t* p = refstore_prune_options_create();
 *   refstore_prune_options_set_all(p, 1);
 *   refstore_prune_result_t* pruned = refstore_prune(db, &ctx, p, &err);
 *   ... pruned->space_reclaimed ...
 *   refstore_prune_result_destroy(pruned);
 *   refstore_prune_options_destroy(p);
 *   refstore_close(db);
 *
 * Errors. Every call that can fail takes `refstore_error_t** errptr` last.
 * On success it leaves *errptr untouched; on failure it stores a new error
 * there (destroying any error already there, as rocksdb's errptr) and
 * returns NULL / 0. An error carries a code (refstore_code_t: the codes of
 * store.h, numbered as absl::StatusCode and gRPC) and the message of the
 * C++ call, with its key ("No such image: alpine:3.18"). A call that fails
 * has changed nothing, as in store.h. errptr must not be NULL.
 *
 * Memory. Strings and arrays passed in are only read during the call.
 * An empty array in a result is NULL with a count of 0.
 * Results are owned by the caller: a char* result is freed with
 * refstore_free, a result struct with its own *_destroy (which frees every
 * string and array it points to: do not free those one by one). Every
 * *_destroy and refstore_free accept NULL.
 *
 * Times are nanoseconds since the Unix epoch (int64_t); the store keeps
 * whole seconds inside that range (filters.h, "the times a store keeps").
 * Booleans are unsigned char, 0 or 1, as in rocksdb/c.h. The options and
 * request objects passed to their setters must not be NULL; a setter that
 * runs out of memory aborts the process (it has no error to report; a call
 * with an errptr reports it there, REFSTORE_RESOURCE_EXHAUSTED "out of
 * memory" when even the error cannot be allocated). A NULL string
 * where the call needs one is REFSTORE_INVALID_ARGUMENT "<what> is NULL".
 *
 * C99 or later (and C++).
 *
 * Thread-safety: as store.h: a refstore_t is safe for concurrent use from
 * many threads until refstore_close, which must not run concurrently with
 * another call on it. Options, requests and results are plain objects:
 * one thread at a time each. Error objects are not shared.
 */
#ifndef REFSTORE_C_H_
#define REFSTORE_C_H_

#include <stddef.h>
#include <stdint.h>

#include "refstore/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------- */

/* The codes of store.h ("Errors"), with absl::StatusCode's numbers. */
typedef enum refstore_code_t {
  REFSTORE_OK = 0,
  REFSTORE_INVALID_ARGUMENT = 3,    /* bad input */
  REFSTORE_NOT_FOUND = 5,           /* no such image/container/lease; ambiguous */
  REFSTORE_ALREADY_EXISTS = 6,      /* container or lease ID taken */
  REFSTORE_RESOURCE_EXHAUSTED = 8,  /* the disk is full */
  REFSTORE_FAILED_PRECONDITION = 9, /* docker's conflict (409); read-only store */
  REFSTORE_ABORTED = 10,            /* "a prune operation is already running" */
  REFSTORE_UNIMPLEMENTED = 12,
  REFSTORE_INTERNAL = 13,    /* RocksDB failed otherwise */
  REFSTORE_UNAVAILABLE = 14, /* held by another process; an I/O error */
  REFSTORE_DATA_LOSS = 15    /* a damaged record or file */
  /* Any other absl::StatusCode may reach the caller as its number. */
} refstore_code_t;

typedef struct refstore_error_t refstore_error_t;

REFSTORE_EXPORT int refstore_error_code(const refstore_error_t* err);
/* The message; valid until refstore_error_destroy. */
REFSTORE_EXPORT const char* refstore_error_message(const refstore_error_t* err);
/* The operation log's code (OPLOG.md): "not_found", "conflict", ... */
REFSTORE_EXPORT const char* refstore_error_code_name(const refstore_error_t* err);
REFSTORE_EXPORT void refstore_error_destroy(refstore_error_t* err);

/* Frees a char* result (and nothing else). */
REFSTORE_EXPORT void refstore_free(void* ptr);

/* ---- Plain values ---------------------------------------------------- */

/* The namespace and the time of a call (OpContext). ns NULL: "default".
 * A NULL refstore_ctx_t*: namespace "default" at the current time. */
typedef struct refstore_ctx_t {
  const char* ns;
  int64_t now_unix_nano;
} refstore_ctx_t;

/* An OCI descriptor. In a result, the strings belong to the result. */
typedef struct refstore_descriptor_t {
  const char* media_type;
  const char* digest; /* "sha256:" + 64 lowercase hex */
  int64_t size;
} refstore_descriptor_t;

typedef struct refstore_label_t {
  const char* key;
  const char* value;
} refstore_label_t;

/* ---- Opening --------------------------------------------------------- */

typedef struct refstore_t refstore_t;
typedef struct refstore_options_t refstore_options_t;

/* Defaults as StoreOptions (options.h): create_if_missing on, the rest off,
 * collect_after_changes on, lock_wait 0. */
REFSTORE_EXPORT refstore_options_t* refstore_options_create(void);
REFSTORE_EXPORT void refstore_options_destroy(refstore_options_t* opts);
REFSTORE_EXPORT void refstore_options_set_read_only(refstore_options_t* opts, unsigned char v);
REFSTORE_EXPORT void refstore_options_set_create_if_missing(refstore_options_t* opts,
                                                            unsigned char v);
REFSTORE_EXPORT void refstore_options_set_sync_writes(refstore_options_t* opts, unsigned char v);
REFSTORE_EXPORT void refstore_options_set_content_store(refstore_options_t* opts, unsigned char v);
REFSTORE_EXPORT void refstore_options_set_collect_after_changes(refstore_options_t* opts,
                                                                unsigned char v);
/* Nanoseconds Open waits for another process holding the store. */
REFSTORE_EXPORT void refstore_options_set_lock_wait(refstore_options_t* opts, int64_t nanos);

/* Store::Open. opts NULL: the defaults. Errors: as Store::Open. */
REFSTORE_EXPORT refstore_t* refstore_open(const refstore_options_t* opts, const char* path,
                                          refstore_error_t** errptr);
/* Closes the store and frees the handle (NULL: nothing). */
REFSTORE_EXPORT void refstore_close(refstore_t* db);
REFSTORE_EXPORT unsigned char refstore_has_content_store(refstore_t* db);

/* ---- Images ---------------------------------------------------------- */

/* CreateImageRequest (options.h). */
typedef struct refstore_image_request_t refstore_image_request_t;
REFSTORE_EXPORT refstore_image_request_t* refstore_image_request_create(void);
REFSTORE_EXPORT void refstore_image_request_destroy(refstore_image_request_t* req);
/* NULL: no name. */
REFSTORE_EXPORT void refstore_image_request_set_name(refstore_image_request_t* req,
                                                     const char* name);
REFSTORE_EXPORT void refstore_image_request_set_target(refstore_image_request_t* req,
                                                       const refstore_descriptor_t* target);
REFSTORE_EXPORT void refstore_image_request_add_content(refstore_image_request_t* req,
                                                        const refstore_descriptor_t* d);
REFSTORE_EXPORT void refstore_image_request_add_label(refstore_image_request_t* req,
                                                      const char* key, const char* value);
/* NULL: no lease. */
REFSTORE_EXPORT void refstore_image_request_set_lease(refstore_image_request_t* req,
                                                      const char* lease);
/* The creation time docker shows; unset: ctx's now. */
REFSTORE_EXPORT void refstore_image_request_set_created(refstore_image_request_t* req,
                                                        int64_t unix_nano);

/* Store::CreateImage: returns the image ID ("sha256:<hex>"; refstore_free). */
REFSTORE_EXPORT char* refstore_create_image(refstore_t* db, const refstore_ctx_t* ctx,
                                            const refstore_image_request_t* req,
                                            refstore_error_t** errptr);
/* Store::Tag. */
REFSTORE_EXPORT void refstore_tag(refstore_t* db, const refstore_ctx_t* ctx, const char* source,
                                  const char* target, refstore_error_t** errptr);
/* Store::Pin (pinned 0: unpin). */
REFSTORE_EXPORT void refstore_pin(refstore_t* db, const refstore_ctx_t* ctx, const char* ref,
                                  unsigned char pinned, refstore_error_t** errptr);

/* What a collection did (CollectResult); error "" when none. */
typedef struct refstore_collect_result_t {
  int64_t files_deleted;
  int64_t bytes_deleted;
  int64_t records_dropped;
  int64_t temp_files_deleted;
  const char* error;
} refstore_collect_result_t;

/* One entry of docker's delete response. */
typedef enum refstore_delete_kind_t {
  REFSTORE_UNTAGGED = 0,
  REFSTORE_DELETED = 1
} refstore_delete_kind_t;
typedef struct refstore_delete_entry_t {
  int kind; /* refstore_delete_kind_t */
  const char* ref;
} refstore_delete_entry_t;

typedef struct refstore_remove_result_t {
  const refstore_delete_entry_t* deleted; /* every Untagged first, then Deleted */
  size_t num_deleted;
  int64_t space_reclaimed;
  refstore_collect_result_t collected;
} refstore_remove_result_t;
REFSTORE_EXPORT void refstore_remove_result_destroy(refstore_remove_result_t* r);

/* Store::RemoveImage: `docker rmi [-f] ref`. */
REFSTORE_EXPORT refstore_remove_result_t* refstore_remove_image(refstore_t* db,
                                                                const refstore_ctx_t* ctx,
                                                                const char* ref,
                                                                unsigned char force,
                                                                refstore_error_t** errptr);

/* ---- Prune ----------------------------------------------------------- */

/* PruneOptions (options.h). Defaults: dangling only, no filter, real. */
typedef struct refstore_prune_options_t refstore_prune_options_t;
REFSTORE_EXPORT refstore_prune_options_t* refstore_prune_options_create(void);
REFSTORE_EXPORT void refstore_prune_options_destroy(refstore_prune_options_t* opts);
REFSTORE_EXPORT void refstore_prune_options_set_all(refstore_prune_options_t* opts,
                                                    unsigned char v);
REFSTORE_EXPORT void refstore_prune_options_set_dry_run(refstore_prune_options_t* opts,
                                                        unsigned char v);
/* One value of a docker filter ("until", "label", "label!", "dangling").
 * value NULL: the key without a value (which the store refuses as docker
 * does: "invalid filter 'dangling'"). */
REFSTORE_EXPORT void refstore_prune_options_add_filter(refstore_prune_options_t* opts,
                                                       const char* key, const char* value);
/* A glob on familiar names (PruneOptions::references). */
REFSTORE_EXPORT void refstore_prune_options_add_reference(refstore_prune_options_t* opts,
                                                          const char* glob);
REFSTORE_EXPORT void refstore_prune_options_set_unused_for(refstore_prune_options_t* opts,
                                                           int64_t nanos);
REFSTORE_EXPORT void refstore_prune_options_set_keep(refstore_prune_options_t* opts, int keep);
/* -1: no bound (the default). */
REFSTORE_EXPORT void refstore_prune_options_set_max_storage(refstore_prune_options_t* opts,
                                                            int64_t bytes);

typedef struct refstore_prune_result_t {
  const refstore_delete_entry_t* deleted;
  size_t num_deleted;
  int64_t images_deleted;
  int64_t space_reclaimed;
  const char* error; /* PruneResult::error; "" when none */
  refstore_collect_result_t collected;
} refstore_prune_result_t;
REFSTORE_EXPORT void refstore_prune_result_destroy(refstore_prune_result_t* r);

/* Store::Prune: `docker image prune [-a] [--filter ...]`. opts NULL: the
 * defaults. */
REFSTORE_EXPORT refstore_prune_result_t* refstore_prune(refstore_t* db, const refstore_ctx_t* ctx,
                                                        const refstore_prune_options_t* opts,
                                                        refstore_error_t** errptr);

/* ---- Containers ------------------------------------------------------ */

/* Store::CreateContainer: returns the image ID it holds (refstore_free).
 * name NULL or "": none. */
REFSTORE_EXPORT char* refstore_container_create(refstore_t* db, const refstore_ctx_t* ctx,
                                                const char* id, const char* image_ref,
                                                unsigned char running, const char* name,
                                                refstore_error_t** errptr);
REFSTORE_EXPORT void refstore_container_start(refstore_t* db, const refstore_ctx_t* ctx,
                                              const char* id, refstore_error_t** errptr);
REFSTORE_EXPORT void refstore_container_stop(refstore_t* db, const refstore_ctx_t* ctx,
                                             const char* id, refstore_error_t** errptr);
REFSTORE_EXPORT void refstore_container_remove(refstore_t* db, const refstore_ctx_t* ctx,
                                               const char* id, refstore_error_t** errptr);

typedef struct refstore_container_t {
  const char* id;
  const char* image_id;
  unsigned char running;
  unsigned char image_exists; /* 0: the image was force-removed */
  int64_t created_unix_nano;
  const char* name; /* "" none */
} refstore_container_t;

typedef struct refstore_container_list_t {
  const refstore_container_t* containers;
  size_t num_containers;
} refstore_container_list_t;
REFSTORE_EXPORT void refstore_container_list_destroy(refstore_container_list_t* l);
REFSTORE_EXPORT refstore_container_list_t* refstore_list_containers(refstore_t* db,
                                                                    const refstore_ctx_t* ctx,
                                                                    refstore_error_t** errptr);

/* ---- Leases ---------------------------------------------------------- */

/* Store::CreateLease; has_expiry 0: no expiry (expires ignored). */
REFSTORE_EXPORT void refstore_lease_create(refstore_t* db, const refstore_ctx_t* ctx,
                                           const char* id, unsigned char has_expiry,
                                           int64_t expires_unix_nano, refstore_error_t** errptr);
REFSTORE_EXPORT void refstore_lease_add(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                                        const refstore_descriptor_t* content, size_t num_content,
                                        refstore_error_t** errptr);

typedef struct refstore_lease_delete_result_t {
  int64_t space_reclaimed;
  refstore_collect_result_t collected;
} refstore_lease_delete_result_t;
REFSTORE_EXPORT void refstore_lease_delete_result_destroy(refstore_lease_delete_result_t* r);
REFSTORE_EXPORT refstore_lease_delete_result_t* refstore_lease_delete(refstore_t* db,
                                                                      const refstore_ctx_t* ctx,
                                                                      const char* id,
                                                                      refstore_error_t** errptr);

typedef struct refstore_lease_t {
  const char* id;
  int64_t created_unix_nano;
  unsigned char has_expiry;
  int64_t expires_unix_nano;
  const refstore_descriptor_t* content; /* sorted by digest */
  size_t num_content;
} refstore_lease_t;
typedef struct refstore_lease_list_t {
  const refstore_lease_t* leases;
  size_t num_leases;
} refstore_lease_list_t;
REFSTORE_EXPORT void refstore_lease_list_destroy(refstore_lease_list_t* l);
REFSTORE_EXPORT refstore_lease_list_t* refstore_list_leases(refstore_t* db,
                                                            const refstore_ctx_t* ctx,
                                                            refstore_error_t** errptr);

/* Content store only (Store::WriteBlob): blob `d`'s bytes, from memory,
 * under lease `lease`. */
REFSTORE_EXPORT void refstore_write_blob(refstore_t* db, const refstore_ctx_t* ctx,
                                         const char* lease, const refstore_descriptor_t* d,
                                         const char* data, size_t len, refstore_error_t** errptr);

/* ---- Reading --------------------------------------------------------- */

/* ImageSummary (types.h). */
typedef struct refstore_image_t {
  const char* id;
  const char* const* names; /* familiar, sorted */
  size_t num_names;
  const char* const* repo_digests;
  size_t num_repo_digests;
  int64_t size;
  int64_t shared_size;
  int64_t unique_size;
  int64_t containers;
  int64_t created_unix_nano;
  int64_t last_used_unix_nano;
  unsigned char pinned;
  const refstore_label_t* labels; /* sorted by key */
  size_t num_labels;
} refstore_image_t;

/* ListOptions (options.h). Defaults: all images, no filter. */
typedef struct refstore_list_options_t refstore_list_options_t;
REFSTORE_EXPORT refstore_list_options_t* refstore_list_options_create(void);
REFSTORE_EXPORT void refstore_list_options_destroy(refstore_list_options_t* opts);
REFSTORE_EXPORT void refstore_list_options_set_all(refstore_list_options_t* opts, unsigned char v);
/* As refstore_prune_options_add_filter, with the list's filters. */
REFSTORE_EXPORT void refstore_list_options_add_filter(refstore_list_options_t* opts,
                                                      const char* key, const char* value);

typedef struct refstore_image_list_t {
  const refstore_image_t* images; /* newest first */
  size_t num_images;
} refstore_image_list_t;
REFSTORE_EXPORT void refstore_image_list_destroy(refstore_image_list_t* l);
/* Store::ListImages. opts NULL: the defaults. */
REFSTORE_EXPORT refstore_image_list_t* refstore_list_images(refstore_t* db,
                                                            const refstore_ctx_t* ctx,
                                                            const refstore_list_options_t* opts,
                                                            refstore_error_t** errptr);

/* ImageDetail (types.h). */
typedef struct refstore_image_detail_t {
  refstore_image_t summary;
  refstore_descriptor_t target;
  const refstore_descriptor_t* content;
  size_t num_content;
  const char* const* container_ids; /* sorted */
  size_t num_container_ids;
} refstore_image_detail_t;
REFSTORE_EXPORT void refstore_image_detail_destroy(refstore_image_detail_t* d);
/* Store::Inspect. */
REFSTORE_EXPORT refstore_image_detail_t* refstore_inspect(refstore_t* db, const refstore_ctx_t* ctx,
                                                          const char* ref,
                                                          refstore_error_t** errptr);

/* DiskUsage (types.h), written to *out. Returns 1 on success, 0 on error. */
typedef struct refstore_disk_usage_t {
  int64_t total_count;
  int64_t active;
  int64_t size;
  int64_t shared_size;
  int64_t unique_size;
  int64_t reclaimable;
} refstore_disk_usage_t;
REFSTORE_EXPORT unsigned char refstore_disk_usage(refstore_t* db, const refstore_ctx_t* ctx,
                                                  refstore_disk_usage_t* out,
                                                  refstore_error_t** errptr);

/* Explanation (types.h): why an image or a blob is kept. */
typedef struct refstore_explanation_t {
  unsigned char is_blob; /* 0: an image */
  const char* digest;
  int64_t size;
  const char* const* names;
  size_t num_names;
  unsigned char pinned;
  unsigned char dangling;
  const refstore_container_t* containers;
  size_t num_containers;
  const char* const* images; /* a blob's users: "ns/sha256:<id>" */
  size_t num_images;
  const char* const* leases; /* "ns/lease" ("(expired)" appended when expired) */
  size_t num_leases;
} refstore_explanation_t;
REFSTORE_EXPORT void refstore_explanation_destroy(refstore_explanation_t* e);
/* Store::Explain. */
REFSTORE_EXPORT refstore_explanation_t* refstore_explain(refstore_t* db, const refstore_ctx_t* ctx,
                                                         const char* ref,
                                                         refstore_error_t** errptr);

/* A finding of Check (types.h, Problem). */
typedef struct refstore_problem_t {
  const char* category;
  const char* subject;
  const char* detail;
  unsigned char info; /* 1: information, not a fault */
} refstore_problem_t;
typedef struct refstore_problem_list_t {
  const refstore_problem_t* problems;
  size_t num_problems;
} refstore_problem_list_t;
REFSTORE_EXPORT void refstore_problem_list_destroy(refstore_problem_list_t* l);
/* Store::Check, at time now_unix_nano (for lease expiry), hashing every
 * blob file when verify_digests. No finding with info 0: consistent. */
REFSTORE_EXPORT refstore_problem_list_t* refstore_check(refstore_t* db, int64_t now_unix_nano,
                                                        unsigned char verify_digests,
                                                        refstore_error_t** errptr);

/* Store::Collect (content store): deletes garbage files. */
REFSTORE_EXPORT refstore_collect_result_t* refstore_collect(refstore_t* db,
                                                            refstore_error_t** errptr);
REFSTORE_EXPORT void refstore_collect_result_destroy(refstore_collect_result_t* r);

/* ---- The operation log ----------------------------------------------- */

/* Applies one line of OPLOG.md (`line`, `len` bytes, one JSON object) as
 * `refstore apply` does, at now_unix_nano when the line has no "at", and
 * returns its result line without a newline ({"ok":true,...} or
 * {"ok":false,"error":{"code":...,"message":...}}; refstore_free). An
 * operation's failure is in the result, not an error: NULL is returned only
 * when db or line is NULL, or memory ran out. */
REFSTORE_EXPORT char* refstore_apply_json(refstore_t* db, const char* line, size_t len,
                                          int64_t now_unix_nano);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* REFSTORE_C_H_ */
