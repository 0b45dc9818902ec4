/* c_api_test.c: the C API (refstore/c.h) from plain C11.
 *
 * Compiled as C (not C++): it proves the header is valid C. It calls every
 * function of c.h, its errors included, and frees every error and result:
 * under the asan preset LeakSanitizer fails the test on any leak.
 *
 * Each store lives in a fresh temporary directory (under $TMPDIR or /tmp),
 * removed at the end. Exit status 0: every CHECK held.
 */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refstore/c.h"

/* ---- Checking --------------------------------------------------------- */

static int g_checks = 0;

#define CHECK(expr)                                                          \
  do {                                                                       \
    ++g_checks;                                                              \
    if (!(expr)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* CHECK_OK(err): no error; prints the error's code and message otherwise. */
#define CHECK_OK(err)                                                           \
  do {                                                                          \
    ++g_checks;                                                                 \
    if ((err) != NULL) {                                                        \
      fprintf(stderr, "%s:%d: unexpected error %d (%s): %s\n", __FILE__, __LINE__, \
              refstore_error_code(err), refstore_error_code_name(err),          \
              refstore_error_message(err));                                     \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

#define CHECK_STREQ(a, b)                                                          \
  do {                                                                             \
    ++g_checks;                                                                    \
    const char* check_a_ = (a);                                                    \
    const char* check_b_ = (b);                                                    \
    if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) { \
      fprintf(stderr, "%s:%d: CHECK_STREQ failed: %s == %s\n  got:      \"%s\"\n"   \
              "  expected: \"%s\"\n", __FILE__, __LINE__, #a, #b,                  \
              check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");     \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

#define CHECK_EQ_I64(a, b)                                                         \
  do {                                                                             \
    ++g_checks;                                                                    \
    long long check_a_ = (long long)(a);                                           \
    long long check_b_ = (long long)(b);                                           \
    if (check_a_ != check_b_) {                                                    \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", __FILE__, \
              __LINE__, #a, #b, check_a_, check_b_);                               \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

/* Expects *errp to hold an error of `code` whose message is `msg` (exact)
 * or starts with `prefix` (either may be NULL); destroys it and clears
 * *errp. */
#define EXPECT_ERR(errp, code, msg, prefix) \
  expect_err_at(__FILE__, __LINE__, (errp), (code), (msg), (prefix))

static void expect_err_at(const char* file, int line, refstore_error_t** errp, int code,
                          const char* msg, const char* prefix) {
  ++g_checks;
  refstore_error_t* err = *errp;
  if (err == NULL) {
    fprintf(stderr, "%s:%d: expected error %d, got success\n", file, line, code);
    exit(1);
  }
  const char* m = refstore_error_message(err);
  if (m == NULL) {
    fprintf(stderr, "%s:%d: error message is NULL\n", file, line);
    exit(1);
  }
  if (refstore_error_code(err) != code || (msg != NULL && strcmp(m, msg) != 0) ||
      (prefix != NULL && strncmp(m, prefix, strlen(prefix)) != 0)) {
    fprintf(stderr, "%s:%d: expected error %d \"%s%s\", got %d (%s) \"%s\"\n", file, line, code,
            msg ? msg : (prefix ? prefix : ""), (msg == NULL && prefix) ? "..." : "",
            refstore_error_code(err), refstore_error_code_name(err), m);
    exit(1);
  }
  refstore_error_destroy(err);
  *errp = NULL;
}

/* ---- Values ----------------------------------------------------------- */

#define NS_PER_SEC 1000000000LL
#define NOW (1700000000LL * NS_PER_SEC)
#define HOUR (3600LL * NS_PER_SEC)
#define DAY (24 * HOUR)

static const char* const kManifest = "application/vnd.oci.image.manifest.v1+json";
static const char* const kConfig = "application/vnd.oci.image.config.v1+json";
static const char* const kLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

/* sha256 of "hello", "world" and "" (printf %s X | sha256sum). */
#define SHA_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define SHA_WORLD "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static uint64_t mix(uint64_t x) { /* splitmix64's finalizer */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* 64 lowercase hex made from n (distinct n: distinct, well-spread hex). */
static void hex64(char out[65], unsigned n) {
  for (int i = 0; i < 4; ++i) {
    snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)mix((uint64_t)n * 4 + (uint64_t)i));
  }
  out[64] = '\0';
}

/* A digest "sha256:<64 hex>" made from n, in a table of static storage so
 * that descriptors may point to it for the whole test. */
static char g_digests[200][72];
static const char* dig(unsigned n) {
  char* d = g_digests[n];
  if (d[0] == '\0') {
    char hex[65];
    hex64(hex, n);
    snprintf(d, sizeof g_digests[n], "sha256:%s", hex);
  }
  return d;
}

static refstore_descriptor_t desc(const char* media_type, unsigned n, int64_t size) {
  refstore_descriptor_t d = {media_type, dig(n), size};
  return d;
}

/* The first 12 hex characters of an ID ("sha256:" dropped), as docker's. */
static const char* short12(const char* id, char out[13]) {
  if (strncmp(id, "sha256:", 7) == 0) id += 7;
  memcpy(out, id, 12);
  out[12] = '\0';
  return out;
}

static int has_entry(const refstore_delete_entry_t* e, size_t n, int kind, const char* ref) {
  for (size_t i = 0; i < n; ++i) {
    if (e[i].kind == kind && strcmp(e[i].ref, ref) == 0) return 1;
  }
  return 0;
}

/* Every Untagged entry before every Deleted one, as docker orders them. */
static int untagged_first(const refstore_delete_entry_t* e, size_t n) {
  int seen_deleted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (e[i].kind == REFSTORE_DELETED) seen_deleted = 1;
    else if (e[i].kind == REFSTORE_UNTAGGED && seen_deleted) return 0;
    else if (e[i].kind != REFSTORE_UNTAGGED) return 0;
  }
  return 1;
}

static void check_empty_collect(const refstore_collect_result_t* c) {
  CHECK_EQ_I64(c->files_deleted, 0);
  CHECK_EQ_I64(c->bytes_deleted, 0);
  CHECK_EQ_I64(c->records_dropped, 0);
  CHECK_EQ_I64(c->temp_files_deleted, 0);
  CHECK_STREQ(c->error, "");
}

static const refstore_image_t* find_image(const refstore_image_list_t* l, const char* id) {
  for (size_t i = 0; i < l->num_images; ++i) {
    if (strcmp(l->images[i].id, id) == 0) return &l->images[i];
  }
  return NULL;
}

static int image_has_name(const refstore_image_t* im, const char* name) {
  for (size_t i = 0; i < im->num_names; ++i) {
    if (strcmp(im->names[i], name) == 0) return 1;
  }
  return 0;
}

static size_t count_images(refstore_t* db, const refstore_ctx_t* ctx) {
  refstore_error_t* err = NULL;
  refstore_image_list_t* l = refstore_list_images(db, ctx, NULL, &err);
  CHECK_OK(err);
  CHECK(l != NULL);
  size_t n = l->num_images;
  refstore_image_list_destroy(l);
  return n;
}

static refstore_disk_usage_t disk_usage(refstore_t* db, const refstore_ctx_t* ctx) {
  refstore_error_t* err = NULL;
  refstore_disk_usage_t du;
  memset(&du, 0xff, sizeof du);
  CHECK(refstore_disk_usage(db, ctx, &du, &err) == 1);
  CHECK_OK(err);
  return du;
}

/* Creates an image: name (NULL none), target (manifest n, size), content
 * (descriptors), created (0: unset). Returns the ID (refstore_free). */
static char* create(refstore_t* db, const refstore_ctx_t* ctx, const char* name,
                    refstore_descriptor_t target, const refstore_descriptor_t* content,
                    size_t num_content, int64_t created) {
  refstore_error_t* err = NULL;
  refstore_image_request_t* req = refstore_image_request_create();
  CHECK(req != NULL);
  refstore_image_request_set_name(req, name);
  refstore_image_request_set_target(req, &target);
  for (size_t i = 0; i < num_content; ++i) refstore_image_request_add_content(req, &content[i]);
  if (created != 0) refstore_image_request_set_created(req, created);
  char* id = refstore_create_image(db, ctx, req, &err);
  CHECK_OK(err);
  CHECK(id != NULL);
  CHECK_STREQ(id, target.digest);
  refstore_image_request_destroy(req);
  return id;
}

static void create_and_free(refstore_t* db, const refstore_ctx_t* ctx, const char* name,
                            refstore_descriptor_t target, const refstore_descriptor_t* content,
                            size_t num_content, int64_t created) {
  refstore_free(create(db, ctx, name, target, content, num_content, created));
}

static int nftw_remove(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int file_exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static char g_root[4096];

static void path_in_root(char* out, size_t cap, const char* name) {
  snprintf(out, cap, "%s/%s", g_root, name);
}

/* ---- Opening ---------------------------------------------------------- */

static void test_open(void) {
  refstore_error_t* err = NULL;
  char path[4200], missing[4200], defaults[4200];
  path_in_root(path, sizeof path, "open");
  path_in_root(missing, sizeof missing, "missing");
  path_in_root(defaults, sizeof defaults, "defaults");

  /* Every setter, then a writable open. */
  refstore_options_t* opts = refstore_options_create();
  CHECK(opts != NULL);
  refstore_options_set_read_only(opts, 0);
  refstore_options_set_create_if_missing(opts, 1);
  refstore_options_set_sync_writes(opts, 1);
  refstore_options_set_content_store(opts, 0);
  refstore_options_set_collect_after_changes(opts, 1);
  refstore_options_set_lock_wait(opts, 0);
  refstore_t* db = refstore_open(opts, path, &err);
  CHECK_OK(err);
  CHECK(db != NULL);
  CHECK(refstore_has_content_store(db) == 0);

  /* A second writable open of the same path while the first is open. */
  refstore_t* db2 = refstore_open(NULL, path, &err);
  CHECK(db2 == NULL);
  EXPECT_ERR(&err, REFSTORE_UNAVAILABLE, NULL, "store is in use by another process");
  /* With a lock wait: still Unavailable once the wait is over. */
  refstore_options_set_lock_wait(opts, 50 * 1000 * 1000);
  db2 = refstore_open(opts, path, &err);
  CHECK(db2 == NULL);
  EXPECT_ERR(&err, REFSTORE_UNAVAILABLE, NULL, NULL);
  refstore_options_destroy(opts);
  refstore_close(db);

  /* Closed: the path opens again (defaults: NULL options). */
  db = refstore_open(NULL, path, &err);
  CHECK_OK(err);
  CHECK(db != NULL);
  refstore_close(db);

  /* NULL options on a new path: created (create_if_missing by default). */
  db = refstore_open(NULL, defaults, &err);
  CHECK_OK(err);
  CHECK(db != NULL);
  CHECK(refstore_has_content_store(db) == 0);
  refstore_close(db);

  /* Read-only open of a missing store. */
  opts = refstore_options_create();
  refstore_options_set_read_only(opts, 1);
  db = refstore_open(opts, missing, &err);
  CHECK(db == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, "no store at");
  refstore_options_destroy(opts);

  /* create_if_missing off: a missing store is not created. */
  opts = refstore_options_create();
  refstore_options_set_create_if_missing(opts, 0);
  db = refstore_open(opts, missing, &err);
  CHECK(db == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, "no store at");
  refstore_options_destroy(opts);
  CHECK(!file_exists(missing));

  /* errptr: a failure replaces (and frees) an error already there; a
   * success leaves it untouched. */
  opts = refstore_options_create();
  refstore_options_set_read_only(opts, 1);
  CHECK(refstore_open(opts, missing, &err) == NULL);
  CHECK(err != NULL);
  CHECK(refstore_open(opts, missing, &err) == NULL); /* the first error is destroyed */
  CHECK(err != NULL);
  refstore_error_t* kept = err;
  db = refstore_open(NULL, defaults, &err);
  CHECK(db != NULL);
  CHECK(err == kept);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, "no store at");
  refstore_close(db);
  refstore_options_destroy(opts);
}

/* ---- Images, names, containers, rmi, prune: one namespace --------------- */

static void test_images(refstore_t* db) {
  refstore_error_t* err = NULL;
  refstore_ctx_t ctx = {NULL, NOW}; /* NULL: "default" */
  refstore_ctx_t ctx_default = {"default", NOW};
  char a12[13], c12[13];

  /* Image A: alpine:3.18, labels, created 10 days ago. */
  refstore_descriptor_t a_target = desc(kManifest, 1, 1000);
  refstore_descriptor_t a_content[2] = {desc(kConfig, 2, 1500), desc(kLayer, 3, 3000000)};
  refstore_image_request_t* req = refstore_image_request_create();
  refstore_image_request_set_name(req, "alpine:3.18");
  refstore_image_request_set_target(req, &a_target);
  refstore_image_request_add_content(req, &a_content[0]);
  refstore_image_request_add_content(req, &a_content[1]);
  refstore_image_request_add_label(req, "tier", "base");
  refstore_image_request_add_label(req, "maintainer", "me");
  refstore_image_request_set_lease(req, NULL);
  refstore_image_request_set_created(req, NOW - 10 * DAY);
  char* a_id = refstore_create_image(db, &ctx, req, &err);
  CHECK_OK(err);
  CHECK_STREQ(a_id, dig(1));
  refstore_image_request_destroy(req);

  /* Image B: app:1, sharing A's layer, created 5 days ago. */
  refstore_descriptor_t b_target = desc(kManifest, 10, 2000);
  refstore_descriptor_t b_content[3] = {desc(kConfig, 11, 500), desc(kLayer, 3, 3000000),
                                        desc(kLayer, 12, 700)};
  req = refstore_image_request_create();
  refstore_image_request_set_name(req, "app:1");
  refstore_image_request_set_target(req, &b_target);
  for (int i = 0; i < 3; ++i) refstore_image_request_add_content(req, &b_content[i]);
  refstore_image_request_add_label(req, "tier", "app");
  refstore_image_request_set_created(req, NOW - 5 * DAY);
  char* b_id = refstore_create_image(db, &ctx_default, req, &err);
  CHECK_OK(err);
  CHECK_STREQ(b_id, dig(10));
  refstore_image_request_destroy(req);

  /* CreateImage errors: nothing changes. */
  {
    refstore_descriptor_t bad = {kManifest, "sha256:abc", 10};
    req = refstore_image_request_create();
    refstore_image_request_set_name(req, "bad:1");
    refstore_image_request_set_target(req, &bad);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
    refstore_image_request_destroy(req);

    /* A size other than the one recorded for that blob. */
    refstore_descriptor_t t = desc(kManifest, 13, 10);
    refstore_descriptor_t wrong_size = desc(kLayer, 3, 42);
    req = refstore_image_request_create();
    refstore_image_request_set_name(req, "bad:2");
    refstore_image_request_set_target(req, &t);
    refstore_image_request_add_content(req, &wrong_size);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
    refstore_image_request_destroy(req);

    /* A name whose digest is not the target's. */
    char name[200];
    snprintf(name, sizeof name, "bad@%s", dig(14));
    req = refstore_image_request_create();
    refstore_image_request_set_name(req, name);
    refstore_image_request_set_target(req, &t);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
    refstore_image_request_destroy(req);

    /* A lease that does not exist. */
    req = refstore_image_request_create();
    refstore_image_request_set_name(req, "bad:3");
    refstore_image_request_set_target(req, &t);
    refstore_image_request_set_lease(req, "nosuch");
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, NULL, NULL);
    refstore_image_request_destroy(req);

    /* A bad name; then the name cleared with NULL: created nameless. */
    req = refstore_image_request_create();
    refstore_image_request_set_name(req, "Bad/Name:1");
    refstore_image_request_set_target(req, &t);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, "invalid reference format");
    refstore_image_request_set_name(req, NULL);
    refstore_image_request_set_target(req, &a_target); /* A again: exists, no name added */
    char* again = refstore_create_image(db, &ctx, req, &err);
    CHECK_OK(err);
    CHECK_STREQ(again, a_id);
    refstore_free(again);
    refstore_image_request_destroy(req);

    /* A bad namespace and a time outside the storable ones. */
    refstore_ctx_t bad_ns = {"bad ns!", NOW};
    req = refstore_image_request_create();
    refstore_image_request_set_target(req, &t);
    CHECK(refstore_create_image(db, &bad_ns, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
    refstore_image_request_set_created(req, INT64_MIN);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
    refstore_image_request_destroy(req);
    CHECK(count_images(db, &ctx) == 2);
  }

  /* Tag. */
  refstore_tag(db, &ctx, "alpine:3.18", "alpine:latest", &err);
  CHECK_OK(err);
  refstore_tag(db, &ctx, "nosuch:1", "x:1", &err);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:1", NULL);
  refstore_tag(db, &ctx, "", "x:1", &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "image name cannot be blank", NULL);
  {
    char target[200];
    snprintf(target, sizeof target, "alpine@%s", dig(1));
    refstore_tag(db, &ctx, "alpine:3.18", target, &err);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "refusing to create a tag with a digest reference",
               NULL);
  }
  refstore_tag(db, &ctx, "alpine:3.18", "Alpine:x", &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, "invalid reference format");

  /* Inspect. */
  refstore_image_detail_t* d = refstore_inspect(db, &ctx, "docker.io/library/alpine:3.18", &err);
  CHECK_OK(err);
  CHECK(d != NULL);
  CHECK_STREQ(d->summary.id, a_id);
  CHECK(d->summary.num_names == 2);
  CHECK_STREQ(d->summary.names[0], "alpine:3.18");
  CHECK_STREQ(d->summary.names[1], "alpine:latest");
  for (size_t i = 0; i < d->summary.num_repo_digests; ++i) {
    CHECK(strncmp(d->summary.repo_digests[i], "alpine@sha256:", 14) == 0);
  }
  CHECK_EQ_I64(d->summary.size, 3002500);
  CHECK_EQ_I64(d->summary.shared_size, 3000000);
  CHECK_EQ_I64(d->summary.unique_size, 2500);
  CHECK_EQ_I64(d->summary.containers, 0);
  CHECK_EQ_I64(d->summary.created_unix_nano, NOW - 10 * DAY);
  /* Last used: when it was created in the store (ctx's now), the later of
   * that and `created` (query.cc; types.h says "`created` when never"). */
  CHECK_EQ_I64(d->summary.last_used_unix_nano, NOW);
  CHECK(d->summary.pinned == 0);
  CHECK(d->summary.num_labels == 2);
  CHECK_STREQ(d->summary.labels[0].key, "maintainer");
  CHECK_STREQ(d->summary.labels[0].value, "me");
  CHECK_STREQ(d->summary.labels[1].key, "tier");
  CHECK_STREQ(d->summary.labels[1].value, "base");
  CHECK_STREQ(d->target.media_type, kManifest);
  CHECK_STREQ(d->target.digest, dig(1));
  CHECK_EQ_I64(d->target.size, 1000);
  CHECK(d->num_content == 2);
  {
    int seen_config = 0, seen_layer = 0;
    for (size_t i = 0; i < d->num_content; ++i) {
      if (strcmp(d->content[i].digest, dig(2)) == 0) {
        seen_config = 1;
        CHECK_STREQ(d->content[i].media_type, kConfig);
        CHECK_EQ_I64(d->content[i].size, 1500);
      }
      if (strcmp(d->content[i].digest, dig(3)) == 0) {
        seen_layer = 1;
        CHECK_EQ_I64(d->content[i].size, 3000000);
      }
    }
    CHECK(seen_config && seen_layer);
  }
  CHECK(d->num_container_ids == 0);
  refstore_image_detail_destroy(d);
  /* By ID, by a short ID. */
  d = refstore_inspect(db, &ctx, a_id, &err);
  CHECK_OK(err);
  CHECK_STREQ(d->summary.id, a_id);
  refstore_image_detail_destroy(d);
  d = refstore_inspect(db, &ctx, short12(b_id, c12), &err);
  CHECK_OK(err);
  CHECK_STREQ(d->summary.id, b_id);
  refstore_image_detail_destroy(d);
  CHECK(refstore_inspect(db, &ctx, "nosuch", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:latest", NULL);
  CHECK(refstore_inspect(db, &ctx, " ", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "image name cannot be blank", NULL);
  /* Another namespace sees nothing of this one. */
  {
    refstore_ctx_t other = {"elsewhere", NOW};
    CHECK(refstore_inspect(db, &other, "alpine:3.18", &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: alpine:3.18", NULL);
    CHECK(count_images(db, &other) == 0);
  }

  /* Disk usage: two images sharing the 3,000,000-byte layer. */
  refstore_disk_usage_t du = disk_usage(db, &ctx);
  CHECK_EQ_I64(du.total_count, 2);
  CHECK_EQ_I64(du.active, 0);
  CHECK_EQ_I64(du.size, 3005700);
  CHECK_EQ_I64(du.shared_size, 3000000);
  CHECK_EQ_I64(du.unique_size, 5700);
  CHECK_EQ_I64(du.reclaimable, 3005700);
  {
    refstore_ctx_t bad_ns = {"bad ns!", NOW};
    refstore_disk_usage_t out;
    CHECK(refstore_disk_usage(db, &bad_ns, &out, &err) == 0);
    EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  }

  /* Pin: rmi without force is a conflict; prune keeps it. */
  refstore_pin(db, &ctx, "app:1", 1, &err);
  CHECK_OK(err);
  d = refstore_inspect(db, &ctx, "app:1", &err);
  CHECK_OK(err);
  CHECK(d->summary.pinned == 1);
  refstore_image_detail_destroy(d);
  refstore_remove_result_t* rr = refstore_remove_image(db, &ctx, "app:1", 0, &err);
  CHECK(rr == NULL);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, NULL, "conflict: unable to remove pinned image");
  refstore_pin(db, &ctx, "nosuch:1", 1, &err);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:1", NULL);
  du = disk_usage(db, &ctx);
  CHECK_EQ_I64(du.reclaimable, 2500); /* only A's own blobs: B is pinned, the layer B's */
  {
    refstore_prune_options_t* p = refstore_prune_options_create();
    refstore_prune_options_set_all(p, 1);
    refstore_prune_options_set_dry_run(p, 1);
    refstore_prune_result_t* pr = refstore_prune(db, &ctx, p, &err);
    CHECK_OK(err);
    CHECK(!has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, b_id));
    CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, a_id));
    CHECK_EQ_I64(pr->images_deleted, 1);
    CHECK_EQ_I64(pr->space_reclaimed, 2500);
    refstore_prune_result_destroy(pr);
    refstore_prune_options_destroy(p);
  }

  /* Containers. C1 running on alpine:3.18, named "web". */
  char c1[65], c2[65], c3[65], cx[65];
  hex64(c1, 101);
  hex64(c2, 102);
  hex64(c3, 103);
  hex64(cx, 199);
  char* held = refstore_container_create(db, &ctx, c1, "alpine:3.18", 1, "web", &err);
  CHECK_OK(err);
  CHECK_STREQ(held, a_id);
  refstore_free(held);
  CHECK(refstore_container_create(db, &ctx, c1, "app:1", 0, NULL, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_ALREADY_EXISTS, NULL, NULL);
  CHECK(refstore_container_create(db, &ctx, c3, "nosuch:1", 0, NULL, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:1", NULL);
  CHECK(refstore_container_create(db, &ctx, "xyz", "app:1", 0, NULL, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  {
    char msg[600];
    snprintf(msg, sizeof msg,
             "Conflict. The container name \"/web\" is already in use by container \"%s\". You "
             "have to remove (or rename) that container to be able to reuse that name.",
             c1);
    CHECK(refstore_container_create(db, &ctx, c3, "app:1", 0, "web", &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_ALREADY_EXISTS, msg, NULL);
  }
  CHECK(refstore_container_create(db, &ctx, c3, "app:1", 0, "-bad", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT,
             "Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", NULL);
  /* C2 stopped on app:1 (by short ID), no name ("" as NULL). */
  held = refstore_container_create(db, &ctx, c2, short12(b_id, c12), 0, "", &err);
  CHECK_OK(err);
  CHECK_STREQ(held, b_id);
  refstore_free(held);

  refstore_container_list_t* cl = refstore_list_containers(db, &ctx, &err);
  CHECK_OK(err);
  CHECK(cl->num_containers == 2);
  for (size_t i = 0; i < cl->num_containers; ++i) {
    const refstore_container_t* c = &cl->containers[i];
    CHECK(c->image_exists == 1);
    CHECK_EQ_I64(c->created_unix_nano, NOW);
    if (strcmp(c->id, c1) == 0) {
      CHECK_STREQ(c->image_id, a_id);
      CHECK(c->running == 1);
      CHECK_STREQ(c->name, "web");
    } else {
      CHECK_STREQ(c->id, c2);
      CHECK_STREQ(c->image_id, b_id);
      CHECK(c->running == 0);
      CHECK_STREQ(c->name, "");
    }
  }
  refstore_container_list_destroy(cl);
  du = disk_usage(db, &ctx);
  CHECK_EQ_I64(du.active, 2);
  d = refstore_inspect(db, &ctx, "alpine:latest", &err);
  CHECK_OK(err);
  CHECK_EQ_I64(d->summary.containers, 1);
  CHECK(d->num_container_ids == 1);
  CHECK_STREQ(d->container_ids[0], c1);
  CHECK_EQ_I64(d->summary.last_used_unix_nano, NOW); /* a container was created from it */
  refstore_image_detail_destroy(d);

  /* Explain: an image, a blob, nothing. */
  refstore_explanation_t* ex = refstore_explain(db, &ctx, "app:1", &err);
  CHECK_OK(err);
  CHECK(ex->is_blob == 0);
  CHECK_STREQ(ex->digest, b_id);
  CHECK_EQ_I64(ex->size, 3003200);
  CHECK(ex->num_names == 1);
  CHECK_STREQ(ex->names[0], "app:1");
  CHECK(ex->pinned == 1);
  CHECK(ex->dangling == 0);
  CHECK(ex->num_containers == 1);
  CHECK_STREQ(ex->containers[0].id, c2);
  CHECK_STREQ(ex->containers[0].image_id, b_id);
  CHECK_STREQ(ex->containers[0].name, "");
  refstore_explanation_destroy(ex);
  ex = refstore_explain(db, &ctx, dig(3), &err);
  CHECK_OK(err);
  CHECK(ex->is_blob == 1);
  CHECK_STREQ(ex->digest, dig(3));
  CHECK_EQ_I64(ex->size, 3000000);
  CHECK(ex->num_images == 2);
  {
    char ua[100], ub[100];
    snprintf(ua, sizeof ua, "default/%s", a_id);
    snprintf(ub, sizeof ub, "default/%s", b_id);
    CHECK((strcmp(ex->images[0], ua) == 0 && strcmp(ex->images[1], ub) == 0) ||
          (strcmp(ex->images[0], ub) == 0 && strcmp(ex->images[1], ua) == 0));
  }
  CHECK(ex->num_leases == 0);
  refstore_explanation_destroy(ex);
  CHECK(refstore_explain(db, &ctx, dig(150), &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, NULL, "No such image or blob");
  CHECK(refstore_explain(db, &ctx, "", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);

  /* rmi by name while other names remain: untag only. */
  rr = refstore_remove_image(db, &ctx, "alpine:3.18", 0, &err);
  CHECK_OK(err);
  CHECK(rr->num_deleted == 1);
  CHECK(rr->deleted[0].kind == REFSTORE_UNTAGGED);
  CHECK_STREQ(rr->deleted[0].ref, "alpine:3.18");
  CHECK_EQ_I64(rr->space_reclaimed, 0);
  check_empty_collect(&rr->collected);
  refstore_remove_result_destroy(rr);

  /* rmi of the last name while a container holds the image. */
  {
    char msg[300];
    snprintf(msg, sizeof msg,
             "conflict: unable to delete alpine:latest (must be forced) - container %s is using "
             "its referenced image %s",
             short12(c1, c12), short12(a_id, a12));
    CHECK(refstore_remove_image(db, &ctx, "alpine:latest", 0, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, msg, NULL);
  }
  /* Nothing changed: the name is still there. */
  d = refstore_inspect(db, &ctx, "alpine:latest", &err);
  CHECK_OK(err);
  refstore_image_detail_destroy(d);
  /* Forced: the name goes, the image stays dangling (held). */
  rr = refstore_remove_image(db, &ctx, "alpine:latest", 1, &err);
  CHECK_OK(err);
  CHECK(rr->num_deleted == 1);
  CHECK(rr->deleted[0].kind == REFSTORE_UNTAGGED);
  CHECK_STREQ(rr->deleted[0].ref, "alpine:latest");
  CHECK_EQ_I64(rr->space_reclaimed, 0);
  refstore_remove_result_destroy(rr);
  /* By ID: a running container cannot be forced. */
  {
    char msg[300];
    snprintf(msg, sizeof msg,
             "conflict: unable to delete %s (cannot be forced) - image is being used by running "
             "container %s",
             short12(a_id, a12), short12(c1, c12));
    CHECK(refstore_remove_image(db, &ctx, a_id, 1, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, msg, NULL);
  }

  /* Start / stop / remove. */
  refstore_container_remove(db, &ctx, c1, &err);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, NULL, NULL); /* running */
  refstore_container_stop(db, &ctx, c1, &err);
  CHECK_OK(err);
  refstore_container_stop(db, &ctx, c1, &err); /* already stopped: no-op */
  CHECK_OK(err);
  refstore_container_start(db, &ctx, c1, &err);
  CHECK_OK(err);
  refstore_container_start(db, &ctx, c1, &err); /* already running: no-op */
  CHECK_OK(err);
  refstore_container_stop(db, &ctx, c1, &err);
  CHECK_OK(err);
  {
    char msg[200];
    snprintf(msg, sizeof msg, "No such container: %s", cx);
    refstore_container_start(db, &ctx, cx, &err);
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, msg, NULL);
    refstore_container_stop(db, &ctx, cx, &err);
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, msg, NULL);
    refstore_container_remove(db, &ctx, cx, &err);
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, msg, NULL);
  }
  refstore_container_start(db, &ctx, "xyz", &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);

  /* By ID, stopped container: a soft conflict; forced: deleted. */
  {
    char msg[300];
    snprintf(msg, sizeof msg,
             "conflict: unable to delete %s (must be forced) - image is being used by stopped "
             "container %s",
             short12(a_id, a12), short12(c1, c12));
    CHECK(refstore_remove_image(db, &ctx, a_id, 0, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, msg, NULL);
  }
  rr = refstore_remove_image(db, &ctx, a_id, 1, &err);
  CHECK_OK(err);
  CHECK(rr->num_deleted == 1); /* dangling: only Deleted */
  CHECK(rr->deleted[0].kind == REFSTORE_DELETED);
  CHECK_STREQ(rr->deleted[0].ref, a_id);
  CHECK_EQ_I64(rr->space_reclaimed, 2500); /* the layer stays: B uses it */
  check_empty_collect(&rr->collected);
  refstore_remove_result_destroy(rr);
  cl = refstore_list_containers(db, &ctx, &err);
  CHECK_OK(err);
  CHECK(cl->num_containers == 2);
  for (size_t i = 0; i < cl->num_containers; ++i) {
    if (strcmp(cl->containers[i].id, c1) == 0) {
      CHECK(cl->containers[i].image_exists == 0);
      CHECK_STREQ(cl->containers[i].image_id, a_id);
    }
  }
  refstore_container_list_destroy(cl);
  refstore_container_remove(db, &ctx, c1, &err);
  CHECK_OK(err);
  refstore_container_remove(db, &ctx, c1, &err);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, NULL, "No such container");

  /* rmi: not found, blank, ambiguous-free normal delete. */
  CHECK(refstore_remove_image(db, &ctx, "nosuch:1", 0, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:1", NULL);
  CHECK(refstore_remove_image(db, &ctx, "nosuch", 0, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:latest", NULL);
  {
    char msg[200];
    snprintf(msg, sizeof msg, "No such image: %s", dig(151));
    CHECK(refstore_remove_image(db, &ctx, dig(151) + 7, 0, &err) == NULL); /* 64 hex */
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, msg, NULL);
  }
  CHECK(refstore_remove_image(db, &ctx, "", 0, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "image name cannot be blank", NULL);

  /* A plain delete: tagged image, no holder. */
  {
    refstore_descriptor_t t = desc(kManifest, 15, 150);
    refstore_descriptor_t c[1] = {desc(kLayer, 16, 16)};
    char* id = create(db, &ctx, "busybox:1", t, c, 1, 0);
    refstore_tag(db, &ctx, "busybox:1", "busybox:2", &err);
    CHECK_OK(err);
    /* By ID with two tags of one repository: multiple references. */
    CHECK(refstore_remove_image(db, &ctx, id, 0, &err) == NULL);
    EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, NULL, "conflict: unable to delete");
    rr = refstore_remove_image(db, &ctx, "busybox:2", 0, &err);
    CHECK_OK(err);
    CHECK(rr->num_deleted == 1);
    refstore_remove_result_destroy(rr);
    rr = refstore_remove_image(db, &ctx, "busybox:1", 0, &err);
    CHECK_OK(err);
    CHECK(rr->num_deleted == 2);
    CHECK(untagged_first(rr->deleted, rr->num_deleted));
    CHECK(rr->deleted[0].kind == REFSTORE_UNTAGGED);
    CHECK_STREQ(rr->deleted[0].ref, "busybox:1");
    CHECK(rr->deleted[1].kind == REFSTORE_DELETED);
    CHECK_STREQ(rr->deleted[1].ref, id);
    CHECK_EQ_I64(rr->space_reclaimed, 166);
    refstore_remove_result_destroy(rr);
    refstore_free(id);
  }

  /* ---- Listing --------------------------------------------------------- */
  /* W: web:1 moved to another image: the first becomes dangling. */
  {
    refstore_descriptor_t c30[1] = {desc(kLayer, 31, 30)};
    refstore_descriptor_t c32[1] = {desc(kLayer, 33, 32)};
    create_and_free(db, &ctx, "web:1", desc(kManifest, 30, 300), c30, 1, NOW - 3 * DAY);
    create_and_free(db, &ctx, "web:1", desc(kManifest, 32, 320), c32, 1, NOW - 2 * DAY);
  }
  refstore_image_list_t* il = refstore_list_images(db, &ctx, NULL, &err); /* defaults: all */
  CHECK_OK(err);
  CHECK(il->num_images == 3);
  /* Newest first: web:1 (2 days), dangling (3 days), app:1 (5 days). */
  CHECK_STREQ(il->images[0].id, dig(32));
  CHECK_STREQ(il->images[1].id, dig(30));
  CHECK_STREQ(il->images[2].id, b_id);
  CHECK(il->images[1].num_names == 0);
  CHECK(il->images[0].num_names == 1);
  CHECK_STREQ(il->images[0].names[0], "web:1");
  CHECK(il->images[2].pinned == 1);
  CHECK(il->images[2].num_labels == 1);
  CHECK_STREQ(il->images[2].labels[0].key, "tier");
  CHECK_STREQ(il->images[2].labels[0].value, "app");
  CHECK_EQ_I64(il->images[2].containers, 1);
  CHECK_EQ_I64(il->images[2].size, 3003200);
  CHECK_EQ_I64(il->images[2].shared_size, 0);
  CHECK_EQ_I64(il->images[2].unique_size, 3003200);
  CHECK_EQ_I64(il->images[2].created_unix_nano, NOW - 5 * DAY);
  refstore_image_list_destroy(il);

  refstore_list_options_t* lo = refstore_list_options_create();
  refstore_list_options_set_all(lo, 0); /* dangling hidden */
  il = refstore_list_images(db, &ctx, lo, &err);
  CHECK_OK(err);
  CHECK(il->num_images == 2);
  CHECK(find_image(il, dig(30)) == NULL);
  refstore_image_list_destroy(il);
  refstore_list_options_set_all(lo, 1);
  refstore_list_options_add_filter(lo, "reference", "web*");
  il = refstore_list_images(db, &ctx, lo, &err);
  CHECK_OK(err);
  CHECK(il->num_images == 1);
  CHECK_STREQ(il->images[0].id, dig(32));
  refstore_image_list_destroy(il);
  refstore_list_options_destroy(lo);

  lo = refstore_list_options_create();
  refstore_list_options_add_filter(lo, "label", "tier=app");
  il = refstore_list_images(db, &ctx, lo, &err);
  CHECK_OK(err);
  CHECK(il->num_images == 1);
  CHECK_STREQ(il->images[0].id, b_id);
  CHECK(image_has_name(&il->images[0], "app:1"));
  refstore_image_list_destroy(il);
  refstore_list_options_destroy(lo);

  lo = refstore_list_options_create();
  refstore_list_options_add_filter(lo, "dangling", "true");
  il = refstore_list_images(db, &ctx, lo, &err);
  CHECK_OK(err);
  CHECK(il->num_images == 1);
  CHECK_STREQ(il->images[0].id, dig(30));
  refstore_image_list_destroy(il);
  refstore_list_options_destroy(lo);

  lo = refstore_list_options_create();
  refstore_list_options_add_filter(lo, "before", "web:1");
  il = refstore_list_images(db, &ctx, lo, &err);
  CHECK_OK(err);
  CHECK(il->num_images == 2);
  CHECK(find_image(il, dig(32)) == NULL);
  refstore_image_list_destroy(il);
  refstore_list_options_destroy(lo);

  lo = refstore_list_options_create();
  refstore_list_options_add_filter(lo, "bogus", "1");
  CHECK(refstore_list_images(db, &ctx, lo, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "invalid filter 'bogus'", NULL);
  refstore_list_options_destroy(lo);
  lo = refstore_list_options_create();
  refstore_list_options_add_filter(lo, "since", "nosuch:1");
  CHECK(refstore_list_images(db, &ctx, lo, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: nosuch:1", NULL);
  refstore_list_options_destroy(lo);

  /* ---- Prune ----------------------------------------------------------- */
  refstore_prune_options_t* po = refstore_prune_options_create();
  refstore_prune_options_add_filter(po, "bogus", "1");
  CHECK(refstore_prune(db, &ctx, po, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "invalid filter 'bogus'", NULL);
  refstore_prune_options_destroy(po);
  po = refstore_prune_options_create();
  refstore_prune_options_add_filter(po, "dangling", "maybe");
  CHECK(refstore_prune(db, &ctx, po, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, "invalid filter 'dangling=[maybe]'", NULL);
  refstore_prune_options_destroy(po);
  po = refstore_prune_options_create();
  refstore_prune_options_add_filter(po, "until", "bad");
  CHECK(refstore_prune(db, &ctx, po, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT,
             "invalid value for 'until' filter: failed to parse value as time or duration: \"bad\"",
             NULL);
  refstore_prune_options_destroy(po);
  po = refstore_prune_options_create();
  refstore_prune_options_set_keep(po, -1);
  CHECK(refstore_prune(db, &ctx, po, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  refstore_prune_options_destroy(po);
  po = refstore_prune_options_create();
  refstore_prune_options_set_unused_for(po, -HOUR);
  CHECK(refstore_prune(db, &ctx, po, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  refstore_prune_options_destroy(po);

  /* Dangling prune, dry run first: the same result, nothing changed. */
  du = disk_usage(db, &ctx);
  refstore_disk_usage_t du_before = du;
  po = refstore_prune_options_create();
  refstore_prune_options_set_dry_run(po, 1);
  refstore_prune_result_t* pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK(pr->num_deleted == 2);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_UNTAGGED, dig(30)));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(30)));
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK_EQ_I64(pr->space_reclaimed, 330);
  CHECK_STREQ(pr->error, "");
  check_empty_collect(&pr->collected);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);
  CHECK(count_images(db, &ctx) == 3);
  du = disk_usage(db, &ctx);
  CHECK(memcmp(&du, &du_before, sizeof du) == 0);

  pr = refstore_prune(db, &ctx, NULL, &err); /* defaults: dangling, real */
  CHECK_OK(err);
  CHECK(pr->num_deleted == 2);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_UNTAGGED, dig(30)));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(30)));
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK_EQ_I64(pr->space_reclaimed, 330);
  CHECK_STREQ(pr->error, "");
  refstore_prune_result_destroy(pr);
  CHECK(count_images(db, &ctx) == 2);
  CHECK(refstore_inspect(db, &ctx, dig(30), &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, NULL, NULL);

  /* until: the name of old:1 was made 30 days ago. */
  {
    refstore_ctx_t ctx_old = {"default", NOW - 30 * DAY};
    refstore_descriptor_t c70[1] = {desc(kLayer, 71, 70)};
    create_and_free(db, &ctx_old, "old:1", desc(kManifest, 70, 700), c70, 1, 0);
    req = refstore_image_request_create();
    refstore_descriptor_t t60 = desc(kManifest, 60, 600), c60 = desc(kLayer, 61, 60);
    refstore_image_request_set_name(req, "tools:1");
    refstore_image_request_set_target(req, &t60);
    refstore_image_request_add_content(req, &c60);
    refstore_image_request_add_label(req, "tier", "tools");
    char* id = refstore_create_image(db, &ctx, req, &err);
    CHECK_OK(err);
    refstore_free(id);
    refstore_image_request_destroy(req);
  }
  refstore_pin(db, &ctx, "app:1", 0, &err); /* unpinned: B is held by C2 only */
  CHECK_OK(err);
  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_filter(po, "until", "240h");
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK(pr->num_deleted == 2);
  CHECK(untagged_first(pr->deleted, pr->num_deleted));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_UNTAGGED, "old:1"));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(70)));
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK_EQ_I64(pr->space_reclaimed, 770);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);

  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_filter(po, "label", "tier=tools");
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK(pr->num_deleted == 2);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_UNTAGGED, "tools:1"));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(60)));
  CHECK_EQ_I64(pr->space_reclaimed, 660);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);

  /* references, keep, unused_for, max_storage on svc:1..3. */
  {
    refstore_descriptor_t c81[1] = {desc(kLayer, 81, 80)};
    refstore_descriptor_t c83[1] = {desc(kLayer, 83, 80)};
    refstore_descriptor_t c85[1] = {desc(kLayer, 85, 80)};
    /* Created (and so last used) 3, 2 and 1 days ago. */
    refstore_ctx_t at3 = {NULL, NOW - 3 * DAY}, at2 = {NULL, NOW - 2 * DAY},
                   at1 = {NULL, NOW - 1 * DAY};
    create_and_free(db, &at3, "svc:1", desc(kManifest, 80, 800), c81, 1, 0);
    create_and_free(db, &at2, "svc:2", desc(kManifest, 82, 800), c83, 1, 0);
    create_and_free(db, &at1, "svc:3", desc(kManifest, 84, 800), c85, 1, 0);
  }
  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_reference(po, "zzz*");
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK(pr->num_deleted == 0);
  CHECK_EQ_I64(pr->images_deleted, 0);
  CHECK_EQ_I64(pr->space_reclaimed, 0);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);

  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_reference(po, "svc:*");
  refstore_prune_options_set_keep(po, 2);
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(80)));
  CHECK_EQ_I64(pr->space_reclaimed, 880);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);

  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_reference(po, "svc:*");
  refstore_prune_options_set_unused_for(po, 36 * HOUR);
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(82)));
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);

  du = disk_usage(db, &ctx);
  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_add_reference(po, "svc:*");
  refstore_prune_options_set_max_storage(po, du.size); /* already within: nothing */
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 0);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_set_max_storage(po, du.size - 1);
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(84)));
  CHECK_EQ_I64(pr->space_reclaimed, 880);
  refstore_prune_result_destroy(pr);
  refstore_prune_options_set_max_storage(po, -1); /* no bound again */
  refstore_prune_options_destroy(po);

  /* Prune -a: B is held by C2 (created by short ID): kept, its name too. */
  CHECK(count_images(db, &ctx) == 2); /* app:1, web:1 */
  du = disk_usage(db, &ctx);
  po = refstore_prune_options_create();
  refstore_prune_options_set_all(po, 1);
  refstore_prune_options_set_dry_run(po, 1);
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 1);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, dig(32)));
  CHECK(!has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, b_id));
  CHECK_EQ_I64(pr->space_reclaimed, du.reclaimable);
  CHECK_EQ_I64(pr->space_reclaimed, 352);
  refstore_prune_result_destroy(pr);
  CHECK(count_images(db, &ctx) == 2);
  refstore_container_remove(db, &ctx, c2, &err);
  CHECK_OK(err);
  du = disk_usage(db, &ctx);
  CHECK_EQ_I64(du.active, 0);
  CHECK_EQ_I64(du.reclaimable, du.size);
  refstore_prune_options_set_dry_run(po, 0);
  pr = refstore_prune(db, &ctx, po, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(pr->images_deleted, 2);
  CHECK_EQ_I64(pr->space_reclaimed, du.reclaimable);
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_UNTAGGED, "app:1"));
  CHECK(has_entry(pr->deleted, pr->num_deleted, REFSTORE_DELETED, b_id));
  refstore_prune_result_destroy(pr);
  refstore_prune_options_destroy(po);
  CHECK(count_images(db, &ctx) == 0);
  du = disk_usage(db, &ctx);
  CHECK_EQ_I64(du.total_count, 0);
  CHECK_EQ_I64(du.size, 0);

  refstore_free(a_id);
  refstore_free(b_id);
}

