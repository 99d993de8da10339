#include "engine/sync/cutover.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <set>

#include "engine/cluster/routed_side.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/verify/deep_compare.hpp"
#include "engine/verify/verdict.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

cutover_io::cutover_io(std::vector<cutover_node> nodes, protocol::connection_options source_seed,
                       protocol::topology source_map, protocol::connection_options target_seed,
                       protocol::topology target_map, const tuning& tune, compare_options compare)
    : nodes_(std::move(nodes)),
      source_seed_(std::move(source_seed)),
      target_seed_(std::move(target_seed)),
      source_map_(std::move(source_map)),
      target_map_(std::move(target_map)),
      tune_(tune),
      compare_(compare) {}

cutover_io::~cutover_io() = default;

template <class T>
T cutover_io::run(asio::awaitable<T> task) {
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

asio::awaitable<maybe<protocol::connection*>> cutover_io::open(
    const protocol::connection_options& options) {
  auto& slot = open_[options.where.address()];
  if (!slot || !slot->is_open()) {
    slot = std::make_unique<protocol::connection>(io_.get_executor(), options);
    if (auto ec = co_await slot->connect()) {
      co_return protocol::failure{ec, slot->last_error()};
    }
  }
  co_return slot.get();
}

maybe<void> cutover_io::pause(std::chrono::milliseconds timeout) {
  return run([this, timeout]() -> asio::awaitable<maybe<void>> {
    std::vector<protocol::reply> replies;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      protocol::connection_options options = nodes_[i].master;
      options.readonly = false;
      auto c = co_await open(options);
      protocol::command_buffer commands;
      commands.push({"CLIENT", "PAUSE", std::to_string(timeout.count()), "WRITE"});
      commands.push({"INFO", "replication"});
      std::string refused;
      if (!c) {
        refused = c.error().message;
      } else if (auto ec = co_await (*c)->exec(commands, replies)) {
        refused = (*c)->last_error();
      } else if (replies[0].is_error()) {
        refused =
            fmt::format("CLIENT PAUSE WRITE refused: {}{}", replies[0].text(),
                        protocol::refusal_advice(protocol::classify_error_reply(replies[0].text()),
                                                 replies[0].text()));
      }
      if (!refused.empty()) {
        unpause();
        co_return fail_with(protocol::errc::server_error,
                            fmt::format("--cutover: cannot pause the writes of the source {}: "
                                        "{}; the source was unpaused (CLIENT PAUSE WRITE needs "
                                        "Redis >= 6.2 and +client|pause)",
                                        options.where.address(), refused));
      }
      offsets_[options.where.address()] =
          protocol::info_unsigned(replies[1].text(), "master_repl_offset").value_or(0);
    }
    co_return maybe<void>{};
  }());
}

maybe<bool> cutover_io::replicas_caught_up() {
  return run([this]() -> asio::awaitable<maybe<bool>> {
    std::vector<protocol::reply> replies;
    for (const auto& node : nodes_) {
      if (!node.replica) continue;
      auto c = co_await open(*node.replica);
      if (!c) co_return c.error();
      protocol::command_buffer commands;
      commands.push({"INFO", "replication"});
      if (auto ec = co_await (*c)->exec(commands, replies)) {
        co_return protocol::failure{ec, (*c)->last_error()};
      }
      const auto applied = protocol::info_unsigned(replies[0].text(), "slave_repl_offset");
      if (!applied || *applied < offsets_[node.master.where.address()]) co_return false;
    }
    co_return true;
  }());
}

std::vector<std::string> cutover_io::unpause() {
  return run([this]() -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> warnings;
    std::vector<protocol::reply> replies;
    for (const auto& node : nodes_) {
      protocol::connection_options options = node.master;
      options.readonly = false;
      auto c = co_await open(options);
      protocol::command_buffer commands;
      commands.push({"CLIENT", "UNPAUSE"});
      if (!c || co_await (*c)->exec(commands, replies) || replies[0].is_error()) {
        warnings.push_back(
            fmt::format("could not unpause the source {}: its writes resume by themselves when the "
                        "CLIENT PAUSE timeout passes",
                        options.where.address()));
      }
    }
    co_return warnings;
  }());
}

