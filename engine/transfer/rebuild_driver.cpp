#include "engine/transfer/rebuild_driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>

#include "engine/runtime/pauses.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using protocol::reply;

namespace {

/// The first error among a step's replies that the driver handles itself (a redirect, or "not
/// now"), or null.
const reply* driver_error(std::span<const reply> replies) {
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

/// One key's replies out of a group's: `n` of them from `at`, every other one when each
/// command came after an ASKING.
void take_replies(std::vector<reply>& all, std::size_t& at, std::size_t n, bool asking,
                  std::vector<reply>& mine) {
  mine.clear();
  for (std::size_t i = 0; i < n && at < all.size(); ++i) {
    if (asking) ++at;
    if (at < all.size()) mine.push_back(std::move(all[at++]));
  }
}

}  // namespace

rebuild_driver::rebuild_driver(asio::any_io_executor executor, protocol::connection_options source,
                               slot_router& target, const tuning& tune, job_control& control,
                               byte_budget& budget)
    : executor_(executor),
      router_(target),
      tune_(tune),
      control_(control),
      budget_(budget),
      source_(executor, source, tune, control),
      redirected_(executor, source, tune, control),
      targets_(executor, target.seed(), tune, control),
      source_rounds_(home_node::own_node, moved_policy::follow,
                     backoff(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                             tune.max_retry_time, std::random_device{}())),
      target_pause_(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                    tune.max_retry_time, std::random_device{}()) {}

std::uint64_t rebuild_driver::retries() const {
  return source_.retries() + redirected_.retries() + targets_.retries() +
         source_rounds_.rounds_retried() + restarts_;
}

void rebuild_driver::settle_charge(key_rebuild& key, std::uint32_t index) {
  // What a key read stays reserved until it is written.
  const std::size_t keep = std::min(charged_[index], key.held_bytes());
  if (charged_[index] > keep) budget_.release(charged_[index] - keep);
  charged_[index] = keep;
}

asio::awaitable<outcome> rebuild_driver::run(std::span<key_rebuild> keys) {
  using namespace asio::experimental::awaitable_operators;
  charged_.assign(keys.size(), 0);
  const auto release_all = [&] {
    for (std::size_t& c : charged_) budget_.release(std::exchange(c, 0));
  };
  for (;;) {
    std::vector<std::uint32_t> reads, writes;
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      key_rebuild& key = keys[i];
      switch (key.side()) {
        case rebuild_side::source:
          reads.push_back(i);
          break;
        case rebuild_side::target:
          writes.push_back(i);
          break;
        case rebuild_side::done:
          settle_charge(key, i);
          if (key.outcome().end == rebuild_end::fatal) {
            release_all();
            co_return fail_with(key.outcome().error, key.outcome().detail);
          }
          break;
      }
    }
    if (reads.empty() && writes.empty()) co_return outcome{};
    if (control_.stopping()) {
      release_all();
      co_return fail_with(job_error::stopped, "stopped before every key was rebuilt");
    }
    auto [read, written] =
        co_await (source_round(keys, std::move(reads)) && target_round(keys, std::move(writes)));
    if (!read || !written) {
      release_all();
      co_return !read ? read : written;
    }
  }
}