/* ---- Leases (namespace "other") ------------------------------------------ */

static const refstore_lease_t* find_lease(const refstore_lease_list_t* l, const char* id) {
  for (size_t i = 0; i < l->num_leases; ++i) {
    if (strcmp(l->leases[i].id, id) == 0) return &l->leases[i];
  }
  return NULL;
}

static void test_leases(refstore_t* db) {
  refstore_error_t* err = NULL;
  refstore_ctx_t ctx = {"other", NOW};

  refstore_lease_create(db, &ctx, "pull-1", 0, 12345 /* ignored */, &err);
  CHECK_OK(err);
  refstore_lease_create(db, &ctx, "pull-2", 1, NOW + HOUR, &err);
  CHECK_OK(err);
  refstore_lease_create(db, &ctx, "pull-1", 0, 0, &err);
  EXPECT_ERR(&err, REFSTORE_ALREADY_EXISTS, NULL, NULL);
  refstore_lease_create(db, &ctx, "bad id!", 0, 0, &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);

  refstore_descriptor_t held[2] = {desc(kLayer, 40, 4000), desc(kLayer, 41, 10)};
  refstore_lease_add(db, &ctx, "pull-1", held, 2, &err);
  CHECK_OK(err);
  refstore_lease_add(db, &ctx, "pull-1", NULL, 0, &err); /* nothing to add */
  CHECK_OK(err);
  refstore_lease_add(db, &ctx, "nosuch", held, 2, &err);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "lease nosuch not found", NULL);
  refstore_descriptor_t wrong = desc(kLayer, 40, 999);
  refstore_lease_add(db, &ctx, "pull-1", &wrong, 1, &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  refstore_descriptor_t expiring = desc(kLayer, 43, 77);
  refstore_lease_add(db, &ctx, "pull-2", &expiring, 1, &err);
  CHECK_OK(err);

  refstore_lease_list_t* ll = refstore_list_leases(db, &ctx, &err);
  CHECK_OK(err);
  CHECK(ll->num_leases == 2);
  const refstore_lease_t* l1 = find_lease(ll, "pull-1");
  const refstore_lease_t* l2 = find_lease(ll, "pull-2");
  CHECK(l1 != NULL && l2 != NULL);
  CHECK(l1->has_expiry == 0);
  CHECK_EQ_I64(l1->created_unix_nano, NOW);
  CHECK(l1->num_content == 2);
  CHECK(strcmp(l1->content[0].digest, l1->content[1].digest) < 0); /* sorted */
  for (size_t i = 0; i < 2; ++i) {
    const refstore_descriptor_t* c = &l1->content[i];
    CHECK_STREQ(c->media_type, kLayer);
    CHECK((strcmp(c->digest, dig(40)) == 0 && c->size == 4000) ||
          (strcmp(c->digest, dig(41)) == 0 && c->size == 10));
  }
  CHECK(l2->has_expiry == 1);
  CHECK_EQ_I64(l2->expires_unix_nano, NOW + HOUR);
  CHECK(l2->num_content == 1);
  CHECK_STREQ(l2->content[0].digest, dig(43));
  refstore_lease_list_destroy(ll);

  /* An image created under pull-1, using one of its blobs. */
  refstore_descriptor_t t = desc(kManifest, 42, 420);
  refstore_image_request_t* req = refstore_image_request_create();
  refstore_image_request_set_name(req, "leased:1");
  refstore_image_request_set_target(req, &t);
  refstore_image_request_add_content(req, &held[0]);
  refstore_image_request_set_lease(req, "pull-1");
  char* id = refstore_create_image(db, &ctx, req, &err);
  CHECK_OK(err);
  CHECK_STREQ(id, dig(42));
  refstore_free(id);
  refstore_image_request_destroy(req);

  /* Explain a leased blob. */
  refstore_explanation_t* ex = refstore_explain(db, &ctx, dig(41), &err);
  CHECK_OK(err);
  CHECK(ex->is_blob == 1);
  CHECK_EQ_I64(ex->size, 10);
  CHECK(ex->num_images == 0);
  CHECK(ex->num_leases == 1);
  CHECK_STREQ(ex->leases[0], "other/pull-1");
  refstore_explanation_destroy(ex);

  /* Deleting pull-1 frees what only it held: dig(41). */
  refstore_lease_delete_result_t* ld = refstore_lease_delete(db, &ctx, "pull-1", &err);
  CHECK_OK(err);
  CHECK_EQ_I64(ld->space_reclaimed, 10);
  check_empty_collect(&ld->collected);
  refstore_lease_delete_result_destroy(ld);
  CHECK(refstore_lease_delete(db, &ctx, "pull-1", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "lease pull-1 not found", NULL);
  CHECK(refstore_lease_delete(db, &ctx, "bad id!", &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);

  /* pull-2 expires in an hour; two hours later a prune removes it and
   * frees its content (bytes, no entries). */
  refstore_ctx_t later = {"other", NOW + 2 * HOUR};
  refstore_prune_result_t* pr = refstore_prune(db, &later, NULL, &err);
  CHECK_OK(err);
  CHECK(pr->num_deleted == 0);
  CHECK_EQ_I64(pr->images_deleted, 0);
  CHECK_EQ_I64(pr->space_reclaimed, 77);
  refstore_prune_result_destroy(pr);
  ll = refstore_list_leases(db, &ctx, &err);
  CHECK_OK(err);
  CHECK(ll->num_leases == 0);
  refstore_lease_list_destroy(ll);

  /* A bad namespace. */
  refstore_ctx_t bad = {"bad ns!", NOW};
  CHECK(refstore_list_leases(db, &bad, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  CHECK(refstore_list_containers(db, &bad, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);

  /* Leave the namespace empty. */
  refstore_remove_result_t* rr = refstore_remove_image(db, &ctx, "leased:1", 0, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(rr->space_reclaimed, 4420);
  refstore_remove_result_destroy(rr);
}

/* ---- Check, collect, the operation log, error names ------------------- */

static void check_no_faults(refstore_t* db, unsigned char verify, size_t* infos) {
  refstore_error_t* err = NULL;
  refstore_problem_list_t* pl = refstore_check(db, NOW, verify, &err);
  CHECK_OK(err);
  CHECK(pl != NULL);
  size_t n_info = 0;
  for (size_t i = 0; i < pl->num_problems; ++i) {
    const refstore_problem_t* p = &pl->problems[i];
    CHECK(p->category != NULL && p->subject != NULL && p->detail != NULL);
    if (!p->info) {
      fprintf(stderr, "fault: %s %s %s\n", p->category, p->subject, p->detail);
    }
    CHECK(p->info == 1);
    ++n_info;
  }
  if (infos) *infos = n_info;
  refstore_problem_list_destroy(pl);
}

static int contains(const char* s, const char* part) { return strstr(s, part) != NULL; }

static void test_check_collect_apply(refstore_t* db) {
  refstore_error_t* err = NULL;
  refstore_ctx_t ctx = {"default", NOW};
  check_no_faults(db, 1, NULL);
  check_no_faults(db, 0, NULL);

  /* Metadata only: collect does nothing. */
  refstore_collect_result_t* cr = refstore_collect(db, &err);
  CHECK_OK(err);
  check_empty_collect(cr);
  refstore_collect_result_destroy(cr);

  /* The operation log. */
  char line[1024];
  snprintf(line, sizeof line,
           "{\"op\": \"create_image\", \"name\": \"json:1\", \"target\": {\"mediaType\": \"%s\", "
           "\"digest\": \"%s\", \"size\": 90}, \"content\": [], \"labels\": {\"k\": \"v\"}}",
           kManifest, dig(90));
  char* res = refstore_apply_json(db, line, strlen(line), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":true", 10) == 0);
  CHECK(contains(res, dig(90)));
  CHECK(strchr(res, '\n') == NULL);
  refstore_free(res);
  refstore_image_detail_t* d = refstore_inspect(db, &ctx, "json:1", &err);
  CHECK_OK(err);
  CHECK_STREQ(d->summary.id, dig(90));
  CHECK_EQ_I64(d->summary.created_unix_nano, NOW); /* no "at": now_unix_nano */
  CHECK(d->summary.num_labels == 1);
  refstore_image_detail_destroy(d);

  /* Only `len` bytes are read: trailing bytes are ignored. */
  const char* df = "{\"op\": \"df\"}garbage that is not JSON";
  res = refstore_apply_json(db, df, strlen("{\"op\": \"df\"}"), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":true", 10) == 0);
  CHECK(contains(res, "\"total_count\":1"));
  refstore_free(res);

  /* "at" and "ns" in the line. */
  const char* tag = "{\"op\": \"tag\", \"source\": \"json:1\", \"target\": \"json:2\", "
                    "\"at\": \"2023-11-14T22:13:20Z\"}";
  res = refstore_apply_json(db, tag, strlen(tag), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":true", 10) == 0);
  refstore_free(res);

  /* A failing operation: its error is in the result. */
  const char* rmi = "{\"op\": \"rmi\", \"ref\": \"nosuch:1\"}";
  res = refstore_apply_json(db, rmi, strlen(rmi), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":false", 11) == 0);
  CHECK(contains(res, "\"code\":\"not_found\""));
  CHECK(contains(res, "\"message\":\"No such image: nosuch:1\""));
  refstore_free(res);

  /* Malformed lines. */
  const char* bad = "{\"op\": \"images\"";
  res = refstore_apply_json(db, bad, strlen(bad), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":false", 11) == 0);
  CHECK(contains(res, "\"code\":\"invalid_argument\""));
  refstore_free(res);
  const char* unknown = "{\"op\": \"frobnicate\"}";
  res = refstore_apply_json(db, unknown, strlen(unknown), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":false", 11) == 0);
  CHECK(contains(res, "\"code\":\"invalid_argument\""));
  refstore_free(res);
  res = refstore_apply_json(db, "", 0, NOW); /* empty: not a JSON object */
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":false", 11) == 0);
  refstore_free(res);

  /* NULL only for a NULL db or line. */
  CHECK(refstore_apply_json(NULL, df, 5, NOW) == NULL);
  CHECK(refstore_apply_json(db, NULL, 0, NOW) == NULL);

  /* The result of a json rmi, then the store is consistent. */
  const char* rmi2 = "{\"op\": \"rmi\", \"ref\": \"json:2\"}";
  res = refstore_apply_json(db, rmi2, strlen(rmi2), NOW);
  CHECK(strncmp(res, "{\"ok\":true", 10) == 0);
  CHECK(contains(res, "{\"Untagged\":\"json:2\"}"));
  refstore_free(res);
  const char* rmi1 = "{\"op\": \"rmi\", \"ref\": \"json:1\"}";
  res = refstore_apply_json(db, rmi1, strlen(rmi1), NOW);
  CHECK(strncmp(res, "{\"ok\":true", 10) == 0);
  CHECK(contains(res, "\"Deleted\""));
  refstore_free(res);
  check_no_faults(db, 1, NULL);

  /* Error code names (OPLOG.md). */
  CHECK(refstore_inspect(db, &ctx, "nosuch:1", &err) == NULL);
  CHECK_EQ_I64(refstore_error_code(err), REFSTORE_NOT_FOUND);
  CHECK_STREQ(refstore_error_code_name(err), "not_found");
  refstore_error_destroy(err);
  err = NULL;
  CHECK(refstore_inspect(db, &ctx, "", &err) == NULL);
  CHECK_STREQ(refstore_error_code_name(err), "invalid_argument");
  refstore_error_destroy(err);
  err = NULL;
  refstore_lease_create(db, &ctx, "dup", 0, 0, &err);
  CHECK_OK(err);
  refstore_lease_create(db, &ctx, "dup", 0, 0, &err);
  CHECK_EQ_I64(refstore_error_code(err), REFSTORE_ALREADY_EXISTS);
  CHECK_STREQ(refstore_error_code_name(err), "already_exists");
  refstore_error_destroy(err);
  err = NULL;
  refstore_lease_delete_result_destroy(refstore_lease_delete(db, &ctx, "dup", &err));
  CHECK_OK(err);
  {
    char c[65];
    hex64(c, 120);
    create_and_free(db, &ctx, "conf:1", desc(kManifest, 91, 1), NULL, 0, 0);
    refstore_free(refstore_container_create(db, &ctx, c, "conf:1", 1, NULL, &err));
    CHECK_OK(err);
    refstore_container_remove(db, &ctx, c, &err);
    CHECK_EQ_I64(refstore_error_code(err), REFSTORE_FAILED_PRECONDITION);
    CHECK_STREQ(refstore_error_code_name(err), "conflict");
    refstore_error_destroy(err);
    err = NULL;
    refstore_container_stop(db, &ctx, c, &err);
    CHECK_OK(err);
    refstore_container_remove(db, &ctx, c, &err);
    CHECK_OK(err);
    refstore_remove_result_destroy(refstore_remove_image(db, &ctx, "conf:1", 0, &err));
    CHECK_OK(err);
  }
  CHECK(count_images(db, &ctx) == 0);

  /* Freeing NULL. */
  refstore_free(NULL);
  refstore_error_destroy(NULL);
  refstore_options_destroy(NULL);
  refstore_close(NULL);
  refstore_image_request_destroy(NULL);
  refstore_remove_result_destroy(NULL);
  refstore_prune_options_destroy(NULL);
  refstore_prune_result_destroy(NULL);
  refstore_container_list_destroy(NULL);
  refstore_lease_delete_result_destroy(NULL);
  refstore_lease_list_destroy(NULL);
  refstore_list_options_destroy(NULL);
  refstore_image_list_destroy(NULL);
  refstore_image_detail_destroy(NULL);
  refstore_explanation_destroy(NULL);
  refstore_problem_list_destroy(NULL);
  refstore_collect_result_destroy(NULL);
}

