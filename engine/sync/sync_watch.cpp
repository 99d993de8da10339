// A sync shard's eyes on its source node: the subscriber (with reconnects, a seamless hand-over
// to a renewed token, and the cause of each gap), the INFO commandstats watch (what changes keys
// without a keyspace event), and the probe that proves events arrive where CONFIG is refused.

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/cluster/link.hpp"
#include "engine/copy/shard.hpp"
#include "engine/runtime/backoff.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/task_group.hpp"
#include "engine/sync/sync_shard.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/info.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using clock = std::chrono::steady_clock;

namespace {

/// Commands whose changes publish no keyspace event: FLUSHDB, FLUSHALL and SWAPDB empty or swap
/// whole databases; XACK, XCLAIM, XAUTOCLAIM and XREADGROUP change a stream's consumer groups
/// (pending entries, delivery counts, last ids) silently.
constexpr std::string_view flushes[] = {"flushdb", "flushall", "swapdb"};
constexpr std::string_view group_changes[] = {"xack", "xclaim", "xautoclaim", "xreadgroup"};

/// What tells a restart and an output-buffer kill from other breaks: "run_id obl" (obl empty
/// where the server does not count them; Redis < 7.4).
struct node_state {
  std::string run_id;
  std::optional<std::uint64_t> obl_kills;
};

node_state parse_state(std::string_view text) {
  node_state s;
  const auto space = text.find(' ');
  s.run_id = std::string(text.substr(0, space));
  if (space != std::string_view::npos && space + 1 < text.size()) {
    s.obl_kills = std::stoull(std::string(text.substr(space + 1)));
  }
  return s;
}

}  // namespace

asio::awaitable<std::string> sync_shard::node_facts(shard_context& shard) {
  // Best effort: a node that does not answer now is asked again after the next break.
  protocol::connection info(co_await asio::this_coro::executor, home_.options);
  if (co_await info.connect()) co_return std::string{};
  protocol::command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"INFO", "stats"});
  std::vector<protocol::reply> replies;
  if (co_await info.exec(commands, replies) || replies[0].is_error()) co_return std::string{};
  (void)shard;
  std::string text(protocol::info_text(replies[0].text(), "run_id"));
  if (!replies[1].is_error()) {
    if (auto kills = protocol::info_unsigned(replies[1].text(),
                                             "client_output_buffer_limit_disconnections")) {
      text += fmt::format(" {}", *kills);
    }
  }
  co_return text;
}