maybe<sample_result> cutover_io::compare_sample(
    std::size_t per_master, const std::function<bool(std::string_view)>& in_scope) {
  return run([this, per_master, &in_scope]() -> asio::awaitable<maybe<sample_result>> {
    auto executor = co_await asio::this_coro::executor;
    job_control control;
    slot_router source_router(executor, source_seed_, source_map_, tune_, control);
    slot_router target_router(executor, target_seed_, target_map_, tune_, control);
    routed_side source(executor, source_router, tune_, control, "source");
    routed_side target(executor, target_router, tune_, control, "target");
    // Random keys of every master.
    std::vector<protocol::bytes> keys;
    std::set<std::string> seen;
    std::vector<protocol::reply> replies;
    for (const auto& node : nodes_) {
      auto c = co_await open(node.master);
      if (!c) co_return c.error();
      protocol::command_buffer commands;
      for (std::size_t i = 0; i < per_master; ++i) commands.push({"RANDOMKEY"});
      if (auto ec = co_await (*c)->exec(commands, replies)) {
        co_return protocol::failure{ec, (*c)->last_error()};
      }
      for (const auto& r : replies) {
        if (r.is_nil() || r.is_error() || !in_scope(r.text())) continue;
        if (seen.insert(r.str.str()).second) keys.push_back(protocol::bytes::copy_of(r.text()));
      }
    }
    // TYPE, DUMP and the expiry on both sides: reads only, which a write pause lets through
    // (unlike EVALSHA, which the verifier's digests use).
    const auto read = [&](bool absolute) -> key_encoder {
      return [&keys, absolute](std::size_t i, protocol::command_buffer& c) {
        c.begin(2);
        c.arg("TYPE");
        c.arg_ref(keys[i]);
        c.begin(2);
        c.arg("DUMP");
        c.arg_ref(keys[i]);
        c.begin(2);
        c.arg(absolute ? "PEXPIRETIME" : "PTTL");
        c.arg_ref(keys[i]);
      };
    };
    std::vector<protocol::reply> from_source, from_target;
    if (auto done = co_await source.run(keys, 3, read(compare_.source_pexpiretime), from_source);
        !done) {
      co_return done.error();
    }
    const std::int64_t source_at = unix_ms();
    if (auto done = co_await target.run(keys, 3, read(compare_.target_pexpiretime), from_target);
        !done) {
      co_return done.error();
    }
    const std::int64_t target_at = unix_ms();
    sample_result result;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto* s = &from_source[3 * i];
      const auto* t = &from_target[3 * i];
      if (s[0].is_error() || s[1].is_error() || s[2].is_error()) {
        co_return fail_with(protocol::classify_error_reply(s[0].text()),
                            fmt::format("--cutover: the source refused to be read for the final "
                                        "comparison: {}",
                                        (s[0].is_error()   ? s[0]
                                         : s[1].is_error() ? s[1]
                                                           : s[2])
                                            .text()));
      }
      ++result.compared;
      std::string why;
      const std::int64_t source_expiry =
          expiry_from_reply(s[2].integer, compare_.source_pexpiretime, source_at);
      const std::int64_t target_expiry =
          t[2].is_error() ? -3
                          : expiry_from_reply(t[2].integer, compare_.target_pexpiretime, target_at);
      if (s[0].text() != t[0].text()) {
        why = fmt::format("type {} on the source, {} on the target", s[0].text(),
                          t[0].is_error() ? std::string_view("unreadable") : t[0].text());
      } else if (expiry_differs(source_expiry, target_expiry, compare_.ttl_tolerance_ms)) {
        why = "expiries differ";
      } else if (!s[1].is_nil() &&
                 (t[1].is_nil() || dump_digest(s[1].text()) != dump_digest(t[1].text()))) {
        // Equal data may serialise differently (hash tables): compare what it means.
        auto deep =
            co_await deep_compare(source, target, keys[i], std::string(s[0].text()), compare_.deep);
        if (!deep) co_return deep.error();
        if (!deep->equal) why = deep->detail;
      }
      if (why.empty()) continue;
      if (result.differing++ == 0) {
        result.first = fmt::format("key '{}': {}", short_text(keys[i].view()), why);
      }
    }
    co_return result;
  }());
}

}  // namespace ferry::engine
