#pragma once
// Slots a cluster node is moving: the MIGRATING and IMPORTING markers on the "myself" line of its
// CLUSTER NODES reply ("[5461->-<id>]", "[5461-<-<id>]"). Only the node itself shows them, so a
// caller asks every master. Pure.

#include <cstdint>
#include <string_view>
#include <vector>

namespace ferry::protocol {

/// Slots that the node answering `cluster_nodes` (CLUSTER NODES text) marks as migrating or
/// importing, in the order they appear. Malformed markers are ignored.
std::vector<std::uint16_t> slots_in_flux(std::string_view cluster_nodes);

}  // namespace ferry::protocol
