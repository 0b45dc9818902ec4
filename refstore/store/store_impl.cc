#include "refstore/store/store_impl.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/time/clock.h"
#include "refstore/content/media_type.h"
#include "refstore/db/info_log.h"
#include "refstore/db/mutate.h"
#include "refstore/db/read_only.h"
#include "refstore/db/reserve.h"
#include "refstore/db/resolve.h"
#include "refstore/db/rocks_options.h"
#include "refstore/db/upgrade.h"
#include "refstore/filters.h"
#include "refstore/reference.h"
#include "refstore/util/status_macros.h"
#include "refstore/util/strcat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace refstore {

bool IsManifestOrIndex(std::string_view media_type) {
  return content::IsManifestOrIndexKind(content::MediaKindOf(media_type));
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(std::string_view path,
                                                   const StoreOptions& options) {
  return internal::StoreImpl::Open(path, options);
}

namespace internal {
namespace {

constexpr char kFormatKey[] = "format_version";

// Column families whose keys come and go (every pull's lease, every
// collected blob's garbage record).
bool IsChurnFamily(std::string_view family) {
  return family == "leases" || family == "lease_blobs" || family == "blob_leases" ||
         family == "garbage";
}

}  // namespace

rocksdb::DBOptions RocksDbOptions(bool create_if_missing) {
  rocksdb::DBOptions options;
  options.create_if_missing = create_if_missing;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  // All memtables together stay under 128 MiB, whatever the number of column
  // families written, which bounds the memory of long prunes and imports.
  options.db_write_buffer_size = 128 << 20;
  return options;
}

std::shared_ptr<rocksdb::Cache> NewRocksCache() { return rocksdb::NewLRUCache(64 << 20); }

rocksdb::ColumnFamilyOptions RocksCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::string_view family) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks live with the open table files, not in the block
  // cache: a store of millions of blobs has filters larger than the cache,
  // and evicting them made every point lookup re-read and checksum a filter
  // block of megabytes. (About 1.25 bytes of filter per key.)
  table.cache_index_and_filter_blocks = false;
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.level_compaction_dynamic_level_bytes = true;
  // A Bloom filter over each memtable's whole keys: most point reads of a
  // change look for keys that do not exist yet (a new image's blobs, its
  // holders, its name), and without the filter each of them walks the
  // memtable's skip list (19% of image creation's profile, 5% with the
  // filter: DESIGN.md "RocksDB settings").
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.02;
  // Their deleted keys stay as tombstones that every scan of the family
  // steps over until a compaction reaches the bottom level (DESIGN.md
  // "RocksDB settings", bench/micro/churn_bench.cc).
  if (IsChurnFamily(family)) {
    cf.write_buffer_size = 1 << 20;
    cf.level0_file_num_compaction_trigger = 2;
  }
  return cf;
}

absl::Status ValidateNamespace(std::string_view ns) {
  if (IsValidNamespace(ns)) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat("invalid namespace '", ns, "'"));
}

absl::Status ValidateContext(const OpContext& ctx) {
  RETURN_IF_ERROR(ValidateNamespace(ctx.ns));
  return CheckStorableTime(ctx.now, "the operation's time");
}

