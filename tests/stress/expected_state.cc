#include "expected_state.h"

#include <algorithm>

namespace refstore::stress {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool Bool(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool IsDigest(const std::string& ref) { return ref.rfind("sha256:", 0) == 0; }

// The image `ref` (a familiar name or a full "sha256:" ID) selects in `m`.
std::optional<std::string> Resolve(const StoreModel& m, const std::string& ref) {
  if (IsDigest(ref)) {
    if (m.images.contains(ref)) return ref;
    return std::nullopt;
  }
  return m.NameOwner(ref);
}

void MoveName(StoreModel& m, const std::string& name, const std::string& id) {
  for (auto& [other, img] : m.images) img.names.erase(name);
  m.images[id].names.insert(name);
}

// Diff of two flattened states: keys whose values differ, with both values
// ("" when absent).
std::vector<std::string> DiffKeys(const std::map<std::string, std::string>& a,
                                  const std::map<std::string, std::string>& b) {
  std::vector<std::string> out;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back(ia->first);
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back(ib->first);
      ++ib;
    } else {
      if (ia->second != ib->second) out.push_back(ia->first);
      ++ia;
      ++ib;
    }
  }
  return out;
}

std::string ValueOf(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "(absent)" : "'" + it->second + "'";
}

std::string Describe(const json& op) { return op.dump(); }

}  // namespace

std::map<std::string, std::string> StoreModel::Flatten() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, img] : images) {
    out["image " + id] = "present";
    if (img.pinned) out["pinned " + id] = "pinned";
    for (const auto& n : img.names) {
      std::string& v = out["name " + n];
      v += v.empty() ? id : " and " + id;  // (a name on two images shows)
    }
  }
  for (const auto& [id, c] : containers) {
    out["container " + id] = c.image + (c.running ? " running" : " stopped");
  }
  for (const auto& [id, blobs] : leases) {
    out["lease " + id] = "present";
    for (const auto& d : blobs) out["lease-blob " + id + " " + d] = "held";
  }
  return out;
}

std::optional<std::string> StoreModel::NameOwner(const std::string& name) const {
  for (const auto& [id, img] : images) {
    if (img.names.contains(name)) return id;
  }
  return std::nullopt;
}

bool StoreModel::Held(const std::string& id) const {
  return std::any_of(containers.begin(), containers.end(),
                     [&](const auto& c) { return c.second.image == id; });
}

void ExpectedState::Apply(StoreModel& m, const json& op, const json& end,
                          const std::map<std::string, std::vector<std::string>>& image_blobs) {
  if (Str(end, "code") != "OK") return;  // an error changes nothing
  const std::string kind = Str(op, "op");
  if (kind == "create_lease") {
    m.leases[Str(op, "lease")];  // AlreadyExists is an error: not here
  } else if (kind == "write_blob") {
    m.leases[Str(op, "lease")].insert(Str(op, "digest"));
  } else if (kind == "delete_lease") {
    m.leases.erase(Str(op, "lease"));
  } else if (kind == "create_image") {
    std::string id = Str(end, "id");
    if (id.empty()) id = op["target"][0].get<std::string>();
    m.images[id];
    if (op.contains("name")) MoveName(m, Str(op, "name"), id);
    if (op.contains("lease")) {
      auto it = image_blobs.find(id);
      if (it != image_blobs.end()) {
        m.leases[Str(op, "lease")].insert(it->second.begin(), it->second.end());
      }
    }
  } else if (kind == "tag") {
    auto id = Resolve(m, Str(op, "source"));
    if (id) MoveName(m, Str(op, "target"), *id);
  } else if (kind == "pin") {
    auto id = Resolve(m, Str(op, "ref"));
    if (id) m.images[*id].pinned = Bool(op, "pinned");
  } else if (kind == "rmi" || kind == "prune") {
    for (const auto& e : end.value("entries", json::array())) {
      const std::string what = e.at(0).get<std::string>();
      const std::string ref = e.at(1).get<std::string>();
      if (what == "U" && !IsDigest(ref)) {
        for (auto& [id, img] : m.images) img.names.erase(ref);
      } else if (what == "D") {
        m.images.erase(ref);  // a freed child manifest is no image: no-op
      }
    }
  } else if (kind == "create_container") {
    StoreModel::Container c;
    c.image = Str(end, "id");
    if (c.image.empty()) c.image = Resolve(m, Str(op, "ref")).value_or("");
    c.running = Bool(op, "running");
    if (!IsDigest(Str(op, "ref"))) c.protected_names.insert(Str(op, "ref"));
    m.containers[Str(op, "id")] = c;
  } else if (kind == "start_container" || kind == "stop_container") {
    auto it = m.containers.find(Str(op, "id"));
    if (it != m.containers.end()) it->second.running = kind == "start_container";
  } else if (kind == "remove_container") {
    m.containers.erase(Str(op, "id"));
  }
  // collect: no change of the records that the model keeps.
}