asio::awaitable<outcome> rebuild_driver::source_round(std::span<key_rebuild> keys,
                                                      std::vector<std::uint32_t> which) {
  if (which.empty()) co_return outcome{};
  // Reserve what the replies may hold; keys that do not fit this time wait for the next round
  // (the first always goes).
  const std::size_t room = std::max<std::size_t>(budget_.capacity() / 2, 1);
  std::size_t need = 0, total = 0, fit = 0;
  for (; fit < which.size(); ++fit) {
    const std::size_t want = keys[which[fit]].next_read_bytes();
    if (fit > 0 && total + want > room) break;
    total += want;
    need += want > charged_[which[fit]] ? want - charged_[which[fit]] : 0;
  }
  which.resize(fit);
  co_await budget_.acquire(need);
  for (const std::uint32_t i : which) {
    charged_[i] = std::max(charged_[i], keys[i].next_read_bytes());
  }

  std::vector<std::size_t> counts;
  std::vector<reply> mine;
  source_rounds_.begin(which);
  for (;;) {
    if (control_.failed()) co_return fail_with(job_error::stopped, "the job failed");
    for (const round_group& group : source_rounds_.plan(nullptr, {})) {
      link& node = redirected_.to(group, nullptr, &source_);
      source_commands_.clear();
      counts.clear();
      std::size_t keep = 0;
      for (const std::uint32_t i : group.keys) {
        counts.push_back(keys[i].encode(source_commands_, group.asking));
        keep += charged_[i];
      }
      node.connection().keep_bulks({.budget = keep, .keep_first = false});
      if (auto done = co_await node.exec(source_commands_, source_replies_); !done) {
        co_return protocol::failure{
            done.error().code, fmt::format("reading from the source: {}", done.error().message)};
      }
      const std::int64_t read_at = unix_ms();
      std::size_t at = 0;
      for (std::size_t k = 0; k < group.keys.size(); ++k) {
        const std::uint32_t i = group.keys[k];
        take_replies(source_replies_, at, counts[k], group.asking, mine);
        if (const reply* bad = driver_error(mine); bad != nullptr) {
          const errc kind = protocol::classify_error_reply(bad->text());
          const auto to = protocol::parse_redirect(bad->text());
          if ((kind == errc::moved || kind == errc::ask) && to) {
            source_rounds_.redirect(i, *to, node.connection().where().host);
          } else {
            source_rounds_.retry_same(i, group);
          }
          continue;
        }
        keys[i].take(mine, read_at);
        settle_charge(keys[i], i);
      }
    }
    const round_outcome next = source_rounds_.finish(backoff::clock::now());
    if (next.next == round_outcome::step::done) co_return outcome{};
    if (next.next == round_outcome::step::give_up) {
      co_return fail_with(errc::timeout,
                          fmt::format("source {}: {} keys could not be read in struct mode within "
                                      "--max-retry-time (the cluster kept redirecting them)",
                                      source_.address(), next.pending));
    }
    co_await sleep_for(next.delay);
  }
}

asio::awaitable<outcome> rebuild_driver::target_round(std::span<key_rebuild> keys,
                                                      std::vector<std::uint32_t> which) {
  if (which.empty()) co_return outcome{};
  const protocol::topology& map = router_.map();
  bool refresh = false, pause = false;
  std::map<std::size_t, std::vector<std::uint32_t>> by_master;
  for (const std::uint32_t i : which) {
    if (const auto m = map.master_of(keys[i].slot())) {
      by_master[*m].push_back(i);
    } else {
      keys[i].start_again();  // a slot without an owner: ask for the map again
      refresh = true;
    }
  }
  // The nodes are picked before any write: another user of the router may refresh the map
  // while this round waits for replies.
  std::vector<std::pair<link*, std::vector<std::uint32_t>>> plan;
  for (auto& [m, group] : by_master) {
    plan.emplace_back(&targets_.to(map.masters()[m].where), std::move(group));
  }
  std::vector<std::size_t> counts;
  std::vector<reply> mine;
  for (auto& [node, group] : plan) {
    if (auto opened = co_await node->open(); !opened) {
      co_return protocol::failure{opened.error().code,
                                  fmt::format("writing to the target: {}", opened.error().message)};
    }
    target_commands_.clear();
    counts.clear();
    for (const std::uint32_t i : group) counts.push_back(keys[i].encode(target_commands_, false));
    const auto broken = co_await node->exec_once(target_commands_, target_replies_);
    std::size_t at = 0;
    for (std::size_t k = 0; k < group.size(); ++k) {
      const std::uint32_t i = group[k];
      const bool whole = at + counts[k] <= target_replies_.size();
      take_replies(target_replies_, at, counts[k], false, mine);
      if (!whole) {
        keys[i].broken();  // the step may or may not have run: start the key again
        ++restarts_;
      } else if (const reply* bad = driver_error(mine); bad != nullptr) {
        const errc kind = protocol::classify_error_reply(bad->text());
        refresh = refresh || kind == errc::moved;
        pause = pause || kind != errc::moved;
        keys[i].start_again();
        ++restarts_;
      } else {
        keys[i].take(mine, unix_ms());
      }
      settle_charge(keys[i], i);
    }
    if (broken) {
      if (protocol::disposition_of(broken) != protocol::disposition::retry) {
        co_return protocol::failure{
            broken, fmt::format("writing to the target: {}", node->connection().last_error())};
      }
      if (!co_await node->pause_before_retry()) {
        co_return fail_with(errc::timeout,
                            fmt::format("writing to the target: {} (gave up after retrying)",
                                        node->connection().last_error()));
      }
    }
  }
  if (refresh) {
    if (auto done = co_await router_.refresh(); !done) co_return done.error();
  }
  if (!pause) {
    target_pause_.reset();
    co_return outcome{};
  }
  const auto delay = target_pause_.next(backoff::clock::now());
  if (!delay) {
    co_return fail_with(errc::timeout,
                        "target: keys could not be written in struct mode within "
                        "--max-retry-time (the cluster kept redirecting or refusing them)");
  }
  co_await sleep_for(*delay);
  co_return outcome{};
}

}  // namespace ferry::engine
