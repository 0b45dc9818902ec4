// apply_line.cc: runs one decoded operation line against a Store.
#include "refstore/oplog/apply_line.h"

#include <exception>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace refstore::oplog {
namespace {

// Executor runs one decoded operation; each call returns the result object.
class Executor {
 public:
  Executor(Store& store, const OpContext& ctx) : store_(store), ctx_(ctx) {}

  Json operator()(const CreateImageOp& op) {
    absl::StatusOr<std::string> id = store_.CreateImage(ctx_, op.request);
    if (!id.ok()) return ErrorResult(id.status());
    return With(OkResult(), "id", *id);
  }

  Json operator()(const TagOp& op) { return StatusResult(store_.Tag(ctx_, op.source, op.target)); }

  Json operator()(const RemoveImageOp& op) {
    absl::StatusOr<refstore::RemoveResult> removed = store_.RemoveImage(ctx_, op.ref, op.force);
    if (!removed.ok()) return ErrorResult(removed.status());
    Json result = OkResult();
    result["deleted"] = EncodeDeleteEntries(removed->deleted);
    result["space_reclaimed"] = removed->space_reclaimed;
    if (!removed->collected.error.empty()) result["collect_error"] = removed->collected.error;
    return result;
  }

  Json operator()(const ContainerCreateOp& op) {
    absl::StatusOr<std::string> image_id =
        store_.CreateContainer(ctx_, op.id, op.image, op.running);
    if (!image_id.ok()) return ErrorResult(image_id.status());
    return With(OkResult(), "image_id", *image_id);
  }

  Json operator()(const ContainerStartOp& op) {
    return StatusResult(store_.StartContainer(ctx_, op.id));
  }

  Json operator()(const ContainerStopOp& op) {
    return StatusResult(store_.StopContainer(ctx_, op.id));
  }

  Json operator()(const ContainerRemoveOp& op) {
    return StatusResult(store_.RemoveContainer(ctx_, op.id));
  }

  Json operator()(const PruneOp& op) {
    absl::StatusOr<refstore::PruneResult> pruned = store_.Prune(ctx_, op.options);
    if (!pruned.ok()) return ErrorResult(pruned.status());
    Json result = OkResult();
    result["ImagesDeleted"] = EncodeDeleteEntries(pruned->deleted);
    result["SpaceReclaimed"] = pruned->space_reclaimed;
    if (!pruned->collected.error.empty()) result["collect_error"] = pruned->collected.error;
    if (!pruned->error.empty()) result["stopped_error"] = pruned->error;
    return result;
  }

  Json operator()(const LeaseCreateOp& op) {
    return StatusResult(store_.CreateLease(ctx_, op.id, op.expires));
  }

  Json operator()(const LeaseAddOp& op) {
    return StatusResult(store_.AddLeaseContent(ctx_, op.id, op.content));
  }

  Json operator()(const LeaseDeleteOp& op) {
    absl::StatusOr<refstore::DeleteLeaseResult> deleted = store_.DeleteLease(ctx_, op.id);
    if (!deleted.ok()) return ErrorResult(deleted.status());
    Json result = With(OkResult(), "space_reclaimed", deleted->space_reclaimed);
    if (!deleted->collected.error.empty()) result["collect_error"] = deleted->collected.error;
    return result;
  }

  Json operator()(const ListImagesOp& op) {
    absl::StatusOr<std::vector<refstore::ImageSummary>> images =
        store_.ListImages(ctx_, op.options);
    if (!images.ok()) return ErrorResult(images.status());
    Json list = Json::array();
    for (const refstore::ImageSummary& summary : *images) {
      list.push_back(EncodeImageSummary(summary));
    }
    return With(OkResult(), "images", std::move(list));
  }

  Json operator()(const InspectOp& op) {
    absl::StatusOr<refstore::ImageDetail> detail = store_.Inspect(ctx_, op.ref);
    if (!detail.ok()) return ErrorResult(detail.status());
    return With(OkResult(), "image", EncodeImageDetail(*detail));
  }

  Json operator()(const DiskUsageOp&) {
    absl::StatusOr<refstore::DiskUsage> usage = store_.GetDiskUsage(ctx_);
    if (!usage.ok()) return ErrorResult(usage.status());
    return With(OkResult(), "images", EncodeDiskUsage(*usage));
  }

  Json operator()(const CheckOp&) {
    absl::StatusOr<std::vector<refstore::Problem>> problems = store_.Check();
    if (!problems.ok()) return ErrorResult(problems.status());
    // Information (a container of a force-removed image) is not a finding.
    return With(OkResult(), "problems", EncodeProblems(refstore::Faults(*problems)));
  }

 private:
  static Json StatusResult(const absl::Status& status) {
    return status.ok() ? OkResult() : ErrorResult(status);
  }

  static Json With(Json result, const char* key, Json value) {
    result[key] = std::move(value);
    return result;
  }

  Store& store_;
  const OpContext& ctx_;
};

}  // namespace

Json ApplyLine(Store& store, std::string_view line, absl::Time now) {
  try {
    absl::StatusOr<Operation> op = DecodeOperation(line, now);
    if (!op.ok()) return ErrorResult(op.status());
    return std::visit(Executor(store, op->ctx), op->body);
  } catch (const nlohmann::json::exception& e) {
    return ErrorResult(absl::InvalidArgumentError(e.what()));
  } catch (const std::exception& e) {
    return ErrorResult(absl::InternalError(e.what()));
  }
}

bool IsSuccess(const Json& result) {
  auto it = result.find("ok");
  return it != result.end() && *it == true;
}

}  // namespace refstore::oplog