std::string ExpectedState::Begin(const json& line) {
  std::string problem;
  const int64_t seq = Int(line, "b");
  if (in_flight_) {
    problem = "operation " + std::to_string(seq) + " began while " + Describe(*in_flight_) +
              " was in flight";
  } else if (next_seq_ >= 0 && seq != next_seq_) {
    problem = "operation " + std::to_string(seq) + " began, expected " + std::to_string(next_seq_);
  }
  next_seq_ = seq + 1;
  in_flight_ = line;
  // Learn the pool: blob sizes and image contents, from the announcements.
  if (Str(line, "op") == "create_image") {
    const json& t = line["target"];
    std::vector<std::string> blobs{t[0].get<std::string>()};
    sizes_[blobs[0]] = t[1].get<int64_t>();
    for (const auto& d : line.value("content", json::array())) {
      blobs.push_back(d[0].get<std::string>());
      sizes_[blobs.back()] = d[1].get<int64_t>();
    }
    std::sort(blobs.begin(), blobs.end());
    blobs.erase(std::unique(blobs.begin(), blobs.end()), blobs.end());
    image_blobs_[t[0].get<std::string>()] = std::move(blobs);
  } else if (Str(line, "op") == "write_blob") {
    sizes_[Str(line, "digest")] = Int(line, "size");
  }
  return problem;
}

std::set<std::string> ExpectedState::UsedBlobs(const StoreModel& m) const {
  std::set<std::string> out;
  for (const auto& [id, img] : m.images) {
    auto it = image_blobs_.find(id);
    if (it != image_blobs_.end()) out.insert(it->second.begin(), it->second.end());
  }
  for (const auto& [id, blobs] : m.leases) out.insert(blobs.begin(), blobs.end());
  return out;
}

int64_t ExpectedState::Freed(const StoreModel& before, const StoreModel& after) const {
  const std::set<std::string> was = UsedBlobs(before), is = UsedBlobs(after);
  int64_t bytes = 0;
  for (const auto& d : was) {
    if (is.contains(d)) continue;
    auto it = sizes_.find(d);
    bytes += it == sizes_.end() ? 0 : it->second;
  }
  return bytes;
}

std::vector<std::string> ExpectedState::End(const json& line) {
  std::vector<std::string> problems;
  const int64_t seq = Int(line, "e");
  if (!in_flight_ || Int(*in_flight_, "b") != seq) {
    problems.push_back("operation " + std::to_string(seq) + " ended but was not in flight");
    return problems;
  }
  const json op = *in_flight_;
  in_flight_.reset();
  ++acknowledged_;
  const std::string kind = Str(op, "op");
  const bool ok = Str(line, "code") == "OK";
  const std::string what = "acknowledged " + Describe(op) + " -> " + line.dump() + ": ";

  StoreModel after = model_;
  Apply(after, op, line, image_blobs_);

  if (ok && (kind == "rmi" || kind == "prune")) {
    // Deletions a correct store may make.
    for (const auto& [id, img] : model_.images) {
      if (after.images.contains(id)) continue;
      bool running = false;
      for (const auto& [cid, c] : model_.containers) running |= c.image == id && c.running;
      if (running) problems.push_back(what + "deleted " + id + ", used by a running container");
      if (kind == "prune" && model_.Held(id)) {
        problems.push_back(what + "prune deleted " + id + ", used by a container");
      }
      if (kind == "prune" && img.pinned) {
        problems.push_back(what + "prune deleted pinned image " + id);
      }
      if (kind == "prune" && !Bool(op, "all") && !img.names.empty()) {
        problems.push_back(what + "dangling prune deleted named image " + id);
      }
    }
    for (const auto& e : line.value("entries", json::array())) {
      const std::string ref = e.at(1).get<std::string>();
      if (e.at(0) == "D" && !model_.images.contains(ref) && image_blobs_.contains(ref)) {
        problems.push_back(what + "reports the deletion of " + ref + ", which is no image");
      }
    }
  }
  if (ok && (kind == "rmi" || kind == "prune" || kind == "delete_lease")) {
    const int64_t reported = Int(line, kind == "delete_lease" ? "freed" : "reclaimed");
    const int64_t freed = Freed(model_, after);
    if (reported != freed) {
      problems.push_back(what + "reports " + std::to_string(reported) +
                         " bytes freed; the blobs it freed have " + std::to_string(freed));
    }
  }
  if (ok && kind == "create_image" && Str(line, "id") != op["target"][0].get<std::string>()) {
    problems.push_back(what + "the image ID is not the target's digest");
  }

  const auto before_flat = model_.Flatten();
  const auto after_flat = after.Flatten();
  for (const auto& key : DiffKeys(before_flat, after_flat)) last_change_[key] = seq;
  model_ = std::move(after);
  return problems;
}

