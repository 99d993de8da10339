#include "engine/verify/repair.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/runtime/wall_clock.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using protocol::command_buffer;
using protocol::reply;

namespace {

/// Keys re-copied per round trip: few, because each may carry a large payload.
constexpr std::size_t keys_per_group = 16;

}  // namespace

asio::awaitable<maybe<repair_results>> repair_keys(routed_side& source, routed_side& target,
                                                   std::span<const bytes> keys,
                                                   bool source_pexpiretime) {
  repair_results results(keys.size());
  std::vector<reply> dumps, answers;
  for (std::size_t first = 0; first < keys.size(); first += keys_per_group) {
    const auto group = keys.subspan(first, std::min(keys_per_group, keys.size() - first));
    const key_encoder read = [&](std::size_t i, command_buffer& c) {
      c.begin(2);
      c.arg("DUMP");
      c.arg_ref(group[i]);
      c.begin(2);
      c.arg(source_pexpiretime ? "PEXPIRETIME" : "PTTL");
      c.arg_ref(group[i]);
    };
    if (auto done = co_await source.run(group, 2, read, dumps); !done) co_return done.error();
    const std::int64_t read_at = unix_ms();
    const key_encoder write = [&](std::size_t i, command_buffer& c) {
      const reply& dump = dumps[2 * i];
      const reply& ttl = dumps[2 * i + 1];
      if (dump.is_error() || ttl.is_error()) {
        c.push({"PING"});  // nothing to write; keeps one reply per key
        return;
      }
      if (dump.is_nil() || ttl.integer == -2) {
        c.begin(2);
        c.arg("DEL");  // gone from the source: the target must not keep it
        c.arg_ref(group[i]);
        return;
      }
      std::int64_t expire_at = 0;
      if (ttl.integer >= 0) expire_at = source_pexpiretime ? ttl.integer : read_at + ttl.integer;
      c.begin(6);
      c.arg("RESTORE");
      c.arg_ref(group[i]);
      c.arg(expire_at);
      c.arg_ref(dump.str);
      c.arg("ABSTTL");
      c.arg("REPLACE");
    };
    if (auto done = co_await target.run(group, 1, write, answers); !done) co_return done.error();
    for (std::size_t i = 0; i < group.size(); ++i) {
      const reply& dump = dumps[2 * i];
      const reply& ttl = dumps[2 * i + 1];
      if (dump.is_error() || ttl.is_error()) {
        results[first + i] =
            fmt::format("the source refused to read it: {}", (dump.is_error() ? dump : ttl).text());
      } else if (answers[i].is_error()) {
        results[first + i] = fmt::format("the target refused to write it: {}", answers[i].text());
      }
    }
  }
  co_return results;
}

asio::awaitable<maybe<repair_results>> delete_keys(routed_side& target,
                                                   std::span<const bytes> keys) {
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(2);
    c.arg("DEL");
    c.arg_ref(keys[i]);
  };
  std::vector<reply> answers;
  if (auto done = co_await target.run(keys, 1, encode, answers); !done) co_return done.error();
  repair_results results(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (answers[i].is_error()) {
      results[i] = fmt::format("the target refused to delete it: {}", answers[i].text());
    }
  }
  co_return results;
}

}  // namespace ferry::engine
