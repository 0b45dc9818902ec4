// Repair: rebuilds every derived record of the store from the primary ones.
//
// Primary: image records (target, content, labels, creation), names (the
// refs column family's 'N' keys), containers, leases and their content
// (lease_blobs), and, with a content store, the blob files. Derived, and
// rewritten from those: blob records (counts, owner), blob_leases, digest
// references, the dangling index, holders, the `names` column family (each
// image's names; a name keeps its creation time), holder count and owned
// flags, the df figures, garbage records.
//
// The run loads the primary records (memory follows the store's size: this
// is a rare, offline-grade operation), decides, and writes the differences in
// batches while holding the write mutex, so no other change interleaves. A
// crash between batches leaves a store that Check flags and another Repair
// finishes: every decision is recomputed from the primary records.
#include <unistd.h>

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "refstore/db/mutate.h"
#include "refstore/reference.h"
#include "refstore/util/status_macros.h"
#include "refstore/store/store_impl.h"
#include "refstore/util/strcat.h"

namespace refstore::internal {

class RepairRun {
 public:
  RepairRun(StoreImpl* store, const OpContext& ctx, RepairResult* out)
      : store_(store), now_(ToNanos(ctx.now)), out_(out) {}

  absl::Status Run() {
    RETURN_IF_ERROR(LoadImages());
    RETURN_IF_ERROR(LoadNames());
    RETURN_IF_ERROR(LoadImageNames());
    RETURN_IF_ERROR(LoadContainers());
    RETURN_IF_ERROR(LoadLeases());
    RETURN_IF_ERROR(LoadGarbage());
    RETURN_IF_ERROR(DropImagesWithLostContent());
    RETURN_IF_ERROR(FixImages());
    RETURN_IF_ERROR(FixIndexes());
    RETURN_IF_ERROR(FixBlobs());
    RETURN_IF_ERROR(FixStats());
    return Flush();
  }

 private:
  struct Image {
    std::string ns, id;
    ImageRecord rec;
    bool removed = false;
    bool changed = false;  // rec differs from the stored record
    bool named = false;    // a name points to it (FixImages)
  };
  struct Lease {
    bool live = true;
    std::vector<std::string> raws;
  };

  void Act(std::string line) { out_->actions.push_back(std::move(line)); }

  rocksdb::DB* db() { return store_->db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf c) { return store_->cfs_[c]; }

  void Put(Cf c, std::string_view k, std::string_view v) {
    batch_.Put(cf(c), k, v).PermitUncheckedError();
  }
  void Del(Cf c, std::string_view k) { batch_.Delete(cf(c), k).PermitUncheckedError(); }
  absl::Status MaybeFlush() { return batch_.Count() >= 20000 ? Flush() : absl::OkStatus(); }
  absl::Status Flush() {
    if (batch_.Count() == 0) return absl::OkStatus();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db()->Write(wo, &batch_);
    batch_.Clear();
    if (!s.ok()) return RocksError(s, "repair");
    return absl::OkStatus();
  }