absl::Status ValidateLeaseId(std::string_view id) {
  if (IsValidNamespace(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat("invalid lease ID '", id, "'"));
}

absl::Status ValidateContainerId(std::string_view id) {
  if (IsContainerId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat("invalid container ID '", id, "': want 64 lowercase hex characters"));
}

absl::StatusOr<StoredDescriptor> ToStored(const Descriptor& d) {
  RETURN_IF_ERROR(ValidateDigest(d.digest));
  if (d.media_type.empty()) {
    return absl::InvalidArgumentError(Cat("descriptor ", d.digest, " has no mediaType"));
  }
  if (d.size < 0) {
    return absl::InvalidArgumentError(
        Cat("descriptor ", d.digest, " has a negative size ", d.size));
  }
  return StoredDescriptor{HexToRaw(d.digest), d.size, d.media_type};
}

Descriptor FromStored(const StoredDescriptor& d) {
  return Descriptor{d.media_type, RawToDigest(d.raw_digest), d.size};
}

int64_t ToNanos(absl::Time t) { return absl::ToUnixNanos(t); }

CollectResult CollectedBeside(absl::StatusOr<CollectResult> collected) {
  if (collected.ok()) return *std::move(collected);
  CollectResult out;
  out.error = collected.status().ToString();
  return out;
}

namespace {

// NotFound unless lease `id` exists in namespace `ns` as `txn` reads it.
absl::Status CheckLeaseExists(Txn& txn, std::string_view ns, std::string_view id) {
  ASSIGN_OR_RETURN(auto lease, txn.GetLease(ns, id));
  if (!lease) return absl::NotFoundError(Cat("lease ", id, " not found"));
  return absl::OkStatus();
}

absl::Status ConflictingSizes(std::string_view raw, int64_t a, int64_t b) {
  return absl::InvalidArgumentError(
      Cat("digest ", RawToDigest(raw), " given with two sizes: ", a, " and ", b));
}

// The distinct descriptors of `in`, in order; the target's digest is
// checked against the target and left out.
absl::StatusOr<std::vector<StoredDescriptor>> DistinctContent(const std::vector<Descriptor>& in,
                                                              const StoredDescriptor* target) {
  std::vector<StoredDescriptor> out;
  std::map<std::string, int64_t> seen;
  if (target) seen[target->raw_digest] = target->size;
  for (const Descriptor& d : in) {
    ASSIGN_OR_RETURN(StoredDescriptor s, ToStored(d));
    auto [it, inserted] = seen.emplace(s.raw_digest, s.size);
    if (!inserted) {
      if (it->second != s.size) return ConflictingSizes(s.raw_digest, it->second, s.size);
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Checks a new name for an image (create or tag) and returns its full form.
absl::StatusOr<std::string> NewName(std::string_view text, bool allow_digest,
                                    std::string_view target_digest) {
  ASSIGN_OR_RETURN(Reference ref, ParseReference(text));
  if (ref.digest) {
    if (!allow_digest) {
      return absl::InvalidArgumentError("refusing to create a tag with a digest reference");
    }
    if (*ref.digest != target_digest) {
      return absl::InvalidArgumentError(Cat("name ", text, " carries digest ", *ref.digest,
                                            ", not the image's digest ", target_digest));
    }
  }
  if (ref.domain == "docker.io" && ref.path == "library/sha256") {
    return absl::InvalidArgumentError(
        "refusing to create an ambiguous tag using digest algorithm as name");
  }
  return ref.Full();
}

}  // namespace

StoreImpl::StoreImpl(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
                     const StoreOptions& options)
    : db_(std::move(db)), cfs_(std::move(cfs)), options_(options) {}

StoreImpl::~StoreImpl() {
  // Flushing the memtables now makes the next open fast: it does not have to
  // replay the whole write-ahead log. (A failure only costs that replay.)
  if (!options_.read_only) {
    rocksdb::FlushOptions flush;
    flush.allow_write_stall = true;
    db_->Flush(flush, cfs_).PermitUncheckedError();
  }
  const std::string path = db_->GetName();
  for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
  db_.reset();
  if (!options_.read_only) EnsureReserve(path, /*times=*/2);
  if (!secondary_dir_.empty()) std::filesystem::remove_all(secondary_dir_);
}

absl::StatusOr<std::unique_ptr<Store>> OpenWithSeams(std::string_view path,
                                                     const StoreOptions& options,
                                                     const Seams& seams) {
  return StoreImpl::Open(path, options, seams);
}

namespace {

// A store another process holds or is creating: Open may wait for it.
absl::Status InUse(std::string_view path) {
  return absl::UnavailableError(Cat("store is in use by another process: ", path));
}
absl::Status BeingCreated(std::string_view path) {
  return absl::UnavailableError(Cat("store is being created by another process: ", path));
}
absl::Status BeingUpgraded(std::string_view path) {
  return absl::UnavailableError(Cat("store is being upgraded by another process: ", path));
}
absl::Status NeedsUpgrade(std::string_view path, std::string_view version) {
  return absl::FailedPreconditionError(Cat("store ", path, " has format version ", version,
                                           "; this build reads version ", kFormatVersion,
                                           ": open it once for writing to upgrade it"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> StoreImpl::Open(std::string_view path,
                                                       const StoreOptions& options,
                                                       const Seams& seams) {
  // Unavailable (another process holds the store, or is creating it) is
  // retried until `lock_wait` has passed, backing off from 10 ms to 250 ms.
  const absl::Time deadline = absl::Now() + std::max(options.lock_wait, absl::ZeroDuration());
  absl::Duration pause = absl::Milliseconds(10);
  while (true) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenOnce(path, options, seams);
    if (store.ok() || !absl::IsUnavailable(store.status())) return store;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return store;
    absl::SleepFor(std::min(pause, left));
    pause = std::min(pause * 2, absl::Milliseconds(250));
  }
}

absl::StatusOr<std::unique_ptr<Store>> StoreImpl::OpenOnce(std::string_view path,
                                                           const StoreOptions& options,
                                                           const Seams& seams) {
  // A path that is no store gets a plain answer, not RocksDB's "CURRENT: No
  // such file".
  std::error_code ec;
  const std::filesystem::file_status path_status =
      std::filesystem::status(std::filesystem::path(path), ec);
  const bool path_exists = std::filesystem::exists(path_status);
  if (path_exists && !std::filesystem::is_directory(path_status)) {
    return absl::InvalidArgumentError(Cat("no store at ", path, ": not a directory"));
  }
  if (!path_exists && (options.read_only || !options.create_if_missing)) {
    return absl::InvalidArgumentError(Cat("no store at ", path, ": no such directory"));
  }
  rocksdb::DBOptions db_options = RocksDbOptions(options.create_if_missing);
  // Our info log: RocksDB's aborts on a write after a failed one (a full
  // disk), and keeps a LOG.old.<time> per open (info_log.h).
  if (!options.read_only) db_options.info_log = NewInfoLog(path);
  if (seams.env && !options.read_only) db_options.env = seams.env;
  if (seams.tune) seams.tune(db_options);
  auto cache = NewRocksCache();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, RocksCfOptions(cache, name));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  std::string secondary_dir;
  if (options.read_only) {
    absl::StatusOr<ReadOnlyDb> opened = OpenReadOnly(path, db_options, descriptors);
    if (!opened.ok()) {
      // A store whose creator still holds it with its first files or its
      // column families not yet written.
      const bool has_current = std::filesystem::exists(std::filesystem::path(path) / "CURRENT");
      const bool missing_cf =
          opened.status().message().find("Column family not found") != std::string_view::npos;
      // A store of format version 1 has no `names` family until a writer
      // upgrades it (upgrade.h).
      if (has_current && opened.status().message().find("Column family not found: names") !=
                             std::string_view::npos) {
        if (LockedByAnotherProcess(path)) return BeingUpgraded(path);
        return NeedsUpgrade(path, "1");
      }
      if ((!has_current || missing_cf) && LockedByAnotherProcess(path)) return BeingCreated(path);
      return opened.status();
    }
    ReadOnlyDb ro = *std::move(opened);
    raw = ro.db;
    handles = std::move(ro.handles);
    secondary_dir = std::move(ro.secondary_dir);
  } else {
    // Asked before RocksDB opens: its open writes (and rotates) the info LOG
    // before it takes the lock, so a refused writer would leave files.
    if (LockedByAnotherProcess(path)) return InUse(path);
    // A full disk: the reserve goes first, so that the open fits (reserve.h).
    // Small filesystems get no fallocate preallocation.
    const std::string fs_dir =
        path_exists ? std::string(path) : std::filesystem::path(path).parent_path().string();
    if (AvailableBytes(fs_dir) < ReserveBytes(fs_dir)) ReleaseReserve(path);
    if (!seams.tune && !PreallocationFits(fs_dir)) db_options.allow_fallocate = false;
    rocksdb::Status s =
        rocksdb::DB::Open(db_options, std::string(path), descriptors, &handles, &raw);
    if (s.IsNoSpace() && ReleaseReserve(path)) {
      s = rocksdb::DB::Open(db_options, std::string(path), descriptors, &handles, &raw);
    }
    if (!s.ok()) {
      // RocksDB's LOCK is an fcntl lock: held by another process, or by
      // another open in this one ("lock hold by current process").
      if (s.IsIOError() &&
          (LockedByAnotherProcess(path) ||
           s.ToString().find("lock hold by current process") != std::string::npos)) {
        return InUse(path);
      }
      if (!options.create_if_missing && s.IsInvalidArgument()) {
        return absl::InvalidArgumentError(Cat("no store at ", path, ": ", s.ToString()));
      }
      return RocksError(s, path);
    }
    // A long-lived process (an embedder, `refstore serve`) needs the reserve
    // from the start, not only after its first close (reserve.h).
    EnsureReserve(path, /*times=*/2);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  auto store = std::unique_ptr<StoreImpl>(new StoreImpl(std::move(db), handles, options));
  store->secondary_dir_ = std::move(secondary_dir);

  std::string version;
  rocksdb::Status vs = store->db_->Get({}, store->cfs_[kDefault], kFormatKey, &version);
  if (vs.IsNotFound() && options.read_only) {
    if (LockedByAnotherProcess(path)) return BeingCreated(path);
    return absl::InvalidArgumentError(Cat("no store at ", path));
  } else if (vs.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    vs = store->db_->Put(wo, store->cfs_[kDefault], kFormatKey, std::to_string(kFormatVersion));
    if (!vs.ok()) return RocksError(vs, kFormatKey);
  } else if (!vs.ok()) {
    return RocksError(vs, kFormatKey);
  } else if (version == "1" && options.read_only) {
    if (LockedByAnotherProcess(path)) return BeingUpgraded(path);
    return NeedsUpgrade(path, version);
  } else if (version == "1") {
    RETURN_IF_ERROR(UpgradeFromFormat1(store->db_.get(), store->cfs_, seams.upgrade_batch_images,
                                       seams.upgrade_max_batches));
  } else if (version == "2") {
    // Version 3 reads version 2's records as they are (codec.h): a read-only
    // open writes nothing, a writer records the new version, so that an
    // older build refuses the store once records of the new layout may be in
    // it.
    if (!options.read_only) RETURN_IF_ERROR(UpgradeFromFormat2(store->db_.get(), store->cfs_));
  } else if (version != std::to_string(kFormatVersion)) {
    return absl::FailedPreconditionError(Cat("store ", path, " has format version ", version,
                                             "; this build reads version ", kFormatVersion));
  }
  RETURN_IF_ERROR(store->OpenContent(path, options.read_only ? nullptr : seams.content_hooks));
  if (!options.read_only) {
    // Table files of a bulk write a crash cut short, never ingested.
    std::error_code ec;
    std::filesystem::remove_all(store->BulkDir(), ec);
  }
  return std::unique_ptr<Store>(std::move(store));
}

absl::Status StoreImpl::Writable() const {
  if (options_.read_only) return absl::FailedPreconditionError("the store is open read-only");
  return absl::OkStatus();
}

absl::Status StoreImpl::Commit(Txn& txn, bool sync) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(txn.Finish());
  if (txn.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(rocksdb::WriteBatch batch, txn.SortedBatch());
  return WriteBatchNow(batch, sync);
}

void StoreImpl::ReleaseReserveIfLow() {
  const std::string& dir = db_->GetName();
  if (reserve_bytes_ < 0) reserve_bytes_ = ReserveBytes(dir);
  const int64_t available = AvailableBytes(dir);
  if (available >= 0 && available < reserve_bytes_) ReleaseReserve(dir);
}

absl::Status StoreImpl::WriteBatchNow(rocksdb::WriteBatch& batch, bool sync) {
  ReleaseReserveIfLow();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes || sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  // A full disk: give the reserve back, so that the next open (RocksDB
  // stops writing after a failed write until it is reopened) and the
  // deletions that free space fit. Writing again here is not safe: Debian's
  // RocksDB asserts on a write to its log after a failed one.
  if (s.IsNoSpace() || (s.IsIOError() && s.ToString().find("No space") != std::string::npos)) {
    ReleaseReserve(db_->GetName());
  }
  if (!s.ok()) return RocksError(s, "commit");
  return absl::OkStatus();
}

absl::Status StoreImpl::CommitBulk(Txn& txn, BulkWrite& bulk) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(txn.Finish());
  ReleaseReserveIfLow();  // its table files too are written now
  absl::Status s = bulk.Commit(
      db_.get(), cfs_, static_cast<uint64_t>(options_.bulk_ingest_writes),
      [&](rocksdb::WriteBatch& batch) {
        write_mu_.AssertHeld();  // CommitBulk requires it; the analysis cannot see into lambdas
        return WriteBatchNow(batch, false);
      });
  if (absl::IsResourceExhausted(s)) ReleaseReserve(db_->GetName());  // as Commit does
  return s;
}

absl::StatusOr<std::string> StoreImpl::CreateImage(const OpContext& ctx,
                                                   const CreateImageRequest& req) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  ASSIGN_OR_RETURN(StoredDescriptor target, ToStored(req.target));
  ASSIGN_OR_RETURN(std::vector<StoredDescriptor> content, DistinctContent(req.content, &target));
  std::optional<std::string> name;
  if (req.name) {
    ASSIGN_OR_RETURN(name, NewName(*req.name, /*allow_digest=*/true, req.target.digest));
  }
  if (req.lease) RETURN_IF_ERROR(ValidateLeaseId(*req.lease));
  const std::string& id = target.raw_digest;
  const int64_t now = ToNanos(ctx.now);
  int64_t created = now;
  if (req.created) {
    const absl::Time whole = absl::FromUnixSeconds(absl::ToUnixSeconds(*req.created));
    RETURN_IF_ERROR(CheckStorableTime(whole, "created"));
    created = ToNanos(whole);
  }

  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  if (req.lease) RETURN_IF_ERROR(CheckLeaseExists(txn, ctx.ns, *req.lease));
  ASSIGN_OR_RETURN(auto existing, txn.GetImage(ctx.ns, id));
  if (existing) {
    RETURN_IF_ERROR(CheckBlobSize(txn, target));
    for (const auto& d : content) RETURN_IF_ERROR(CheckBlobSize(txn, d));
    if (name) RETURN_IF_ERROR(SetName(txn, ctx.ns, id, *name, now));
    // A pull that finds its image present still holds its content under its
    // lease until the lease goes (SEMANTICS.md §6, as containerd adds
    // content already present to the writer's lease).
    if (req.lease) {
      for (const StoredDescriptor* d : ImageBlobs(*existing)) {
        RETURN_IF_ERROR(AddLeaseRef(txn, ctx.ns, *req.lease, *d));
      }
    }
  } else {
    ImageRecord img{.target = target,
                    .content = std::move(content),
                    .labels = req.labels,
                    .created_ns = created,
                    .dangling_since_ns = now,
                    .last_used_ns = now};
    RETURN_IF_ERROR(InsertImage(txn, ctx.ns, id, img, req.lease.value_or(""), name.has_value()));
    if (name) RETURN_IF_ERROR(SetName(txn, ctx.ns, id, *name, now));
  }
  RETURN_IF_ERROR(Commit(txn));
  return RawToDigest(id);
}

absl::Status StoreImpl::Tag(const OpContext& ctx, std::string_view source,
                            std::string_view target) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  // The source is resolved before the target is checked, as docker's client
  // does (SEMANTICS.md §8).
  ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, source, ResolveMode::kLookup));
  if (IsBlank(target)) return absl::InvalidArgumentError("image name cannot be blank");
  ASSIGN_OR_RETURN(std::string full, NewName(target, /*allow_digest=*/false, ""));
  RETURN_IF_ERROR(SetName(txn, ctx.ns, res.id, full, ToNanos(ctx.now)));
  return Commit(txn);
}

namespace {

// docker's validContainerNamePattern: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$.
absl::StatusOr<std::string> ContainerName(std::string_view given) {
  std::string_view name = given;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (!first && (c == '_' || c == '.' || c == '-'));
  };
  bool valid = name.size() >= 2;
  for (size_t i = 0; valid && i < name.size(); ++i) valid = ok(name[i], i == 0);
  if (!valid) {
    return absl::InvalidArgumentError(
        Cat("Invalid container name (", given, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  return std::string(name);
}

}  // namespace

absl::StatusOr<std::string> StoreImpl::CreateContainer(const OpContext& ctx, std::string_view id,
                                                       std::string_view image_ref, bool running,
                                                       std::string_view name) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateContainerId(id));
  std::string container_name;
  if (!name.empty()) {
    ASSIGN_OR_RETURN(container_name, ContainerName(name));
  }
  const std::string cid = HexToRaw(id);
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(Resolution res, Resolve(txn, ctx.ns, image_ref, ResolveMode::kLookup));
  ASSIGN_OR_RETURN(auto existing, txn.GetContainer(ctx.ns, cid));
  if (existing) return absl::AlreadyExistsError(Cat("container ", id, " already exists"));
  if (!container_name.empty()) {
    auto it = txn.Scan(kContainers, NsPrefix(ctx.ns));
    for (; it.Valid(); it.Next()) {
      ASSIGN_OR_RETURN(ContainerRecord other, DecodeContainer(it.value(), Printable(it.key())));
      if (other.name == container_name) {
        return absl::AlreadyExistsError(Cat(
            "Conflict. The container name \"/", container_name,
            "\" is already in use by container \"", RawToHex(it.rest()),
            "\". You have to remove (or rename) that container to be able to reuse that name."));
      }
    }
    RETURN_IF_ERROR(it.status());
  }

  ContainerRecord rec{.image_raw = res.id,
                      .running = running,
                      .created_ns = ToNanos(ctx.now),
                      .protected_names = {},
                      .name = container_name};
  if (res.via != Resolution::Via::kId && res.ref) {
    // The name as typed protects itself, and repo:tag@digest protects repo:tag.
    rec.protected_names.push_back(res.ref->Full());
    if (res.ref->tag && res.ref->digest) {
      Reference tagged = *res.ref;
      tagged.digest.reset();
      rec.protected_names.push_back(tagged.Full());
    }
  }
  ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, res.id));
  if (!img) return absl::DataLossError(Cat("resolved image vanished: ", image_ref));
  img->last_used_ns = ToNanos(ctx.now);
  RETURN_IF_ERROR(ChangeHolders(txn, ctx.ns, res.id, *img, +1));
  txn.Put(kContainers, ContainerKey(ctx.ns, cid), EncodeContainer(rec));
  txn.Put(kHolders, HolderKey(ctx.ns, res.id, cid), running ? "1" : "0");
  RETURN_IF_ERROR(Commit(txn));
  return RawToDigest(res.id);
}

