#include "baselines/compare.h"

#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "refstore/util/strcat.h"

namespace refstore::bench {
namespace {

std::string Key(std::string_view ns, std::string_view rest) {
  return internal::Cat(ns, std::string_view("\0", 1), rest);
}

}  // namespace

absl::StatusOr<ContainerPins> MovedNameContainers(const WorkloadOptions& options) {
  absl::flat_hash_map<std::string, std::string> target;  // ns \0 name as typed -> ID
  // (container key, name key, ID the name had when the container was made)
  std::vector<std::tuple<std::string, std::string, std::string>> by_name;
  auto stats = Generate(options, [&](const Event& event) {
    if (const auto* e = std::get_if<CreateImageEvent>(&event); e && e->request.name) {
      target[Key(e->ns, *e->request.name)] = e->request.target.digest;
    } else if (const auto* c = std::get_if<CreateContainerEvent>(&event)) {
      // A reference that is a name given to an image is a by-name one; IDs,
      // short IDs and repo@digest never are.
      std::string name = Key(c->ns, c->image_ref);
      if (auto it = target.find(name); it != target.end()) {
        by_name.emplace_back(Key(c->ns, c->id), std::move(name), it->second);
      }
    }
    return absl::OkStatus();
  });
  if (!stats.ok()) return stats.status();
  ContainerPins pins;
  for (auto& [container, name, id] : by_name) {
    if (target[name] != id) pins[container] = id;
  }
  return pins;
}

bool PinContainer(const ContainerPins& pins, Event& event) {
  auto* c = std::get_if<CreateContainerEvent>(&event);
  if (c == nullptr) return false;
  auto it = pins.find(Key(c->ns, c->id));
  if (it == pins.end()) return false;
  c->image_ref = it->second;
  return true;
}

}  // namespace refstore::bench
