#include "engine/slot_watch.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <set>

namespace ferry::engine {

slot_set slots_of(const std::vector<protocol::slot_range>& ranges) {
  slot_set slots;
  for (const auto& range : ranges) {
    for (std::uint32_t s = range.start; s <= range.end; ++s) slots.set(s);
  }
  return slots;
}

std::vector<protocol::slot_range> ranges_of(const slot_set& slots) {
  std::vector<protocol::slot_range> ranges;
  for (std::uint32_t s = 0; s < protocol::slot_count; ++s) {
    if (!slots.test(s)) continue;
    const auto slot = static_cast<std::uint16_t>(s);
    if (!ranges.empty() && ranges.back().end + 1u == s) {
      ranges.back().end = slot;
    } else {
      ranges.push_back({slot, slot});
    }
  }
  return ranges;
}

std::string slot_text(const slot_set& slots) {
  std::string text;
  for (const auto& range : ranges_of(slots)) {
    if (!text.empty()) text += ',';
    text += range.start == range.end ? fmt::format("{}", range.start)
                                     : fmt::format("{}-{}", range.start, range.end);
  }
  return text;
}

boost::system::result<slot_set, std::string> parse_slot_text(std::string_view text) {
  slot_set slots;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    auto range = protocol::parse_slot_range(part);
    // (bitset is constructible from a string too: say which one this is.)
    if (!range) return {boost::system::in_place_error, range.error()};
    for (std::uint32_t s = range->start; s <= range->end; ++s) slots.set(s);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return slots;
}

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