absl::Status StoreImpl::ChangeContainer(const OpContext& ctx, std::string_view id,
                                        const ContainerChange& change) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateContainerId(id));
  const std::string cid = HexToRaw(id);
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(auto rec, txn.GetContainer(ctx.ns, cid));
  if (!rec) return absl::NotFoundError(Cat("No such container: ", id));
  RETURN_IF_ERROR(change(txn, cid, *rec));
  return Commit(txn);
}

absl::Status StoreImpl::SetRunning(const OpContext& ctx, std::string_view id, bool running) {
  return ChangeContainer(ctx, id, [&](Txn& txn, const std::string& cid, ContainerRecord& rec) {
    if (rec.running == running) return absl::OkStatus();
    rec.running = running;
    if (running) {  // the image (if it still exists) was used now
      ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, rec.image_raw));
      if (img) {
        img->last_used_ns = ToNanos(ctx.now);
        txn.PutImage(ctx.ns, rec.image_raw, *img);
      }
    }
    txn.Put(kContainers, ContainerKey(ctx.ns, cid), EncodeContainer(rec));
    txn.Put(kHolders, HolderKey(ctx.ns, rec.image_raw, cid), running ? "1" : "0");
    return absl::OkStatus();
  });
}

absl::Status StoreImpl::StartContainer(const OpContext& ctx, std::string_view id) {
  return SetRunning(ctx, id, true);
}