  // Calls fn(key, value) for every entry of column family `c`.
  template <typename Fn>
  absl::Status ForEach(Cf c, Fn&& fn) {
    std::unique_ptr<rocksdb::Iterator> it(db()->NewIterator({}, cf(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      RETURN_IF_ERROR(fn(it->key().ToStringView(), it->value().ToStringView()));
    }
    if (!it->status().ok()) return RocksError(it->status(), kCfNames[c]);
    return absl::OkStatus();
  }

  static std::string Key(std::string_view ns, std::string_view id) { return ImageKey(ns, id); }

  absl::Status LoadImages() {
    return ForEach(kImages, [&](std::string_view key, std::string_view value) {
      std::string_view ns, id;
      absl::StatusOr<ImageRecord> rec = absl::DataLossError("bad key");
      if (SplitNs(key, &ns, &id) && id.size() == kRawIdSize && IsValidNamespace(ns)) {
        rec = DecodeImage(value, Printable(key));
      }
      if (!rec.ok() || rec->target.raw_digest != id) {
        Del(kImages, key);
        Act(Cat("removed undecodable image record ", Printable(key)));
        return MaybeFlush();
      }
      index_[std::string(key)] = images_.size();
      images_.push_back({std::string(ns), std::string(id), *std::move(rec)});
      return absl::OkStatus();
    });
  }

  Image* FindImage(std::string_view ns, std::string_view id) {
    auto it = index_.find(Key(ns, id));
    if (it == index_.end() || images_[it->second].removed) return nullptr;
    return &images_[it->second];
  }

  // Names: a name key to a missing image goes; each image's names list
  // becomes exactly the names pointing to it.
  absl::Status LoadNames() {
    return ForEach(kRefs, [&](std::string_view key, std::string_view value) {
      std::string_view ns, rest;
      if (!SplitNs(key, &ns, &rest) || rest.empty() || (rest[0] != 'N' && rest[0] != 'D')) {
        Del(kRefs, key);
        Act(Cat("removed bad reference key ", Printable(key)));
        return MaybeFlush();
      }
      if (rest[0] == 'D') return absl::OkStatus();  // rebuilt in FixIndexes
      Image* img = FindImage(ns, value);
      if (!img) {
        Del(kRefs, key);
        Act(Cat("removed name ", ns, "/", rest.substr(1), " of missing image"));
        return MaybeFlush();
      }
      names_[Key(ns, value)].emplace_back(rest.substr(1));
      return absl::OkStatus();
    });
  }

  // The `names` column family as stored: entries of missing images go.
  absl::Status LoadImageNames() {
    return ForEach(kNames, [&](std::string_view key, std::string_view value) {
      std::string_view ns, rest;
      if (!SplitNs(key, &ns, &rest) || rest.size() <= kRawIdSize) {
        Del(kNames, key);
        Act(Cat("removed bad name key ", Printable(key)));
        return MaybeFlush();
      }
      const std::string_view id = rest.substr(0, kRawIdSize);
      if (!FindImage(ns, id)) {
        Del(kNames, key);
        Act(Cat("removed name entry ", ns, "/", rest.substr(kRawIdSize), " of missing image"));
        return MaybeFlush();
      }
      absl::StatusOr<int64_t> created = DecodeNameValue(value, Printable(key));
      // An undecodable entry is rewritten (with the repair's time) by
      // FixImages, as a missing one is.
      stored_names_[Key(ns, id)].push_back(
          {std::string(rest.substr(kRawIdSize)), created.ok() ? *created : -1});
      return absl::OkStatus();
    });
  }

  absl::Status LoadContainers() {
    return ForEach(kContainers, [&](std::string_view key, std::string_view value) {
      std::string_view ns, cid;
      absl::StatusOr<ContainerRecord> c = absl::DataLossError("bad key");
      if (SplitNs(key, &ns, &cid) && cid.size() == kRawIdSize) c = DecodeContainer(value, "");
      if (!c.ok()) {
        Del(kContainers, key);
        Act(Cat("removed undecodable container record ", Printable(key)));
        return MaybeFlush();
      }
      holders_[HolderKey(ns, c->image_raw, cid)] = std::string(1, c->running ? '1' : '0');
      ++holder_count_[Key(ns, c->image_raw)];
      return absl::OkStatus();
    });
  }

  absl::Status LoadLeases() {
    RETURN_IF_ERROR(ForEach(kLeases, [&](std::string_view key, std::string_view value) {
      absl::StatusOr<LeaseRecord> l = DecodeLease(value, Printable(key));
      if (!l.ok()) {
        Del(kLeases, key);
        Act(Cat("removed undecodable lease ", Printable(key)));
        return MaybeFlush();
      }
      Lease& lease = leases_[std::string(key)];
      lease.live = LeaseIsLive(*l, now_);
      if (!lease.live) {
        Del(kLeases, key);
        Act(Cat("removed expired lease ", Printable(key)));
      }
      return MaybeFlush();
    }));
    return ForEach(kLeaseBlobs, [&](std::string_view key, std::string_view) {
      std::string_view ns, rest;
      auto drop = [&](std::string why) {
        Del(kLeaseBlobs, key);
        Act(Cat("removed lease content ", Printable(key), ": ", why));
        return MaybeFlush();
      };
      if (!SplitNs(key, &ns, &rest) || rest.size() < kRawIdSize + 1) return drop("bad key");
      std::string lease_key = LeaseKey(ns, rest.substr(0, rest.size() - kRawIdSize - 1));
      auto it = leases_.find(lease_key);
      if (it == leases_.end()) return drop("no such lease");
      if (!it->second.live) {
        Del(kLeaseBlobs, key);
        return MaybeFlush();
      }
      it->second.raws.emplace_back(rest.substr(rest.size() - kRawIdSize));
      return absl::OkStatus();
    });
  }

  absl::Status LoadGarbage() {
    return ForEach(kGarbage, [&](std::string_view key, std::string_view) {
      garbage_.insert(std::string(key));
      return absl::OkStatus();
    });
  }

  // Whether blob `raw` (declared `size`) is present and intact in the
  // content store; a corrupt file is deleted. Always true without one.
  absl::StatusOr<bool> FileOk(std::string_view raw, int64_t size) {
    content::ContentDir* content = store_->content_ ? &*store_->content_ : nullptr;
    if (!content) return true;
    auto it = files_.find(std::string(raw));
    if (it != files_.end()) return it->second == size;
    const std::string hex = RawToHex(raw);
    int64_t have = -1;
    absl::StatusOr<std::optional<int64_t>> st = content->BlobSize(hex);
    // A file that cannot be read (EACCES, EIO) is not a missing or corrupt
    // one: repair stops rather than act on what it could not see.
    if (!st.ok() && !absl::IsInvalidArgument(st.status())) {
      return absl::FailedPreconditionError(
          Cat("cannot read the file of ", RawToDigest(raw), " (", std::string(st.status().message()),
              "); repair changes nothing it cannot read"));
    }
    if (st.ok() && *st) {
      absl::StatusOr<std::string> h = content->HashBlob(hex);
      if (absl::IsInternal(h.status())) {  // EACCES, EIO: not corrupt
        return absl::FailedPreconditionError(
            Cat("cannot read the file of ", RawToDigest(raw), " (", std::string(h.status().message()),
                "); repair changes nothing it cannot read"));
      }
      if (h.ok() && *h == hex) {
        have = **st;
      } else {
        RETURN_IF_ERROR(content->RemoveBlob(hex).status());
        Act(Cat("deleted corrupt file of ", RawToDigest(raw)));
      }
    } else if (!st.ok()) {
      RETURN_IF_ERROR(content->RemoveBlob(hex).status());
      Act(Cat("deleted non-file at ", RawToDigest(raw), ": ", std::string(st.status().message())));
    }
    files_[std::string(raw)] = have;
    return have == size;
  }

  void RemoveImage(Image& img, std::string why) {
    img.removed = true;
    ++out_->images_removed;
    Del(kImages, Key(img.ns, img.id));
    for (const auto& n : names_[Key(img.ns, img.id)]) Del(kRefs, NameKey(img.ns, n));
    for (const auto& n : stored_names_[Key(img.ns, img.id)]) {
      Del(kNames, ImageNameKey(img.ns, img.id, n.full));
    }
    Act(Cat("removed image ", img.ns, "/", RawToDigest(img.id), ": ", why));
  }

  // Images whose content is lost (a file missing or corrupt) go; so do
  // lease holds of lost content, or of a blob whose size nothing records.
  absl::Status DropImagesWithLostContent() {
    for (Image& img : images_) {
      for (const StoredDescriptor* d : ImageBlobs(img.rec)) {
        ASSIGN_OR_RETURN(bool ok, FileOk(d->raw_digest, d->size));
        if (!ok) {
          RemoveImage(img, Cat("content ", RawToDigest(d->raw_digest), " is lost"));
          break;
        }
      }
      RETURN_IF_ERROR(MaybeFlush());
    }
    for (auto& [key, lease] : leases_) {
      std::vector<std::string> kept;
      for (const std::string& raw : lease.raws) {
        // A lease hold records no size: the blob record's, else the file's.
        LeaseBlob info{-1, "application/octet-stream"};
        std::string v;
        if (db()->Get({}, cf(kBlobs), raw, &v).ok()) {
          if (auto b = DecodeBlob(v, ""); b.ok()) info = {b->size, b->media_type};
        }
        if (info.size < 0 && store_->content_) {
          auto st = store_->content_->BlobSize(RawToHex(raw));
          if (st.ok() && *st) info.size = **st;
        }
        bool ok = info.size >= 0;
        if (ok) {
          ASSIGN_OR_RETURN(ok, FileOk(raw, info.size));
        }
        std::string_view ns, name;
        SplitNs(key, &ns, &name);
        if (!ok) {
          Del(kLeaseBlobs, LeaseBlobKey(ns, name, raw));
          Act(Cat("dropped lease ", Printable(key), "'s hold on lost content ", RawToDigest(raw)));
          continue;
        }
        lease_blobs_.emplace(raw, std::move(info));
        kept.push_back(raw);
      }
      lease.raws = std::move(kept);
    }
    return absl::OkStatus();
  }

  // Names, holder counts and owned flags of the image records (owned flags
  // once blobs are recounted, in FixBlobs).
  absl::Status FixImages() {
    for (Image& img : images_) {
      if (img.removed) continue;
      const std::string key = Key(img.ns, img.id);
      std::vector<std::string> want = names_[key];
      std::sort(want.begin(), want.end());
      const std::vector<NameEntry>& stored = stored_names_[key];  // sorted (key order)
      bool differs = false;
      for (const auto& n : want) {
        auto old = std::lower_bound(
            stored.begin(), stored.end(), n,
            [](const NameEntry& e, const std::string& v) { return e.full < v; });
        if (old != stored.end() && old->full == n && old->created_ns >= 0) continue;
        Put(kNames, ImageNameKey(img.ns, img.id, n), EncodeNameValue(now_));
        differs = true;
      }
      for (const auto& e : stored) {
        if (std::binary_search(want.begin(), want.end(), e.full)) continue;
        Del(kNames, ImageNameKey(img.ns, img.id, e.full));
        differs = true;
      }
      if (differs) {
        Act(Cat("names of ", img.ns, "/", RawToDigest(img.id), " set to the ", want.size(),
                " names pointing to it"));
      }
      img.named = !want.empty();
      if (!stored.empty() && want.empty()) {
        img.rec.dangling_since_ns = now_;
        img.changed = true;
      }
      RETURN_IF_ERROR(MaybeFlush());
      const uint64_t holders = holder_count_[key];
      img.changed |= img.rec.holders != holders;
      img.rec.holders = holders;
    }
    return absl::OkStatus();
  }

  // Digest references, the dangling index, holders, blob_leases: exactly
  // what the primary records imply.
  absl::Status FixIndexes() {
    absl::flat_hash_set<std::string> want_refs, want_dangling, want_blob_leases;
    for (const Image& img : images_) {
      if (img.removed) continue;
      want_refs.insert(DigestRefKey(img.ns, img.id));
      if (!img.named) want_dangling.insert(DanglingKey(img.ns, img.id));
    }
    for (const auto& [key, lease] : leases_) {
      std::string_view ns, name;
      SplitNs(key, &ns, &name);
      for (const auto& raw : lease.raws) want_blob_leases.insert(BlobLeaseKey(raw, ns, name));
    }
    RETURN_IF_ERROR(Reconcile(kRefs, want_refs, "digest reference", [](std::string_view k) {
      std::string_view ns, rest;
      return SplitNs(k, &ns, &rest) && !rest.empty() && rest[0] == 'D';
    }));
    RETURN_IF_ERROR(Reconcile(kDangling, want_dangling, "dangling index entry", nullptr));
    RETURN_IF_ERROR(Reconcile(kBlobLeases, want_blob_leases, "blob lease index entry", nullptr));
    // Holders carry a value.
    absl::flat_hash_set<std::string> seen;
    RETURN_IF_ERROR(ForEach(kHolders, [&](std::string_view key, std::string_view value) {
      auto it = holders_.find(std::string(key));
      if (it == holders_.end() || it->second != value) {
        Del(kHolders, key);
        Act(Cat("removed holder entry ", Printable(key)));
      } else {
        seen.insert(std::string(key));
      }
      return MaybeFlush();
    }));
    for (const auto& [key, value] : holders_) {
      if (seen.contains(key)) continue;
      Put(kHolders, key, value);
      Act(Cat("restored holder entry ", Printable(key)));
      RETURN_IF_ERROR(MaybeFlush());
    }
    return absl::OkStatus();
  }

  // Makes the keys of `c` (those `mine` selects, all when null) exactly
  // `want`, with empty values.
  absl::Status Reconcile(Cf c, absl::flat_hash_set<std::string>& want, std::string_view what,
                         bool (*mine)(std::string_view)) {
    RETURN_IF_ERROR(ForEach(c, [&](std::string_view key, std::string_view) {
      if (mine && !mine(key)) return absl::OkStatus();
      auto it = want.find(std::string(key));
      if (it == want.end()) {
        Del(c, key);
        Act(Cat("removed ", what, " ", Printable(key)));
      } else {
        want.erase(it);
      }
      return MaybeFlush();
    }));
    for (const auto& key : want) {
      Put(c, key, "");
      Act(Cat("restored ", what, " ", Printable(key)));
      RETURN_IF_ERROR(MaybeFlush());
    }
    return absl::OkStatus();
  }

  // What the recount says a blob's record must be.
  struct Want {
    BlobRecord rec;
    size_t image = 0;         // the (last) image using it
    uint32_t image_uses = 0;  // images using it, all namespaces
    bool flagged = false;     // that image's record flags it owned
  };

  // Recounts every blob from the images and leases, decides owners, and
  // writes blob records (merged with the blobs column family in key order),
  // image records and garbage records.
  absl::Status FixBlobs() {
    std::map<std::string, Want> want;  // by raw digest
    for (size_t i = 0; i < images_.size(); ++i) {
      Image& img = images_[i];
      if (img.removed) continue;
      // An image declaring a size another image declared differently goes
      // (the first one in key order wins; with a content store both match
      // the file, or one was removed as lost).
      const StoredDescriptor* conflict = nullptr;
      for (const StoredDescriptor* d : ImageBlobs(img.rec)) {
        auto w = want.find(d->raw_digest);
        if (w != want.end() && w->second.rec.size != d->size) conflict = d;
      }
      if (conflict) {
        RemoveImage(img, Cat("declares ", RawToDigest(conflict->raw_digest), " with another size"));
        continue;
      }
      for (const StoredDescriptor* d : ImageBlobs(img.rec)) {
        Want& w = want[d->raw_digest];
        if (w.image_uses == 0) {
          w.rec.size = d->size;
          w.rec.media_type = d->media_type;
        }
        NsUse& use = w.rec.Use(img.ns);
        ++use.refs;
        if (img.rec.holders > 0 || img.rec.pinned) ++use.held;  // Protected()
        w.image = i;
        w.flagged = d->owned;
        ++w.image_uses;
      }
    }
    for (const auto& [key, lease] : leases_) {
      for (const auto& raw : lease.raws) {
        Want& w = want[raw];
        if (w.image_uses == 0 && w.rec.lease_refs == 0) {
          const LeaseBlob& info = lease_blobs_[raw];
          w.rec.size = info.size;
          w.rec.media_type = info.media_type;
        }
        ++w.rec.lease_refs;
      }
    }
    // Owners: an image that flags the blob owned keeps it when it is still
    // the only user and no lease holds it (ownership never starts here: a
    // consistent store is left as it is).
    for (auto& [raw, w] : want) {
      if (w.rec.lease_refs == 0 && w.image_uses == 1 && w.flagged) {
        w.rec.owner_ns = images_[w.image].ns;
        w.rec.owner_id = images_[w.image].id;
      }
    }
    for (Image& img : images_) {
      if (img.removed) continue;
      for (StoredDescriptor* d : MutableImageBlobs(img.rec)) {
        const BlobRecord& b = want[d->raw_digest].rec;
        const bool owned = b.owner_id == img.id && b.owner_ns == img.ns;
        img.changed |= d->owned != owned;
        d->owned = owned;
      }
      // Only records this run changed are written (no read-back of each).
      if (img.changed) Put(kImages, Key(img.ns, img.id), EncodeImage(img.rec));
      RETURN_IF_ERROR(MaybeFlush());
    }
    // Merge: records to restore, to correct, to free.
    auto w = want.begin();
    auto put_wanted = [&](const std::string& raw, const BlobRecord& b, bool existed) {
      Put(kBlobs, raw, EncodeBlob(b));
      Act(Cat(existed ? "recounted" : "restored", " blob record ", RawToDigest(raw)));
    };
    RETURN_IF_ERROR(ForEach(kBlobs, [&](std::string_view key, std::string_view value) {
      for (; w != want.end() && std::string_view(w->first) < key; ++w) {
        put_wanted(w->first, w->second.rec, false);
      }
      if (w != want.end() && w->first == key) {
        if (value != EncodeBlob(w->second.rec)) put_wanted(w->first, w->second.rec, true);
        ++w;
        return MaybeFlush();
      }
      Del(kBlobs, key);
      absl::StatusOr<BlobRecord> old = DecodeBlob(value, "");
      if (store_->content_ && key.size() == kRawIdSize) {
        Put(kGarbage, key, EncodeGarbage({old.ok() ? old->size : 0}));
        garbage_.insert(std::string(key));
      }
      Act(Cat(old.ok() ? "freed unreferenced blob " : "removed undecodable blob record ",
              Printable(key)));
      return MaybeFlush();
    }));
    for (; w != want.end(); ++w) put_wanted(w->first, w->second.rec, false);
    for (const auto& [raw, wb] : want) {
      if (garbage_.contains(raw)) {
        Del(kGarbage, raw);  // a counted blob is never garbage
        garbage_.erase(raw);
        Act(Cat("removed garbage record of counted blob ", RawToDigest(raw)));
      }
      RETURN_IF_ERROR(ContributeStats(wb.rec));
      RETURN_IF_ERROR(MaybeFlush());
    }
    // Garbage records that do not decode go; files without any record become
    // garbage (Repair adopted the complete images among them first).
    RETURN_IF_ERROR(ForEach(kGarbage, [&](std::string_view key, std::string_view value) {
      if (key.size() != kRawIdSize || !DecodeGarbage(value, "").ok()) {
        Del(kGarbage, key);
        Act(Cat("removed bad garbage record ", Printable(key)));
      }
      return MaybeFlush();
    }));
    if (!store_->content_) return absl::OkStatus();
    RETURN_IF_ERROR(Flush());
    return store_->content_->ForEachBlob(
        [&](std::string_view hex, int64_t size) -> absl::Status {
          std::string raw = HexToRaw(hex);
          if (want.contains(raw) || garbage_.contains(raw)) return absl::OkStatus();
          Put(kGarbage, raw, EncodeGarbage({size}));
          Act(Cat("marked file without record sha256:", hex, " as garbage"));
          return MaybeFlush();
        },
        [&](std::string_view name) {
          std::string path = Cat(store_->content_->root(), "/blobs/sha256/", name);
          if (::unlink(path.c_str()) == 0) Act(Cat("deleted stray entry ", path));
        });
  }

  absl::Status ContributeStats(const BlobRecord& b) {
    ForEachContribution(b, +1, [&](std::string_view ns, const NsStats& c) {
      stats_[std::string(ns)] += c;
    });
    return absl::OkStatus();
  }

  absl::Status FixStats() {
    for (const Image& img : images_) {
      if (img.removed) continue;
      NsStats& s = stats_[img.ns];
      ++s.images;
      if (img.rec.holders > 0) ++s.active;
    }
    RETURN_IF_ERROR(ForEach(kStats, [&](std::string_view key, std::string_view value) {
      auto it = stats_.find(std::string(key));
      if (it == stats_.end()) {
        Del(kStats, key);
        Act(Cat("removed df figures of ", key));
      } else if (value != EncodeStats(it->second)) {
        Put(kStats, key, EncodeStats(it->second));
        Act(Cat("recomputed df figures of ", key));
        stats_.erase(it);
      } else {
        stats_.erase(it);
      }
      return absl::OkStatus();
    }));
    for (const auto& [ns, s] : stats_) {
      if (s.IsZero()) continue;
      Put(kStats, ns, EncodeStats(s));
      Act(Cat("restored df figures of ", ns));
    }
    return absl::OkStatus();
  }

  StoreImpl* store_;
  const int64_t now_;
  RepairResult* out_;
  rocksdb::WriteBatch batch_;
  std::vector<Image> images_;
  absl::flat_hash_map<std::string, size_t> index_;
  absl::flat_hash_map<std::string, std::vector<std::string>> names_;  // image key -> names
  // image key -> its entries of the `names` column family (created -1:
  // undecodable)
  absl::flat_hash_map<std::string, std::vector<NameEntry>> stored_names_;
  absl::flat_hash_map<std::string, std::string> holders_;             // holder key -> state
  absl::flat_hash_map<std::string, uint64_t> holder_count_;           // image key -> n
  std::map<std::string, Lease> leases_;                               // lease key -> lease
  struct LeaseBlob {
    int64_t size;
    std::string media_type;
  };
  absl::flat_hash_map<std::string, LeaseBlob> lease_blobs_;  // what leases hold
  absl::flat_hash_set<std::string> garbage_;  // raw digests with a garbage record
  absl::flat_hash_map<std::string, int64_t> files_;  // raw -> intact size, -1 lost
  std::map<std::string, NsStats> stats_;
};

absl::StatusOr<RepairResult> StoreImpl::Repair(const OpContext& ctx) {
  RETURN_IF_ERROR(Writable());
  RETURN_IF_ERROR(ValidateContext(ctx));
  RepairResult out;
  {
    CheckOptions opts;
    opts.now = ctx.now;
    ASSIGN_OR_RETURN(std::vector<Problem> found, Check(opts));
    for (auto& p : found) {
      if (!p.info) out.found.push_back(std::move(p));
    }
  }
  if (content_) {
    // Complete images among files without records are adopted, not deleted.
    absl::StatusOr<ImportResult> adopted = Adopt(ctx);
    if (!adopted.ok()) {
      out.actions.push_back(Cat("adoption skipped: ", std::string(adopted.status().message())));
    } else {
      for (const auto& img : adopted->images) {
        if (img.error.empty()) out.actions.push_back(Cat("adopted image ", img.id));
      }
    }
  }
  {
    MutexLock lock(write_mu_);
    RETURN_IF_ERROR(RepairRun(this, ctx, &out).Run());
  }
  ASSIGN_OR_RETURN(out.collected, CollectGarbage());
  return out;
}

}  // namespace refstore::internal