asio::awaitable<void> sync_shard::subscribe(shard_context& shard) {
  auto executor = co_await asio::this_coro::executor;
  const protocol::subscriber::push_handler handler = [this](const protocol::push& p) {
    on_push(p);
  };
  backoff retry(std::chrono::milliseconds{50}, std::chrono::milliseconds{2'000},
                settings_.copy.tune.max_retry_time, index_);
  bool first = true;
  std::uint64_t subscribed_version = home_version_;
  std::string before = co_await node_facts(shard);
  std::string last_break;
  while (!stop_) {
    const std::uint64_t version = home_version_;
    auto sub =
        std::make_unique<protocol::subscriber>(executor, home_.options, settings_.ping_interval);
    sub->subscriptions().add_pattern(protocol::event_pattern(settings_.channel, db_));
    current_ = sub.get();
    const auto ec = co_await sub->connect(handler);
    if (ec) {
      current_ = nullptr;
      if (stop_) break;
      const std::string where = home_.options.where.address();
      if (protocol::disposition_of(ec) != protocol::disposition::retry) {
        shard.control.fail({ec, fmt::format("cannot subscribe to keyspace events on the source "
                                            "{}: {}",
                                            where, sub->last_error())});
        break;
      }
      if (version != home_version_) continue;  // a new home: try it at once
      const auto delay = retry.next(backoff::clock::now());
      if (!delay) {
        shard.control.fail({ec, fmt::format("cannot subscribe to keyspace events on the source "
                                            "{} within --max-retry-time: {}; run the same "
                                            "command with --resume once it answers",
                                            where, sub->last_error())});
        break;
      }
      co_await wait_on(*subscribed_, clock::now() + *delay);
      continue;
    }
    retry.reset();
    if (first) {
      // Before the scan starts: the baseline of the commands that change keys without an event,
      // then (where CONFIG is refused) the probe, which needs the subscriber reading.
      co_await sample_stats(shard);
      if (probe_needed_) {
        extra_->spawn(probe_then_release(shard));
      } else {
        release_scan();
      }
      if (settings_.copy.type.empty() || settings_.copy.type == "stream") {
        // The streams that exist now, whose consumer groups may change without an event.
        extra_->spawn(scan_streams(shard));
      }
    } else if (subscribed_version == version) {
      // The same node came back: whatever it published meanwhile is lost, so the shard is
      // reconciled (a new home asked for its reconcile when it was chosen).
      const std::string after = co_await node_facts(shard);
      const node_state was = parse_state(before), now = parse_state(after);
      const std::string where = home_.options.where.address();
      gap_record gap = gap_now("subscriber_lost", "");
      if (!was.run_id.empty() && !now.run_id.empty() && was.run_id != now.run_id) {
        gap.cause = "restart";
        gap.detail = fmt::format(
            "the source node {} restarted (its run id changed); the events "
            "of its writes since the subscriber's connection broke are lost",
            where);
      } else if (was.obl_kills && now.obl_kills && *now.obl_kills > *was.obl_kills) {
        gap.cause = "output_buffer";
        gap.detail = fmt::format(
            "the source node {} closed ferry's subscriber because its pub/sub output buffer "
            "passed client-output-buffer-limit pubsub (events came faster than ferry read "
            "them): {}; raise the limit on the source if this repeats",
            where, last_break);
      } else {
        gap.detail = fmt::format(
            "the subscriber's connection to {} broke ({}): a CLIENT KILL, the pub/sub "
            "output-buffer limit (client-output-buffer-limit pubsub), a network fault or a "
            "restart",
            where, last_break);
      }
      request_reconcile(slots_, std::move(gap));
      before = after;
      release_scan();
    } else {
      before = co_await node_facts(shard);
      release_scan();
    }
    first = false;
    subscribed_version = version;
    for (;;) {
      if (!renewing_ && home_.options.login) {
        renewing_ = true;
        extra_->spawn(renew(shard));
      }
      co_await sub->run(handler);
      last_break = sub->last_error();
      if (handover_ && !stop_ && version == home_version_) {
        // A renewed token: the new subscriber was subscribed before this one closed, so no
        // event fell between them.
        sub = std::move(handover_);
        current_ = sub.get();
        continue;
      }
      break;
    }
    current_ = nullptr;
    handover_.reset();
    stats_.subscribed = false;
  }
}

asio::awaitable<void> sync_shard::renew(shard_context& shard) {
  // RESP2 allows no AUTH on a subscribed connection: a renewed token (Entra ID) gets a new
  // subscriber, subscribed before the old one closes.
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer tick(executor);
  const protocol::subscriber::push_handler handler = [this](const protocol::push& p) {
    on_push(p);
  };
  while (!stop_) {
    tick.expires_after(std::chrono::seconds{1});
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stop_ || current_ == nullptr || handover_ || !current_->login_outdated()) continue;
    auto next =
        std::make_unique<protocol::subscriber>(executor, home_.options, settings_.ping_interval);
    next->subscriptions().add_pattern(protocol::event_pattern(settings_.channel, db_));
    if (co_await next->connect(handler)) continue;  // tried again in a second
    if (stop_ || current_ == nullptr) break;
    handover_ = std::move(next);
    current_->close();
  }
  renewing_ = false;
  (void)shard;
}

void sync_shard::release_scan() {
  stats_.subscribed = true;
  wake(*subscribed_);
}

asio::awaitable<void> sync_shard::probe_then_release(shard_context& shard) {
  const bool proved = co_await probe(shard);
  if (proved) release_scan();
}