absl::Status StoreImpl::StopContainer(const OpContext& ctx, std::string_view id) {
  return SetRunning(ctx, id, false);
}

absl::Status StoreImpl::RemoveContainer(const OpContext& ctx, std::string_view id) {
  return ChangeContainer(ctx, id, [&](Txn& txn, const std::string& cid, ContainerRecord& rec) {
    if (rec.running) {
      return absl::FailedPreconditionError(
          Cat("conflict: You cannot remove a running container ", id,
              ". Stop the container before attempting removal or force remove"));
    }
    // The image may be gone (force-removed); the container held only its ID.
    ASSIGN_OR_RETURN(auto img, txn.GetImage(ctx.ns, rec.image_raw));
    if (img) RETURN_IF_ERROR(ChangeHolders(txn, ctx.ns, rec.image_raw, *img, -1));
    txn.Delete(kContainers, ContainerKey(ctx.ns, cid));
    txn.Delete(kHolders, HolderKey(ctx.ns, rec.image_raw, cid));
    return absl::OkStatus();
  });
}

absl::Status StoreImpl::CreateLease(const OpContext& ctx, std::string_view id,
                                    std::optional<absl::Time> expires) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateLeaseId(id));
  if (expires) RETURN_IF_ERROR(CheckStorableTime(*expires, Cat("lease ", id, " expiry")));
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  ASSIGN_OR_RETURN(auto existing, txn.GetLease(ctx.ns, id));
  if (existing) return absl::AlreadyExistsError(Cat("lease ", id, " already exists"));
  LeaseRecord rec{.has_expiry = expires.has_value(),
                  .expires_ns = expires ? ToNanos(*expires) : 0,
                  .created_ns = ToNanos(ctx.now)};
  txn.Put(kLeases, LeaseKey(ctx.ns, id), EncodeLease(rec));
  return Commit(txn);
}

