#pragma once
// `ferry verify --repair`: makes the target's copy of a key equal to the source's again.
//
// A key is re-copied as `ferry copy` copies it: DUMP and PEXPIRETIME (PTTL before Redis 7) on the
// source, RESTORE key <abs-ms> payload ABSTTL REPLACE on the target master that owns it; a key
// gone from the source meanwhile is deleted from the target. Keys go a few at a time, so memory
// holds a few payloads, not a batch's worth.
//
// Thread: the worker thread owning both routed sides.

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/cluster/routed_side.hpp"
#include "engine/cluster/sides.hpp"

namespace ferry::engine {

/// Per key: empty when repaired, otherwise why not (the server's refusal).
using repair_results = std::vector<std::string>;

/// Re-copies `keys` from the source to the target (see the file comment).
boost::asio::awaitable<maybe<repair_results>> repair_keys(routed_side& source, routed_side& target,
                                                          std::span<const protocol::bytes> keys,
                                                          bool source_pexpiretime);

/// Deletes `keys` from the target (extra keys, with --repair-delete-extra).
boost::asio::awaitable<maybe<repair_results>> delete_keys(routed_side& target,
                                                          std::span<const protocol::bytes> keys);

}  // namespace ferry::engine
