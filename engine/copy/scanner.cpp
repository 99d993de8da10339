// The scanner: one SCAN cursor per source master.

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <iterator>

#include "engine/copy/copy_extension.hpp"
#include "engine/copy/shard.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

void scan_command(protocol::command_buffer& commands, const copy_config& config,
                  std::uint64_t cursor) {
  const bool match = !config.match.empty();
  const bool type = !config.type.empty();
  commands.clear();
  commands.begin(4 + (match ? 2 : 0) + (type ? 2 : 0));
  commands.arg("SCAN");
  commands.arg(static_cast<std::int64_t>(cursor));
  commands.arg("COUNT");
  commands.arg(static_cast<std::int64_t>(config.tune.scan_count));
  if (match) {
    commands.arg("MATCH");
    commands.arg(config.match);
  }
  if (type) {
    commands.arg("TYPE");
    commands.arg(config.type);
  }
}

}  // namespace

asio::awaitable<void> scan_shard(shard_context& shard, key_channel& out, event_channel& events,
                                 unsigned readers) {
  auto executor = co_await asio::this_coro::executor;
  link source(executor, shard.source, shard.config.tune, shard.control,
              shard.meters != nullptr ? &shard.meters->source : nullptr);
  std::uint64_t retries_seen = 0;
  protocol::command_buffer commands;
  std::vector<protocol::reply> replies;
  std::uint64_t cursor = shard.start_cursor;
  std::uint64_t seq = 0;
  // A job built on the copy (ferry sync) subscribes to the shard's events before its first SCAN,
  // so that no write falls between the scan and the subscription.
  copy_extension* extension = shard.config.extension;
  bool go = !shard.scanned;
  if (go && extension != nullptr) go = co_await extension->before_scan(shard);
  while (go) {
    if (shard.control.stopping()) break;
    scan_command(commands, shard.config, cursor);
    if (auto done = co_await source.exec(commands, replies); !done) {
      shard.control.fail(
          {done.error().code, fmt::format("scanning the source: {}", done.error().message)});
      break;
    }
    // The link counts since it was made: only what is new since the last call.
    shard_counters::add(shard.counters.retries, source.retries() - retries_seen);
    retries_seen = source.retries();
    shard.commands.add_scan(1);
    protocol::reply& scan = replies.front();
    if (scan.is_error() || scan.elements.size() != 2) {
      const protocol::errc kind = protocol::classify_error_reply(scan.text());
      shard.control.fail({make_error_code(kind),
                          fmt::format("source {}: SCAN failed: {}{}", shard.label,
                                      scan.is_error() ? scan.text() : "malformed reply",
                                      scan.is_error() ? protocol::refusal_advice(kind, scan.text())
                                                      : std::string{})});
      break;
    }
    std::uint64_t next = 0;
    std::string_view text = scan.elements[0].text();
    std::from_chars(text.data(), text.data() + text.size(), next);

    std::vector<protocol::bytes> keys;
    keys.reserve(scan.elements[1].elements.size());
    for (protocol::reply& key : scan.elements[1].elements) {
      if (shard.slots && !shard.slots->test(protocol::key_slot(key.text()))) continue;
      keys.push_back(std::move(key.str));  // moved: no reference count traffic per key
    }
    shard_counters::add(shard.counters.scanned, keys.size());

    // Parts sized by what the readers learned about payload sizes. The call is announced before
    // its parts leave, so the commit stage knows it before any part can be settled.
    const std::size_t per_part = std::max<std::size_t>(shard.sizing.keys_per_batch(), 1);
    const std::size_t parts = (keys.size() + per_part - 1) / per_part;
    auto [announced] = co_await events.async_send(boost::system::error_code{},
                                                  scan_call{seq, next, keys.size(), parts},
                                                  asio::as_tuple(asio::use_awaitable));
    if (announced) break;
    for (std::size_t at = 0; at < keys.size();) {
      const std::size_t take = std::min(keys.size() - at, per_part);
      key_batch part{seq,
                     {std::make_move_iterator(keys.begin() + at),
                      std::make_move_iterator(keys.begin() + at + take)}};
      at += take;
      auto [ec] = co_await out.async_send(boost::system::error_code{}, std::move(part),
                                          asio::as_tuple(asio::use_awaitable));
      // A part that was not handed over is never settled, so no checkpoint passes it.
      if (ec) break;
    }
    cursor = next;
    ++seq;
    if (cursor == 0) break;
  }
  co_await end_stream(out, readers);
}

}  // namespace ferry::engine
