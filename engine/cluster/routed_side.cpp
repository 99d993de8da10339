#include "engine/cluster/routed_side.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <string_view>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

routed_side::routed_side(asio::any_io_executor executor, slot_router& router, const tuning& tune,
                         job_control& control, std::string role)
    : executor_(executor),
      router_(router),
      control_(control),
      role_(std::move(role)),
      round_(home_node::slot_owner, moved_policy::refresh_map,
             backoff(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                     tune.max_retry_time, std::random_device{}())),
      links_(executor, router.seed(), tune, control) {}

std::uint64_t routed_side::retries() const { return resent_ + links_.retries(); }

asio::awaitable<bool> routed_side::pause(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  asio::steady_timer timer(executor_);
  while (!control_.stopping()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) co_return true;
    // Short slices: job_control is a flag, not something a timer can wait on.
    timer.expires_after(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds{50}));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return false;
}

asio::awaitable<outcome> routed_side::run_one(const protocol::bytes& key, std::size_t per_key,
                                              const key_encoder& encode,
                                              std::vector<protocol::reply>& replies) {
  co_return co_await run(std::span<const protocol::bytes>(&key, 1), per_key, encode, replies);
}

asio::awaitable<outcome> routed_side::run(std::span<const protocol::bytes> keys,
                                          std::size_t per_key, const key_encoder& encode,
                                          std::vector<protocol::reply>& replies) {
  co_return co_await run_keys(keys, per_key, encode, replies, nullptr, nullptr);
}

asio::awaitable<outcome> routed_side::run(std::span<const protocol::bytes> keys,
                                          std::size_t per_key, const key_encoder& encode,
                                          std::vector<protocol::reply>& replies,
                                          const node_bracket& bracket,
                                          std::vector<bracket_answer>& answers) {
  answers.clear();
  // Nothing to send around the keys: no answers to note key by key either.
  if (bracket.before.empty() && bracket.after.empty()) {
    co_return co_await run_keys(keys, per_key, encode, replies, nullptr, nullptr);
  }
  co_return co_await run_keys(keys, per_key, encode, replies, &bracket, &answers);
}

asio::awaitable<outcome> routed_side::run_keys(std::span<const protocol::bytes> keys,
                                               std::size_t per_key, const key_encoder& encode,
                                               std::vector<protocol::reply>& replies,
                                               const node_bracket* bracket,
                                               std::vector<bracket_answer>* answers) {
  replies.assign(keys.size() * per_key, protocol::reply{});
  round_.begin(keys.size());
  const redirect_round::slot_of slot_of = [&](std::uint32_t i) {
    return protocol::key_slot(keys[i].view());
  };
  for (;;) {
    if (control_.failed()) {
      co_return fail_with(job_error::stopped, "the job is stopping");
    }
    // The groups are planned from the map before any write: another user of this router may
    // refresh the map while this call waits for replies.
    for (const round_group& group : round_.plan(&router_.map(), slot_of)) {
      if (auto done = co_await run_group(group, per_key, encode, replies, bracket, answers);
          !done) {
        co_return done;
      }
    }
    const round_outcome next = round_.finish(backoff::clock::now());
    if (next.next == round_outcome::step::done) break;
    resent_ += next.pending;
    if (next.next == round_outcome::step::give_up) {
      co_return protocol::failure{
          make_error_code(errc::timeout),
          fmt::format("{}: {} keys could not be read within --max-retry-time (the cluster kept "
                      "redirecting or refusing them)",
                      role_, next.pending)};
    }
    if (next.refresh_map) {
      if (auto done = co_await router_.refresh(); !done) co_return done;
    }
    asio::steady_timer timer(executor_, next.delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return outcome{};
}

asio::awaitable<outcome> routed_side::run_group(const round_group& group, std::size_t per_key,
                                                const key_encoder& encode,
                                                std::vector<protocol::reply>& replies,
                                                const node_bracket* bracket,
                                                std::vector<bracket_answer>* answers) {
  // An ASKING group's node holds only some keys of its slots: nothing it says of itself is
  // said of them alone.
  const bool bracketed = bracket != nullptr && !group.asking;
  const auto push_all = [&](const std::vector<std::vector<std::string>>& commands) {
    for (const auto& words : commands) {
      commands_.begin(words.size());
      for (const std::string& word : words) commands_.arg(word);
    }
  };
  commands_.clear();
  if (bracketed) push_all(bracket->before);
  for (const std::uint32_t index : group.keys) {
    if (group.asking) commands_.push({"ASKING"});
    encode(index, commands_);
  }
  if (bracketed) push_all(bracket->after);
  link& node = links_.to(group, &router_.map(), nullptr);
  node.connection().keep_bulks(keeping_);
  if (auto done = co_await node.exec(commands_, node_replies_); !done) {
    co_return protocol::failure{done.error().code,
                                fmt::format("{}: {}", role_, done.error().message)};
  }
  const std::string& host = node.connection().where().host;
  bracket_answer* answer = nullptr;
  if (answers != nullptr) {
    answer = &answers->emplace_back();
    if (bracketed) {
      const std::size_t before = bracket->before.size(), after = bracket->after.size();
      const auto tail = node_replies_.end() - static_cast<std::ptrdiff_t>(after);
      answer->before.assign(std::make_move_iterator(node_replies_.begin()),
                            std::make_move_iterator(node_replies_.begin() +
                                                    static_cast<std::ptrdiff_t>(before)));
      answer->after.assign(std::make_move_iterator(tail),
                           std::make_move_iterator(node_replies_.end()));
    }
  }
  std::size_t at = bracketed ? bracket->before.size() : 0;
  for (const std::uint32_t index : group.keys) {
    if (group.asking) ++at;  // ASKING's +OK
    const std::size_t first = at;
    at += per_key;
    // The first reply that says "not here" or "not now" decides for the whole key.
    std::optional<errc> unsettled;
    std::string_view why;
    for (std::size_t k = first; k < at && !unsettled; ++k) {
      if (!node_replies_[k].is_error()) continue;
      const errc kind = protocol::classify_error_reply(node_replies_[k].text());
      if (kind == errc::moved || kind == errc::ask ||
          protocol::disposition_of(kind) == protocol::disposition::retry) {
        unsettled = kind;
        why = node_replies_[k].text();
      }
    }
    if (!unsettled) {
      for (std::size_t k = 0; k < per_key; ++k) {
        replies[index * per_key + k] = std::move(node_replies_[first + k]);
      }
      if (answer != nullptr) answer->keys.push_back(index);
      continue;
    }
    const auto to = protocol::parse_redirect(why);
    if (to) {
      round_.redirect(index, *to, host);
    } else {
      round_.retry(index);
    }
  }
  co_return outcome{};
}

}  // namespace ferry::engine
