#include "engine/copy/slot_split.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace ferry::engine {

std::string slot_part::text() const { return fmt::format("{}/{}", index, count); }

namespace {

/// Whole masters per part: the largest first, each to the part with the fewest slots so far.
std::vector<split_share> by_whole_masters(const std::vector<slot_set>& masters,
                                          const std::vector<std::size_t>& used,
                                          std::uint32_t count) {
  std::vector<std::size_t> order = used;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return masters[a].count() > masters[b].count();
  });
  std::vector<split_share> parts(count);
  std::vector<std::size_t> sizes(count, 0);
  for (const std::size_t m : order) {
    const auto smallest =
        static_cast<std::size_t>(std::min_element(sizes.begin(), sizes.end()) - sizes.begin());
    parts[smallest].slots |= masters[m];
    parts[smallest].masters.push_back(m);
    sizes[smallest] += masters[m].count();
  }
  for (auto& part : parts) std::sort(part.masters.begin(), part.masters.end());
  // Parts in the order of their first master, so part i of an even split is master i (each
  // part holds at least one master: the first `count` go one to each empty part).
  std::sort(parts.begin(), parts.end(), [](const split_share& a, const split_share& b) {
    return a.masters.front() < b.masters.front();
  });
  return parts;
}

/// Fewer masters than parts: pieces of masters, as many per master as its share of the slots.
std::vector<split_share> by_pieces(const std::vector<slot_set>& masters,
                                   const std::vector<std::size_t>& used, std::uint32_t count) {
  std::vector<std::size_t> pieces(used.size(), 1);
  for (std::size_t given = used.size(); given < count; ++given) {
    // The most slots per piece so far: a.slots / a.pieces > b.slots / b.pieces, cross-multiplied.
    std::size_t best = 0;
    for (std::size_t i = 1; i < used.size(); ++i) {
      if (masters[used[i]].count() * pieces[best] > masters[used[best]].count() * pieces[i]) {
        best = i;
      }
    }
    ++pieces[best];
  }
  std::vector<split_share> parts;
  parts.reserve(count);
  for (std::size_t i = 0; i < used.size(); ++i) {
    const slot_set& own = masters[used[i]];
    std::vector<std::uint16_t> slots;
    slots.reserve(own.count());
    for (std::size_t s = 0; s < own.size(); ++s) {
      if (own.test(s)) slots.push_back(static_cast<std::uint16_t>(s));
    }
    const std::size_t k = pieces[i];
    for (std::size_t j = 0; j < k; ++j) {
      split_share part;
      part.masters = {used[i]};
      part.whole_masters = k == 1;
      for (std::size_t at = j * slots.size() / k; at < (j + 1) * slots.size() / k; ++at) {
        part.slots.set(slots[at]);
      }
      parts.push_back(std::move(part));
    }
  }
  return parts;
}

}  // namespace

std::vector<split_share> split_slots(const std::vector<slot_set>& masters, std::uint32_t count) {
  count = std::max<std::uint32_t>(count, 1);
  std::vector<std::size_t> used;
  for (std::size_t m = 0; m < masters.size(); ++m) {
    if (masters[m].any()) used.push_back(m);
  }
  if (used.empty()) return std::vector<split_share>(count);
  if (used.size() >= count) return by_whole_masters(masters, used, count);
  return by_pieces(masters, used, count);
}

}  // namespace ferry::engine