std::optional<StoreModel> ExpectedState::Predict(const json& op) const {
  const std::string kind = Str(op, "op");
  StoreModel m = model_;
  json end = {{"code", "OK"}};
  if (kind == "create_lease") {
    if (m.leases.contains(Str(op, "lease"))) return std::nullopt;
  } else if (kind == "write_blob" || kind == "delete_lease") {
    if (!m.leases.contains(Str(op, "lease"))) return std::nullopt;
  } else if (kind == "create_image") {
    if (op.contains("lease") && !m.leases.contains(Str(op, "lease"))) return std::nullopt;
    end["id"] = op["target"][0];
  } else if (kind == "tag") {
    if (!Resolve(m, Str(op, "source"))) return std::nullopt;
  } else if (kind == "pin") {
    if (!Resolve(m, Str(op, "ref"))) return std::nullopt;
  } else if (kind == "create_container") {
    auto id = Resolve(m, Str(op, "ref"));
    if (!id || m.containers.contains(Str(op, "id"))) return std::nullopt;
    end["id"] = *id;
  } else if (kind == "start_container" || kind == "stop_container") {
    if (!m.containers.contains(Str(op, "id"))) return std::nullopt;
  } else if (kind == "remove_container") {
    auto it = m.containers.find(Str(op, "id"));
    if (it == m.containers.end() || it->second.running) return std::nullopt;
  } else {
    return std::nullopt;  // rmi, prune (RemovalAllowed), collect (no change)
  }
  Apply(m, op, end, image_blobs_);
  return m;
}

bool ExpectedState::RemovalAllowed(const json& op, const StoreModel& actual,
                                   std::vector<std::string>* why) const {
  const std::string kind = Str(op, "op");
  const auto& e = model_;
  bool ok = true;
  auto no = [&](std::string reason) {
    why->push_back(std::move(reason));
    ok = false;
  };
  // Nothing is added or changed, only images, names and pins removed.
  for (const auto& [id, img] : actual.images) {
    auto it = e.images.find(id);
    if (it == e.images.end()) {
      no("image " + id + " appeared");
      continue;
    }
    for (const auto& n : img.names) {
      if (!it->second.names.contains(n)) no("name " + n + " appeared on " + id);
    }
    if (img.pinned != it->second.pinned) no("pin of " + id + " changed");
  }
  for (const auto& [id, c] : actual.containers) {
    auto it = e.containers.find(id);
    if (it == e.containers.end() || it->second.image != c.image ||
        it->second.running != c.running) {
      no("container " + id + " changed");
    }
  }
  for (const auto& [id, c] : e.containers) {
    if (!actual.containers.contains(id)) no("container " + id + " vanished");
  }
  if (actual.leases != e.leases) no("the leases changed");

  if (kind == "rmi") {
    // One image (the one the reference selects) loses names or goes.
    const auto target = Resolve(e, Str(op, "ref"));
    for (const auto& [id, img] : e.images) {
      auto it = actual.images.find(id);
      const bool gone = it == actual.images.end();
      const bool lost_names = !gone && it->second.names != img.names;
      if ((gone || lost_names) && (!target || *target != id)) {
        no("image " + id + (gone ? " deleted" : " lost names") + ", not selected by the rmi");
      }
      if (gone) {
        for (const auto& [cid, c] : e.containers) {
          if (c.image == id && c.running) no("deleted " + id + ", held by a running container");
        }
      }
    }
  } else if (kind == "prune") {
    const bool all = Bool(op, "all");
    for (const auto& [id, img] : e.images) {
      auto it = actual.images.find(id);
      const bool held = e.Held(id);
      if (it == actual.images.end()) {
        if (held) no("deleted " + id + ", held by a container");
        if (img.pinned) no("deleted pinned image " + id);
        if (!all && !img.names.empty()) no("dangling prune deleted named image " + id);
        continue;
      }
      if (it->second.names == img.names) continue;
      // Names go from a kept image only in prune -a, from a held image,
      // never the protected ones, and one stays.
      if (!all || !held || img.pinned) {
        no("names of kept image " + id + " removed");
        continue;
      }
      if (it->second.names.empty()) no("held image " + id + " lost all its names");
      for (const auto& [cid, c] : e.containers) {
        if (c.image != id) continue;
        for (const auto& n : c.protected_names) {
          if (img.names.contains(n) && !it->second.names.contains(n)) {
            no("protected name " + n + " of " + id + " (container " + cid + ") removed");
          }
        }
      }
    }
  } else {
    no("a " + kind + " removes nothing");
  }
  return ok;
}

