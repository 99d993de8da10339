// The writers: pipelined RESTORE ... ABSTTL on the target masters that own each key's slot.
// What each answer means is decided in restore_outcome.cpp; this file runs the commands.

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <span>

#include "engine/cluster/node_links.hpp"
#include "engine/cluster/redirect_round.hpp"
#include "engine/copy/restore_outcome.hpp"
#include "engine/copy/restored_value.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/verify/verdict.hpp"
#include "engine/verify/verify_sample.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// The sampled keys among `written` (records the target acknowledged), as the inline verifier
/// takes them.
copied_batch sample_copied(std::span<const record* const> written, double fraction) {
  copied_batch batch;
  for (const record* r : written) {
    if (!in_sample(r->key.view(), fraction)) continue;
    // A string read with GET has no DUMP payload: its value's digest goes instead.
    const bool by_value = r->kind == record_kind::string;
    batch.keys.push_back({protocol::bytes::copy_of(r->key.view()),
                          by_value ? sha1_hex(r->payload.view()) : dump_digest(r->payload.view()),
                          r->expire_at_ms > 0 ? r->expire_at_ms : -1, by_value});
    batch.charged_bytes += r->key.size() + copied_key_cost;
  }
  return batch;
}

/// Appends `RESTORE key <abs-ms> <payload> ABSTTL [REPLACE]`, or for a string read with GET
/// `SET key <value> [PXAT <abs-ms>] [NX]` (NX where RESTORE would go without REPLACE); the
/// payload is referred to, not copied.
void append_restore(protocol::command_buffer& commands, const record& r, bool replace) {
  if (r.kind == record_kind::string) {
    commands.begin(3 + (r.expire_at_ms > 0 ? 2 : 0) + (replace ? 0 : 1));
    commands.arg("SET");
    commands.arg_ref(r.key);
    commands.arg_ref(r.payload);
    if (r.expire_at_ms > 0) {
      commands.arg("PXAT");
      commands.arg(r.expire_at_ms);
    }
    if (!replace) commands.arg("NX");
    return;
  }
  commands.begin(replace ? 6 : 5);
  commands.arg("RESTORE");
  commands.arg_ref(r.key);
  commands.arg(r.expire_at_ms);
  commands.arg_ref(r.payload);
  commands.arg("ABSTTL");
  if (replace) commands.arg("REPLACE");
}

/// Writes record batches; one per writer coroutine.
class batch_writer {
 public:
  batch_writer(asio::any_io_executor executor, write_context& context)
      : executor_(executor),
        context_(context),
        links_(executor, context.router.seed(), context.tune, context.control, stats_of(context)),
        round_(home_node::slot_owner, moved_policy::refresh_map,
               backoff(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                       context.tune.max_retry_time, context.index)) {
    round_.count_into(stats_of(context));
  }

  /// Writes every record; true when each key is settled, false when the job failed.
  asio::awaitable<bool> write(const record_batch& batch);
  /// How the keys of the last batch written were settled (the reader's part included).
  const counts& tally() const noexcept { return tally_; }
  /// The records of the last batch the target acknowledged as written by this job.
  const std::vector<const record*>& written() const noexcept { return written_; }
  /// The last batch's keys for struct mode (taken: the writer forgets them).
  std::vector<record> take_rebuilds() { return std::exchange(rebuilds_, {}); }
  /// True when the last batch handed keys on to struct mode.
  bool rebuilds() const noexcept { return !rebuilds_.empty(); }

  std::uint64_t retries() const { return links_.retries() + round_.rounds_retried(); }

