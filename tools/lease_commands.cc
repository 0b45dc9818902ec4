// lease_commands.cc: lease create / add / ls / rm.
//
// docker has no lease verbs (containerd's `ctr leases` has); these follow
// docker's conventions, from the docker/cli sources also used elsewhere:
//   cli/command/formatter/formatter.go  tables (tabwriter minwidth 10,
//                                    padding 3) and "{{json .}}" lines
//   cli/command/container/rm.go      each removed ID printed as given
//   cli/command/image/prune.go       "Total reclaimed space: " + HumanSize
#include "lease_commands.h"

#include <cctype>
#include <charconv>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format.h"
#include "nlohmann/json.hpp"
#include "output.h"
#include "refstore/filters.h"
#include "refstore/reference.h"

namespace refstore_tool {
namespace {

using Json = nlohmann::json;

constexpr char kDefaultMediaType[] = "application/octet-stream";

// "sha256:<64 hex>:<size>[:<media type>]".
refstore::Descriptor ParseDescriptorArg(const std::string& arg) {
  const auto bad = [&arg](const std::string& why) {
    return UsageError("invalid blob \"" + arg + "\": " + why +
                      " (expected sha256:<64 hex>:<size>[:<media type>])");
  };
  constexpr size_t kDigestLength = 7 + 64;
  if (arg.size() < kDigestLength + 2 || arg[kDigestLength] != ':') throw bad("no size");
  refstore::Descriptor d;
  d.digest = arg.substr(0, kDigestLength);
  absl::Status valid = refstore::ValidateDigest(d.digest);
  if (!valid.ok()) throw bad(std::string(valid.message()));
  const size_t size_end = arg.find(':', kDigestLength + 1);
  const std::string size_text =
      arg.substr(kDigestLength + 1,
                 size_end == std::string::npos ? std::string::npos : size_end - kDigestLength - 1);
  auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), d.size);
  if (ec != std::errc() || ptr != size_text.data() + size_text.size() || d.size < 0) {
    throw bad("bad size \"" + size_text + "\"");
  }
  d.media_type = size_end == std::string::npos ? kDefaultMediaType : arg.substr(size_end + 1);
  if (d.media_type.empty()) throw bad("empty media type");
  return d;
}

struct CreateFlags {
  std::string id;
  std::string expires;
  std::string expires_in;
};

int RunCreate(Env& env, const CreateFlags& f) {
  std::optional<absl::Time> expires;
  if (!f.expires.empty() && !f.expires_in.empty()) {
    throw UsageError("--expires and --expires-in cannot be used together");
  }
  if (!f.expires.empty()) {
    absl::StatusOr<absl::Time> t = refstore::ParseRfc3339(f.expires);
    if (!t.ok()) throw UsageError("invalid --expires: " + std::string(t.status().message()));
    expires = *t;
  }
  if (!f.expires_in.empty()) {
    absl::StatusOr<absl::Duration> d = ParseGoDuration(f.expires_in);
    if (!d.ok()) throw UsageError("invalid --expires-in: " + std::string(d.status().message()));
    expires = env.now + *d;
  }
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  absl::Status s = store->CreateLease(env.Ctx(), f.id, expires);
  if (!s.ok()) {
    PrintDaemonError(*env.err, s);
    return kExitError;
  }
  *env.out << f.id << "\n";
  return kExitOk;
}

struct AddFlags {
  std::string id;
  std::vector<std::string> blobs;
};

int RunAdd(Env& env, const AddFlags& f) {
  std::vector<refstore::Descriptor> content;
  for (const std::string& b : f.blobs) content.push_back(ParseDescriptorArg(b));
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  absl::Status s = store->AddLeaseContent(env.Ctx(), f.id, content);
  if (!s.ok()) {
    PrintDaemonError(*env.err, s);
    return kExitError;
  }
  return kExitOk;
}

struct LsFlags {
  bool quiet = false;
  std::string format;
};

int64_t ContentSize(const refstore::LeaseInfo& l) {
  int64_t total = 0;
  for (const refstore::Descriptor& d : l.content) total += d.size;
  return total;
}

std::string ExpiresCell(const refstore::LeaseInfo& l, absl::Time now) {
  if (!l.expires) return "never";
  if (now >= *l.expires) return "expired " + Ago(*l.expires, now);
  return "in " + HumanDuration(*l.expires - now);
}