/* ---- Read-only ---------------------------------------------------------- */

static void test_read_only(const char* path) {
  refstore_error_t* err = NULL;
  refstore_ctx_t ctx = {"default", NOW};
  refstore_options_t* opts = refstore_options_create();
  refstore_options_set_read_only(opts, 1);
  refstore_t* db = refstore_open(opts, path, &err);
  CHECK_OK(err);
  refstore_options_destroy(opts);
  CHECK(count_images(db, &ctx) == 0);
  refstore_image_request_t* req = refstore_image_request_create();
  refstore_descriptor_t t = desc(kManifest, 95, 1);
  refstore_image_request_set_target(req, &t);
  CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, "the store is open read-only", NULL);
  refstore_image_request_destroy(req);
  refstore_lease_create(db, &ctx, "ro", 0, 0, &err);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, "the store is open read-only", NULL);
  CHECK(refstore_collect(db, &err) == NULL);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, NULL, NULL);
  /* The operation log's read-only failure. */
  const char* line = "{\"op\": \"lease_create\", \"id\": \"ro\"}";
  char* res = refstore_apply_json(db, line, strlen(line), NOW);
  CHECK(res != NULL);
  CHECK(strncmp(res, "{\"ok\":false", 11) == 0);
  CHECK(contains(res, "the store is open read-only"));
  refstore_free(res);

  /* Results and errors are the caller's: they outlive the store. */
  refstore_image_list_t* il = refstore_list_images(db, &ctx, NULL, &err);
  CHECK_OK(err);
  refstore_lease_list_t* ll = refstore_list_leases(db, &ctx, &err);
  CHECK_OK(err);
  CHECK(refstore_inspect(db, &ctx, "gone:1", &err) == NULL);
  CHECK(err != NULL);
  refstore_close(db);
  CHECK(il->num_images == 0);
  CHECK(ll->num_leases == 0);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "No such image: gone:1", NULL);
  refstore_image_list_destroy(il);
  refstore_lease_list_destroy(ll);
}

