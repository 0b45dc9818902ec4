// c.cc: the C API (refstore/c.h) over the Store.
//
// Every function catches what C++ may throw (std::bad_alloc) at the boundary
// and reports it as REFSTORE_INTERNAL: nothing propagates into C. A result
// struct is the base of a holder that owns its strings and arrays (Arena), so
// that *_destroy frees it all with one delete.
#include "refstore/c.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "refstore/oplog/apply_line.h"
#include "refstore/status_code.h"
#include "refstore/store.h"
#include "refstore/util/status_macros.h"

struct refstore_error_t {
  int code;
  std::string message;
  std::string code_name;
};

struct refstore_t {
  std::unique_ptr<refstore::Store> store;
};

struct refstore_options_t {
  refstore::StoreOptions options;
};

struct refstore_image_request_t {
  refstore::CreateImageRequest request;
};

struct refstore_prune_options_t {
  refstore::PruneOptions options;
};

struct refstore_list_options_t {
  refstore::ListOptions options;
};

namespace {

using refstore::Descriptor;

// Owns the strings and arrays a result points to.
class Arena {
 public:
  const char* Str(std::string s) {
    auto owned = std::make_shared<std::string>(std::move(s));
    keep_.push_back(owned);
    return owned->c_str();
  }
  template <class T>
  const T* Array(std::vector<T> v) {
    if (v.empty()) return nullptr;
    auto owned = std::make_shared<std::vector<T>>(std::move(v));
    keep_.push_back(owned);
    return owned->data();
  }
  const char* const* Strs(const std::vector<std::string>& in, size_t* n) {
    std::vector<const char*> out;
    out.reserve(in.size());
    for (const std::string& s : in) out.push_back(Str(s));
    *n = out.size();
    return Array(std::move(out));
  }
  refstore_descriptor_t Desc(const Descriptor& d) {
    return {Str(d.media_type), Str(d.digest), d.size};
  }
  const refstore_descriptor_t* Descs(const std::vector<Descriptor>& in, size_t* n) {
    std::vector<refstore_descriptor_t> out;
    out.reserve(in.size());
    for (const Descriptor& d : in) out.push_back(Desc(d));
    *n = out.size();
    return Array(std::move(out));
  }
  refstore_collect_result_t Collect(const refstore::CollectResult& c) {
    return {c.files_deleted, c.bytes_deleted, c.records_dropped, c.temp_files_deleted,
            Str(c.error)};
  }
  const refstore_delete_entry_t* Entries(const std::vector<refstore::DeleteEntry>& in, size_t* n) {
    std::vector<refstore_delete_entry_t> out;
    out.reserve(in.size());
    for (const refstore::DeleteEntry& e : in) {
      out.push_back(
          {e.kind == refstore::DeleteEntry::Kind::kUntagged ? REFSTORE_UNTAGGED : REFSTORE_DELETED,
           Str(e.ref)});
    }
    *n = out.size();
    return Array(std::move(out));
  }
  refstore_container_t Container(const refstore::ContainerInfo& c) {
    return {Str(c.id),  Str(c.image_id), c.running, c.image_exists, absl::ToUnixNanos(c.created),
            Str(c.name)};
  }
  refstore_image_t Image(const refstore::ImageSummary& s) {
    refstore_image_t out{};
    out.id = Str(s.id);
    out.names = Strs(s.names, &out.num_names);
    out.repo_digests = Strs(s.repo_digests, &out.num_repo_digests);
    out.size = s.size;
    out.shared_size = s.shared_size;
    out.unique_size = s.unique_size;
    out.containers = s.containers;
    out.created_unix_nano = absl::ToUnixNanos(s.created);
    out.last_used_unix_nano = absl::ToUnixNanos(s.last_used);
    out.pinned = s.pinned;
    std::vector<refstore_label_t> labels;
    for (const auto& [k, v] : s.labels) labels.push_back({Str(k), Str(v)});
    out.num_labels = labels.size();
    out.labels = Array(std::move(labels));
    return out;
  }

