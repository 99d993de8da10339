#include "protocol/wire/slot_flux.hpp"

#include <charconv>

#include "protocol/wire/key_slot.hpp"

namespace ferry::protocol {

std::vector<std::uint16_t> slots_in_flux(std::string_view cluster_nodes) {
  std::vector<std::uint16_t> slots;
  std::size_t at = 0;
  while (at < cluster_nodes.size()) {
    std::size_t end = cluster_nodes.find('\n', at);
    if (end == std::string_view::npos) end = cluster_nodes.size();
    const std::string_view line = cluster_nodes.substr(at, end - at);
    at = end + 1;
    if (line.find("myself") == std::string_view::npos) continue;
    for (std::size_t open = line.find('['); open != std::string_view::npos;
         open = line.find('[', open + 1)) {
      const std::string_view marker = line.substr(open + 1);
      unsigned slot = slot_count;
      const auto [after, ec] = std::from_chars(marker.data(), marker.data() + marker.size(), slot);
      const std::string_view rest(after,
                                  static_cast<std::size_t>(marker.data() + marker.size() - after));
      const bool arrow = rest.substr(0, 3) == "->-" || rest.substr(0, 3) == "-<-";
      if (ec == std::errc{} && arrow && slot < slot_count) {
        slots.push_back(static_cast<std::uint16_t>(slot));
      }
    }
  }
  return slots;
}

}  // namespace ferry::protocol