asio::awaitable<bool> sync_shard::sample_stats(shard_context& shard) {
  if (stats_refused_) co_return false;
  if (!stats_connection_ || !stats_connection_->is_open() ||
      stats_connection_->where().address() != home_.options.where.address()) {
    stats_connection_ =
        std::make_unique<protocol::connection>(co_await asio::this_coro::executor, home_.options);
    if (co_await stats_connection_->connect()) co_return false;
  }
  protocol::command_buffer commands;
  commands.push({"INFO", "commandstats"});
  std::vector<protocol::reply> replies;
  if (co_await stats_connection_->exec(commands, replies)) co_return false;
  if (replies[0].is_error()) {
    stats_refused_ = true;
    shard.warnings.add(fmt::format(
        "source {} refuses INFO commandstats ({}): ferry sync cannot notice FLUSHDB, FLUSHALL, "
        "SWAPDB or consumer-group changes (XACK, XCLAIM, XREADGROUP) there, which publish no "
        "keyspace event; run `ferry verify` before cutting over",
        home_.options.where.address(), replies[0].text()));
    co_return false;
  }
  std::map<std::string, std::uint64_t> calls;
  for (const auto& stat : protocol::parse_commandstats(replies[0].text())) {
    calls[stat.name] = stat.calls;
  }
  if (last_calls_) {
    const auto count = [](const std::map<std::string, std::uint64_t>& m, std::string_view name) {
      auto it = m.find(std::string(name));
      return it == m.end() ? std::uint64_t{0} : it->second;
    };
    const std::string where = home_.options.where.address();
    bool reset = false;
    for (const auto& [name, before] : *last_calls_) reset = reset || count(calls, name) < before;
    if (reset) {
      request_reconcile(
          slots_,
          gap_now("stats_reset", fmt::format("the command counts of {} went down (CONFIG "
                                             "RESETSTAT or a restart): a FLUSHDB or SWAPDB may "
                                             "have gone unseen",
                                             where)));
    } else {
      for (const auto name : flushes) {
        const auto n = count(calls, name) - count(*last_calls_, name);
        if (n == 0) continue;
        std::string upper(name);
        for (auto& c : upper) c = static_cast<char>(c - 32);
        request_reconcile(slots_,
                          gap_now(std::string(name),
                                  fmt::format("{} ran {} time(s) on {}: it changes keys without "
                                              "keyspace events",
                                              upper, n, where)));
      }
      for (const auto name : group_changes) {
        if (count(calls, name) != count(*last_calls_, name)) sweep_pending_ = true;
      }
      if (sweep_pending_) publish();
      if (sweep_pending_ && reconciler_) wake(*reconciler_);
    }
  }
  last_calls_ = std::move(calls);
  co_return true;
}

asio::awaitable<void> sync_shard::watch_stats(shard_context& shard) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  std::uint64_t version = home_version_;
  while (!stop_) {
    tick.expires_after(settings_.stats_interval);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stop_) continue;
    if (stats_refused_) {
      ++stats_.samples;
      continue;
    }
    if (version != home_version_) {
      // Another node's counts start from elsewhere: its first sample is a new baseline.
      version = home_version_;
      last_calls_.reset();
    }
    if (!last_calls_ && !stats_.subscribed) continue;  // the subscriber takes the first baseline
    co_await sample_stats(shard);
    ++stats_.samples;
  }
}