 private:
  std::vector<std::shared_ptr<void>> keep_;
};

// A result struct and the arena that owns what it points to.
template <class C>
struct Holder : C {
  Holder() : C{} {}
  Arena arena;
};

template <class C>
void Destroy(C* c) {
  delete static_cast<Holder<C>*>(c);
}

// Reported when even the error could not be allocated; never deleted.
refstore_error_t* OutOfMemory() {
  static auto* const error =
      new refstore_error_t{REFSTORE_RESOURCE_EXHAUSTED, "out of memory", "internal"};
  return error;
}

void SetError(refstore_error_t** errptr, const absl::Status& status) {
  if (errptr == nullptr) return;  // c.h forbids it; nothing to report to
  if (*errptr != OutOfMemory()) delete *errptr;
  *errptr = nullptr;
  try {
    *errptr = new refstore_error_t{static_cast<int>(status.code()), std::string(status.message()),
                                   std::string(refstore::ErrorCodeName(status))};
  } catch (...) {
    *errptr = OutOfMemory();
  }
}

// A setter has no error to report: running out of memory there ends the
// process (c.h) rather than letting an exception unwind into C.
template <class Fn>
void Set(Fn&& fn) {
  try {
    fn();
  } catch (...) {
    std::abort();
  }
}

// The optional string setters: NULL clears.
void SetOptional(std::optional<std::string>& field, const char* value) {
  Set([&] {
    if (value) {
      field = value;
    } else {
      field.reset();
    }
  });
}

// The filter setters of prune and list: value NULL adds the key alone.
void AddFilter(refstore::Filters& filters, const char* key, const char* value) {
  Set([&] {
    if (key == nullptr) return;
    std::vector<std::string>& values = filters[key];
    if (value) values.push_back(value);
  });
}

// Runs `fn` (returning absl::Status), turning an exception into Internal.
template <class Fn>
bool Run(refstore_error_t** errptr, Fn&& fn) {
  absl::Status status;
  try {
    status = fn();
  } catch (const std::exception& e) {
    status = absl::InternalError(e.what());
  } catch (...) {
    status = absl::InternalError("unknown exception");
  }
  if (status.ok()) return true;
  SetError(errptr, status);
  return false;
}

absl::Status Need(const void* p, const char* what) {
  if (p != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(what) + " is NULL");
}

absl::StatusOr<refstore::OpContext> Ctx(refstore_t* db, const refstore_ctx_t* ctx) {
  RETURN_IF_ERROR(Need(db, "store"));
  refstore::OpContext out;
  if (ctx == nullptr) {
    out.now = absl::Now();
    return out;
  }
  if (ctx->ns != nullptr) out.ns = ctx->ns;
  out.now = absl::FromUnixNanos(ctx->now_unix_nano);
  return out;
}

Descriptor ToDescriptor(const refstore_descriptor_t& d) {
  return {d.media_type ? d.media_type : "", d.digest ? d.digest : "", d.size};
}

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

// A call with no result but its status.
template <class Fn>
void Simple(refstore_t* db, const refstore_ctx_t* ctx, refstore_error_t** errptr, Fn&& fn) {
  Run(errptr, [&]() -> absl::Status {
    absl::StatusOr<refstore::OpContext> c = Ctx(db, ctx);
    if (!c.ok()) return c.status();
    return fn(*c);
  });
}

// A call whose result becomes a holder of C; `fill(ctx, holder)` sets it.
template <class C, class Fn>
C* WithResult(refstore_t* db, const refstore_ctx_t* ctx, refstore_error_t** errptr, Fn&& fill) {
  C* out = nullptr;
  Run(errptr, [&]() -> absl::Status {
    absl::StatusOr<refstore::OpContext> c = Ctx(db, ctx);
    if (!c.ok()) return c.status();
    auto holder = std::make_unique<Holder<C>>();
    RETURN_IF_ERROR(fill(*c, *holder));
    out = holder.release();
    return absl::OkStatus();
  });
  return out;
}

}  // namespace

