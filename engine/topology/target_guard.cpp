#include "engine/topology/target_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <charconv>
#include <random>
#include <set>

#include "engine/runtime/pauses.hpp"
#include "protocol/net/discovery.hpp"
#include "protocol/wire/info.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// Marks on a target that is one endpoint: spread over the slots, so that a proxy's internal
/// shards each hold some.
constexpr std::uint16_t endpoint_marks = 16;

/// The run id recorded for a mark whose slot moved to another node (never a real run id).
constexpr const char* moved_owner = "?";

std::string mark_key(std::uint16_t slot, const std::string& job_id) {
  return fmt::format("{}{{{}}}:{}", mark_prefix, protocol::hash_tag_for(slot), job_id);
}

std::uint64_t generation_of(const protocol::reply& r) {
  if (r.kind != protocol::reply_kind::string) return 0;
  std::uint64_t g = 0;
  const auto text = r.text();
  std::from_chars(text.data(), text.data() + text.size(), g);
  return g;
}

}  // namespace

std::vector<target_mark> marks_for(const protocol::topology& map, const std::string& job_id) {
  std::vector<target_mark> marks;
  if (map.is_cluster()) {
    for (const auto& master : map.masters()) {
      if (master.slots.empty()) continue;
      const std::uint16_t slot = master.slots.front().start;
      marks.push_back({mark_key(slot, job_id), slot, master.where.address(), {}});
    }
  } else {
    for (std::uint16_t i = 0; i < endpoint_marks; ++i) {
      const auto slot = static_cast<std::uint16_t>(i * (protocol::slot_count / endpoint_marks));
      marks.push_back({mark_key(slot, job_id), slot, map.masters().front().where.address(), {}});
    }
  }
  return marks;
}

std::string new_job_id() {
  std::random_device random;
  const std::uint64_t id = (std::uint64_t{random()} << 32) | random();
  return fmt::format("{:016x}", id);
}