 private:
  static link_stats* stats_of(write_context& context) {
    return context.meters != nullptr ? &context.meters->target : nullptr;
  }
  asio::awaitable<bool> write_group(const round_group& group, link& target,
                                    const record_batch& batch);
  asio::awaitable<bool> settle(link& target, const record& r, restore_action action,
                               const restore_situation& key);
  asio::awaitable<std::string> memory_of(link& target);
  restore_situation situation(std::uint32_t index) const {
    return {context_.policy, context_.rescan, context_.resumed,
            index < ambiguous_.size() && ambiguous_[index], rebuilding()};
  }
  /// Struct mode runs behind this writer.
  bool rebuilding() const noexcept {
    return context_.mode != nullptr && context_.rebuild != nullptr && context_.mode->can_rebuild;
  }
  /// Hands `r` on to struct mode, without its payload (struct mode reads the source again).
  void rebuild(const record& r, rebuild_reason why) {
    record out{r.key, {}, r.expire_at_ms, r.slot, record_kind::rebuild, why, r.rdb_type, r.size};
    if (r.kind == record_kind::string) {
      out.rdb_type = 0;  // a string read with GET: its payload is the value itself
      out.size = r.payload.size();
    } else if (!r.payload.empty()) {
      out.rdb_type = static_cast<std::uint8_t>(r.payload.data()[0]);
      out.size = r.payload.size();
    }
    rebuilds_.push_back(std::move(out));
  }
  /// The target refuses RESTORE as a command: the whole job goes to struct mode, said once.
  void restore_refused(const std::string& where, std::string_view answer) {
    if (context_.mode->restore_refused.exchange(true) || context_.warnings == nullptr) return;
    context_.warnings->add(restore_refused_warning(where, answer));
  }
  void copied(const record& r) {
    if (r.kind != record_kind::erase) {
      written_.push_back(&r);
      ++tally_.restored;  // by RESTORE, or SET for a string read with GET: the value as given
    }
    ++tally_.copied;
    tally_.bytes += r.payload.size();
  }
  /// Adds the keys copied since the last call to the counters: once per node and round rather
  /// than two atomic additions per key.
  void publish_copied() {
    shard_counters::add(context_.counters.copied, tally_.copied - published_.copied);
    shard_counters::add(context_.counters.restored, tally_.restored - published_.restored);
    shard_counters::add(context_.counters.bytes, tally_.bytes - published_.bytes);
    published_ = tally_;
  }
  void rescanned() {
    shard_counters::add(context_.counters.rescanned, 1);
    ++tally_.rescanned;
  }
  void skipped() {
    shard_counters::add(context_.counters.skipped, 1);
    ++tally_.skipped;
  }
  void failed(const record& r, errc kind, std::string_view why) {
    context_.failures.record(context_.label, r.key.view(), protocol::errc_name(kind), why);
    shard_counters::add(context_.counters.failed, 1);
    ++tally_.failed;
  }
  bool fatal(const boost::system::error_code& code, std::string message) {
    context_.control.fail({code, std::move(message)});
    return false;
  }

  asio::any_io_executor executor_;
  write_context& context_;
  node_links links_;
  redirect_round round_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> replies_;
  std::vector<bool> ambiguous_;  // per record: sent on a connection that broke before its reply
  std::vector<link*> targets_;   // per group of a round
  counts tally_;                 // how the keys of the batch being written were settled
  counts published_;             // the part of tally_ already added to the counters
  std::vector<const record*> written_;  // the batch's keys this job copied
  std::vector<record> rebuilds_;        // the batch's keys for struct mode
};