extern "C" {

// ---- Errors -------------------------------------------------------------

int refstore_error_code(const refstore_error_t* err) { return err ? err->code : REFSTORE_OK; }
const char* refstore_error_message(const refstore_error_t* err) {
  return err ? err->message.c_str() : "";
}
const char* refstore_error_code_name(const refstore_error_t* err) {
  return err ? err->code_name.c_str() : "";
}
void refstore_error_destroy(refstore_error_t* err) {
  if (err != OutOfMemory()) delete err;
}
void refstore_free(void* ptr) { std::free(ptr); }

// ---- Opening ------------------------------------------------------------

refstore_options_t* refstore_options_create(void) { return new (std::nothrow) refstore_options_t; }
void refstore_options_destroy(refstore_options_t* opts) { delete opts; }
void refstore_options_set_read_only(refstore_options_t* opts, unsigned char v) {
  opts->options.read_only = v;
}
void refstore_options_set_create_if_missing(refstore_options_t* opts, unsigned char v) {
  opts->options.create_if_missing = v;
}
void refstore_options_set_sync_writes(refstore_options_t* opts, unsigned char v) {
  opts->options.sync_writes = v;
}
void refstore_options_set_content_store(refstore_options_t* opts, unsigned char v) {
  opts->options.content_store = v;
}
void refstore_options_set_collect_after_changes(refstore_options_t* opts, unsigned char v) {
  opts->options.collect_after_changes = v;
}
void refstore_options_set_lock_wait(refstore_options_t* opts, int64_t nanos) {
  opts->options.lock_wait = absl::Nanoseconds(nanos);
}

refstore_t* refstore_open(const refstore_options_t* opts, const char* path,
                          refstore_error_t** errptr) {
  refstore_t* out = nullptr;
  Run(errptr, [&]() -> absl::Status {
    RETURN_IF_ERROR(Need(path, "path"));
    absl::StatusOr<std::unique_ptr<refstore::Store>> store =
        refstore::Store::Open(path, opts ? opts->options : refstore::StoreOptions{});
    if (!store.ok()) return store.status();
    out = new refstore_t{std::move(*store)};
    return absl::OkStatus();
  });
  return out;
}

void refstore_close(refstore_t* db) { delete db; }

unsigned char refstore_has_content_store(refstore_t* db) {
  return db != nullptr && db->store->HasContentStore();
}

// ---- Images -------------------------------------------------------------

refstore_image_request_t* refstore_image_request_create(void) {
  return new (std::nothrow) refstore_image_request_t;
}
void refstore_image_request_destroy(refstore_image_request_t* req) { delete req; }
void refstore_image_request_set_name(refstore_image_request_t* req, const char* name) {
  SetOptional(req->request.name, name);
}
void refstore_image_request_set_target(refstore_image_request_t* req,
                                       const refstore_descriptor_t* target) {
  Set([&] { req->request.target = target ? ToDescriptor(*target) : Descriptor{}; });
}
void refstore_image_request_add_content(refstore_image_request_t* req,
                                        const refstore_descriptor_t* d) {
  Set([&] {
    if (d) req->request.content.push_back(ToDescriptor(*d));
  });
}
void refstore_image_request_add_label(refstore_image_request_t* req, const char* key,
                                      const char* value) {
  Set([&] {
    if (key) req->request.labels[key] = value ? value : "";
  });
}
void refstore_image_request_set_lease(refstore_image_request_t* req, const char* lease) {
  SetOptional(req->request.lease, lease);
}
void refstore_image_request_set_created(refstore_image_request_t* req, int64_t unix_nano) {
  req->request.created = absl::FromUnixNanos(unix_nano);
}

char* refstore_create_image(refstore_t* db, const refstore_ctx_t* ctx,
                            const refstore_image_request_t* req, refstore_error_t** errptr) {
  char* out = nullptr;
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(req, "request"));
    absl::StatusOr<std::string> id = db->store->CreateImage(c, req->request);
    if (!id.ok()) return id.status();
    out = CopyString(*id);
    return absl::OkStatus();
  });
  return out;
}

void refstore_tag(refstore_t* db, const refstore_ctx_t* ctx, const char* source, const char* target,
                  refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(source, "source"));
    RETURN_IF_ERROR(Need(target, "target"));
    return db->store->Tag(c, source, target);
  });
}

void refstore_pin(refstore_t* db, const refstore_ctx_t* ctx, const char* ref, unsigned char pinned,
                  refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(ref, "ref"));
    return db->store->Pin(c, ref, pinned != 0);
  });
}

void refstore_remove_result_destroy(refstore_remove_result_t* r) { Destroy(r); }

refstore_remove_result_t* refstore_remove_image(refstore_t* db, const refstore_ctx_t* ctx,
                                                const char* ref, unsigned char force,
                                                refstore_error_t** errptr) {
  return WithResult<refstore_remove_result_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_remove_result_t>& h) {
        RETURN_IF_ERROR(Need(ref, "ref"));
        absl::StatusOr<refstore::RemoveResult> r = db->store->RemoveImage(c, ref, force != 0);
        if (!r.ok()) return r.status();
        h.deleted = h.arena.Entries(r->deleted, &h.num_deleted);
        h.space_reclaimed = r->space_reclaimed;
        h.collected = h.arena.Collect(r->collected);
        return absl::OkStatus();
      });
}

// ---- Prune --------------------------------------------------------------

