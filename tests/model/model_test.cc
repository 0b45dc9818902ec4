// model_test.cc: model-based random testing (issue 6, item 1).
//
// One seeded stream of random operations drives both refstore::Store and the
// independent in-memory model of SEMANTICS.md (model.h). Every result is
// compared: ok or error, and for errors the status code and the exact
// message; rmi's entries in order and its reclaimed bytes; prune's entries
// (as a multiset, each image's Untagged entries before its Deleted entry),
// bytes and image count; create/tag/container results; inspect, images and
// df figures. A dry-run prune is often followed by the same real prune,
// which must report the same. Every few thousand operations the store is
// closed and reopened (sometimes with a tiny prune_batch) and the whole state
// is compared (images, inspect of each, df, containers, leases, every blob's
// record through Explain) and Check() must find no fault; again at the end.
//
// The universe is small (three namespaces, ~60 digests whose IDs share
// prefixes, 18 names spelled many ways, 6 containers, 4 leases) so that
// collisions, conflicts and ambiguities are frequent; a few percent of the
// operations are invalid on purpose.
//
// Environment:
//   MODEL_SEED        the seed (default: random); printed at start and end
//   MODEL_OPS         operations (default 1000000)
//   MODEL_TRACE       file to write every operation to, as OPLOG.md JSON lines
//                     (with "at" and "ns"; reopens appear as {"reopen": ...})
//   MODEL_KEEP_GOING  1: do not stop at the first divergence
// A failing seed replays exactly: the stream depends only on the seed.
#include "model.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "refstore/filters.h"
#include "refstore/reference.h"
#include "refstore/status_code.h"
#include "refstore/store.h"

namespace refstore::model {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr const char* kConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

std::string Tail(uint64_t n, size_t len) {
  // A fixed pseudo-random hex tail, different for each n.
  std::mt19937_64 g(n * 0x9e3779b97f4a7c15ULL + 12345);
  std::string s;
  while (s.size() < len) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(g()));
    s += buf;
  }
  return s.substr(0, len);
}

char HexDigit(int v) { return "0123456789abcdef"[v & 15]; }

// ---------------------------------------------------------------------------
// The universe.

struct Universe {
  std::vector<Descriptor> manifests, indexes, configs, layers, extras;
  std::vector<Descriptor> targets;                         // manifests and indexes: image IDs
  std::vector<Descriptor> all;                             // every digest
  std::map<std::string, std::vector<Descriptor>> content;  // canonical content of a target
  std::map<std::string, std::map<std::string, std::string>> labels;
  // Names with '/' (foo/bar, fob/bar, a registry's three-part name) so that
  // reference globs meet '/'; "library/..." spellings come from NameSpelling.
  std::vector<std::string> repos = {"alpine", "busybox", "foo/bar", "localhost:5000/app",
                                    "beef",   "abcd",    "fob/bar", "ghcr.io/acme/tool"};
  std::vector<std::string> tags = {"latest", "1", "2"};
  std::vector<std::string> namespaces = {"default", "ns1", "team-b"};
  std::vector<std::string> leases = {"pull-0", "pull-1", "pull-2", "pull.3"};
  std::vector<std::string> containers;

  Universe() {
    // Manifest IDs share 4-char prefixes in groups of four, 5-char ones in
    // pairs; index IDs share 4-char prefixes with manifests.
    const char* pfx[] = {"aaaa", "abcd", "beef", "cafe"};
    for (int i = 0; i < 16; ++i) {
      std::string hex =
          std::string(pfx[i % 4]) + HexDigit((i / 4) / 2) + HexDigit((i / 4) % 2) + Tail(i, 58);
      manifests.push_back(
          {i % 5 == 4 ? kDockerManifest : kManifest, "sha256:" + hex, 500 + 13 * i});
      configs.push_back({kConfig, "sha256:c0f1" + Tail(200 + i, 60), 1000 + 7 * i});
    }
    for (int k = 0; k < 20; ++k)
      layers.push_back({kLayer, "sha256:1a7e" + Tail(300 + k, 60), (k + 1) * 1009});
    for (int k = 0; k < 6; ++k)
      extras.push_back({kLayer, "sha256:e0e0" + Tail(400 + k, 60), 777 * (k + 1) + 5});
    for (int j = 0; j < 4; ++j) {
      std::string hex =
          std::string(j % 2 ? "beef" : "abcd") + "2" + HexDigit(j) + Tail(100 + j, 58);
      indexes.push_back({j == 3 ? kDockerList : kIndex, "sha256:" + hex, 300 + 11 * j});
    }
    for (int i = 0; i < 16; ++i) {
      std::vector<Descriptor> c = {configs[i]};
      std::set<int> ls = {i % 20, (i * 7 + 3) % 20};
      if (i % 3 == 0) ls.insert((i * 3 + 1) % 20);
      for (int k : ls) c.push_back(layers[k]);
      content[manifests[i].digest] = c;
      std::map<std::string, std::string> l = {{"k", std::to_string(i % 3)}};
      if (i % 5 != 0) l["env"] = i % 2 ? "prod" : "dev";
      labels[manifests[i].digest] = l;
    }
    for (int j = 0; j < 4; ++j) {
      std::vector<Descriptor> c;
      std::set<std::string> seen;
      for (int m : {(j * 5) % 16, (j * 5 + 3) % 16}) {
        std::vector<Descriptor> part = {manifests[m]};
        for (const auto& d : content[manifests[m].digest]) part.push_back(d);
        for (const auto& d : part) {
          if (seen.insert(d.digest).second) c.push_back(d);
        }
      }
      content[indexes[j].digest] = c;
      labels[indexes[j].digest] = {{"k", "idx"}, {"multi", "1"}};
    }
    targets = manifests;
    targets.insert(targets.end(), indexes.begin(), indexes.end());
    for (const auto* v : {&manifests, &indexes, &configs, &layers, &extras}) {
      all.insert(all.end(), v->begin(), v->end());
    }
    for (int k = 0; k < 6; ++k)
      containers.push_back(std::string("c0ffee") + HexDigit(k) + Tail(500 + k, 57));
  }
};

// ---------------------------------------------------------------------------
// Operations.

enum class Kind {
  kCreate,
  kTag,
  kRmi,
  kCtrCreate,
  kCtrStart,
  kCtrStop,
  kCtrRm,
  kLeaseCreate,
  kLeaseAdd,
  kLeaseDelete,
  kPrune,
  kInspect,
  kDf,
  kImages,
  kPin,
  kCount
};
const char* kKindNames[] = {
    "create_image",   "tag",          "rmi",          "container_create", "container_start",
    "container_stop", "container_rm", "lease_create", "lease_add",        "lease_delete",
    "prune",          "inspect",      "df",           "images",           "pin"};
// Weights of the operation mix (percent).
const int kWeights[] = {22, 10, 17, 6, 3, 3, 4, 3, 4, 2, 8, 7, 4, 5, 2};

struct Op {
  Kind kind = Kind::kDf;
  int64_t index = 0;
  OpContext ctx;
  CreateImageRequest create;
  std::string a, b;   // ref / id / source; target
  bool flag = false;  // force / running / all (images, prune)
  bool dry_run = false;
  std::optional<absl::Time> expires;
  std::vector<Descriptor> content;
  Filters filters;
  // Prune options beyond docker (PruneOptions).
  std::vector<std::string> references;
  std::optional<absl::Duration> unused_for;
  int keep = 0;
  int64_t max_storage = -1;
};