asio::awaitable<bool> sync_shard::probe(shard_context& shard) {
  // Written on the master (a replica takes no writes); their events come back on the home
  // subscriber, which is subscribed by now. Deleted in every case.
  const std::uint16_t slot = [&] {
    for (std::size_t s = 0; s < protocol::slot_count; ++s) {
      if (slots_.test(s)) return static_cast<std::uint16_t>(s);
    }
    return std::uint16_t{0};
  }();
  const std::string tag = settings_.filter_slots ? "{" + protocol::hash_tag_for(slot) + "}" : "";
  const std::string key = fmt::format("{}{}:{}", probe_prefix, tag, settings_.job_id);
  const std::string expiring = key + ":x";
  protocol::connection_options options =
      protocol::at_node(home_.options, home_.master.host, home_.master.port);
  options.readonly = false;
  link master(co_await asio::this_coro::executor, options, settings_.copy.tune, shard.control);
  probing_ = true;
  probe_seen_.clear();
  protocol::command_buffer writes;
  writes.push({"SET", key, "1"});
  writes.push({"PEXPIRE", key, "100000"});
  writes.push({"DEL", key});
  writes.push({"HSET", key, "f", "v"});
  writes.push({"DEL", key});
  writes.push({"RPUSH", key, "a"});
  writes.push({"DEL", key});
  writes.push({"SADD", key, "a"});
  writes.push({"DEL", key});
  writes.push({"ZADD", key, "1", "a"});
  writes.push({"DEL", key});
  writes.push({"XADD", key, "*", "f", "v"});
  writes.push({"DEL", key});
  writes.push({"SET", expiring, "1", "PX", "1"});
  std::vector<protocol::reply> replies;
  std::string refused;
  if (auto done = co_await master.exec(writes, replies); !done) {
    refused = done.error().message;
  } else {
    for (const auto& r : replies) {
      if (r.is_error() && refused.empty()) refused = std::string(r.text());
    }
  }
  struct expected {
    const std::string* key;
    std::string_view event;
    char flag;
  };
  const expected wanted[] = {
      {&key, "set", '$'},  {&key, "expire", 'g'}, {&key, "del", 'g'},
      {&key, "hset", 'h'}, {&key, "rpush", 'l'},  {&key, "sadd", 's'},
      {&key, "zadd", 'z'}, {&key, "xadd", 't'},   {&expiring, "expired", 'x'}};
  const auto seen = [&](const expected& e) {
    if (probe_seen_.contains({*e.key, std::string(e.event)})) return true;
    // A replica learns of the master's expiry as a DEL.
    return e.flag == 'x' && home_.replica && probe_seen_.contains({*e.key, "del"});
  };
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto deadline = clock::now() + std::chrono::seconds{3};
  std::string missing;
  if (refused.empty()) {
    for (;;) {
      // Touching the expired key makes the master delete it, which publishes "expired".
      protocol::command_buffer touch;
      touch.push({"EXISTS", expiring});
      co_await master.exec(touch, replies);
      missing.clear();
      // In the order notify-keyspace-events lists its classes.
      for (const char flag : protocol::change_classes) {
        for (const auto& e : wanted) {
          if (e.flag == flag && !seen(e) && missing.find(flag) == std::string::npos) {
            missing += flag;
          }
        }
      }
      if (missing.empty() || clock::now() >= deadline || shard.control.stopping()) break;
      tick.expires_after(std::chrono::milliseconds{20});
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  protocol::command_buffer cleanup;
  cleanup.push({"DEL", key, expiring});
  co_await master.exec(cleanup, replies);
  probing_ = false;
  const std::string where = home_.options.where.address();
  if (!refused.empty()) {
    shard.control.fail(fail_with(
        errc::no_permission,
        fmt::format("the source {} refuses CONFIG, so ferry sync proves that keyspace events "
                    "arrive by writing and deleting probe keys ({}...), and the source refused "
                    "that: {}; allow ferry's source user ~{}* with +set +pexpire +del +hset "
                    "+rpush +sadd +zadd +xadd +exists, or allow +config|get",
                    where, probe_prefix, refused, probe_prefix)));
    co_return false;
  }
  if (!missing.empty()) {
    shard.control.fail(fail_with(
        errc::server_error,
        fmt::format("keyspace events do not arrive from the source {} for the classes '{}' "
                    "(probe keys were written and deleted; CONFIG is refused there, so the "
                    "setting cannot be read): ferry sync needs notify-keyspace-events to include "
                    "'{}' — on Azure Cache for Redis set it in the portal (Advanced settings → "
                    "Keyspace notifications) to KA, or KEA",
                    where, missing, protocol::sync_notification_flags)));
    co_return false;
  }
  shard.warnings.add(fmt::format(
      "source {} refuses CONFIG: probe keys proved that keyspace events arrive for every class "
      "ferry sync needs except e (evicted) and d (module types), which cannot be provoked; if the "
      "source evicts keys (a maxmemory-policy other than noeviction), make sure "
      "notify-keyspace-events includes 'e' (KA includes it)",
      where));
  co_return true;
}

}  // namespace ferry::engine