refstore_prune_options_t* refstore_prune_options_create(void) {
  return new (std::nothrow) refstore_prune_options_t;
}
void refstore_prune_options_destroy(refstore_prune_options_t* opts) { delete opts; }
void refstore_prune_options_set_all(refstore_prune_options_t* opts, unsigned char v) {
  opts->options.all = v;
}
void refstore_prune_options_set_dry_run(refstore_prune_options_t* opts, unsigned char v) {
  opts->options.dry_run = v;
}
void refstore_prune_options_add_filter(refstore_prune_options_t* opts, const char* key,
                                       const char* value) {
  AddFilter(opts->options.filters, key, value);
}
void refstore_prune_options_add_reference(refstore_prune_options_t* opts, const char* glob) {
  Set([&] {
    if (glob) opts->options.references.push_back(glob);
  });
}
void refstore_prune_options_set_unused_for(refstore_prune_options_t* opts, int64_t nanos) {
  opts->options.unused_for = absl::Nanoseconds(nanos);
}
void refstore_prune_options_set_keep(refstore_prune_options_t* opts, int keep) {
  opts->options.keep = keep;
}
void refstore_prune_options_set_max_storage(refstore_prune_options_t* opts, int64_t bytes) {
  opts->options.max_storage = bytes;
}

void refstore_prune_result_destroy(refstore_prune_result_t* r) { Destroy(r); }

refstore_prune_result_t* refstore_prune(refstore_t* db, const refstore_ctx_t* ctx,
                                        const refstore_prune_options_t* opts,
                                        refstore_error_t** errptr) {
  return WithResult<refstore_prune_result_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_prune_result_t>& h) {
        absl::StatusOr<refstore::PruneResult> r =
            db->store->Prune(c, opts ? opts->options : refstore::PruneOptions{});
        if (!r.ok()) return r.status();
        h.deleted = h.arena.Entries(r->deleted, &h.num_deleted);
        h.images_deleted = r->images_deleted;
        h.space_reclaimed = r->space_reclaimed;
        h.error = h.arena.Str(r->error);
        h.collected = h.arena.Collect(r->collected);
        return absl::OkStatus();
      });
}

// ---- Containers ---------------------------------------------------------

char* refstore_container_create(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                                const char* image_ref, unsigned char running, const char* name,
                                refstore_error_t** errptr) {
  char* out = nullptr;
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    RETURN_IF_ERROR(Need(image_ref, "image_ref"));
    absl::StatusOr<std::string> image =
        db->store->CreateContainer(c, id, image_ref, running != 0, name ? name : "");
    if (!image.ok()) return image.status();
    out = CopyString(*image);
    return absl::OkStatus();
  });
  return out;
}

void refstore_container_start(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                              refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    return db->store->StartContainer(c, id);
  });
}

void refstore_container_stop(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                             refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    return db->store->StopContainer(c, id);
  });
}

void refstore_container_remove(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                               refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    return db->store->RemoveContainer(c, id);
  });
}

void refstore_container_list_destroy(refstore_container_list_t* l) { Destroy(l); }

refstore_container_list_t* refstore_list_containers(refstore_t* db, const refstore_ctx_t* ctx,
                                                    refstore_error_t** errptr) {
  return WithResult<refstore_container_list_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_container_list_t>& h) {
        absl::StatusOr<std::vector<refstore::ContainerInfo>> r = db->store->ListContainers(c);
        if (!r.ok()) return r.status();
        std::vector<refstore_container_t> out;
        for (const auto& info : *r) out.push_back(h.arena.Container(info));
        h.num_containers = out.size();
        h.containers = h.arena.Array(std::move(out));
        return absl::OkStatus();
      });
}

// ---- Leases -------------------------------------------------------------

void refstore_lease_create(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                           unsigned char has_expiry, int64_t expires_unix_nano,
                           refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    std::optional<absl::Time> expires;
    if (has_expiry) expires = absl::FromUnixNanos(expires_unix_nano);
    return db->store->CreateLease(c, id, expires);
  });
}

void refstore_lease_add(refstore_t* db, const refstore_ctx_t* ctx, const char* id,
                        const refstore_descriptor_t* content, size_t num_content,
                        refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(id, "id"));
    if (num_content > 0) RETURN_IF_ERROR(Need(content, "content"));
    std::vector<Descriptor> descriptors;
    descriptors.reserve(num_content);
    for (size_t i = 0; i < num_content; ++i) descriptors.push_back(ToDescriptor(content[i]));
    return db->store->AddLeaseContent(c, id, descriptors);
  });
}