Json DescJson(const Descriptor& d) {
  return Json{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

Json ToJson(const Op& op) {
  Json j;
  j["op"] = kKindNames[static_cast<int>(op.kind)];
  j["ns"] = op.ctx.ns;
  j["at"] = FormatRfc3339(op.ctx.now);
  auto content = [](const std::vector<Descriptor>& v) {
    Json a = Json::array();
    for (const auto& d : v) a.push_back(DescJson(d));
    return a;
  };
  switch (op.kind) {
    case Kind::kCreate:
      if (op.create.name) j["name"] = *op.create.name;
      j["target"] = DescJson(op.create.target);
      j["content"] = content(op.create.content);
      if (!op.create.labels.empty()) j["labels"] = op.create.labels;
      if (op.create.lease) j["lease"] = *op.create.lease;
      break;
    case Kind::kTag:
      j["source"] = op.a;
      j["target"] = op.b;
      break;
    case Kind::kRmi:
      j["ref"] = op.a;
      j["force"] = op.flag;
      break;
    case Kind::kCtrCreate:
      j["id"] = op.a;
      j["image"] = op.b;
      j["running"] = op.flag;
      break;
    case Kind::kCtrStart:
    case Kind::kCtrStop:
    case Kind::kCtrRm:
    case Kind::kLeaseDelete:
      j["id"] = op.a;
      break;
    case Kind::kLeaseCreate:
      j["id"] = op.a;
      if (op.expires) j["expires"] = FormatRfc3339(*op.expires);
      break;
    case Kind::kLeaseAdd:
      j["id"] = op.a;
      j["content"] = content(op.content);
      break;
    case Kind::kPrune:
      j["all"] = op.flag;
      if (!op.filters.empty()) j["filters"] = op.filters;
      j["dry_run"] = op.dry_run;
      // Options beyond docker (the CLI's --reference, --unused-for, --keep,
      // --max-storage): not part of an OPLOG.md prune line.
      if (!op.references.empty()) j["x_references"] = op.references;
      if (op.unused_for) j["x_unused_for_s"] = absl::ToDoubleSeconds(*op.unused_for);
      if (op.keep != 0) j["x_keep"] = op.keep;
      if (op.max_storage >= 0) j["x_max_storage"] = op.max_storage;
      break;
    case Kind::kInspect:
      j["ref"] = op.a;
      break;
    case Kind::kPin:
      j["ref"] = op.a;
      j["pinned"] = op.flag;
      break;
    case Kind::kImages:
      j["all"] = op.flag;
      if (!op.filters.empty()) j["filters"] = op.filters;
      break;
    default:
      break;
  }
  return j;
}

// ---------------------------------------------------------------------------
// Canonical text of results, compared as strings.

std::string StatusText(const absl::Status& s) {
  if (s.ok()) return "ok";
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

std::string T(absl::Time t) { return FormatRfc3339(t); }

std::string Show(const std::string& s) { return s; }
std::string Show(int64_t v) { return std::to_string(v); }

std::string EntryText(const DeleteEntry& e) {
  return (e.kind == DeleteEntry::Kind::kUntagged ? "Untagged " : "Deleted ") + e.ref;
}

std::string Show(const RemoveResult& r) {
  std::vector<std::string> v;
  for (const auto& e : r.deleted) v.push_back(EntryText(e));
  return absl::StrCat("[", absl::StrJoin(v, ", "), "] reclaimed=", r.space_reclaimed);
}

// Prune entries as a multiset.
std::string Show(const PruneResult& r) {
  std::vector<std::string> v;
  for (const auto& e : r.deleted) v.push_back(EntryText(e));
  std::sort(v.begin(), v.end());
  return absl::StrCat("{", absl::StrJoin(v, ", "), "} images_deleted=", r.images_deleted,
                      " reclaimed=", r.space_reclaimed);
}

std::string Show(const Descriptor& d) {
  return absl::StrCat(d.media_type, " ", d.digest, " ", d.size);
}

std::string Show(const std::map<std::string, std::string>& m) {
  std::vector<std::string> v;
  for (const auto& [k, val] : m) v.push_back(k + "=" + val);
  return "{" + absl::StrJoin(v, ",") + "}";
}

std::string Show(const ImageSummary& s) {
  return absl::StrCat(
      s.id, " names=[", absl::StrJoin(s.names, ","), "] repo_digests=[",
      absl::StrJoin(s.repo_digests, ","), "] size=", s.size, " shared=", s.shared_size,
      " unique=", s.unique_size, " containers=", s.containers, " created=", T(s.created),
      " last_used=", T(s.last_used), " labels=", Show(s.labels), s.pinned ? " pinned" : "");
}

std::string Show(const std::vector<ImageSummary>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(Show(s));
  return absl::StrCat(v.size(), " images:\n    ", absl::StrJoin(out, "\n    "));
}

std::string Show(const ImageDetail& d) {
  std::vector<Descriptor> content = d.content;
  std::sort(content.begin(), content.end(),
            [](const Descriptor& a, const Descriptor& b) { return a.digest < b.digest; });
  std::vector<std::string> c;
  for (const auto& x : content) c.push_back(Show(x));
  return absl::StrCat(Show(d.summary), "\n    target=", Show(d.target), "\n    content=[",
                      absl::StrJoin(c, "; "), "]\n    containers=[",
                      absl::StrJoin(d.container_ids, ","), "]");
}

std::string Show(const DiskUsage& du) {
  return absl::StrCat("total=", du.total_count, " active=", du.active, " size=", du.size,
                      " shared=", du.shared_size, " unique=", du.unique_size,
                      " reclaimable=", du.reclaimable);
}

std::string Show(std::vector<ContainerInfo> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<std::string> out;
  for (const auto& c : v) {
    out.push_back(absl::StrCat(c.id, " image=", c.image_id, c.running ? " running" : " stopped",
                               " created=", T(c.created), c.image_exists ? "" : " (image gone)"));
  }
  return absl::StrJoin(out, "\n    ");
}

std::string Show(std::vector<LeaseInfo> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<std::string> out;
  for (auto& l : v) {
    std::sort(l.content.begin(), l.content.end(),
              [](const Descriptor& a, const Descriptor& b) { return a.digest < b.digest; });
    std::vector<std::string> c;
    for (const auto& d : l.content) c.push_back(Show(d));
    out.push_back(absl::StrCat(l.id, " created=", T(l.created),
                               " expires=", l.expires ? T(*l.expires) : "never", " holds=[",
                               absl::StrJoin(c, "; "), "]"));
  }
  return absl::StrJoin(out, "\n    ");
}

template <typename V>
std::string Canon(const absl::StatusOr<V>& r) {
  if (!r.ok()) return StatusText(r.status());
  return "ok " + Show(*r);
}
std::string Canon(const absl::Status& s) { return StatusText(s); }

// A short name for an error, to count the kinds seen.
std::string ErrorKind(const absl::Status& s) {
  static const std::vector<std::pair<const char*, const char*>> kKinds = {
      {"is outside the times a store keeps", "time outside the times a store keeps"},
      {"ambiguous reference", "ambiguous reference"},
      {"No such image: ", "No such image"},
      {"No such container: ", "No such container"},
      {"(cannot be forced) - image is being used by running container",
       "conflict: image used by a running container (cannot be forced)"},
      {"(must be forced) - image is being used by stopped container",
       "conflict: image used by a stopped container (must be forced)"},
      {"referenced in multiple repositories", "conflict: referenced in multiple repositories"},
      {"is using its referenced image", "conflict: last name, a container uses the image"},
      {"You cannot remove a running container", "conflict: removing a running container"},
      {"already exists", "already exists"},
      {"not found", "lease not found"},
      {"image name cannot be blank", "image name cannot be blank"},
      {"must be lowercase", "invalid reference format: must be lowercase"},
      {"cannot specify 64-byte hexadecimal strings", "invalid repository name (64 hex)"},
      {"must not be more than 255 characters", "repository name too long"},
      {"invalid checksum digest length", "invalid checksum digest length"},
      {"invalid checksum digest format", "invalid checksum digest format"},
      {"invalid reference format", "invalid reference format"},
      {"refusing to create a tag with a digest reference", "refusing a tag with a digest"},
      {"refusing to create an ambiguous tag", "refusing an ambiguous sha256 tag"},
      {"carries digest", "name carries another digest"},
      {"given with two sizes", "digest given with two sizes"},
      {"differs from the recorded size", "size differs from the recorded size"},
      {"has no mediaType", "descriptor without mediaType"},
      {"has a negative size", "descriptor with a negative size"},
      {"invalid digest", "invalid digest"},
      {"invalid filter 'dangling", "invalid dangling filter"},
      {"invalid filter", "invalid filter key"},
      {"invalid value for 'until'", "invalid until value"},
      {"invalid namespace", "invalid namespace"},
      {"invalid lease ID", "invalid lease ID"},
      {"invalid container ID", "invalid container ID"},
  };
  for (const auto& [needle, kind] : kKinds) {
    if (s.message().find(needle) != absl::string_view::npos) return kind;
  }
  return std::string(s.message().substr(0, 60));
}

// ---------------------------------------------------------------------------
// The runner.

class Runner {
 public:
  Runner(uint64_t seed, int64_t ops) : seed_(seed), ops_(ops), rng_(seed) {
    if (const char* t = std::getenv("MODEL_TRACE"); t && *t) trace_.open(t);
    if (const char* k = std::getenv("MODEL_KEEP_GOING"); k && std::string(k) == "1")
      keep_going_ = true;
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/refstore-model-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) std::abort();
    dir_ = buf.data();
  }

  ~Runner() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Run();
  int64_t divergences() const { return divergences_; }
  const std::string& first_divergence() const { return first_; }

 private:
  uint64_t R(uint64_t n) { return rng_() % n; }
  bool P(int percent) { return static_cast<int>(R(100)) < percent; }
  template <typename V>
  const typename V::value_type& Pick(const V& v) {
    return v[R(v.size())];
  }

  void Reopen();
  void Step();
  Op Generate();
  void Apply(const Op& op);
  void CompareAll(const std::string& when);
  void Diverge(const std::string& what, const std::string& expected, const std::string& actual);
  void Count(const Op& op, const absl::Status& s);
  void Trace(const Json& j) {
    if (trace_.is_open()) trace_ << j.dump() << "\n";
  }
  bool Stopped() const { return divergences_ > 0 && !keep_going_; }
  std::string ModelState() const;

  // Generators.
  std::string Namespace();
  std::string NameSpelling(size_t repo, size_t tag);
  std::string SpellFull(const std::string& full);
  std::vector<std::string> ExistingNames(const std::string& ns);
  std::vector<std::string> ExistingIds(const std::string& ns);
  std::string SomeTargetHex(const std::string& ns);
  std::string Ref(const std::string& ns);
  std::string DigestedRef(const std::string& ns);
  std::string Glob();
  std::string UntilLayout(absl::Time base);
  absl::Time OutOfRangeTime();
  void PlanRecreateUnderLease(const std::string& ns);
  std::string NewName(const std::string& ns, const std::string* target_digest);
  std::string ContainerId(const std::string& ns);
  std::string LeaseId(const std::string& ns);
  Descriptor Spoil(Descriptor d, int how);
  std::string UntilValue(const std::string& ns);
  Filters RandomFilters(const std::string& ns, bool listing);
  void PruneOptionsBeyondDocker(const std::string& ns, Op* op);

  uint64_t seed_;
  int64_t ops_;
  std::mt19937_64 rng_;
  Universe u_;
  Model model_;
  std::unique_ptr<Store> store_;
  std::string dir_;
  int prune_batch_ = 4096;
  absl::Time now_ = kStart;
  int64_t done_ = 0;
  int64_t next_reopen_ = 0;
  int64_t reopens_ = 0;
  int64_t checks_ = 0;
  int64_t divergences_ = 0;
  bool keep_going_ = false;
  std::string first_;
  std::deque<Op> recent_;
  std::ofstream trace_;
  std::map<std::string, std::pair<int64_t, int64_t>> mix_;  // op -> (ok, error)
  std::map<std::string, int64_t> errors_;                   // "op: kind" -> count
  int64_t dry_followups_ = 0;
  std::map<std::string, int64_t> paths_;  // interesting outcomes seen (agreed on)
  const Op* current_ = nullptr;
  // Operations planned together (a re-create under a lease and what makes
  // its protection observable); taken before new random ones.
  std::deque<Op> plan_;
};

void Runner::Diverge(const std::string& what, const std::string& expected,
                     const std::string& actual) {
  ++divergences_;
  std::ostringstream m;
  m << "DIVERGENCE (seed " << seed_ << ", after " << done_ << " operations): " << what << "\n";
  if (current_) m << "  operation #" << current_->index << ": " << ToJson(*current_).dump() << "\n";
  m << "  model (expected): " << expected << "\n  store (actual):   " << actual << "\n";
  m << "  last operations (oldest first):\n";
  for (const Op& op : recent_) m << "    #" << op.index << " " << ToJson(op).dump() << "\n";
  if (first_.empty()) m << ModelState();
  m << "  replay: MODEL_SEED=" << seed_ << " MODEL_OPS=" << ops_
    << " MODEL_TRACE=/tmp/model-trace.jsonl\n";
  std::fprintf(stderr, "%s", m.str().c_str());
  if (first_.empty()) first_ = m.str();
}

// The model's state before the diverging operation ran is gone; this is
// the state after it (the model applied it first). Digests cut to 12 hex.
std::string Runner::ModelState() const {
  auto d12 = [](const std::string& d) { return d.substr(7, 12); };
  std::ostringstream m;
  m << "  model state after the operation (now " << FormatRfc3339(now_) << "):\n";
  for (const auto& [name, n] : model_.namespaces()) {
    m << "    namespace " << name << ":\n";
    for (const auto& [id, img] : n.images) {
      std::vector<std::string> names, blobs;
      for (const auto& [full, t] : img.names)
        names.push_back(FamiliarOf(full) + "@" + FormatRfc3339(t));
      for (const auto& d : img.content) blobs.push_back(d12(d.digest));
      m << "      image " << d12(id) << " created " << FormatRfc3339(img.created) << " names ["
        << absl::StrJoin(names, " ") << "]"
        << (img.names.empty() ? " dangling since " + FormatRfc3339(img.dangling_since) : "")
        << " content [" << absl::StrJoin(blobs, " ") << "]\n";
    }
    for (const auto& [cid, c] : n.containers) {
      m << "      container " << cid.substr(0, 12) << " -> " << d12(c.image_id)
        << (c.running ? " running" : " stopped") << " protects ["
        << absl::StrJoin(
               std::vector<std::string>(c.protected_names.begin(), c.protected_names.end()), " ")
        << "]\n";
    }
    for (const auto& [lid, l] : n.leases) {
      std::vector<std::string> holds;
      for (const auto& [d, desc] : l.holds) holds.push_back(d12(d));
      m << "      lease " << lid << " expires " << (l.expires ? FormatRfc3339(*l.expires) : "never")
        << " holds [" << absl::StrJoin(holds, " ") << "]\n";
    }
  }
  return m.str();
}

void Runner::Count(const Op& op, const absl::Status& s) {
  auto& c = mix_[kKindNames[static_cast<int>(op.kind)]];
  if (s.ok()) {
    ++c.first;
  } else {
    ++c.second;
    ++errors_[absl::StrCat(kKindNames[static_cast<int>(op.kind)], ": ",
                           absl::StatusCodeToString(s.code()), ": ", ErrorKind(s))];
  }
}

void Runner::Reopen() {
  store_.reset();
  static const int kBatches[] = {1, 2, 3, 4096, 4096};
  prune_batch_ = kBatches[R(5)];
  StoreOptions options;
  options.prune_batch = prune_batch_;
  auto s = Store::Open(dir_, options);
  if (!s.ok()) {
    Diverge("reopen", "ok", StatusText(s.status()));
    return;
  }
  store_ = std::move(*s);
  ++reopens_;
  Trace(Json{{"reopen", reopens_}, {"prune_batch", prune_batch_}});
}

// ---- generators ------------------------------------------------------------

std::string Runner::Namespace() {
  if (P(1)) {
    static const std::vector<std::string> kBad = {"", "bad ns", "-lead", "a/b", "x_"};
    return Pick(kBad);
  }
  int r = static_cast<int>(R(10));
  return u_.namespaces[r < 5 ? 0 : r < 8 ? 1 : 2];
}

std::string Runner::NameSpelling(size_t repo, size_t tag) {
  const std::string& r = u_.repos[repo];
  const std::string& t = u_.tags[tag];
  // On docker.io unless the first component is a domain (localhost:5000, ghcr.io).
  const std::string first = r.substr(0, r.find('/'));
  const bool hub = r.find('/') == std::string::npos ||
                   (first.find_first_of(".:") == std::string::npos && first != "localhost");
  const bool single = hub && r.find('/') == std::string::npos;
  std::vector<std::string> v = {r + ":" + t};
  if (t == "latest") v.push_back(r);
  if (hub) v.push_back("docker.io/" + std::string(single ? "library/" : "") + r + ":" + t);
  if (single) {
    v.push_back("library/" + r + ":" + t);
    v.push_back("index.docker.io/library/" + r + ":" + t);
  }
  return Pick(v);
}

std::string Runner::SpellFull(const std::string& full) { return P(50) ? full : FamiliarOf(full); }

std::vector<std::string> Runner::ExistingNames(const std::string& ns) {
  std::vector<std::string> v;
  for (const auto& [id, img] : model_.ns(ns).images) {
    for (const auto& [name, t] : img.names) v.push_back(name);
  }
  return v;
}

std::vector<std::string> Runner::ExistingIds(const std::string& ns) {
  std::vector<std::string> v;
  for (const auto& [id, img] : model_.ns(ns).images) v.push_back(id);
  return v;
}

std::string Runner::SomeTargetHex(const std::string& ns) {
  std::vector<std::string> ids = ExistingIds(ns);
  if (!ids.empty() && P(70)) return Pick(ids).substr(7);
  return Pick(u_.targets).digest.substr(7);
}

std::string RepoOf(const std::string& full) {
  std::string s = full.substr(0, full.find('@'));
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    s = s.substr(0, colon);
  return s;
}

// A reference argument for rmi, inspect, tag's source, container create.
std::string Runner::Ref(const std::string& ns) {
  const int r = static_cast<int>(R(100));
  std::vector<std::string> names = ExistingNames(ns);
  if (r < 30) {
    if (!names.empty() && P(60)) return SpellFull(Pick(names));
    return NameSpelling(R(u_.repos.size()), R(u_.tags.size()));
  }
  if (r < 42) return DigestedRef(ns);  // repo@digest, repo:tag@digest
  if (r < 52) return "sha256:" + SomeTargetHex(ns);
  if (r < 56) return SomeTargetHex(ns);
  if (r < 80) {
    std::string prefix = SomeTargetHex(ns).substr(0, 4 + R(9));
    return P(30) ? "sha256:" + prefix : prefix;
  }
  if (r < 90) {
    static const std::vector<std::string> kHexNames = {"beef", "abcd", "beef:1", "abcd:latest",
                                                       "cafe", "aaaa", "abcd2",  "sha256:beef"};
    return Pick(kHexNames);
  }
  static const std::vector<std::string> kBad = {"",
                                                "   ",
                                                "\t",
                                                "Alpine:1",
                                                "alpine@sha256:abc",
                                                "alpine@sha256:" + Tail(1, 40),
                                                "alpine@sha256:" + std::string(64, 'A'),
                                                "alpine:",
                                                ":1",
                                                "alpine::1",
                                                "UPPER/x:1",
                                                "aaa",
                                                "sha",
                                                "-x",
                                                std::string(300, 'a'),
                                                "localhost:5000/App:1",
                                                "alpine@sha512:" + Tail(2, 64)};
  return Pick(kBad);
}

// repo@id and repo:tag@id (§4 "By a digested reference"), mostly of an
// existing image: the exact stored digested name; repo:tag@id where repo:tag
// names the image; where another tag of the repository names it; where
// nothing of the repository names it; repo@id of a repository with names,
// and of one without. Else any repository with any target's ID.
std::string Runner::DigestedRef(const std::string& ns) {
  const auto& images = model_.ns(ns).images;
  auto any = [&]() {
    std::vector<std::string> names = ExistingNames(ns);
    std::string repo =
        !names.empty() && P(60) ? FamiliarOf(RepoOf(Pick(names))) : u_.repos[R(u_.repos.size())];
    std::string tag = P(50) ? "" : ":" + Pick(u_.tags);
    return repo + tag + "@sha256:" + SomeTargetHex(ns);
  };
  if (images.empty() || P(15)) return any();
  auto it = images.begin();
  std::advance(it, R(images.size()));
  const std::string& id = it->first;
  std::vector<std::string> digested, tagged;  // full names
  std::set<std::string> repos;
  for (const auto& [name, t] : it->second.names) {
    (name.find('@') != std::string::npos ? digested : tagged).push_back(name);
    repos.insert(RepoOf(name));
  }
  // A tagged name's "repo:tag" (without a digest).
  auto strip = [](const std::string& name) { return name.substr(0, name.find('@')); };
  auto tag_of = [](const std::string& name) {
    std::string s = name.substr(0, name.find('@'));
    return s.substr(RepoOf(s).size() + 1);
  };
  std::vector<std::string> with_tag;  // names carrying a tag, digested or not
  for (const auto& [n, t] : it->second.names) {
    if (strip(n) != RepoOf(n)) with_tag.push_back(n);
  }
  switch (R(6)) {
    case 0:  // the stored digested name itself
      if (!digested.empty()) return SpellFull(Pick(digested));
      break;
    case 1:  // repo:tag@id where repo:tag names the image
      if (!with_tag.empty()) return SpellFull(strip(Pick(with_tag)) + "@" + id);
      break;
    case 2:  // repo:tag@id where another tag of the repository names it
      if (!with_tag.empty()) {
        const std::string n = Pick(with_tag);
        std::string other = Pick(u_.tags);
        if (other == tag_of(n)) other = "9";
        return SpellFull(RepoOf(n) + ":" + other + "@" + id);
      }
      break;
    case 3: {  // repo:tag@id where nothing of the repository names the image
      const std::string repo = u_.repos[R(u_.repos.size())];
      absl::StatusOr<Reference> parsed = ParseReference(repo);
      if (parsed.ok() && !repos.count(parsed->Repository())) {
        return repo + ":" + Pick(u_.tags) + "@" + id;
      }
      break;
    }
    case 4:  // repo@id of a repository that names the image
      if (!repos.empty()) {
        auto r = repos.begin();
        std::advance(r, R(repos.size()));
        return SpellFull(*r + "@" + id);
      }
      break;
    default:  // repo@id of any repository (often none of the image's)
      return u_.repos[R(u_.repos.size())] + "@" + id;
  }
  return any();
}

// A name to create or tag with. `target_digest` set: for create (a name may
// carry the target's digest).
std::string Runner::NewName(const std::string& ns, const std::string* target_digest) {
  const int r = static_cast<int>(R(100));
  if (r < 78) return NameSpelling(R(u_.repos.size()), R(u_.tags.size()));
  if (r < 86) {
    std::vector<std::string> names = ExistingNames(ns);
    if (!names.empty()) {
      std::string n = Pick(names);
      if (n.find('@') == std::string::npos || target_digest) return SpellFull(n);
    }
    return NameSpelling(R(u_.repos.size()), R(u_.tags.size()));
  }
  const std::string repo = Pick(u_.repos);
  if (r < 94 && target_digest) {
    return repo + (P(50) ? "" : ":" + Pick(u_.tags)) + "@" + *target_digest;
  }
  std::vector<std::string> bad = {
      "sha256:abc", "sha256", Tail(3, 64), "",
      " ",          "Alpine", "bad name!", repo + "@" + Pick(u_.targets).digest};
  return Pick(bad);
}

std::string Runner::ContainerId(const std::string& ns) {
  if (P(3)) {
    static const std::vector<std::string> kBad = {"c0ffee", "", "C0FFEE" + Tail(9, 58),
                                                  "xyz" + Tail(9, 61)};
    return Pick(kBad);
  }
  const auto& cs = model_.ns(ns).containers;
  if (!cs.empty() && P(60)) {
    auto it = cs.begin();
    std::advance(it, R(cs.size()));
    return it->first;
  }
  return Pick(u_.containers);
}

std::string Runner::LeaseId(const std::string& ns) {
  if (P(3)) {
    static const std::vector<std::string> kBad = {"", "bad lease", "-x", "a..b"};
    return Pick(kBad);
  }
  return Pick(u_.leases);
}

// Makes descriptor `d` invalid: 0 uppercase digest, 1 no media type,
// 2 negative size, 3 short digest, 4 another size.
Descriptor Runner::Spoil(Descriptor d, int how) {
  switch (how) {
    case 0:
      for (size_t i = 7; i < d.digest.size(); ++i)
        d.digest[i] = static_cast<char>(std::toupper(d.digest[i]));
      break;
    case 1:
      d.media_type.clear();
      break;
    case 2:
      d.size = -d.size - 1;
      break;
    case 3:
      d.digest = d.digest.substr(0, 40);
      break;
    default:
      d.size += 1;
      break;
  }
  return d;
}

// Times the store cannot keep (DESIGN "Times a store keeps": whole seconds
// of int64 nanoseconds, 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z), and
// the two ends, which it keeps.
absl::Time Runner::OutOfRangeTime() {
  const absl::Time earliest = absl::FromUnixSeconds(-9223372036);
  const absl::Time latest = absl::FromUnixSeconds(9223372036);
  const std::vector<absl::Time> v = {earliest - absl::Seconds(1),
                                     earliest - absl::Nanoseconds(1),
                                     earliest,
                                     latest,
                                     latest + absl::Nanoseconds(1),
                                     latest + absl::Seconds(1),
                                     absl::FromUnixSeconds(-11676096000) /* 1600 */,
                                     absl::FromUnixSeconds(253402300799) /* 9999-12-31T23:59:59Z */,
                                     absl::FromUnixNanos(std::numeric_limits<int64_t>::max()),
                                     absl::FromUnixNanos(std::numeric_limits<int64_t>::min())};
  return Pick(v);
}

// `base` written in one of docker's GetTimestamp layouts (§5): a date, then
// T15, T15:04, T15:04:05, each with or without a zone (Z, +01:00, -05:30,
// +00:00; none is UTC), the seconds form with or without a fraction (also
// ",5", Go's comma, and more than nine digits, which Go cuts).
std::string Runner::UntilLayout(absl::Time base) {
  static const std::vector<std::pair<std::string, int>> kZones = {
      {"", 0}, {"Z", 0}, {"+01:00", 3600}, {"-05:30", -19800}, {"+00:00", 0}};
  const auto& [zone, offset] = Pick(kZones);
  const absl::CivilSecond c =
      absl::ToCivilSecond(base + absl::Seconds(offset), absl::UTCTimeZone());
  char date[64];
  std::snprintf(date, sizeof date, "%04d-%02d-%02d", static_cast<int>(c.year()), c.month(),
                c.day());
  char hms[64];
  std::string out = date;
  switch (R(5)) {
    case 0:
      break;
    case 1:
      std::snprintf(hms, sizeof hms, "T%02d", c.hour());
      out += hms;
      break;
    case 2:
      std::snprintf(hms, sizeof hms, "T%02d:%02d", c.hour(), c.minute());
      out += hms;
      break;
    case 3:
      std::snprintf(hms, sizeof hms, "T%02d:%02d:%02d", c.hour(), c.minute(), c.second());
      out += hms;
      break;
    default: {
      std::snprintf(hms, sizeof hms, "T%02d:%02d:%02d", c.hour(), c.minute(), c.second());
      out += hms;
      static const std::vector<std::string> kFractions = {
          ".5", ".25", ".123456789", ".000000001", ".1234567891234", ".0", ",5"};
      out += Pick(kFractions);
      break;
    }
  }
  return out + zone;
}

std::string Runner::UntilValue(const std::string& ns) {
  const int r = static_cast<int>(R(100));
  if (r < 12) {
    // Rejected forms, and a few edges docker's parser takes.
    static const std::vector<std::string> kOdd = {"yesterday",
                                                  "24x",
                                                  "1.2.3",
                                                  "now",
                                                  "1h30",
                                                  "",
                                                  " ",
                                                  "1e9",
                                                  "5 m",
                                                  "1h ",
                                                  ".5",
                                                  "2026-13-01",
                                                  "2026-02-30",
                                                  "2026-02-29",
                                                  "2024-02-29",
                                                  "2026-1-01",
                                                  "2026-01-01 10:00:00",
                                                  "2026-01-01T24",
                                                  "2026-01-01T10:60",
                                                  "2026-01-01T10:00:60Z",
                                                  "2026-01-01t10:00:00Z",
                                                  "2026-01-01T10:00:00z",
                                                  "2026-01-01T10:00:00+0100",
                                                  "2026-01-01T10:00:00+25:00",
                                                  "2026-01-01T10:00:00+24:00",
                                                  "2026-01-01T10:00:00+01:61",
                                                  "2026-01-01T10:00:00+01:60",
                                                  "2026-01-01T5Z",
                                                  "2026-01-01T5",
                                                  "2026-01-01Z",
                                                  "2026-01-01-01:00",
                                                  "2026-01-01T10.5",
                                                  "2026-01-01T10:00.5",
                                                  "2026-01-01T10:00:00.5.5",
                                                  "2026-01-01T10:00:00Z.5",
                                                  "2026-01-01T10:00:00,5Z",
                                                  "-1700000000",
                                                  "+1767225700",
                                                  "+5",
                                                  "1767225700.",
                                                  "1767225700.5.5",
                                                  "1767225700.abc",
                                                  "1767225700.123456789012345678901",
                                                  "1767225700.12345678901234567890",
                                                  "9999999999999999999",
                                                  "0",
                                                  "+0",
                                                  "-0",
                                                  "00",
                                                  "1677-09-21T00:12:44Z",
                                                  "1677-09-21T00:12:43Z",
                                                  "2262-04-11T23:47:16Z",
                                                  "2262-04-11T23:47:17Z",
                                                  "2262-04-11T23:47:16.5Z",
                                                  "9223372036",
                                                  "9223372037",
                                                  "0001-01-01",
                                                  "9999-12-31T23:59:59Z",
                                                  "-2562047h",
                                                  "2562047h",
                                                  "2562048h",
                                                  "-9223372036854775808ns",
                                                  "9223372036854775807ns",
                                                  "9223372036854775808ns"};
    return Pick(kOdd);
  }
  if (r < 30) return std::to_string(R(600)) + "s";
  if (r < 38) return std::to_string(1 + R(30)) + "m";
  if (r < 45) {
    static const std::vector<std::string> kDurations = {"1h",
                                                        "1h30m",
                                                        "2h",
                                                        "1.5h",
                                                        "90m",
                                                        ".5h",
                                                        "5.m",
                                                        "-5m",
                                                        "+5m",
                                                        "0s",
                                                        "500ms",
                                                        "1500ms",
                                                        "250000us",
                                                        "250000\xc2\xb5s",
                                                        "250000\xce\xbcs",
                                                        "1h1m1s1ms1us1ns",
                                                        "1.0000000001s",
                                                        "0.75s"};
    return Pick(kDurations);
  }
  // An absolute time: often exactly the time of a record (boundary).
  absl::Time base = now_ - absl::Seconds(static_cast<int64_t>(R(900)));
  if (P(50)) {
    std::vector<absl::Time> times;
    for (const auto& [id, img] : model_.ns(ns).images) {
      if (img.names.empty()) times.push_back(img.dangling_since);
      for (const auto& [name, t] : img.names) times.push_back(t);
    }
    if (!times.empty()) base = Pick(times);
  }
  if (r < 50) base = now_ + absl::Seconds(100);
  if (r < 62) return FormatRfc3339(base);
  if (r < 85) return UntilLayout(base);
  int64_t secs = absl::ToUnixSeconds(base);
  static const std::vector<std::string> kFrac = {"", "", ".5", ".", ".0", ".000000000", ".25"};
  return (P(10) ? "+" : "") + std::to_string(secs) + Pick(kFrac);
}

// Reference globs (images reference=, prune's references): Go's path.Match,
// where '*' and '?' never cross '/', against familiar names with '/'.
std::string Runner::Glob() {
  static const std::vector<std::string> kGlobs = {
      "alpine*", "*:1", "foo/*", "beef*", "*", "localhost:5000/*", "*@sha256:*", "nomatch",
      "[ab]*:latest", "alpine", "foo/bar", "foo*", "*/bar", "*/bar:*", "f?o/*", "f?o/bar", "[a-f]*",
      "[a-f]*/*", "*/*", "*/*/*", "ghcr.io/*/*", "ghcr.io/*", "ghcr.io/acme/tool", "library/*",
      "library/alpine", "docker.io/*", "?lpine:?", "[^a]*", "foo[/]bar", "fo[a-z]/bar", "*:[0-9]",
      "alpine:*", "localhost:5000/app:*", "*/tool", "fob/bar:latest",
      // Malformed (Go's ErrBadPattern): DESIGN "Reference globs", it matches nothing.
      "[", "alpine[", "*[-]", "foo\\"};
  return Pick(kGlobs);
}

Filters Runner::RandomFilters(const std::string& ns, bool listing) {
  Filters f;
  static const std::vector<std::string> kLabels = {"k=0", "k=1", "k=2",   "env=prod", "env",
                                                   "k",   "x=y", "multi", "k=idx",    "env=dev"};
  if (P(45)) {
    f["until"].push_back(UntilValue(ns));
    if (P(20)) f["until"].push_back(UntilValue(ns));
  }
  if (P(25)) {
    f["label"].push_back(Pick(kLabels));
    if (P(20)) f["label"].push_back(Pick(kLabels));
  }
  if (P(15)) f["label!"].push_back(Pick(kLabels));
  if (P(12)) {
    static const std::vector<std::string> kDangling = {"true", "false", "1", "0"};
    f["dangling"].push_back(Pick(kDangling));
    if (P(25)) f["dangling"].push_back(Pick(kDangling));
  }
  if (listing && P(35)) {
    f["reference"].push_back(Glob());
    if (P(25)) f["reference"].push_back(Glob());
  }
  if (listing && P(15)) {  // before=/since= an image (valid, unknown and bad references)
    f[P(50) ? "before" : "since"].push_back(Ref(ns));
    if (P(15)) f[P(50) ? "before" : "since"].push_back(Ref(ns));
  }
  if (P(4)) {
    // (before/since/reference are list filters, not prune ones.)
    static const std::vector<std::string> kBadPrune = {"reference", "before", "foo", "Label"};
    static const std::vector<std::string> kBadList = {"foo", "Label", "label!!"};
    f[Pick(listing ? kBadList : kBadPrune)].push_back("x");
  }
  if (P(3)) {
    static const std::vector<std::string> kBadDangling = {"maybe", "yes", "TRUE", ""};
    f["dangling"] = {Pick(kBadDangling)};
    if (P(30)) f[P(50) ? "foo" : "zzz"].push_back("x");  // an unknown key is reported first
  }
  if (P(2)) f["dangling"] = {};                 // the key with no value: invalid filter 'dangling'
  if (P(1)) f[P(50) ? "until" : "label"] = {};  // no value: no filter
  return f;
}

// keep, max_storage, references and unused_for, each now and then; the
// storage limit is a fraction of the namespace's size now, so that a prune
// stops part way.
void Runner::PruneOptionsBeyondDocker(const std::string& ns, Op* op) {
  if (P(40)) {
    op->references.push_back(Glob());
    if (P(20)) op->references.push_back(Glob());
  }
  if (P(35)) {
    static const std::vector<double> kSeconds = {0, 0.25, 1, 2, 5, 30, 600};
    op->unused_for = absl::Seconds(P(3) ? -1.0 : Pick(kSeconds));
  }
  if (P(35)) op->keep = P(3) ? -1 : static_cast<int>(R(4));
  if (P(40)) {
    absl::StatusOr<DiskUsage> du = model_.GetDiskUsage(OpContext{.ns = ns, .now = now_});
    const int64_t size = du.ok() ? du->size : 0;
    static const std::vector<int> kPercent = {0, 25, 50, 75, 90, 100, 110};
    op->max_storage = size * Pick(kPercent) / 100;
  }
}

// A re-create of an existing image under a lease (§6, §7), then what shows
// whether the lease protects its blobs: the image removed (rmi -f by ID, or
// prune -a), df, the lease deleted (its space_reclaimed), df again.
void Runner::PlanRecreateUnderLease(const std::string& ns) {
  const auto& images = model_.ns(ns).images;
  if (images.empty()) return;
  auto it = images.begin();
  std::advance(it, R(images.size()));
  const std::string lease = Pick(u_.leases);
  auto make = [&](Kind k) {
    Op op;
    op.kind = k;
    op.ctx.ns = ns;
    return op;
  };
  Op lc = make(Kind::kLeaseCreate);
  lc.a = lease;
  if (P(30)) lc.expires = now_ + absl::Seconds(2 + static_cast<int64_t>(R(6)));
  plan_.push_back(lc);
  Op create = make(Kind::kCreate);
  create.create.target = it->second.target;
  create.create.content = it->second.content;
  if (P(30)) {  // the request's own content is validated, not applied
    create.create.content =
        u_.content.count(it->first) ? u_.content.at(it->first) : it->second.content;
  }
  create.create.labels = it->second.labels;
  create.create.lease = lease;
  if (P(40)) create.create.name = NameSpelling(R(u_.repos.size()), R(u_.tags.size()));
  plan_.push_back(create);
  if (P(50)) plan_.push_back(make(Kind::kDf));
  if (P(60)) {
    Op rmi = make(Kind::kRmi);
    rmi.a = it->first;
    rmi.flag = true;
    plan_.push_back(rmi);
  } else {
    Op prune = make(Kind::kPrune);
    prune.flag = true;
    prune.dry_run = P(20);
    plan_.push_back(prune);
  }
  plan_.push_back(make(Kind::kDf));
  if (P(75)) {
    Op del = make(Kind::kLeaseDelete);
    del.a = lease;
    plan_.push_back(del);
    plan_.push_back(make(Kind::kDf));
  }
}

Op Runner::Generate() {
  if (plan_.empty() && P(2)) PlanRecreateUnderLease(Namespace());
  if (!plan_.empty()) {
    Op op = plan_.front();
    plan_.pop_front();
    op.index = done_;
    op.ctx.now = now_;
    return op;
  }
  Op op;
  op.index = done_;
  int w = static_cast<int>(R(100));
  int k = 0;
  while (w >= kWeights[k]) w -= kWeights[k++];
  op.kind = static_cast<Kind>(k);
  op.ctx.ns = Namespace();
  op.ctx.now = P(1) ? OutOfRangeTime() : now_;  // `at` outside the store's times, and its ends
  const std::string& ns = op.ctx.ns;
  switch (op.kind) {
    case Kind::kCreate: {
      CreateImageRequest& req = op.create;
      req.target = P(80) ? Pick(u_.manifests) : Pick(u_.indexes);
      req.content = u_.content.at(req.target.digest);
      req.labels = u_.labels.at(req.target.digest);
      const int v = static_cast<int>(R(100));
      if (v < 8) {
        req.content.push_back(Pick(u_.layers));  // content differing from earlier creates
      } else if (v < 12 && req.content.size() > 1) {
        req.content.erase(req.content.begin() + static_cast<long>(R(req.content.size())));
      } else if (v < 16) {
        req.content.push_back(Pick(req.content));  // a duplicate, same size
      } else if (v < 19) {
        req.content.push_back(req.target);  // the target again
      } else if (v < 22) {
        req.content.push_back(Pick(u_.extras));
      }
      if (P(3)) {  // another layer media type for a digest (the first recorded is kept)
        Descriptor& d = req.content.back();
        if (d.media_type == kLayer) d.media_type = kDockerLayer;
      }
      if (P(8)) req.labels = {{"k", std::to_string(R(3))}, {"x", "y"}};
      if (P(75)) req.name = NewName(ns, &req.target.digest);
      if (P(15)) {
        req.lease = LeaseId(ns);
        // Often an image that exists: its blobs go under the lease too (§6).
        const auto& images = model_.ns(ns).images;
        if (!images.empty() && P(50)) {
          auto it = images.begin();
          std::advance(it, R(images.size()));
          req.target = it->second.target;
          req.content = it->second.content;
        }
      }
      if (P(5)) {  // invalid descriptors
        const int how = static_cast<int>(R(6));
        if (how == 5) {  // the same digest with two sizes
          Descriptor d = Pick(req.content);
          d.size += 1;
          req.content.push_back(d);
        } else if (P(30)) {
          req.target = Spoil(req.target, how);
        } else {
          Descriptor& d = req.content[R(req.content.size())];
          d = Spoil(d, how);
        }
      }
      break;
    }
    case Kind::kTag:
      op.a = Ref(ns);
      op.b = NewName(ns, nullptr);
      if (P(5)) {  // unknown source and invalid target: the source is resolved first (§8)
        static const std::vector<std::string> kUnknown = {"nosuch:1", "foo/nosuch",
                                                          "sha256:" + std::string(64, 'f'),
                                                          std::string(64, 'e'), "ffff"};
        static const std::vector<std::string> kBadTarget = {
            "", "Alpine", "bad name!", "sha256:abc", "alpine@sha256:" + std::string(64, 'a')};
        op.a = Pick(kUnknown);
        op.b = Pick(kBadTarget);
      }
      break;
    case Kind::kRmi:
      op.a = Ref(ns);
      op.flag = P(30);
      break;
    case Kind::kCtrCreate:
      op.a = ContainerId(ns);
      op.b = Ref(ns);
      op.flag = P(50);
      break;
    case Kind::kCtrStart:
    case Kind::kCtrStop:
    case Kind::kCtrRm:
      op.a = ContainerId(ns);
      break;
    case Kind::kLeaseCreate: {
      op.a = LeaseId(ns);
      static const int64_t kIn[] = {-5, 0, 2, 10, 60, 600, 3600};
      if (P(65)) op.expires = now_ + absl::Seconds(kIn[R(7)]);
      if (P(3)) op.expires = OutOfRangeTime();  // an expiry outside the store's times, or its ends
      break;
    }
    case Kind::kLeaseAdd: {
      op.a = LeaseId(ns);
      for (int i = 0, n = 1 + static_cast<int>(R(3)); i < n; ++i) {
        const int r = static_cast<int>(R(10));
        op.content.push_back(r < 5   ? Pick(u_.layers)
                             : r < 8 ? Pick(u_.extras)
                             : r < 9 ? Pick(u_.configs)
                                     : Pick(u_.manifests));
        if (op.content.back().media_type == kLayer && P(10)) {
          op.content.back().media_type = "application/octet-stream";
        }
      }
      if (P(5)) {
        const int how = static_cast<int>(R(6));
        if (how == 5) {
          Descriptor d = op.content[0];
          d.size += 1;
          op.content.push_back(d);
        } else {
          op.content[0] = Spoil(op.content[0], how);
        }
      }
      break;
    }
    case Kind::kLeaseDelete:
      op.a = LeaseId(ns);
      break;
    case Kind::kPrune:
      op.flag = P(50);
      op.dry_run = P(25);
      if (P(50)) op.filters = RandomFilters(ns, false);
      if (P(35)) PruneOptionsBeyondDocker(ns, &op);
      break;
    case Kind::kInspect:
      op.a = Ref(ns);
      break;
    case Kind::kPin:
      op.a = Ref(ns);
      op.flag = P(70);  // pin; else unpin
      break;
    case Kind::kImages:
      op.flag = P(70);
      if (P(50)) op.filters = RandomFilters(ns, true);
      break;
    default:
      break;
  }
  return op;
}

// ---- applying and comparing -----------------------------------------------

void Runner::Apply(const Op& op) {
  current_ = &op;
  recent_.push_back(op);
  if (recent_.size() > 40) recent_.pop_front();
  Trace(ToJson(op));
  const OpContext& ctx = op.ctx;
  const std::string what = kKindNames[static_cast<int>(op.kind)];
  auto check = [&](const std::string& exp, const std::string& act) {
    if (exp != act) Diverge(what, exp, act);
  };
  switch (op.kind) {
    case Kind::kCreate: {
      const bool existed = model_.ns(ctx.ns).images.count(op.create.target.digest) > 0;
      auto e = model_.CreateImage(ctx, op.create);
      auto a = store_->CreateImage(ctx, op.create);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok() && existed && op.create.lease)
        ++paths_["create of an existing image under a lease"];
      break;
    }
    case Kind::kTag: {
      absl::Status e = model_.Tag(ctx, op.a, op.b);
      absl::Status a = store_->Tag(ctx, op.a, op.b);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kRmi: {
      auto e = model_.RemoveImage(ctx, op.a, op.flag);
      auto a = store_->RemoveImage(ctx, op.a, op.flag);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok()) {
        const bool deleted =
            !a->deleted.empty() && a->deleted.back().kind == DeleteEntry::Kind::kDeleted;
        ++paths_[deleted ? "rmi deleted an image" : "rmi untagged only"];
        if (deleted && a->deleted.size() == 1) ++paths_["rmi deleted a dangling image"];
        if (!deleted && op.flag)
          ++paths_["rmi -f untagged only (a container holds it, or other names remain)"];
        if (a->space_reclaimed > 0) ++paths_["rmi reclaimed bytes"];
      }
      if (op.a.find('@') != std::string::npos) {  // §4 "By a digested reference"
        absl::StatusOr<Reference> parsed = ParseReference(op.a);
        const std::string kind = parsed.ok() && parsed->tag ? "repo:tag@id" : "repo@id";
        std::string outcome;
        if (a.ok()) {
          outcome = !a->deleted.empty() && a->deleted.back().kind == DeleteEntry::Kind::kDeleted
                        ? "deleted the image"
                        : "untagged only";
        } else if (absl::StartsWith(a.status().message(), "No such image")) {
          outcome = "No such image";
        } else if (absl::StartsWith(a.status().message(), "conflict")) {
          outcome = "conflict";
        }
        if (!outcome.empty()) ++paths_["rmi " + kind + ": " + outcome];
      }
      break;
    }
    case Kind::kCtrCreate: {
      auto e = model_.CreateContainer(ctx, op.a, op.b, op.flag);
      auto a = store_->CreateContainer(ctx, op.a, op.b, op.flag);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      break;
    }
    case Kind::kCtrStart: {
      absl::Status e = model_.StartContainer(ctx, op.a), a = store_->StartContainer(ctx, op.a);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kCtrStop: {
      absl::Status e = model_.StopContainer(ctx, op.a), a = store_->StopContainer(ctx, op.a);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kCtrRm: {
      absl::Status e = model_.RemoveContainer(ctx, op.a), a = store_->RemoveContainer(ctx, op.a);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kLeaseCreate: {
      absl::Status e = model_.CreateLease(ctx, op.a, op.expires);
      absl::Status a = store_->CreateLease(ctx, op.a, op.expires);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kLeaseAdd: {
      absl::Status e = model_.AddLeaseContent(ctx, op.a, op.content);
      absl::Status a = store_->AddLeaseContent(ctx, op.a, op.content);
      check(Canon(e), Canon(a));
      Count(op, a);
      break;
    }
    case Kind::kLeaseDelete: {
      auto e = model_.DeleteLease(ctx, op.a);
      auto deleted = store_->DeleteLease(ctx, op.a);
      absl::StatusOr<int64_t> a =
          deleted.ok() ? absl::StatusOr<int64_t>(deleted->space_reclaimed) : deleted.status();
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok() && *a > 0) ++paths_["lease delete freed bytes"];
      break;
    }
    case Kind::kPrune: {
      PruneOptions options{.all = op.flag,
                           .filters = op.filters,
                           .references = op.references,
                           .unused_for = op.unused_for,
                           .keep = op.keep,
                           .max_storage = op.max_storage,
                           .dry_run = op.dry_run};
      std::vector<PrunedImage> pruned;
      auto e = model_.Prune(ctx, options, &pruned);
      auto a = store_->Prune(ctx, options);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok()) {
        size_t untagged = 0, of_deleted = 0;
        for (const auto& entry : a->deleted) untagged += entry.kind == DeleteEntry::Kind::kUntagged;
        for (const PrunedImage& p : pruned) of_deleted += p.untagged.size();
        const int64_t children =
            static_cast<int64_t>(a->deleted.size() - untagged) - a->images_deleted;
        if (op.dry_run) ++paths_["prune dry run"];
        if (a->images_deleted > 0) ++paths_["prune deleted images"];
        if (untagged > of_deleted) ++paths_["prune untagged names of kept images"];
        if (children > 0) ++paths_["prune freed child manifests/indexes"];
        if (a->space_reclaimed > 0 && a->images_deleted == 0)
          ++paths_["prune reclaimed only expired lease content"];
        if (!op.filters.empty()) ++paths_["prune with filters"];
        const bool deleted = a->images_deleted > 0;
        if (!op.references.empty())
          ++paths_[deleted ? "prune references, deleted" : "prune references"];
        if (op.unused_for) ++paths_[deleted ? "prune unused_for, deleted" : "prune unused_for"];
        if (op.keep > 0) ++paths_[deleted ? "prune keep, deleted" : "prune keep"];
        if (op.max_storage >= 0)
          ++paths_[deleted ? "prune max_storage, deleted" : "prune max_storage"];
      }
      if (a.ok() && e.ok()) {
        // §8: per deleted image its Untagged entries, then its Deleted entry.
        std::map<std::string, size_t> pos;
        for (size_t i = 0; i < a->deleted.size(); ++i) pos.emplace(EntryText(a->deleted[i]), i);
        for (const PrunedImage& p : pruned) {
          auto del = pos.find("Deleted " + p.id);
          for (const std::string& n : p.untagged) {
            auto un = pos.find("Untagged " + n);
            if (del != pos.end() && un != pos.end() && un->second > del->second) {
              std::vector<std::string> order;
              for (const auto& entry : a->deleted) order.push_back(EntryText(entry));
              Diverge("prune entry order", "Untagged " + n + " before Deleted " + p.id,
                      absl::StrJoin(order, ", "));
            }
          }
        }
      }
      // A dry run is often followed by the same real prune: same figures.
      if (op.dry_run && a.ok() && !Stopped() && P(50)) {
        Op real = op;
        real.dry_run = false;
        real.index = ++done_;
        current_ = &real;
        recent_.push_back(real);
        Trace(ToJson(real));
        options.dry_run = false;
        auto e2 = model_.Prune(ctx, options);
        auto a2 = store_->Prune(ctx, options);
        if (Canon(a) != Canon(a2)) Diverge("prune after dry run: dry vs real", Canon(a), Canon(a2));
        check(Canon(e2), Canon(a2));
        Count(real, a2.status());
        ++dry_followups_;
      }
      break;
    }
    case Kind::kPin: {
      absl::Status e = model_.Pin(ctx, op.a, op.flag), a = store_->Pin(ctx, op.a, op.flag);
      check(Canon(e), Canon(a));
      Count(op, a);
      if (a.ok() && op.flag) ++paths_["pin"];
      break;
    }
    case Kind::kInspect: {
      auto e = model_.Inspect(ctx, op.a);
      auto a = store_->Inspect(ctx, op.a);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      break;
    }
    case Kind::kDf: {
      auto e = model_.GetDiskUsage(ctx);
      auto a = store_->GetDiskUsage(ctx);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok() && a->reclaimable > 0) ++paths_["df reclaimable > 0"];
      if (a.ok() && a->shared_size > 0) ++paths_["df shared_size > 0"];
      if (a.ok() && !Stopped()) {
        // reclaimable must equal what prune -a (dry) would free now.
        auto dry = store_->Prune(ctx, PruneOptions{.all = true, .dry_run = true});
        if (!dry.ok() || dry->space_reclaimed != a->reclaimable) {
          Diverge("df reclaimable vs prune -a dry run", std::to_string(a->reclaimable),
                  dry.ok() ? std::to_string(dry->space_reclaimed) : StatusText(dry.status()));
        }
      }
      break;
    }
    case Kind::kImages: {
      ListOptions options{.all = op.flag, .filters = op.filters};
      auto e = model_.ListImages(ctx, options);
      auto a = store_->ListImages(ctx, options);
      check(Canon(e), Canon(a));
      Count(op, a.status());
      if (a.ok() && (op.filters.count("before") || op.filters.count("since"))) {
        ++paths_[a->empty() ? "images before/since, none listed" : "images before/since, listed"];
      }
      if (a.ok() && op.filters.count("reference")) {
        ++paths_[a->empty() ? "images reference=, none listed" : "images reference=, listed"];
      }
      if (a.ok() && op.filters.count("until")) ++paths_["images until, ok"];
      break;
    }
    default:
      break;
  }
  current_ = nullptr;
}

// The whole state: every namespace's images (and inspect of each), df,
// containers and leases; every digest's blob record; Check() without fault.
void Runner::CompareAll(const std::string& when) {
  Trace(Json{{"compare_all", when}});
  for (const std::string& ns : u_.namespaces) {
    OpContext ctx{.ns = ns, .now = now_};
    auto e = model_.ListImages(ctx, ListOptions{});
    auto a = store_->ListImages(ctx, ListOptions{});
    if (Canon(e) != Canon(a)) Diverge(when + ": images of " + ns, Canon(e), Canon(a));
    if (e.ok()) {
      for (const ImageSummary& s : *e) {
        auto ei = model_.Inspect(ctx, s.id);
        auto ai = store_->Inspect(ctx, s.id);
        if (Canon(ei) != Canon(ai))
          Diverge(when + ": inspect " + ns + " " + s.id, Canon(ei), Canon(ai));
      }
    }
    auto ed = model_.GetDiskUsage(ctx);
    auto ad = store_->GetDiskUsage(ctx);
    if (Canon(ed) != Canon(ad)) Diverge(when + ": df of " + ns, Canon(ed), Canon(ad));
    auto ac = store_->ListContainers(ctx);
    std::string ec = "ok " + Show(model_.ListContainers(ns));
    if (ec != Canon(ac)) Diverge(when + ": containers of " + ns, ec, Canon(ac));
    auto al = store_->ListLeases(ctx);
    std::string el = "ok " + Show(model_.ListLeases(ns));
    if (el != Canon(al)) Diverge(when + ": leases of " + ns, el, Canon(al));
  }
  // Every digest of the universe: recorded or not, its size, who uses it.
  OpContext probe{.ns = "probe", .now = now_};
  for (const Descriptor& d : u_.all) {
    std::optional<BlobFacts> e = model_.ExplainBlob(d.digest, now_);
    auto a = store_->Explain(probe, d.digest);
    std::string es =
        e ? absl::StrCat("blob size=", e->size, " images=[", absl::StrJoin(e->images, ","),
                         "] leases=[", absl::StrJoin(e->leases, ","), "]")
          : "NOT_FOUND: No such image or blob: " + d.digest;
    std::string as;
    if (!a.ok()) {
      as = StatusText(a.status());
    } else {
      std::vector<std::string> images = a->images, leases = a->leases;
      std::sort(images.begin(), images.end());
      std::sort(leases.begin(), leases.end());
      as = absl::StrCat(a->kind == Explanation::Kind::kBlob ? "blob" : "image", " size=", a->size,
                        " images=[", absl::StrJoin(images, ","), "] leases=[",
                        absl::StrJoin(leases, ","), "]");
    }
    if (es != as) Diverge(when + ": blob " + d.digest, es, as);
  }
  auto problems = store_->Check();
  ++checks_;
  if (!problems.ok()) {
    Diverge(when + ": check", "ok", StatusText(problems.status()));
  } else {
    std::vector<Problem> faults = Faults(*problems);
    if (!faults.empty()) {
      std::vector<std::string> v;
      for (const auto& p : faults) v.push_back(p.category + " " + p.subject + " " + p.detail);
      Diverge(when + ": check found faults", "no fault", absl::StrJoin(v, "; "));
    }
  }
}

void Runner::Step() {
  // Time: often unchanged (boundaries), usually a second, now and then a jump
  // (leases expire, until selects).
  const int t = static_cast<int>(R(100));
  if (t >= 25 && t < 94) now_ += absl::Seconds(1);
  if (t >= 94 && t < 96) now_ += absl::Milliseconds(250);  // fractional seconds
  if (t >= 96) now_ += absl::Seconds(30 + static_cast<int64_t>(R(1200)));
  Op op = Generate();
  ++done_;
  Apply(op);
}

void Runner::Run() {
  std::printf("model: seed %llu, %lld operations\n", static_cast<unsigned long long>(seed_),
              static_cast<long long>(ops_));
  std::fflush(stdout);
  Trace(Json{{"scenario", absl::StrCat("model seed ", seed_)},
             {"about", "refstore model test trace; reopen/compare_all lines are markers"}});
  const auto start = std::chrono::steady_clock::now();
  Reopen();
  next_reopen_ = 2000 + static_cast<int64_t>(R(3000));
  while (done_ < ops_ && !Stopped() && store_) {
    Step();
    if (done_ >= next_reopen_ && !Stopped()) {
      CompareAll(absl::StrCat("before reopen at ", done_));
      Reopen();
      if (store_ && !Stopped()) CompareAll(absl::StrCat("after reopen at ", done_));
      next_reopen_ = done_ + 2000 + static_cast<int64_t>(R(3000));
    }
  }
  if (store_ && !Stopped()) CompareAll("final state");
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf(
      "model: %lld operations in %.1f s (%.0f ops/s), %lld reopens, %lld full "
      "comparisons with Check, %lld real prunes after a dry run\n",
      static_cast<long long>(done_), secs, done_ / std::max(secs, 1e-9),
      static_cast<long long>(reopens_), static_cast<long long>(checks_),
      static_cast<long long>(dry_followups_));
  std::printf("model: operation mix (ok / error):\n");
  for (const auto& [name, c] : mix_) {
    std::printf("  %-18s %9lld ok %9lld error\n", name.c_str(), static_cast<long long>(c.first),
                static_cast<long long>(c.second));
  }
  std::printf("model: outcomes seen (store and model agreeing):\n");
  for (const auto& [path, n] : paths_) {
    std::printf("  %9lld  %s\n", static_cast<long long>(n), path.c_str());
  }
  std::printf("model: errors seen (each compared with the model's code and message):\n");
  for (const auto& [kind, n] : errors_) {
    std::printf("  %9lld  %s\n", static_cast<long long>(n), kind.c_str());
  }
  std::printf("model: seed %llu, %lld operations, %lld divergences\n",
              static_cast<unsigned long long>(seed_), static_cast<long long>(done_),
              static_cast<long long>(divergences_));
  std::fflush(stdout);
}

uint64_t SeedFromEnv() {
  if (const char* s = std::getenv("MODEL_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

int64_t OpsFromEnv() {
  if (const char* s = std::getenv("MODEL_OPS"); s && *s) return std::strtoll(s, nullptr, 10);
  return 1000000;
}

TEST(ModelTest, RandomOperationsAgreeWithTheModel) {
  const uint64_t seed = SeedFromEnv();
  const int64_t ops = OpsFromEnv();
  Runner runner(seed, ops);
  runner.Run();
  EXPECT_EQ(runner.divergences(), 0) << "seed " << seed << "\n" << runner.first_divergence();
}

}  // namespace
}  // namespace refstore::model
