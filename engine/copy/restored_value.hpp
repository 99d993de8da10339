#pragma once
// Whether a key the target already holds is the one an earlier RESTORE of ours wrote.
//
// A RESTORE sent on a connection that broke before its reply came may or may not have run. When
// the retry then meets BUSYKEY, the key counts as copied if the target holds exactly the value
// and expiry of our record. Comparing the target's DUMP with our payload byte for byte is not
// enough: a hash table (a set or hash over the listpack limits) serialises in an order that
// depends on each server's hash seed, so the target's DUMP of a value restored from our payload
// differs from the payload. The target is then asked to restore our payload once more, under a
// scratch key in the same slot, and its two DUMPs are compared: same server, same payload, same
// bytes.
//
// Thread: the worker thread owning `target`.

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <string>

#include "engine/cluster/link.hpp"
#include "engine/copy/batches.hpp"

namespace ferry::engine {

/// True when the target's key holds exactly `r` (value and expiry; a string record's value by
/// GET); fails only when the target cannot be reached. `trailer`, when given, replaces the
/// payload's own last 10 bytes (a payload downgraded for an older target).
boost::asio::awaitable<boost::system::result<bool, protocol::failure>> holds_restored_value(
    link& target, const record& r, const std::array<char, 10>* trailer = nullptr);

}  // namespace ferry::engine
