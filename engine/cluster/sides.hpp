#pragma once
// Preparing the two sides of a job (copy or verify): connection settings from the user's sides,
// what each seed node is (version, topology), and the checks that must hold before any key is
// touched. Shared by copy_job and verifier so that both refuse the same mistakes with the same
// words.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/net/discovery.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// Both sides, inspected and checked.
struct inspected_sides {
  /// Connection settings of the source seed (TLS context built, db applied).
  protocol::connection_options source;
  /// Connection settings of the target seed.
  protocol::connection_options target;
  /// What the source seed said about itself and its cluster.
  protocol::server_facts source_facts;
  /// What the target seed said.
  protocol::server_facts target_facts;
};

/// Connection settings for one side; the error names the role and the TLS file at fault.
maybe<protocol::connection_options> base_options(const side& s, const tuning& tune,
                                                 const char* role);

/// Connects to a side's seed node and asks what it is.
boost::asio::awaitable<maybe<protocol::server_facts>> inspect(
    const protocol::connection_options& options, const char* role);

/// DBSIZE of each node, in the db of `base`.
boost::asio::awaitable<maybe<std::vector<std::uint64_t>>> key_counts(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes,
    const char* role);

/// Builds both sides' settings, inspects both seeds, and refuses a database number on a cluster
/// and a source that is the target. `same_server_advice` ends the message of that last refusal
/// (e.g. "ferry will not copy a database onto itself").
boost::asio::awaitable<maybe<inspected_sides>> inspect_sides(const side& source, const side& target,
                                                             const tuning& tune,
                                                             std::string_view same_server_advice);

}  // namespace ferry::engine