/* ---- Concurrent calls on one handle (c.h: "safe for concurrent use") ---- */

enum { kThreads = 4, kImagesPerThread = 15 };

typedef struct worker_t {
  refstore_t* db;
  int index;
  int failures;
} worker_t;

static void* worker_main(void* arg) {
  worker_t* w = (worker_t*)arg;
  refstore_error_t* err = NULL;
  char ns[32];
  snprintf(ns, sizeof ns, "thread%d", w->index);
  refstore_ctx_t ctx = {ns, NOW};
  for (int i = 0; i < kImagesPerThread; ++i) {
    char name[64];
    snprintf(name, sizeof name, "t%d:%d", w->index, i);
    /* Digests shared by every thread: the same blobs in four namespaces. */
    refstore_descriptor_t t = desc(kManifest, 160 + (unsigned)i, 100);
    refstore_descriptor_t layer = desc(kLayer, 159, 1000);
    refstore_image_request_t* req = refstore_image_request_create();
    refstore_image_request_set_name(req, name);
    refstore_image_request_set_target(req, &t);
    refstore_image_request_add_content(req, &layer);
    char* id = refstore_create_image(w->db, &ctx, req, &err);
    refstore_image_request_destroy(req);
    if (err != NULL) {
      fprintf(stderr, "thread %d: %s\n", w->index, refstore_error_message(err));
      refstore_error_destroy(err);
      err = NULL;
      ++w->failures;
      continue;
    }
    refstore_free(id);
    refstore_image_list_t* l = refstore_list_images(w->db, &ctx, NULL, &err);
    if (err != NULL || l->num_images != (size_t)i + 1) ++w->failures;
    refstore_image_list_destroy(l);
    refstore_error_destroy(err);
    err = NULL;
  }
  refstore_prune_options_t* p = refstore_prune_options_create();
  refstore_prune_options_set_all(p, 1);
  refstore_prune_result_t* r = refstore_prune(w->db, &ctx, p, &err);
  if (r == NULL) {
    /* Another thread's prune was running: "a prune operation is already
     * running" (Aborted); retry until this one runs. */
    while (err != NULL && refstore_error_code(err) == REFSTORE_ABORTED) {
      refstore_error_destroy(err);
      err = NULL;
      r = refstore_prune(w->db, &ctx, p, &err);
    }
  }
  if (err != NULL || r == NULL || r->images_deleted != kImagesPerThread) ++w->failures;
  refstore_prune_result_destroy(r);
  refstore_error_destroy(err);
  refstore_prune_options_destroy(p);
  return NULL;
}

