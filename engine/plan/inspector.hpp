#pragma once
// Looking at one node without changing it: INFO, CONFIG GET, DBSIZE, function libraries, ACL
// users, ferry's own permissions (ACL DRYRUN), and whether RESTORE exists. Every command here is
// a read; what a server refuses becomes "unknown" with the refusal, not a failure.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "engine/plan/node_session.hpp"
#include "engine/plan/plan_report.hpp"

namespace ferry::engine {

/// What to look at.
struct inspect_request {
  /// "source" or "target": decides the permissions checked and whether RESTORE is looked up.
  bool source = true;
  /// The job's database.
  int db = 0;
  /// The side is an OSS cluster.
  bool cluster = false;
};

/// The commands ferry copy sends to a side, as ACL DRYRUN arguments (README, "Minimal ACL
/// rules"), for a server of `version`.
std::vector<std::vector<std::string>> needed_commands(const inspect_request& request,
                                                      protocol::server_version version);

/// Fills a node_report (address, info, dbsize, config, functions, ACL users, permissions,
/// restore_available) from the node behind `session`.
boost::asio::awaitable<maybe<node_report>> inspect_node(node_session& session,
                                                        const inspect_request& request);

/// INFO all, parsed (the second snapshot of the traffic window).
boost::asio::awaitable<maybe<node_info>> read_info(node_session& session);

/// The application's traffic between two INFO snapshots `seconds` apart, less the `ferry_sent`
/// commands (of which `ferry_reads` reads) ferry sent in between.
traffic_window traffic_between(const node_info& before, const node_info& after, double seconds,
                               std::uint64_t ferry_sent, std::uint64_t ferry_reads);

}  // namespace ferry::engine