ExpectedState::Verdict ExpectedState::Verify(const StoreModel& observed) {
  Verdict v;
  StoreModel actual = observed;
  for (auto& [id, c] : actual.containers) {
    auto it = model_.containers.find(id);
    if (it != model_.containers.end()) c.protected_names = it->second.protected_names;
  }
  const auto actual_flat = actual.Flatten();
  const auto expected_flat = model_.Flatten();
  // The state the differences are measured against: the expected one, or
  // the one the in-flight operation would leave.
  const std::map<std::string, std::string>* against = &expected_flat;
  std::map<std::string, std::string> predicted_flat;
  std::optional<StoreModel> adopted;
  std::vector<std::string> removal_why;
  if (actual_flat == expected_flat) {
    v.in_flight_outcome = in_flight_ ? "none" : "";
    adopted = model_;
  } else if (in_flight_) {
    const json& op = *in_flight_;
    const std::string kind = Str(op, "op");
    if (kind == "rmi" || kind == "prune") {
      if (RemovalAllowed(op, actual, &removal_why)) {
        v.in_flight_outcome = "applied";
        if (kind == "prune") v.in_flight_outcome = "applied (some or all of it)";
        adopted = actual;
      }
    } else if (auto predicted = Predict(op)) {
      predicted_flat = predicted->Flatten();
      // Measure against whichever is closer, for the report.
      if (DiffKeys(actual_flat, predicted_flat).size() <
          DiffKeys(actual_flat, expected_flat).size()) {
        against = &predicted_flat;
      }
      if (actual_flat == predicted_flat) {
        v.in_flight_outcome = "applied";
        adopted = std::move(*predicted);
      }
    }
  }
  const int64_t flight_seq = in_flight_ ? Int(*in_flight_, "b") : -1;
  if (adopted) {
    for (const auto& key : DiffKeys(expected_flat, actual_flat)) last_change_[key] = flight_seq;
    model_ = std::move(*adopted);
  } else {
    for (const auto& key : DiffKeys(actual_flat, *against)) {
      std::string p = key + ": the store has " + ValueOf(actual_flat, key) + ", expected " +
                      ValueOf(*against, key);
      auto lc = last_change_.find(key);
      const bool touched_by_flight =
          against == &predicted_flat && ValueOf(predicted_flat, key) != ValueOf(expected_flat, key);
      if (lc != last_change_.end() && !touched_by_flight) {
        p += " (as acknowledged operation " + std::to_string(lc->second) + " left it)";
        v.lost.insert(lc->second);
      } else if (ValueOf(*against, key) != "(absent)" && !touched_by_flight) {
        p += " (as the store was before this child)";
      }
      v.problems.push_back(std::move(p));
    }
    for (auto& w : removal_why) {
      v.problems.push_back("in-flight " + Describe(*in_flight_) + ": " + w);
    }
    if (v.problems.empty() && in_flight_) {
      v.problems.push_back("the store differs from the expected state in a way the in-flight " +
                           Describe(*in_flight_) + " cannot explain");
    }
    if (in_flight_) v.in_flight_outcome = "unexplained";
    // Go on from what the store shows.
    for (const auto& key : DiffKeys(expected_flat, actual_flat)) last_change_[key] = flight_seq;
    model_ = std::move(actual);
  }
  in_flight_.reset();
  return v;
}

}  // namespace refstore::stress
