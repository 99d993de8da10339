#include "engine/cluster/node_links.hpp"

namespace ferry::engine {

node_links::node_links(boost::asio::any_io_executor executor, protocol::connection_options base,
                       const tuning& tune, job_control& control, link_stats* stats)
    : executor_(std::move(executor)),
      base_(std::move(base)),
      tune_(tune),
      control_(control),
      stats_(stats) {}

link& node_links::to(const node_address& node) {
  auto& slot = links_[node];
  if (!slot) {
    slot = std::make_unique<link>(executor_, protocol::at_node(base_, node.host, node.port), tune_,
                                  control_, stats_);
  }
  return *slot;
}

link& node_links::to(const round_group& group, const protocol::topology* map, link* own) {
  if (group.node) return to(*group.node);
  if (group.master && map != nullptr) return to(map->masters()[*group.master].where);
  return *own;
}

std::uint64_t node_links::retries() const {
  std::uint64_t total = 0;
  for (const auto& [address, l] : links_) total += l->retries();
  return total;
}

}  // namespace ferry::engine