void refstore_lease_delete_result_destroy(refstore_lease_delete_result_t* r) { Destroy(r); }

refstore_lease_delete_result_t* refstore_lease_delete(refstore_t* db, const refstore_ctx_t* ctx,
                                                      const char* id, refstore_error_t** errptr) {
  return WithResult<refstore_lease_delete_result_t>(
      db, ctx, errptr,
      [&](const refstore::OpContext& c, Holder<refstore_lease_delete_result_t>& h) {
        RETURN_IF_ERROR(Need(id, "id"));
        absl::StatusOr<refstore::DeleteLeaseResult> r = db->store->DeleteLease(c, id);
        if (!r.ok()) return r.status();
        h.space_reclaimed = r->space_reclaimed;
        h.collected = h.arena.Collect(r->collected);
        return absl::OkStatus();
      });
}

void refstore_lease_list_destroy(refstore_lease_list_t* l) { Destroy(l); }

refstore_lease_list_t* refstore_list_leases(refstore_t* db, const refstore_ctx_t* ctx,
                                            refstore_error_t** errptr) {
  return WithResult<refstore_lease_list_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_lease_list_t>& h) {
        absl::StatusOr<std::vector<refstore::LeaseInfo>> r = db->store->ListLeases(c);
        if (!r.ok()) return r.status();
        std::vector<refstore_lease_t> out;
        for (const auto& info : *r) {
          refstore_lease_t l{};
          l.id = h.arena.Str(info.id);
          l.created_unix_nano = absl::ToUnixNanos(info.created);
          l.has_expiry = info.expires.has_value();
          l.expires_unix_nano = info.expires ? absl::ToUnixNanos(*info.expires) : 0;
          l.content = h.arena.Descs(info.content, &l.num_content);
          out.push_back(l);
        }
        h.num_leases = out.size();
        h.leases = h.arena.Array(std::move(out));
        return absl::OkStatus();
      });
}

void refstore_write_blob(refstore_t* db, const refstore_ctx_t* ctx, const char* lease,
                         const refstore_descriptor_t* d, const char* data, size_t len,
                         refstore_error_t** errptr) {
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(lease, "lease"));
    RETURN_IF_ERROR(Need(d, "descriptor"));
    if (len > 0) RETURN_IF_ERROR(Need(data, "data"));
    size_t at = 0;
    refstore::BlobReader reader = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
      const size_t n = std::min(cap, len - at);
      if (n > 0) std::memcpy(buf, data + at, n);
      at += n;
      return n;
    };
    return db->store->WriteBlob(c, lease, ToDescriptor(*d), reader);
  });
}

// ---- Reading ------------------------------------------------------------

refstore_list_options_t* refstore_list_options_create(void) {
  return new (std::nothrow) refstore_list_options_t;
}
void refstore_list_options_destroy(refstore_list_options_t* opts) { delete opts; }
void refstore_list_options_set_all(refstore_list_options_t* opts, unsigned char v) {
  opts->options.all = v;
}
void refstore_list_options_add_filter(refstore_list_options_t* opts, const char* key,
                                      const char* value) {
  AddFilter(opts->options.filters, key, value);
}

void refstore_image_list_destroy(refstore_image_list_t* l) { Destroy(l); }

refstore_image_list_t* refstore_list_images(refstore_t* db, const refstore_ctx_t* ctx,
                                            const refstore_list_options_t* opts,
                                            refstore_error_t** errptr) {
  return WithResult<refstore_image_list_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_image_list_t>& h) {
        absl::StatusOr<std::vector<refstore::ImageSummary>> r =
            db->store->ListImages(c, opts ? opts->options : refstore::ListOptions{});
        if (!r.ok()) return r.status();
        std::vector<refstore_image_t> out;
        out.reserve(r->size());
        for (const auto& s : *r) out.push_back(h.arena.Image(s));
        h.num_images = out.size();
        h.images = h.arena.Array(std::move(out));
        return absl::OkStatus();
      });
}

void refstore_image_detail_destroy(refstore_image_detail_t* d) { Destroy(d); }

refstore_image_detail_t* refstore_inspect(refstore_t* db, const refstore_ctx_t* ctx,
                                          const char* ref, refstore_error_t** errptr) {
  return WithResult<refstore_image_detail_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_image_detail_t>& h) {
        RETURN_IF_ERROR(Need(ref, "ref"));
        absl::StatusOr<refstore::ImageDetail> r = db->store->Inspect(c, ref);
        if (!r.ok()) return r.status();
        h.summary = h.arena.Image(r->summary);
        h.target = h.arena.Desc(r->target);
        h.content = h.arena.Descs(r->content, &h.num_content);
        h.container_ids = h.arena.Strs(r->container_ids, &h.num_container_ids);
        return absl::OkStatus();
      });
}

