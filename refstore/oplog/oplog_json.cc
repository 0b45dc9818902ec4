// oplog_json.cc: strict decoding of operation lines and encoding of results.
#include "refstore/oplog/oplog_json.h"

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "refstore/filters.h"
#include "refstore/reference.h"
#include "refstore/status_code.h"

namespace refstore::oplog {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSize = std::numeric_limits<int64_t>::max();

absl::Status InvalidArgument(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

std::string Quoted(const std::string& name) { return "'" + name + "'"; }

// FieldReader reads the fields of one JSON object strictly. Each getter
// names a field as known and checks its type; Finish() returns the first
// error met, or else reports the first field no getter asked for. After an
// error, getters only return defaults. `prefix` locates the object in
// messages ("target.", "content[2].").
class FieldReader {
 public:
  FieldReader(const json& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  bool ok() const { return status_.ok(); }

  // Fail records `status` unless an earlier error is already recorded.
  void Fail(const absl::Status& status) {
    if (status_.ok()) status_ = status;
  }
  // Require records InvalidArgument `message` unless `condition` holds.
  void Require(bool condition, const std::string& message) {
    if (!condition) Fail(InvalidArgument(message));
  }

  std::string RequiredString(const char* key) {
    return OptionalStringImpl(key, /*required=*/true).value_or("");
  }
  std::optional<std::string> OptionalString(const char* key) {
    return OptionalStringImpl(key, /*required=*/false);
  }

  bool OptionalBool(const char* key, bool default_value) {
    const json* value = Find(key, /*required=*/false);
    if (value == nullptr) return default_value;
    if (!value->is_boolean()) {
      TypeError(key, "a boolean");
      return false;
    }
    return value->get<bool>();
  }

  // A byte count: an integer (not a float, not a boolean) from 0 to 2^63-1.
  int64_t RequiredSize(const char* key) {
    const json* value = Find(key, /*required=*/true);
    if (value == nullptr) return 0;
    if (value->is_number_unsigned() && value->get<uint64_t>() <= kMaxSize) {
      return static_cast<int64_t>(value->get<uint64_t>());
    }
    if (value->is_number_integer() && !value->is_number_unsigned() && value->get<int64_t>() >= 0) {
      return value->get<int64_t>();
    }
    TypeError(key, "an integer from 0 to 9223372036854775807");
    return 0;
  }

  std::optional<absl::Time> OptionalTime(const char* key) {
    std::optional<std::string> text = OptionalString(key);
    if (!text.has_value()) return std::nullopt;
    absl::StatusOr<absl::Time> time = refstore::ParseRfc3339(*text);
    if (!time.ok()) {
      Fail(time.status());
      return std::nullopt;
    }
    return *time;
  }

  refstore::Descriptor RequiredDescriptor(const char* key) {
    const json* value = Find(key, /*required=*/true);
    if (value == nullptr) return {};
    return DescriptorAt(*value, Name(key));
  }

  // `check_values`: false leaves the digest and mediaType values to the
  // library, which checks them after what it looks up first (lease_add).
  std::vector<refstore::Descriptor> RequiredDescriptors(const char* key, bool check_values = true) {
    const json* value = Find(key, /*required=*/true);
    if (value == nullptr) return {};
    if (!value->is_array()) {
      TypeError(key, "an array");
      return {};
    }
    std::vector<refstore::Descriptor> descriptors;
    for (size_t i = 0; i < value->size() && ok(); ++i) {
      descriptors.push_back(
          DescriptorAt((*value)[i], Name(key) + "[" + std::to_string(i) + "]", check_values));
    }
    return descriptors;
  }

  // An object of strings.
  std::map<std::string, std::string> OptionalLabels(const char* key) {
    std::map<std::string, std::string> labels;
    const json* value = Find(key, /*required=*/false);
    if (value == nullptr) return labels;
    if (!value->is_object()) {
      TypeError(key, "an object of strings");
      return labels;
    }
    for (const auto& [name, text] : value->items()) {
      if (!text.is_string()) {
        TypeError(key, "an object of strings");
        return labels;
      }
      labels[name] = text.get<std::string>();
    }
    return labels;
  }

  // An object of arrays of strings (docker's filter form).
  refstore::Filters OptionalFilters(const char* key) {
    refstore::Filters filters;
    const json* value = Find(key, /*required=*/false);
    if (value == nullptr) return filters;
    const char* expected = "an object of arrays of strings";
    if (!value->is_object()) {
      TypeError(key, expected);
      return filters;
    }
    for (const auto& [name, values] : value->items()) {
      if (!values.is_array()) {
        TypeError(key, expected);
        return filters;
      }
      std::vector<std::string>& out = filters[name];
      for (const json& text : values) {
        if (!text.is_string()) {
          TypeError(key, expected);
          return filters;
        }
        out.push_back(text.get<std::string>());
      }
    }
    return filters;
  }

  absl::Status Finish() const {
    if (!status_.ok()) return status_;
    for (const auto& item : object_.items()) {
      if (known_.count(item.key()) == 0) {
        return InvalidArgument("unknown field " + Quoted(prefix_ + item.key()));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string Name(const char* key) const { return prefix_ + key; }

  void TypeError(const char* key, const char* expected) {
    Fail(InvalidArgument("field " + Quoted(Name(key)) + " must be " + expected));
  }

  // Find names `key` as known and returns its value; nullptr when it is
  // absent (an error if `required`), null (always an error) or when an
  // error was met before.
  const json* Find(const char* key, bool required) {
    known_.insert(key);
    if (!ok()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      Require(!required, "missing field " + Quoted(Name(key)));
      return nullptr;
    }
    if (it->is_null()) {
      Fail(InvalidArgument("field " + Quoted(Name(key)) + " must not be null"));
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> OptionalStringImpl(const char* key, bool required) {
    const json* value = Find(key, required);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) {
      TypeError(key, "a string");
      return std::nullopt;
    }
    return value->get<std::string>();
  }

  // A descriptor has exactly mediaType (non-empty), digest (valid) and size.
  refstore::Descriptor DescriptorAt(const json& value, const std::string& name,
                                    bool check_values = true) {
    refstore::Descriptor descriptor;
    if (!value.is_object()) {
      Fail(InvalidArgument("field " + Quoted(name) + " must be a descriptor object"));
      return descriptor;
    }
    FieldReader reader(value, name + ".");
    descriptor.media_type = reader.RequiredString("mediaType");
    reader.Require(!check_values || !reader.ok() || !descriptor.media_type.empty(),
                   "field " + Quoted(name + ".mediaType") + " must not be empty");
    descriptor.digest = reader.RequiredString("digest");
    if (check_values && reader.ok()) reader.Fail(refstore::ValidateDigest(descriptor.digest));
    descriptor.size = reader.RequiredSize("size");
    Fail(reader.Finish());
    return descriptor;
  }

  const json& object_;
  std::string prefix_;
  std::set<std::string> known_;
  absl::Status status_;
};

// Decoders of each operation's own fields.

OpBody DecodeCreateImage(FieldReader& r) {
  CreateImageOp op;
  op.request.name = r.OptionalString("name");
  op.request.target = r.RequiredDescriptor("target");
  op.request.content = r.RequiredDescriptors("content");
  op.request.labels = r.OptionalLabels("labels");
  op.request.lease = r.OptionalString("lease");
  return op;
}

OpBody DecodeTag(FieldReader& r) {
  TagOp op;
  op.source = r.RequiredString("source");
  op.target = r.RequiredString("target");
  return op;
}

OpBody DecodeRemoveImage(FieldReader& r) {
  RemoveImageOp op;
  op.ref = r.RequiredString("ref");
  op.force = r.OptionalBool("force", false);
  return op;
}

OpBody DecodeContainerCreate(FieldReader& r) {
  ContainerCreateOp op;
  op.id = r.RequiredString("id");
  op.image = r.RequiredString("image");
  op.running = r.OptionalBool("running", false);
  return op;
}

OpBody DecodeContainerStart(FieldReader& r) {
  return ContainerStartOp{.id = r.RequiredString("id")};
}

OpBody DecodeContainerStop(FieldReader& r) { return ContainerStopOp{.id = r.RequiredString("id")}; }

OpBody DecodeContainerRemove(FieldReader& r) {
  return ContainerRemoveOp{.id = r.RequiredString("id")};
}

OpBody DecodePrune(FieldReader& r) {
  PruneOp op;
  op.options.all = r.OptionalBool("all", false);
  op.options.filters = r.OptionalFilters("filters");
  op.options.dry_run = r.OptionalBool("dry_run", false);
  return op;
}

OpBody DecodeLeaseCreate(FieldReader& r) {
  LeaseCreateOp op;
  op.id = r.RequiredString("id");
  op.expires = r.OptionalTime("expires");
  return op;
}

OpBody DecodeLeaseAdd(FieldReader& r) {
  LeaseAddOp op;
  op.id = r.RequiredString("id");
  // The lease is looked up before the descriptors' values are checked
  // (SEMANTICS.md §6): the library checks them.
  op.content = r.RequiredDescriptors("content", /*check_values=*/false);
  return op;
}

OpBody DecodeLeaseDelete(FieldReader& r) { return LeaseDeleteOp{.id = r.RequiredString("id")}; }

OpBody DecodeListImages(FieldReader& r) {
  ListImagesOp op;
  op.options.all = r.OptionalBool("all", true);
  op.options.filters = r.OptionalFilters("filters");
  return op;
}

OpBody DecodeInspect(FieldReader& r) { return InspectOp{.ref = r.RequiredString("ref")}; }

OpBody DecodeDiskUsage(FieldReader&) { return DiskUsageOp{}; }

OpBody DecodeCheck(FieldReader&) { return CheckOp{}; }

struct OpDecoder {
  std::string_view name;
  OpBody (*decode)(FieldReader&);
};

constexpr OpDecoder kDecoders[] = {
    {"create_image", DecodeCreateImage},
    {"tag", DecodeTag},
    {"rmi", DecodeRemoveImage},
    {"container_create", DecodeContainerCreate},
    {"container_start", DecodeContainerStart},
    {"container_stop", DecodeContainerStop},
    {"container_rm", DecodeContainerRemove},
    {"prune", DecodePrune},
    {"lease_create", DecodeLeaseCreate},
    {"lease_add", DecodeLeaseAdd},
    {"lease_delete", DecodeLeaseDelete},
    {"images", DecodeListImages},
    {"inspect", DecodeInspect},
    {"df", DecodeDiskUsage},
    {"check", DecodeCheck},
};

const OpDecoder* FindDecoder(std::string_view name) {
  for (const OpDecoder& decoder : kDecoders) {
    if (decoder.name == name) return &decoder;
  }
  return nullptr;
}

// Drops nlohmann's "[json.exception.parse_error.101] " prefix.
std::string JsonErrorMessage(const json::exception& e) {
  std::string what = e.what();
  if (!what.empty() && what[0] == '[') {
    size_t end = what.find("] ");
    if (end != std::string::npos) what.erase(0, end + 2);
  }
  return what;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJson(std::string_view text) {
  // The keys seen so far in each object being parsed, innermost last.
  std::vector<std::set<std::string>> open_objects;
  std::optional<std::string> duplicate;
  json::parser_callback_t note_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second &&
            !duplicate.has_value()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    json value = json::parse(text.begin(), text.end(), note_keys);
    if (duplicate.has_value()) {
      return InvalidArgument("duplicate key " + Quoted(*duplicate));
    }
    return value;
  } catch (const json::exception& e) {
    return InvalidArgument("invalid JSON: " + JsonErrorMessage(e));
  }
}

absl::StatusOr<Operation> DecodeOperation(std::string_view line, absl::Time now) {
  absl::StatusOr<json> parsed = ParseStrictJson(line);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return InvalidArgument("an operation must be a JSON object");
  }
  FieldReader reader(*parsed, "");
  std::string name = reader.RequiredString("op");
  if (!reader.ok()) return reader.Finish();
  const OpDecoder* decoder = FindDecoder(name);
  if (decoder == nullptr) return InvalidArgument("unknown op " + Quoted(name));

  Operation op;
  op.ctx.ns = reader.OptionalString("ns").value_or("default");
  reader.Require(!reader.ok() || refstore::IsValidNamespace(op.ctx.ns),
                 "invalid namespace " + Quoted(op.ctx.ns));
  op.ctx.now = reader.OptionalTime("at").value_or(now);
  op.body = decoder->decode(reader);
  absl::Status status = reader.Finish();
  if (!status.ok()) return status;
  return op;
}

Json OkResult() { return Json{{"ok", true}}; }

Json ErrorResult(const absl::Status& status) {
  Json error = {{"code", std::string(refstore::ErrorCodeName(status))},
                {"message", std::string(status.message())}};
  return Json{{"ok", false}, {"error", std::move(error)}};
}

Json EncodeDescriptor(const refstore::Descriptor& descriptor) {
  return Json{{"mediaType", descriptor.media_type},
              {"digest", descriptor.digest},
              {"size", descriptor.size}};
}

Json EncodeDescriptors(const std::vector<refstore::Descriptor>& descriptors) {
  Json list = Json::array();
  for (const refstore::Descriptor& d : descriptors) {
    list.push_back(EncodeDescriptor(d));
  }
  return list;
}

Json EncodeDeleteEntries(const std::vector<refstore::DeleteEntry>& entries) {
  Json list = Json::array();
  for (const refstore::DeleteEntry& entry : entries) {
    const char* kind =
        entry.kind == refstore::DeleteEntry::Kind::kUntagged ? "Untagged" : "Deleted";
    list.push_back(Json{{kind, entry.ref}});
  }
  return list;
}

Json EncodeImageSummary(const refstore::ImageSummary& summary) {
  return Json{{"id", summary.id},
              {"names", summary.names},
              {"size", summary.size},
              {"shared_size", summary.shared_size},
              {"unique_size", summary.unique_size},
              {"containers", summary.containers},
              {"created", refstore::FormatRfc3339(summary.created)},
              {"labels", summary.labels}};
}

Json EncodeImageDetail(const refstore::ImageDetail& detail) {
  Json image = EncodeImageSummary(detail.summary);
  image["target"] = EncodeDescriptor(detail.target);
  image["content"] = EncodeDescriptors(detail.content);
  image["container_ids"] = detail.container_ids;
  return image;
}

Json EncodeDiskUsage(const refstore::DiskUsage& usage) {
  return Json{{"total_count", usage.total_count},
              {"active", usage.active},
              {"size", usage.size},
              {"shared_size", usage.shared_size},
              {"unique_size", usage.unique_size},
              {"reclaimable", usage.reclaimable}};
}

Json EncodeProblems(const std::vector<refstore::Problem>& problems) {
  Json list = Json::array();
  for (const refstore::Problem& p : problems) {
    list.push_back(Json{{"category", p.category}, {"subject", p.subject}, {"detail", p.detail}});
  }
  return list;
}

std::string DumpLine(const Json& result) {
  return result.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace refstore::oplog
