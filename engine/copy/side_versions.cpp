#include "engine/copy/side_versions.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <optional>

#include "engine/copy/restore_outcome.hpp"
#include "engine/transfer/key_rebuild.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/info.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::command_buffer;
using protocol::connection;
using protocol::reply;

namespace {

/// Short deadlines: these looks are side checks, the pipeline reports a dead node itself.
protocol::connection_options quick(protocol::connection_options options, const tuning& tune) {
  options.connect_timeout = std::min(tune.connect_timeout, std::chrono::milliseconds{5'000});
  options.io_timeout = std::min(tune.io_timeout, std::chrono::milliseconds{5'000});
  return options;
}

void read_info(std::string_view info, side_version& side) {
  const std::string valkey(protocol::info_text(info, "valkey_version"));
  if (!valkey.empty()) {
    side.product = "Valkey";
    side.version = valkey;
  } else {
    side.version = std::string(protocol::info_text(info, "redis_version"));
  }
}

/// The RDB version in a DUMP payload's trailer (its last 10 bytes: version, CRC64); 0 when the
/// payload is too short.
int dump_rdb_version(std::string_view payload) noexcept {
  if (payload.size() < 10) return 0;
  const auto* trailer =
      reinterpret_cast<const unsigned char*>(payload.data() + payload.size() - 10);
  return trailer[0] | (trailer[1] << 8);
}

/// A target master's first slot, for a probe key it owns.
std::uint16_t first_slot(const protocol::cluster_node& node) {
  return node.slots.empty() ? 0 : node.slots.front().start;
}

asio::awaitable<void> look(const inspected_sides& sides, std::string job_id, tuning tune,
                           versions_seen& seen) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<reply> replies;
  {
    connection source(executor, quick(sides.source, tune));
    if (!co_await source.connect()) {
      // The RDB version from a DUMP of a small key: a DUMP costs the source the value's size in
      // memory and CPU (a 10M-member zset: 300 MB and seconds), so a few keys are sized first
      // (MEMORY USAGE samples, cheap) and only one under 64 KiB is dumped; a bulk over that is
      // skipped unread anyway.
      constexpr std::int64_t small = 64 << 10;
      command_buffer commands;
      commands.push({"INFO", "server"});
      commands.push({"SCAN", "0", "COUNT", "20"});
      if (!co_await source.exec(commands, replies) && !replies[0].is_error()) {
        read_info(replies[0].text(), seen.source);
        std::vector<protocol::bytes> keys;
        if (replies[1].elements.size() == 2) {
          for (const reply& k : replies[1].elements[1].elements) keys.push_back(k.str);
        }
        command_buffer sizes;
        for (const auto& key : keys) {
          sizes.begin(3);
          sizes.arg("MEMORY");
          sizes.arg("USAGE");
          sizes.arg_ref(key);
        }
        std::optional<protocol::bytes> smallest;
        if (!keys.empty() && !co_await source.exec(sizes, replies)) {
          std::int64_t least = small;
          for (std::size_t i = 0; i < keys.size() && i < replies.size(); ++i) {
            if (replies[i].kind == protocol::reply_kind::integer && replies[i].integer < least) {
              least = replies[i].integer;
              smallest = keys[i];
            }
          }
        }
        if (smallest) {
          command_buffer dump;
          dump.begin(2);
          dump.arg("DUMP");
          dump.arg_ref(*smallest);
          source.keep_bulks({.skip_over = small, .budget = 0, .keep_first = false});
          if (!co_await source.exec(dump, replies) &&
              replies[0].kind == protocol::reply_kind::string) {
            seen.source.rdb_version = dump_rdb_version(replies[0].text());
          }
        }
      }
    }
  }
  const protocol::topology& map = sides.target_facts.map;
  if (map.masters().empty()) co_return;
  const protocol::cluster_node& master = map.masters().front();
  protocol::connection_options options = sides.target;
  if (map.is_cluster()) options = protocol::at_node(options, master.where.host, master.where.port);
  connection target(executor, quick(options, tune));
  if (co_await target.connect()) co_return;
  const std::string probe = fmt::format("{}{{{}}}:{}", probe_key_marker,
                                        protocol::hash_tag_for(first_slot(master)), job_id);
  command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"SET", probe, "ferry", "PX", "60000"});
  commands.push({"DUMP", probe});
  if (co_await target.exec(commands, replies)) co_return;
  if (!replies[0].is_error()) read_info(replies[0].text(), seen.target);
  if (replies[2].kind != protocol::reply_kind::string) co_return;
  seen.target.rdb_version = dump_rdb_version(replies[2].text());
  // Does the target take RESTORE at all? Its own payload, under the probe's name.
  const protocol::bytes payload = replies[2].str;
  command_buffer restore;
  restore.begin(6);
  restore.arg("RESTORE");
  restore.arg(probe);
  restore.arg("60000");
  restore.arg_ref(payload);
  restore.arg("REPLACE");
  restore.arg("ABSTTL");
  restore.push({"DEL", probe});
  if (co_await target.exec(restore, replies)) co_return;
  // ABSTTL takes an absolute time: 60000 ms after the epoch is long past, so RESTORE creates
  // nothing, which is all a probe should leave.
  if (replies[0].is_error() && refuses_restore(replies[0].text())) {
    seen.restore_refused = replies[0].str.str();
  }
}

asio::awaitable<maybe<std::uint64_t>> clean(const inspected_sides& sides, std::string job_id,
                                            tuning tune) {
  auto executor = co_await asio::this_coro::executor;
  const protocol::topology& map = sides.target_facts.map;
  const std::string pattern = fmt::format("{}*:{}:*", temp_key_marker, job_id);
  std::uint64_t deleted = 0;
  std::vector<reply> replies;
  for (const auto& master : map.masters()) {
    protocol::connection_options options = sides.target;
    if (map.is_cluster()) {
      options = protocol::at_node(options, master.where.host, master.where.port);
    }
    connection target(executor, quick(options, tune));
    if (auto ec = co_await target.connect()) {
      co_return fail_with(
          protocol::errc::connect_failed,
          fmt::format("deleting the earlier run's temporary keys: {}", target.last_error()));
    }
    std::string cursor = "0";
    // Bounded: a SCAN of a node ends, and each call moves the cursor on.
    for (int calls = 0; calls < 10'000'000; ++calls) {
      command_buffer scan;
      scan.push({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (auto ec = co_await target.exec(scan, replies);
          ec || replies[0].is_error() || replies[0].elements.size() != 2) {
        co_return fail_with(
            protocol::errc::server_error,
            fmt::format("deleting the earlier run's temporary keys: SCAN on {} "
                        "failed: {}",
                        master.where.address(), ec ? target.last_error() : replies[0].str.str()));
      }
      cursor = replies[0].elements[0].str.str();
      command_buffer del;
      for (const reply& key : replies[0].elements[1].elements) {
        del.begin(2);
        del.arg("DEL");
        del.arg_ref(key.str);
      }
      if (!del.empty()) {
        if (auto ec = co_await target.exec(del, replies)) break;
        for (const reply& r : replies) deleted += r.integer > 0 ? 1 : 0;
      }
      if (cursor == "0") break;
    }
  }
  co_return deleted;
}

}  // namespace

std::string side_version::describe() const {
  std::string text = version.empty() ? product + " (version unknown" : product + " " + version;
  if (rdb_version != 0) {
    text += version.empty() ? fmt::format(", RDB {})", rdb_version)
                            : fmt::format(" (RDB {})", rdb_version);
  } else if (version.empty()) {
    text += ")";
  }
  return text;
}

versions_seen look_at_versions(const inspected_sides& sides, std::string_view job_id,
                               const tuning& tune) {
  versions_seen seen;
  try {
    asio::io_context io{1};
    asio::co_spawn(io, look(sides, std::string(job_id), tune, seen), asio::detached);
    io.run();
  } catch (const std::exception&) {
    // A look that cannot be made leaves the versions unknown.
  }
  return seen;
}

std::string newer_source_notice(const versions_seen& seen, bool force_struct) {
  if (seen.source.rdb_version == 0 || seen.target.rdb_version == 0 ||
      seen.source.rdb_version <= seen.target.rdb_version) {
    return {};
  }
  return fmt::format(
      "the source ({}) is newer than the target ({}): the target refuses DUMP payloads of RDB "
      "version {}, so {}",
      seen.source.describe(), seen.target.describe(), seen.source.rdb_version,
      force_struct ? "--mode struct copies every key with type commands, as asked"
                   : "ferry copies each key the target cannot RESTORE with type commands "
                     "instead (struct mode: built under a temporary key in the same slot, then "
                     "renamed into place with its expiry); the report counts them under "
                     "by_method.struct and struct_reasons.bad_payload");
}

maybe<std::uint64_t> delete_temp_keys(const inspected_sides& sides, std::string_view job_id,
                                      const tuning& tune) {
  return run_blocking(clean(sides, std::string(job_id), tune));
}

}  // namespace ferry::engine
