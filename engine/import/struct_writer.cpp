#include "engine/import/struct_writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "engine/import/struct_events.hpp"
#include "engine/runtime/pauses.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
namespace rdb = protocol::rdb;
using protocol::errc;
using protocol::reply;

namespace {

/// The first reply the driver handles itself (a redirect, or "not now"), or null.
const reply* surprise_in(std::span<const reply> replies) {
  for (const reply& r : replies) {
    if (!r.is_error()) continue;
    const errc kind = protocol::classify_error_reply(r.text());
    if (kind == errc::moved || kind == errc::ask ||
        protocol::disposition_of(kind) == protocol::disposition::retry) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace

payload_events::payload_events(std::string_view payload, rdb::decode_options options)
    : payload_(payload), options_(options) {
  rewind();
}

bool payload_events::rewind() {
  decoder_.reset();
  error_.reset();
  auto made = rdb::value_decoder::from_payload(payload_, options_);
  if (made) {
    decoder_.emplace(std::move(*made));
  } else {
    error_ = made.error();
  }
  return true;
}

rdb::result<const rdb::value_event*> payload_events::next() {
  if (error_) return *error_;
  return decoder_->next();
}

rebuild_caps import_caps(const protocol::server_facts& target) {
  const auto at_least = [&](int major, int minor) {
    return target.major_version > major ||
           (target.major_version == major && target.minor_version >= minor);
  };
  rebuild_caps caps;
  caps.target_pexpiretime = at_least(7, 0);
  caps.target_field_ttls = at_least(7, 4);
  caps.target_stream_v2 = at_least(7, 0);
  caps.target_createconsumer = at_least(6, 2);
  return caps;
}

struct_writer::struct_writer(asio::any_io_executor executor, slot_router& router,
                             const tuning& tune, job_control& control,
                             const struct_settings& settings, rate_limiter& limiter)
    : router_(router),
      tune_(tune),
      control_(control),
      settings_(settings),
      limiter_(limiter),
      targets_(executor, router.seed(), tune, control),
      pause_(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000}, tune.max_retry_time,
             std::random_device{}()) {}

bool struct_writer::small(std::size_t payload_bytes) const noexcept {
  const bool keep =
      settings_.policy == existing_policy::skip || settings_.policy == existing_policy::fail;
  return !keep && payload_bytes != 0 && payload_bytes <= settings_.sizes.whole_bytes;
}

asio::awaitable<maybe<void>> struct_writer::write_small(std::span<const small_key> keys,
                                                        std::vector<rebuild_outcome>& outcomes) {
  outcomes.assign(keys.size(), rebuild_outcome{});
  std::vector<std::optional<event_rebuild>> machines(keys.size());
  std::vector<std::uint32_t> alone;  // written one by one afterwards
  std::map<std::size_t, std::vector<std::uint32_t>> by_master;
  const protocol::topology& map = router_.map();
  for (std::uint32_t i = 0; i < keys.size(); ++i) {
    const small_key& k = keys[i];
    const std::uint16_t slot = protocol::key_slot(k.key);
    event_rebuild& m = machines[i].emplace(
        event_rebuild::params{k.key, slot, k.expire_at_ms, k.payload.size(), false,
                              temp_key_prefix(slot, settings_.job_id, keys_++), unix_ms()},
        settings_.caps, settings_.sizes);
    payload_events events(k.payload);
    // A small value's events end in its one transaction (or in a failure): bounded by its size.
    while (m.step() == event_step::events) {
      auto event = events.next();
      if (!event) {
        m.give_up(errc::bad_payload,
                  fmt::format("its value cannot be decoded: {}", event.error().message), false);
      } else if (*event == nullptr) {
        m.give_up(errc::bad_payload, "its value's events ended before its end", false);
      } else {
        m.take_event(**event);
      }
    }
    if (m.step() == event_step::done) {
      if (m.outcome().end == rebuild_end::fatal) {
        co_return fail_with(m.outcome().error, m.outcome().detail);
      }
      outcomes[i] = m.outcome();
      continue;
    }
    const auto master = map.master_of(slot);
    if (!m.whole_step() || !master) {
      alone.push_back(i);
      continue;
    }
    by_master[*master].push_back(i);
  }
  // The nodes are picked before any write: the map may be refreshed while a round waits.
  std::vector<std::pair<link*, std::vector<std::uint32_t>>> plan;
  for (auto& [m, group] : by_master) {
    plan.emplace_back(&targets_.to(map.masters()[m].where), std::move(group));
  }
  protocol::command_buffer commands;
  std::vector<std::size_t> counts;
  std::vector<reply> mine;
  for (auto& [node, group] : plan) {
    if (control_.stopping()) {
      co_return fail_with(job_error::stopped, "stopped while keys were written in struct mode");
    }
    if (auto opened = co_await node->open(); !opened) {
      co_return protocol::failure{opened.error().code,
                                  fmt::format("writing to the target: {}", opened.error().message)};
    }
    commands.clear();
    counts.clear();
    for (const std::uint32_t i : group) counts.push_back(machines[i]->encode_whole(commands));
    const auto broken = co_await node->exec_once(commands, replies_);
    if (broken && protocol::disposition_of(broken) != protocol::disposition::retry) {
      co_return protocol::failure{
          broken, fmt::format("writing to the target: {}", node->connection().last_error())};
    }
    std::size_t at = 0;
    for (std::size_t k = 0; k < group.size(); ++k) {
      const std::uint32_t i = group[k];
      if (at + counts[k] > replies_.size()) {
        alone.push_back(i);  // its transaction may or may not have run: written again
        continue;
      }
      mine.assign(
          std::make_move_iterator(replies_.begin() + static_cast<std::ptrdiff_t>(at)),
          std::make_move_iterator(replies_.begin() + static_cast<std::ptrdiff_t>(at + counts[k])));
      at += counts[k];
      if (surprise_in(mine) != nullptr) {
        alone.push_back(i);
        continue;
      }
      event_rebuild& m = *machines[i];
      m.take(mine);
      if (m.step() != event_step::done) {
        alone.push_back(i);
        continue;
      }
      if (m.outcome().end == rebuild_end::fatal) {
        co_return fail_with(m.outcome().error, m.outcome().detail);
      }
      outcomes[i] = m.outcome();
    }
    if (broken && !co_await node->pause_before_retry()) {
      co_return fail_with(errc::timeout,
                          fmt::format("writing to the target: {} (gave up after retrying)",
                                      node->connection().last_error()));
    }
  }
  if (limiter_.active()) {
    std::uint64_t bytes = 0;
    for (const auto& o : outcomes) bytes += o.bytes;
    co_await pause_for(limiter_.take(keys.size() - alone.size(), bytes, rate_limiter::clock::now()),
                       control_);
  }
  // The rest one by one, each with its own retries (a redirect refreshes the map there).
  std::sort(alone.begin(), alone.end());
  for (const std::uint32_t i : alone) {
    payload_events events(keys[i].payload);
    auto written =
        co_await write(keys[i].key, keys[i].expire_at_ms, keys[i].payload.size(), events);
    if (!written) co_return written.error();
    outcomes[i] = *written;
  }
  co_return outcome{};
}

asio::awaitable<maybe<rebuild_outcome>> struct_writer::write(std::string_view key,
                                                             std::int64_t expire_at_ms,
                                                             std::uint64_t size_hint,
                                                             event_source& events) {
  const std::uint16_t slot = protocol::key_slot(key);
  const bool keep =
      settings_.policy == existing_policy::skip || settings_.policy == existing_policy::fail;
  event_rebuild machine({std::string(key), slot, expire_at_ms, size_hint, keep,
                         temp_key_prefix(slot, settings_.job_id, keys_++), unix_ms()},
                        settings_.caps, settings_.sizes);
  // A surprise on the target: the key starts again from its first event, or (a value streamed
  // from the file, which is read once) is failed with what to do.
  std::uint64_t charged = 0;  // value bytes already charged to the rate limiter
  const auto again = [&](std::string what) -> asio::awaitable<void> {
    ++restarts_;
    const std::string temp = machine.temp_key();
    const bool wrote = machine.temp_written();
    machine.start_again();
    if (machine.step() == event_step::done) co_return;  // too many attempts: fatal
    if (!events.rewind()) {
      machine.give_up(
          errc::timeout,
          fmt::format(
              "{} while this value was being written in pieces (it is streamed from the file, "
              "being over the payload limit, and the file is read once){}; nothing was written "
              "under the key's name: import it again (`ferry import` of the file with "
              "--on-existing skip keeps the keys already there), or raise --max-inflight-bytes "
              "above twice its size so that it is held in memory and can be started again",
              what,
              wrote ? fmt::format(": the partial copy {} expires within {} s", temp,
                                  settings_.sizes.temp_ttl.count() / 1000)
                    : ""),
          false);
    }
    co_return;
  };
  for (;;) {
    if (control_.stopping()) {
      co_return fail_with(job_error::stopped, "stopped while a key was written in struct mode");
    }
    switch (machine.step()) {
      case event_step::done:
        if (machine.outcome().end == rebuild_end::fatal) {
          co_return fail_with(machine.outcome().error, machine.outcome().detail);
        }
        co_return machine.outcome();
      case event_step::events: {
        auto event = events.next();
        if (!event) {
          machine.give_up(errc::bad_payload,
                          fmt::format("its value cannot be decoded: {}", event.error().message),
                          true);
        } else if (*event == nullptr) {
          machine.give_up(errc::bad_payload, "its value's events ended before its end", true);
        } else {
          machine.take_event(**event);
        }
        continue;
      }
      case event_step::target:
        break;
    }
    const protocol::topology& map = router_.map();
    const auto master = map.master_of(slot);
    if (!master) {
      // A slot without an owner: ask for the map again.
      if (auto done = co_await router_.refresh(); !done) co_return done.error();
      co_await again(fmt::format("the target's slot {} had no owner", slot));
      continue;
    }
    link& node = targets_.to(map.masters()[*master].where);
    if (auto opened = co_await node.open(); !opened) {
      co_return protocol::failure{opened.error().code,
                                  fmt::format("writing to the target: {}", opened.error().message)};
    }
    const std::size_t expected = machine.expected_replies();
    const auto broken = co_await node.exec_once(machine.commands(), replies_);
    if (broken || replies_.size() < expected) {
      if (broken && protocol::disposition_of(broken) != protocol::disposition::retry) {
        co_return protocol::failure{
            broken, fmt::format("writing to the target: {}", node.connection().last_error())};
      }
      const std::string what = fmt::format("the connection to the target {} broke", node.address());
      co_await again(what);
      if (broken && !co_await node.pause_before_retry()) {
        co_return fail_with(errc::timeout,
                            fmt::format("writing to the target: {} (gave up after retrying)",
                                        node.connection().last_error()));
      }
      continue;
    }
    if (const reply* bad = surprise_in(replies_); bad != nullptr) {
      const errc kind = protocol::classify_error_reply(bad->text());
      const std::string what =
          fmt::format("the target {} answered '{}'", node.address(), bad->text());
      if (kind == errc::moved) {
        if (auto done = co_await router_.refresh(); !done) co_return done.error();
      } else {
        const auto delay = pause_.next(backoff::clock::now());
        if (!delay) {
          co_return fail_with(errc::timeout,
                              fmt::format("target: a key could not be written in struct mode "
                                          "within --max-retry-time ({})",
                                          what));
        }
        co_await sleep_for(*delay);
      }
      co_await again(what);
      continue;
    }
    pause_.reset();
    const unsigned attempts = machine.attempts();
    machine.take(replies_);
    if (limiter_.active()) {
      // The rate limits hold for a value written in chunks too: waited out after each step.
      const std::uint64_t built = machine.outcome().bytes;
      const std::uint64_t sent = built > charged ? built - charged : 0;
      charged = built;
      co_await pause_for(limiter_.take(machine.step() == event_step::done ? 1 : 0, sent,
                                       rate_limiter::clock::now()),
                         control_);
    }
    if (machine.attempts() != attempts && machine.step() != event_step::done && !events.rewind()) {
      // The temporary key vanished before its rename (it expired, or a failover lost it).
      machine.give_up(errc::timeout,
                      "its temporary key vanished from the target before it was renamed into "
                      "place, and the value (streamed from the file) cannot be read again: "
                      "import it again (`ferry import` with --on-existing skip)",
                      false);
    }
  }
}

}  // namespace ferry::engine