int RunLs(Env& env, const LsFlags& f) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/true);
  if (store == nullptr) return kExitError;
  absl::StatusOr<std::vector<refstore::LeaseInfo>> leases = store->ListLeases(env.Ctx());
  if (!leases.ok()) {
    PrintDaemonError(*env.err, leases.status());
    return kExitError;
  }
  Table table({"LEASE ID", "CREATED", "EXPIRES", "BLOBS", "SIZE"});
  for (const refstore::LeaseInfo& l : *leases) {
    const int64_t size = ContentSize(l);
    if (f.quiet) {
      *env.out << l.id << "\n";
    } else if (f.format == "json") {
      Json content = Json::array();
      for (const refstore::Descriptor& d : l.content) {
        content.push_back(
            Json{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}});
      }
      PrintJsonLine(*env.out,
                    Json{{"ID", l.id},
                         {"CreatedAt", GoTimeString(l.created)},
                         {"CreatedSince", Ago(l.created, env.now)},
                         {"Expires", l.expires ? refstore::FormatRfc3339(*l.expires) : ""},
                         {"Expired", l.expires.has_value() && env.now >= *l.expires},
                         {"Blobs", l.content.size()},
                         {"Size", HumanSize(static_cast<double>(size))},
                         {"SizeBytes", size},
                         {"Content", content}});
    } else {
      table.Add({l.id, Ago(l.created, env.now), ExpiresCell(l, env.now),
                 std::to_string(l.content.size()), HumanSize(static_cast<double>(size))});
    }
  }
  if (!f.quiet && f.format != "json") table.Print(*env.out);
  return kExitOk;
}

int RunRm(Env& env, const std::vector<std::string>& ids) {
  std::unique_ptr<refstore::Store> store = OpenStore(env, /*read_only=*/false);
  if (store == nullptr) return kExitError;
  int64_t freed = 0;
  int status = kExitOk;
  for (const std::string& id : ids) {
    absl::StatusOr<refstore::DeleteLeaseResult> deleted = store->DeleteLease(env.Ctx(), id);
    if (!deleted.ok()) {
      PrintDaemonError(*env.err, deleted.status());
      status = kExitError;
      continue;
    }
    freed += deleted->space_reclaimed;
    *env.out << id << "\n";
    WarnCollectError(*env.err, deleted->collected);
  }
  *env.out << "Total reclaimed space: " << HumanSize(static_cast<double>(freed)) << "\n";
  return status;
}

}  // namespace

void RegisterLeaseCommands(CLI::App& root, Registry& registry) {
  CLI::App* lease = root.add_subcommand("lease", "Manage leases (content in flight)");
  lease->require_subcommand(1);

  auto create = std::make_shared<CreateFlags>();
  CLI::App* cmd = lease->add_subcommand("create", "Create a lease");
  cmd->add_option("id", create->id, "Lease ID")->required()->type_name("LEASE");
  cmd->add_option("--expires", create->expires, "Expiry time (RFC 3339)")->type_name("TIME");
  cmd->add_option("--expires-in", create->expires_in, "Expiry after a Go duration (24h, 90m)")
      ->type_name("DURATION");
  registry.Add(cmd, [create](Env& env) { return RunCreate(env, *create); });

  auto add = std::make_shared<AddFlags>();
  cmd = lease->add_subcommand("add", "Add blobs to a lease");
  cmd->add_option("id", add->id, "Lease ID")->required()->type_name("LEASE");
  cmd->add_option("blob", add->blobs, "sha256:<64 hex>:<size>[:<media type>]")
      ->required()
      ->type_name("BLOB");
  registry.Add(cmd, [add](Env& env) { return RunAdd(env, *add); });

  auto ls = std::make_shared<LsFlags>();
  cmd = lease->add_subcommand("ls", "List leases");
  cmd->alias("list");
  cmd->add_flag("-q,--quiet", ls->quiet, "Only display lease IDs");
  cmd->add_option("--format", ls->format, "Output format: table (default) or json (JSON Lines)")
      ->check(CLI::IsMember({"table", "json"}));
  registry.Add(cmd, [ls](Env& env) { return RunLs(env, *ls); });

  auto ids = std::make_shared<std::vector<std::string>>();
  cmd = lease->add_subcommand("rm", "Delete leases, freeing what only they held");
  cmd->alias("remove");
  cmd->add_option("id", *ids, "Lease IDs")->required()->type_name("LEASE");
  registry.Add(cmd, [ids](Env& env) { return RunRm(env, *ids); });
}

}  // namespace refstore_tool