static void test_threads(void) {
  refstore_error_t* err = NULL;
  char path[4200];
  path_in_root(path, sizeof path, "threads");
  refstore_t* db = refstore_open(NULL, path, &err);
  CHECK_OK(err);
  for (unsigned i = 159; i < 160 + kImagesPerThread; ++i) (void)dig(i); /* fill the table first */
  pthread_t threads[kThreads];
  worker_t workers[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    workers[i].db = db;
    workers[i].index = i;
    workers[i].failures = 0;
    CHECK(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0);
  }
  for (int i = 0; i < kThreads; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK_EQ_I64(workers[i].failures, 0);
  }
  check_no_faults(db, 1, NULL);
  refstore_close(db);
}

/* ---- A content store ---------------------------------------------------- */

static void test_content_store(void) {
  refstore_error_t* err = NULL;
  refstore_ctx_t ctx = {"default", NOW};
  char path[4200];
  path_in_root(path, sizeof path, "content");

  refstore_options_t* opts = refstore_options_create();
  refstore_options_set_content_store(opts, 1);
  refstore_options_set_collect_after_changes(opts, 0); /* Collect does it */
  refstore_t* db = refstore_open(opts, path, &err);
  CHECK_OK(err);
  refstore_options_destroy(opts);
  CHECK(refstore_has_content_store(db) == 1);

  refstore_lease_create(db, &ctx, "w", 1, NOW + DAY, &err);
  CHECK_OK(err);
  refstore_descriptor_t hello = {kLayer, "sha256:" SHA_HELLO, 5};
  refstore_descriptor_t world = {kManifest, "sha256:" SHA_WORLD, 5};
  refstore_descriptor_t empty = {kConfig, "sha256:" SHA_EMPTY, 0};
  refstore_write_blob(db, &ctx, "w", &hello, "hello", 5, &err);
  CHECK_OK(err);
  refstore_write_blob(db, &ctx, "w", &hello, "hello", 5, &err); /* already stored */
  CHECK_OK(err);
  refstore_write_blob(db, &ctx, "w", &empty, "", 0, &err);
  CHECK_OK(err);
  /* Bytes whose SHA-256 is not the descriptor's; a wrong size. */
  refstore_write_blob(db, &ctx, "w", &world, "hellO", 5, &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  refstore_descriptor_t short_world = {kManifest, "sha256:" SHA_WORLD, 6};
  refstore_write_blob(db, &ctx, "w", &short_world, "world", 5, &err);
  EXPECT_ERR(&err, REFSTORE_INVALID_ARGUMENT, NULL, NULL);
  refstore_write_blob(db, &ctx, "nosuch", &world, "world", 5, &err);
  EXPECT_ERR(&err, REFSTORE_NOT_FOUND, "lease nosuch not found", NULL);
  char blob_path[4400];
  snprintf(blob_path, sizeof blob_path, "%s/content/blobs/sha256/%s", path, SHA_WORLD);
  CHECK(!file_exists(blob_path)); /* the bad writes kept nothing */
  refstore_write_blob(db, &ctx, "w", &world, "world", 5, &err);
  CHECK_OK(err);
  CHECK(file_exists(blob_path));

  /* An image of blobs not written: NotFound. */
  {
    refstore_descriptor_t t = desc(kManifest, 100, 10);
    refstore_image_request_t* req = refstore_image_request_create();
    refstore_image_request_set_target(req, &t);
    CHECK(refstore_create_image(db, &ctx, req, &err) == NULL);
    char msg[200];
    snprintf(msg, sizeof msg, "content %s is not in the content store", dig(100));
    EXPECT_ERR(&err, REFSTORE_NOT_FOUND, msg, NULL);
    refstore_image_request_destroy(req);
  }
  /* hw:1: target "world", content "hello" and "". */
  refstore_descriptor_t content[2] = {hello, empty};
  refstore_image_request_t* req = refstore_image_request_create();
  refstore_image_request_set_name(req, "hw:1");
  refstore_image_request_set_target(req, &world);
  refstore_image_request_add_content(req, &content[0]);
  refstore_image_request_add_content(req, &content[1]);
  refstore_image_request_set_lease(req, "w");
  char* id = refstore_create_image(db, &ctx, req, &err);
  CHECK_OK(err);
  CHECK_STREQ(id, "sha256:" SHA_WORLD);
  refstore_image_request_destroy(req);

  refstore_explanation_t* ex = refstore_explain(db, &ctx, "sha256:" SHA_HELLO, &err);
  CHECK_OK(err);
  CHECK(ex->is_blob == 1);
  CHECK_EQ_I64(ex->size, 5);
  CHECK(ex->num_images == 1);
  CHECK_STREQ(ex->images[0], "default/sha256:" SHA_WORLD);
  CHECK(ex->num_leases == 1);
  CHECK_STREQ(ex->leases[0], "default/w");
  refstore_explanation_destroy(ex);

  refstore_lease_delete_result_t* ld = refstore_lease_delete(db, &ctx, "w", &err);
  CHECK_OK(err);
  CHECK_EQ_I64(ld->space_reclaimed, 0); /* the image holds everything */
  check_empty_collect(&ld->collected);
  refstore_lease_delete_result_destroy(ld);
  check_no_faults(db, 1, NULL);

  /* rmi: 10 bytes freed; collection is off: the files stay until Collect. */
  refstore_remove_result_t* rr = refstore_remove_image(db, &ctx, "hw:1", 0, &err);
  CHECK_OK(err);
  CHECK(rr->num_deleted == 2);
  CHECK_EQ_I64(rr->space_reclaimed, 10);
  check_empty_collect(&rr->collected);
  refstore_remove_result_destroy(rr);
  CHECK(file_exists(blob_path));
  check_no_faults(db, 1, NULL); /* garbage not yet collected is information */
  refstore_collect_result_t* cr = refstore_collect(db, &err);
  CHECK_OK(err);
  CHECK_EQ_I64(cr->files_deleted, 3);
  CHECK_EQ_I64(cr->bytes_deleted, 10);
  CHECK_STREQ(cr->error, "");
  refstore_collect_result_destroy(cr);
  CHECK(!file_exists(blob_path));
  cr = refstore_collect(db, &err);
  CHECK_OK(err);
  check_empty_collect(cr);
  refstore_collect_result_destroy(cr);
  size_t infos = 99;
  check_no_faults(db, 1, &infos);
  CHECK(infos == 0);
  refstore_free(id);
  refstore_close(db);

  /* Reopened with collection after changes (the default). */
  db = refstore_open(NULL, path, &err);
  CHECK_OK(err);
  CHECK(refstore_has_content_store(db) == 1);
  refstore_lease_create(db, &ctx, "w2", 0, 0, &err);
  CHECK_OK(err);
  refstore_write_blob(db, &ctx, "w2", &hello, "hello", 5, &err);
  CHECK_OK(err);
  ld = refstore_lease_delete(db, &ctx, "w2", &err);
  CHECK_OK(err);
  CHECK_EQ_I64(ld->space_reclaimed, 5);
  CHECK_EQ_I64(ld->collected.files_deleted, 1);
  CHECK_EQ_I64(ld->collected.bytes_deleted, 5);
  CHECK_STREQ(ld->collected.error, "");
  refstore_lease_delete_result_destroy(ld);
  check_no_faults(db, 1, NULL);
  refstore_close(db);

  /* A metadata-only store has no content: WriteBlob is FailedPrecondition. */
  char meta[4200];
  path_in_root(meta, sizeof meta, "defaults");
  db = refstore_open(NULL, meta, &err);
  CHECK_OK(err);
  refstore_lease_create(db, &ctx, "w", 0, 0, &err);
  CHECK_OK(err);
  refstore_write_blob(db, &ctx, "w", &hello, "hello", 5, &err);
  EXPECT_ERR(&err, REFSTORE_FAILED_PRECONDITION, NULL, NULL);
  refstore_lease_delete_result_destroy(refstore_lease_delete(db, &ctx, "w", &err));
  CHECK_OK(err);
  refstore_close(db);
}

int main(void) {
  const char* tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
  snprintf(g_root, sizeof g_root, "%s/refstore_c_api_test.XXXXXX", tmp);
  if (mkdtemp(g_root) == NULL) {
    perror("mkdtemp");
    return 1;
  }

  test_open();

  refstore_error_t* err = NULL;
  char path[4200];
  path_in_root(path, sizeof path, "main");
  refstore_t* db = refstore_open(NULL, path, &err);
  CHECK_OK(err);
  test_images(db);
  test_leases(db);
  test_check_collect_apply(db);
  refstore_close(db);
  test_read_only(path);
  test_content_store();
  test_threads();

  if (nftw(g_root, nftw_remove, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    perror("removing the temporary directory");
    return 1;
  }
  printf("c_api_test: %d checks passed\n", g_checks);
  return 0;
}
