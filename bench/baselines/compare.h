// compare.h: making one workload comparable across refstore and a baseline.
//
// The designs differ on purpose in one case (SEMANTICS.md §1, Holders): a
// container created with a name protects, in docker and the on-the-fly
// baseline, whatever the name points to when prune runs; in refstore, the
// image the container was created from. They disagree only when that name
// later moves to another image (the workload's moved tags). To compare the
// rest exactly, such a container's reference is replaced, in the events every
// design gets, by the image ID it resolved to when it was created.
#ifndef REFSTORE_BENCH_BASELINES_COMPARE_H_
#define REFSTORE_BENCH_BASELINES_COMPARE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "workload/workload.h"

namespace refstore::bench {

// ns \0 container id -> the image ID ("sha256:…") to refer to instead.
using ContainerPins = std::map<std::string, std::string>;

// Generates `options`' workload once and returns the containers created with
// a name that later moves.
absl::StatusOr<ContainerPins> MovedNameContainers(const WorkloadOptions& options);

// Rewrites `event` when it creates a pinned container. Returns whether it did.
bool PinContainer(const ContainerPins& pins, Event& event);

}  // namespace refstore::bench

#endif  // REFSTORE_BENCH_BASELINES_COMPARE_H_
