#include "engine/topology/slot_watch.hpp"

#include <map>
#include <set>

namespace ferry::engine {

void slot_watch::watch(const slot_set& slots, const std::string& node_id) {
  for (std::size_t s = 0; s < protocol::slot_count; ++s) {
    if (slots.test(s)) scanned_on_[s] = node_id;
  }
}

void slot_watch::release(const slot_set& slots) {
  for (std::size_t s = 0; s < protocol::slot_count; ++s) {
    if (slots.test(s)) scanned_on_[s].clear();
  }
}

void slot_watch::observe(const protocol::topology& map, const slot_set& in_flux) {
  // The node ids of each master's group: the master and its replicas.
  std::vector<std::set<std::string, std::less<>>> groups(map.masters().size());
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < map.masters().size(); ++i) {
    groups[i].insert(map.masters()[i].id);
    index[map.masters()[i].id] = i;
  }
  for (const auto& replica : map.replicas()) {
    if (auto at = index.find(replica.master_id); at != index.end()) {
      groups[at->second].insert(replica.id);
    }
  }
  for (std::size_t s = 0; s < protocol::slot_count; ++s) {
    if (scanned_on_[s].empty()) continue;
    const auto owner = map.master_of(static_cast<std::uint16_t>(s));
    if (in_flux.test(s) || !owner || !groups[*owner].contains(scanned_on_[s])) moved_.set(s);
  }
}

slot_set slot_watch::watched() const {
  slot_set slots;
  for (std::size_t s = 0; s < protocol::slot_count; ++s) {
    if (!scanned_on_[s].empty()) slots.set(s);
  }
  return slots;
}

}  // namespace ferry::engine