asio::awaitable<bool> batch_writer::write(const record_batch& batch) {
  tally_ = batch.tally;
  written_.clear();
  published_ = batch.tally;  // the reader counted its part itself
  ambiguous_.assign(batch.records.size(), false);
  rebuilds_.clear();
  std::vector<std::uint32_t> todo;
  todo.reserve(batch.records.size());
  const bool all_struct =
      rebuilding() && (context_.mode->force_struct || context_.mode->restore_refused.load());
  for (std::uint32_t i = 0; i < batch.records.size(); ++i) {
    const record& r = batch.records[i];
    if (r.kind == record_kind::rebuild) {
      if (rebuilding()) {
        rebuilds_.push_back(r);
      } else {
        // A feeder without a struct stage behind its writers: said, never dropped.
        failed(r, errc::key_too_large,
               fmt::format("its DUMP payload ({} bytes) is over --big-key-bytes and struct mode "
                           "does not run behind these writers",
                           r.size));
      }
      continue;
    }
    if ((r.kind == record_kind::restore || r.kind == record_kind::string) && all_struct) {
      rebuild(r, context_.mode->force_struct ? rebuild_reason::forced
                                             : rebuild_reason::restore_refused);
      continue;
    }
    // Redis closes the connection after refusing an argument over its proto-max-bulk-len, and
    // the rest of the pipeline is lost with it: such a key is not sent. Struct mode writes it in
    // pieces under the limit.
    if (auto why = context_.router.refuses_bulk(std::max(r.payload.size(), r.key.size()));
        !why.empty()) {
      if (rebuilding() && r.key.size() < r.payload.size()) {
        rebuild(r, rebuild_reason::over_bulk_limit);
      } else {
        failed(r, errc::key_too_large, why);
      }
      continue;
    }
    todo.push_back(i);
  }
  round_.begin(std::move(todo));
  const redirect_round::slot_of slot_of = [&](std::uint32_t i) { return batch.records[i].slot; };
  for (;;) {
    if (context_.control.failed()) co_return false;
    // The nodes are picked before any write: another writer of this thread may refresh the map
    // while this one waits for replies.
    const auto groups = round_.plan(&context_.router.map(), slot_of);
    targets_.clear();
    for (const round_group& group : groups) {
      targets_.push_back(&links_.to(group, &context_.router.map(), nullptr));
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const bool written = co_await write_group(groups[g], *targets_[g], batch);
      publish_copied();
      if (!written) co_return false;
    }
    const round_outcome next = round_.finish(backoff::clock::now());
    if (next.next == round_outcome::step::done) co_return true;
    if (next.refresh_map) {
      if (auto done = co_await context_.router.refresh(); !done) {
        co_return fatal(done.error().code, done.error().message);
      }
    }
    if (next.next == round_outcome::step::give_up) {
      co_return fatal(make_error_code(errc::timeout),
                      fmt::format("target: {} keys could not be written within --max-retry-time "
                                  "(the cluster kept redirecting or refusing them)",
                                  next.pending));
    }
    asio::steady_timer timer(executor_, next.delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<bool> batch_writer::write_group(const round_group& group, link& target,
                                                const record_batch& batch) {
  if (auto opened = co_await target.open(); !opened) {
    co_return fatal(opened.error().code,
                    fmt::format("writing to the target: {}", opened.error().message));
  }
  commands_.clear();
  for (const std::uint32_t index : group.keys) {
    if (group.asking) commands_.push({"ASKING"});
    const record& r = batch.records[index];
    if (r.kind == record_kind::erase) {
      commands_.begin(2);
      commands_.arg("DEL");
      commands_.arg_ref(r.key);
    } else {
      append_restore(commands_, r, restore_with_replace(situation(index)));
    }
  }
  const auto broken = co_await target.exec_once(commands_, replies_);
  const std::string& host = target.connection().where().host;
  std::size_t at = 0;  // next reply
  for (const std::uint32_t index : group.keys) {
    const record& r = batch.records[index];
    if (group.asking) ++at;  // ASKING's +OK
    const protocol::reply* answer = at < replies_.size() ? &replies_[at++] : nullptr;
    const restore_situation key = situation(index);
    const restore_decision decision = r.kind == record_kind::erase    ? judge_erase(answer)
                                      : r.kind == record_kind::string ? judge_set(answer, key)
                                                                      : judge_restore(answer, key);
    switch (decision.action) {
      case restore_action::copied:
        copied(r);
        continue;
      case restore_action::retry:
        // Sent, but the connection broke before the reply: it may or may not have run.
        if (answer == nullptr) ambiguous_[index] = true;
        round_.retry(index, answer == nullptr ? errc::connection_closed : decision.error);
        continue;
      case restore_action::redirect:
        if (decision.to) {
          round_.redirect(index, *decision.to, host);
        } else {
          round_.retry(index, decision.error);
        }
        continue;
      case restore_action::fail_too_large: {
        const std::size_t size = std::max(r.payload.size(), r.key.size());
        context_.router.note_refused_bulk(size);
        failed(r, decision.error,
               fmt::format("{} ({})", context_.router.refuses_bulk(size), answer->text()));
        continue;
      }
      case restore_action::fail_key:
        failed(r, decision.error, answer->text());
        continue;
      case restore_action::rebuild:
        if (decision.why == rebuild_reason::restore_refused) {
          restore_refused(target.address(), answer->text());
        } else if (decision.why == rebuild_reason::over_bulk_limit) {
          context_.router.note_refused_bulk(std::max(r.payload.size(), r.key.size()));
        }
        rebuild(r, decision.why);
        continue;
      case restore_action::stop_oom:
        co_return fatal(make_error_code(decision.error),
                        fmt::format("target {} is out of memory{}: {}", target.address(),
                                    co_await memory_of(target), answer->text()));
      case restore_action::stop:
        co_return fatal(
            make_error_code(decision.error),
            fmt::format("target {} refused {}: {}{}", target.address(),
                        r.kind == record_kind::string ? "SET" : "RESTORE", answer->text(),
                        protocol::refusal_advice(decision.error, answer->text())));
      default:
        if (!co_await settle(target, r, decision.action, key)) co_return false;
        continue;
    }
  }
  if (broken) {
    if (protocol::disposition_of(broken) != protocol::disposition::retry) {
      co_return fatal(broken,
                      fmt::format("writing to the target: {}", target.connection().last_error()));
    }
    if (!co_await target.pause_before_retry(broken)) {
      co_return fatal(broken, fmt::format("writing to the target: {} (gave up after retrying)",
                                          target.connection().last_error()));
    }
  }
  co_return true;
}

asio::awaitable<bool> batch_writer::settle(link& target, const record& r, restore_action action,
                                           const restore_situation& key) {
  // A key the target already holds; each check runs on the node that answered BUSYKEY.
  const char* existing = "the key exists on the target (--on-existing fail)";
  for (;;) {
    switch (action) {
      case restore_action::check_ours:
      case restore_action::settle_by_value: {
        // Does the target hold exactly our value and expiry?
        auto same = co_await holds_restored_value(target, r);
        if (!same) co_return fatal(same.error().code, same.error().message);
        if (action == restore_action::check_ours) {
          action = judge_ours(*same, key);
        } else {
          action = judge_existing(*same, key);
          existing = "the key exists on the target with another value (--on-existing fail)";
        }
        continue;
      }
      case restore_action::replace: {
        protocol::command_buffer commands;
        std::vector<protocol::reply> answer;
        append_restore(commands, r, true);
        if (auto done = co_await target.exec(commands, answer); !done) {
          co_return fatal(done.error().code, done.error().message);
        }
        const restore_decision replaced = judge_replace(answer[0], key);
        if (replaced.action == restore_action::rebuild) {
          if (replaced.why == rebuild_reason::restore_refused) {
            restore_refused(target.address(), answer[0].text());
          }
          rebuild(r, replaced.why);
          co_return true;
        }
        action = replaced.action;
        if (action == restore_action::fail_key) {
          failed(r, protocol::classify_error_reply(answer[0].text()), answer[0].text());
          co_return true;
        }
        continue;
      }
      case restore_action::copied:
        copied(r);
        co_return true;
      case restore_action::rescanned:
        rescanned();
        co_return true;
      case restore_action::skip:
        skipped();
        co_return true;
      case restore_action::fail_existing:
        failed(r, errc::busykey, existing);
        co_return true;
      default:
        co_return fatal(make_error_code(errc::protocol_violation),
                        "internal error: the writer met an unexpected decision");
    }
  }
}

asio::awaitable<std::string> batch_writer::memory_of(link& target) {
  protocol::command_buffer info;
  info.push({"INFO", "memory"});
  std::vector<protocol::reply> answer;
  if (auto done = co_await target.exec(info, answer); !done || answer[0].is_error()) {
    co_return std::string{};
  }
  const std::string_view text = answer[0].text();
  auto field = [&](std::string_view name) { return protocol::info_text(text, name); };
  co_return fmt::format(" (used_memory {}, maxmemory {}, policy {})", field("used_memory_human"),
                        field("maxmemory_human"), field("maxmemory_policy"));
}

}  // namespace

std::string restore_refused_warning(std::string_view where, std::string_view answer) {
  return fmt::format(
      "target {} refuses RESTORE ({}): ferry copies every key with type commands instead (struct "
      "mode: slower; a small key is written in one MULTI/EXEC, a large one is built under a "
      "temporary key in its slot and renamed into place)",
      where, answer);
}

asio::awaitable<void> write_batches(write_context& context, record_channel& in,
                                    settled_sink settled) {
  auto executor = co_await asio::this_coro::executor;
  batch_writer writer(executor, context);
  std::uint64_t retries_seen = 0;
  const bool verifying = context.verify_sample > 0;
  for (;;) {
    auto [ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    const std::size_t charged = batch.charged_bytes;
    const std::uint64_t seq = batch.scan_seq;
    std::optional<settled_part> done;
    const auto started = std::chrono::steady_clock::now();
    const bool attempted = !context.control.failed();
    // Checked again after the write: a key failed in it whose line the failed-keys file could
    // not take has failed the job, and its part must stay open so that no checkpoint passes it.
    const bool written = attempted && co_await writer.write(batch) && !context.control.failed();
    if (attempted && context.meters != nullptr) {
      context.meters->writes.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    if (written) {
      done = settled_part{
          batch.scan_seq, writer.tally(),
          verifying ? sample_copied(writer.written(), context.verify_sample) : copied_batch{},
          writer.rebuilds() ? 1u : 0u};
    }
    std::vector<record> rebuilds = writer.take_rebuilds();
    // The payloads go before struct mode gets its keys: a writer waiting on the struct stage
    // must hold none of the budget the readers need.
    batch = record_batch{};
    context.budget.release(charged);
    // Waits while the commit stage (and the verifier behind it) is behind: back-pressure on the
    // copy rather than memory. The part is reported before its struct-mode keys leave, so the
    // ledger knows they are to come before any of them can be settled.
    if (done) co_await settled(std::move(*done));
    if (done && !rebuilds.empty()) {
      rebuild_batch handed{seq, std::move(rebuilds)};
      co_await context.rebuild->async_send(boost::system::error_code{}, std::move(handed),
                                           asio::as_tuple(asio::use_awaitable));
    }
    const auto retries = writer.retries();
    shard_counters::add(context.counters.retries, retries - retries_seen);
    retries_seen = retries;
  }
}

}  // namespace ferry::engine