unsigned char refstore_disk_usage(refstore_t* db, const refstore_ctx_t* ctx,
                                  refstore_disk_usage_t* out, refstore_error_t** errptr) {
  bool ok = false;
  Simple(db, ctx, errptr, [&](const refstore::OpContext& c) -> absl::Status {
    RETURN_IF_ERROR(Need(out, "out"));
    absl::StatusOr<refstore::DiskUsage> r = db->store->GetDiskUsage(c);
    if (!r.ok()) return r.status();
    *out = {r->total_count, r->active, r->size, r->shared_size, r->unique_size, r->reclaimable};
    ok = true;
    return absl::OkStatus();
  });
  return ok;
}

void refstore_explanation_destroy(refstore_explanation_t* e) { Destroy(e); }

refstore_explanation_t* refstore_explain(refstore_t* db, const refstore_ctx_t* ctx, const char* ref,
                                         refstore_error_t** errptr) {
  return WithResult<refstore_explanation_t>(
      db, ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_explanation_t>& h) {
        RETURN_IF_ERROR(Need(ref, "ref"));
        absl::StatusOr<refstore::Explanation> r = db->store->Explain(c, ref);
        if (!r.ok()) return r.status();
        h.is_blob = r->kind == refstore::Explanation::Kind::kBlob;
        h.digest = h.arena.Str(r->digest);
        h.size = r->size;
        h.names = h.arena.Strs(r->names, &h.num_names);
        h.pinned = r->pinned;
        h.dangling = r->dangling;
        std::vector<refstore_container_t> containers;
        for (const auto& info : r->containers) containers.push_back(h.arena.Container(info));
        h.num_containers = containers.size();
        h.containers = h.arena.Array(std::move(containers));
        h.images = h.arena.Strs(r->images, &h.num_images);
        h.leases = h.arena.Strs(r->leases, &h.num_leases);
        return absl::OkStatus();
      });
}

void refstore_problem_list_destroy(refstore_problem_list_t* l) { Destroy(l); }

refstore_problem_list_t* refstore_check(refstore_t* db, int64_t now_unix_nano,
                                        unsigned char verify_digests, refstore_error_t** errptr) {
  const refstore_ctx_t ctx{nullptr, now_unix_nano};
  return WithResult<refstore_problem_list_t>(
      db, &ctx, errptr, [&](const refstore::OpContext& c, Holder<refstore_problem_list_t>& h) {
        refstore::CheckOptions options;
        options.now = c.now;
        options.verify_digests = verify_digests != 0;
        absl::StatusOr<std::vector<refstore::Problem>> r = db->store->Check(options);
        if (!r.ok()) return r.status();
        std::vector<refstore_problem_t> out;
        for (const auto& p : *r) {
          out.push_back(
              {h.arena.Str(p.category), h.arena.Str(p.subject), h.arena.Str(p.detail), p.info});
        }
        h.num_problems = out.size();
        h.problems = h.arena.Array(std::move(out));
        return absl::OkStatus();
      });
}

void refstore_collect_result_destroy(refstore_collect_result_t* r) { Destroy(r); }

refstore_collect_result_t* refstore_collect(refstore_t* db, refstore_error_t** errptr) {
  return WithResult<refstore_collect_result_t>(
      db, nullptr, errptr, [&](const refstore::OpContext&, Holder<refstore_collect_result_t>& h) {
        absl::StatusOr<refstore::CollectResult> r = db->store->Collect();
        if (!r.ok()) return r.status();
        static_cast<refstore_collect_result_t&>(h) = h.arena.Collect(*r);
        return absl::OkStatus();
      });
}

// ---- The operation log --------------------------------------------------

char* refstore_apply_json(refstore_t* db, const char* line, size_t len, int64_t now_unix_nano) {
  if (db == nullptr || line == nullptr) return nullptr;
  try {
    refstore::oplog::Json result = refstore::oplog::ApplyLine(
        *db->store, std::string_view(line, len), absl::FromUnixNanos(now_unix_nano));
    return CopyString(refstore::oplog::DumpLine(result));
  } catch (...) {
    return nullptr;  // out of memory
  }
}

}  // extern "C"