absl::Status StoreImpl::AddLeaseContent(const OpContext& ctx, std::string_view id,
                                        const std::vector<Descriptor>& content) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateLeaseId(id));
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  // The lease is looked up first, then each descriptor is checked (§6).
  RETURN_IF_ERROR(CheckLeaseExists(txn, ctx.ns, id));
  ASSIGN_OR_RETURN(std::vector<StoredDescriptor> blobs, DistinctContent(content, nullptr));
  for (const auto& d : blobs) RETURN_IF_ERROR(AddLeaseRef(txn, ctx.ns, id, d));
  return Commit(txn);
}

absl::StatusOr<DeleteLeaseResult> StoreImpl::DeleteLease(const OpContext& ctx,
                                                         std::string_view id) {
  DeleteLeaseResult out;
  ASSIGN_OR_RETURN(out.space_reclaimed, DeleteLeaseLocked(ctx, id));
  // Committed: the collection's failure is reported beside the result.
  out.collected = CollectAfterChange();
  return out;
}

absl::StatusOr<int64_t> StoreImpl::DeleteLeaseLocked(const OpContext& ctx, std::string_view id) {
  RETURN_IF_ERROR(ValidateContext(ctx));
  RETURN_IF_ERROR(ValidateLeaseId(id));
  MutexLock lock(write_mu_);
  Txn txn = NewTxn();
  RETURN_IF_ERROR(CheckLeaseExists(txn, ctx.ns, id));
  Freed freed;
  RETURN_IF_ERROR(DropLease(txn, ctx.ns, id, ToNanos(ctx.now), &freed));
  RETURN_IF_ERROR(Commit(txn));
  return freed.bytes;
}

}  // namespace internal
}  // namespace refstore