target_guard::target_guard(protocol::connection_options seed, protocol::topology map,
                           std::string job_id, std::vector<target_mark> known)
    : seed_(std::move(seed)), map_(std::move(map)) {
  // Short deadlines: a look is a side check; the writers report a dead node themselves.
  seed_.connect_timeout = std::min(seed_.connect_timeout, std::chrono::milliseconds{5'000});
  seed_.io_timeout = std::min(seed_.io_timeout, std::chrono::milliseconds{5'000});
  marks_ = known.empty() ? marks_for(map_, job_id) : std::move(known);
}

target_guard::~target_guard() = default;

template <class T>
T target_guard::run(asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  io_.restart();
  io_.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

asio::awaitable<maybe<protocol::connection*>> target_guard::node(const protocol::endpoint& where) {
  auto& kept = open_[where.address()];
  if (!kept || !kept->is_open()) {
    kept = std::make_unique<protocol::connection>(io_.get_executor(),
                                                  protocol::at_node(seed_, where.host, where.port));
    if (auto ec = co_await kept->connect()) {
      co_return protocol::failure{
          ec, fmt::format("target {}: {}", where.address(), kept->last_error())};
    }
  } else if (kept->login_outdated()) {
    if (auto ec = co_await kept->reauth()) {
      kept->close();
      co_return protocol::failure{ec, kept->last_error()};
    }
  }
  co_return kept.get();
}

asio::awaitable<maybe<void>> target_guard::exec_at(const protocol::endpoint& where,
                                                   protocol::command_buffer& commands,
                                                   std::vector<protocol::reply>& replies) {
  // A few tries, a little apart: this look decides whether a whole job may end complete, and a
  // connection closed under it (a server dropping clients whose access token expired, a
  // restart's first seconds) says nothing yet about what the node holds.
  constexpr int attempts = 5;
  auto pause = std::chrono::milliseconds{100};
  for (int attempt = 1;; ++attempt) {
    auto c = co_await node(where);
    if (c) {
      const auto ec = co_await (*c)->exec(commands, replies);
      if (!ec) co_return maybe<void>{};
      // exec closed the broken connection: node() opens a new one.
      if (attempt == attempts) co_return protocol::failure{ec, (*c)->last_error()};
    } else if (attempt == attempts) {
      co_return c.error();
    }
    co_await sleep_for(pause);
    pause *= 2;
  }
}

asio::awaitable<maybe<void>> target_guard::refresh_owners() {
  if (!map_.is_cluster()) co_return maybe<void>{};
  protocol::failure last{make_error_code(errc::clusterdown), "no target node answers"};
  std::vector<protocol::endpoint> candidates{seed_.where};
  for (const auto& master : map_.masters()) candidates.push_back(master.where);
  for (const auto& where : candidates) {
    auto c = co_await node(where);
    if (!c) {
      last = c.error();
      continue;
    }
    auto facts = co_await protocol::discover(**c);
    if (!facts) {
      last = facts.error();
      continue;
    }
    map_ = std::move(facts->map);
    for (auto& mark : marks_) {
      if (auto owner = map_.master_of(mark.slot)) {
        const std::string address = map_.masters()[*owner].where.address();
        if (address != mark.node) {
          // A new owner (a failover, a resharding) counts as a restart: it may lack keys its
          // predecessor acknowledged. Its mark is read at the next look.
          mark.node = address;
          if (!mark.run_id.empty()) mark.run_id = moved_owner;
        }
      }
    }
    co_return maybe<void>{};
  }
  co_return last;
}

asio::awaitable<maybe<std::string>> target_guard::run_id_of(const std::string& address) {
  protocol::endpoint where = seed_.where;
  const auto colon = address.rfind(':');
  where.host = address.substr(0, colon);
  if (where.host.size() > 1 && where.host.front() == '[') {
    where.host = where.host.substr(1, where.host.size() - 2);
  }
  where.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
  protocol::command_buffer commands;
  commands.push({"INFO", "server"});
  std::vector<protocol::reply> replies;
  if (auto done = co_await exec_at(where, commands, replies); !done) co_return done.error();
  if (replies[0].is_error()) {
    co_return fail_with(protocol::classify_error_reply(replies[0].text()),
                        fmt::format("target {}: INFO refused: {}", address, replies[0].text()));
  }
  co_return std::string(protocol::info_text(replies[0].text(), "run_id"));
}

asio::awaitable<maybe<std::vector<protocol::reply>>> target_guard::on_owner(
    const target_mark& mark, protocol::command_buffer& commands) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    protocol::endpoint where = seed_.where;
    const auto colon = mark.node.rfind(':');
    where.host = mark.node.substr(0, colon);
    if (where.host.size() > 1 && where.host.front() == '[') {
      where.host = where.host.substr(1, where.host.size() - 2);
    }
    where.port = static_cast<std::uint16_t>(std::stoi(mark.node.substr(colon + 1)));
    std::vector<protocol::reply> replies;
    if (auto done = co_await exec_at(where, commands, replies); !done) co_return done.error();
    const bool moved = std::any_of(replies.begin(), replies.end(), [](const protocol::reply& r) {
      return r.is_error() && protocol::classify_error_reply(r.text()) == errc::moved;
    });
    if (!moved) co_return replies;
    if (auto refreshed = co_await refresh_owners(); !refreshed) co_return refreshed.error();
  }
  co_return fail_with(errc::moved, fmt::format("target: the slot of {} keeps moving", mark.key));
}

asio::awaitable<maybe<void>> target_guard::write_marks(std::uint64_t generation) {
  if (auto refreshed = co_await refresh_owners(); !refreshed) co_return refreshed.error();
  const std::string value = std::to_string(generation);
  for (auto& mark : marks_) {
    // The run id first, then the mark, on the same connection: the process that answered is the
    // one that holds it. A node that restarted since the last look must be checked, not marked
    // over (the old mark is the evidence).
    auto id = co_await run_id_of(mark.node);
    if (!id) co_return id.error();
    if (!mark.run_id.empty() && *id != mark.run_id) {
      co_return fail_with(errc::connection_closed,
                          fmt::format("target node {} restarted (run id changed) before this job "
                                      "could mark it",
                                      mark.node));
    }
    protocol::command_buffer commands;
    commands.push({"SET", mark.key, value});
    auto replies = co_await on_owner(mark, commands);
    if (!replies) co_return replies.error();
    if ((*replies)[0].is_error()) {
      const std::string_view refusal = (*replies)[0].text();
      const protocol::errc kind = protocol::classify_error_reply(refusal);
      // The same words as a key's write refused for memory: which write ran into it first is
      // chance.
      const std::string_view state = kind == errc::oom ? " is out of memory" : "";
      co_return fail_with(
          kind,
          fmt::format("target {}{}: cannot write ferry's mark {} (SET refused: {}){}", mark.node,
                      state, mark.key, refusal, protocol::refusal_advice(kind, refusal)));
    }
    mark.run_id = *id;
  }
  co_return maybe<void>{};
}

asio::awaitable<maybe<std::optional<target_loss>>> target_guard::look(std::uint64_t expected) {
  if (auto refreshed = co_await refresh_owners(); !refreshed) co_return refreshed.error();
  std::optional<target_loss> loss;
  for (auto& mark : marks_) {
    // Every look reads the mark, also on a node whose process kept running: FLUSHALL, FLUSHDB,
    // eviction under maxmemory or another client's DEL take keys without a restart. The run id
    // in the same pipeline: the process that answered the GET is the one it names, even when
    // the connection was opened again in between (a node restarting under the look).
    protocol::command_buffer commands;
    commands.push({"INFO", "server"});
    commands.push({"GET", mark.key});
    auto replies = co_await on_owner(mark, commands);
    if (!replies) co_return replies.error();
    if ((*replies)[0].is_error()) {
      co_return fail_with(protocol::classify_error_reply((*replies)[0].text()),
                          fmt::format("target {}: INFO refused: {}", mark.node,
                                      (*replies)[0].text()));
    }
    const std::string id(protocol::info_text((*replies)[0].text(), "run_id"));
    const bool same_process = !mark.run_id.empty() && id == mark.run_id;
    replies->erase(replies->begin());
    if ((*replies)[0].is_error()) {
      const std::string_view refusal = (*replies)[0].text();
      const protocol::errc kind = protocol::classify_error_reply(refusal);
      co_return fail_with(
          kind, fmt::format("target {}: cannot read ferry's mark {} (GET refused: "
                            "{}){}",
                            mark.node, mark.key, refusal, protocol::refusal_advice(kind, refusal)));
    }
    const std::uint64_t holds = generation_of((*replies)[0]);
    const bool restarted = !mark.run_id.empty() && !same_process;
    mark.run_id = id;
    // A node that kept running, or is seen for the first time (a resumed job, or a new owner),
    // lost nothing when it holds the expected generation; a node that restarted under a running
    // job may have lost the keys written since its mark, whatever the mark says.
    if (!restarted && holds >= expected) continue;
    if (restarted && expected == 0) continue;
    const std::string what = restarted      ? "restarted (its run id changed)"
                             : same_process ? "kept running but lost keys (FLUSHALL, FLUSHDB, "
                                              "eviction under maxmemory, or another client)"
                                            : "changed";
    if (!loss || holds < loss->holds) {
      loss = target_loss{
          mark.node, std::min(holds, expected),
          holds == 0
              ? fmt::format("target node {} {} and no longer holds this job's mark {}: {}",
                            mark.node, what, mark.key,
                            same_process ? "the keys ferry had written there were deleted"
                                         : "it came back without the keys ferry had written there")
              : fmt::format("target node {} {} and holds this job's keys only as of checkpoint "
                            "{} of {}: keys written since may be lost",
                            mark.node, what, holds, expected)};
    }
  }
  co_return loss;
}

asio::awaitable<maybe<void>> target_guard::delete_marks() {
  if (auto refreshed = co_await refresh_owners(); !refreshed) co_return refreshed.error();
  for (const auto& mark : marks_) {
    protocol::command_buffer commands;
    commands.push({"DEL", mark.key});
    auto replies = co_await on_owner(mark, commands);
    if (!replies) co_return replies.error();
  }
  co_return maybe<void>{};
}

maybe<void> target_guard::mark(std::uint64_t generation) { return run(write_marks(generation)); }

maybe<std::optional<target_loss>> target_guard::check(std::uint64_t expected) {
  return run(look(expected));
}

maybe<void> target_guard::unmark() { return run(delete_marks()); }

}  // namespace ferry::engine
