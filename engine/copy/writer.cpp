// The writers: pipelined RESTORE ... ABSTTL on the target masters that own each key's slot.

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <span>

#include "engine/copy/restored_value.hpp"
#include "engine/copy/shard.hpp"
#include "engine/verify/inline_verify.hpp"
#include "engine/verify/verify_sample.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// A key of the batch still to be written.
struct pending {
  /// Index into the batch's records.
  std::uint32_t index = 0;
  /// Sent on a connection that broke before its reply came: it may already be on the target.
  bool ambiguous = false;
  /// Address named by an -ASK reply; empty when the slot map decides.
  std::string ask;
};

/// The sampled keys among `written` (records the target acknowledged), as the inline verifier
/// takes them.
copied_batch sample_copied(std::span<const record* const> written, double fraction) {
  copied_batch batch;
  for (const record* r : written) {
    if (!in_sample(r->key.view(), fraction)) continue;
    batch.keys.push_back({protocol::bytes::copy_of(r->key.view()), dump_digest(r->payload.view()),
                          r->expire_at_ms > 0 ? r->expire_at_ms : -1});
    batch.charged_bytes += r->key.size() + copied_key_cost;
  }
  return batch;
}

/// One writer's connections to the target nodes, kept by "host:port" across slot map changes.
class node_links {
 public:
  node_links(asio::any_io_executor executor, shard_context& shard)
      : executor_(std::move(executor)), shard_(shard) {}

  /// The link to the node at `address` (a master of the map, or an ASK target). Called once per
  /// node and round, never per key.
  link& to(const protocol::endpoint& node) {
    auto& slot = links_[node.address()];
    if (!slot) {
      slot = std::make_unique<link>(executor_, shard_.router.options_for(node), shard_.config.tune,
                                    shard_.control);
    }
    return *slot;
  }

  /// Retries counted by every link.
  std::uint64_t retries() const {
    std::uint64_t total = 0;
    for (const auto& [address, l] : links_) total += l->retries();
    return total;
  }

 private:
  asio::any_io_executor executor_;
  shard_context& shard_;
  std::map<std::string, std::unique_ptr<link>> links_;
};

/// Writes record batches; one per writer coroutine.
class batch_writer {
 public:
  batch_writer(asio::any_io_executor executor, shard_context& shard)
      : executor_(executor),
        shard_(shard),
        links_(executor, shard),
        backoff_(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                 shard.config.tune.max_retry_time, shard.index) {}

  /// Writes every record; true when each key is settled, false when the job failed.
  asio::awaitable<bool> write(const record_batch& batch);
  /// How the keys of the last batch written were settled (the reader's part included).
  const counts& tally() const noexcept { return tally_; }
  /// The records of the last batch the target acknowledged as written by this job.
  const std::vector<const record*>& written() const noexcept { return written_; }

  std::uint64_t retries() const { return links_.retries() + rounds_retried_; }

 private:
  asio::awaitable<bool> write_node(const protocol::endpoint& node, std::vector<pending>& group,
                                   const record_batch& batch, std::vector<pending>& again,
                                   bool& refresh);
  asio::awaitable<bool> settle_busy_key(link& target, const record& r, bool ambiguous);
  asio::awaitable<bool> settle_rescanned(link& target, const record& r);
  asio::awaitable<std::string> memory_of(link& target);
  void encode_restore(const record& r);
  void copied(const record& r) {
    written_.push_back(&r);
    ++tally_.copied;
    tally_.bytes += r.payload.size();
  }
  /// Adds the keys copied since the last call to the shard's counters: once per node and round
  /// rather than two atomic additions per key.
  void publish_copied() {
    shard_counters::add(shard_.counters.copied, tally_.copied - published_.copied);
    shard_counters::add(shard_.counters.bytes, tally_.bytes - published_.bytes);
    published_ = tally_;
  }
  void skipped() {
    shard_counters::add(shard_.counters.skipped, 1);
    ++tally_.skipped;
  }
  void failed(const record& r, errc kind, std::string_view why) {
    shard_.failures.record(shard_.label, r.key.view(), protocol::errc_name(kind), why);
    shard_counters::add(shard_.counters.failed, 1);
    ++tally_.failed;
  }
  bool fatal(const boost::system::error_code& code, std::string message) {
    shard_.control.fail({code, std::move(message)});
    return false;
  }

  asio::any_io_executor executor_;
  shard_context& shard_;
  node_links links_;
  backoff backoff_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> replies_;
  std::vector<std::vector<pending>> groups_;  // per master index; capacity kept across batches
  std::uint64_t rounds_retried_ = 0;
  counts tally_;                        // how the keys of the batch being written were settled
  counts published_;                    // the part of tally_ already added to the shard's counters
  std::vector<const record*> written_;  // the batch's keys this job copied
};

/// Appends `RESTORE key <abs-ms> <payload> ABSTTL [REPLACE]`; the payload is referred to, not
/// copied.
void append_restore(protocol::command_buffer& commands, const record& r, bool replace) {
  commands.begin(replace ? 6 : 5);
  commands.arg("RESTORE");
  commands.arg_ref(r.key);
  commands.arg(r.expire_at_ms);
  commands.arg_ref(r.payload);
  commands.arg("ABSTTL");
  if (replace) commands.arg("REPLACE");
}

void batch_writer::encode_restore(const record& r) {
  // A rescan writes without REPLACE first, to tell the keys the first pass copied from new ones.
  append_restore(commands_, r,
                 shard_.config.existing == existing_policy::replace && !shard_.rescan);
}

asio::awaitable<bool> batch_writer::write(const record_batch& batch) {
  tally_ = batch.tally;
  written_.clear();
  published_ = batch.tally;  // the reader counted its part itself
  std::vector<pending> todo;
  todo.reserve(batch.records.size());
  for (std::uint32_t i = 0; i < batch.records.size(); ++i) {
    const record& r = batch.records[i];
    // Redis closes the connection after refusing an argument over its proto-max-bulk-len, and
    // the rest of the pipeline is lost with it: such a key is failed before it is sent.
    if (auto why = shard_.router.refuses_bulk(std::max(r.payload.size(), r.key.size()));
        !why.empty()) {
      failed(r, errc::key_too_large, why);
      continue;
    }
    todo.push_back({i, false, {}});
  }
  backoff_.reset();
  while (!todo.empty()) {
    if (shard_.control.failed()) co_return false;
    // Group by the master that owns each key's slot: an index into the map's masters, so the
    // per-key cost is one table lookup (no address strings, no map). -ASK targets are rare and
    // grouped by address.
    const auto& map = shard_.router.map();
    const std::size_t masters = map.masters().size();
    if (groups_.size() < masters) groups_.resize(masters);
    for (auto& group : groups_) group.clear();
    std::map<std::string, std::vector<pending>> asked;
    std::vector<pending> again;
    bool refresh = false;
    for (pending& p : todo) {
      if (!p.ask.empty()) {
        asked[p.ask].push_back(std::move(p));
      } else if (auto owner = map.master_of(batch.records[p.index].slot)) {
        groups_[*owner].push_back(std::move(p));
      } else {
        refresh = true;
        again.push_back(std::move(p));
      }
    }
    // The nodes are picked before any write: another writer of this thread may refresh the map
    // while this one waits for replies. (groups_ is this writer's own, so the pointers hold.)
    std::vector<std::pair<protocol::endpoint, std::vector<pending>*>> work;
    for (std::size_t m = 0; m < masters; ++m) {
      if (!groups_[m].empty()) work.emplace_back(map.masters()[m].where, &groups_[m]);
    }
    for (auto& [address, group] : asked) {
      protocol::endpoint node = map.masters().front().where;  // the target's scheme, credentials
      const auto colon = address.rfind(':');
      node.host = address.substr(0, colon);
      node.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
      work.emplace_back(std::move(node), &group);
    }
    for (auto& [node, group] : work) {
      const bool written = co_await write_node(node, *group, batch, again, refresh);
      publish_copied();
      if (!written) co_return false;
    }
    todo = std::move(again);
    if (todo.empty()) break;
    ++rounds_retried_;
    if (refresh) {
      if (auto done = co_await shard_.router.refresh(); !done) {
        co_return fatal(done.error().code, done.error().message);
      }
    }
    auto delay = backoff_.next(backoff::clock::now());
    if (!delay) {
      co_return fatal(make_error_code(errc::timeout),
                      fmt::format("target: {} keys could not be written within --max-retry-time "
                                  "(the cluster kept redirecting or refusing them)",
                                  todo.size()));
    }
    asio::steady_timer timer(executor_, *delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return true;
}

asio::awaitable<bool> batch_writer::write_node(const protocol::endpoint& node,
                                               std::vector<pending>& group,
                                               const record_batch& batch,
                                               std::vector<pending>& again, bool& refresh) {
  link& target = links_.to(node);
  if (auto opened = co_await target.open(); !opened) {
    co_return fatal(opened.error().code,
                    fmt::format("writing to the target: {}", opened.error().message));
  }
  commands_.clear();
  for (const pending& p : group) {
    if (!p.ask.empty()) commands_.push({"ASKING"});
    encode_restore(batch.records[p.index]);
  }
  const auto broken = co_await target.exec_once(commands_, replies_);
  std::size_t at = 0;  // next reply
  for (std::size_t k = 0; k < group.size(); ++k) {
    pending& p = group[k];
    const record& r = batch.records[p.index];
    if (!p.ask.empty()) ++at;  // ASKING's +OK
    if (at >= replies_.size()) {
      // Sent, but the connection broke before the reply: it may or may not have run.
      p.ambiguous = true;
      p.ask.clear();
      again.push_back(std::move(p));
      continue;
    }
    const protocol::reply& answer = replies_[at++];
    if (!answer.is_error()) {
      copied(r);
      continue;
    }
    const errc kind = protocol::classify_error_reply(answer.text());
    switch (kind) {
      case errc::moved:
        refresh = true;
        p.ask.clear();
        again.push_back(std::move(p));
        continue;
      case errc::ask:
        if (auto to = protocol::parse_redirect(answer.text())) {
          p.ask = fmt::format("{}:{}", to->host.empty() ? node.host : to->host, to->port);
        }
        again.push_back(std::move(p));
        continue;
      case errc::busykey:
        if (!co_await settle_busy_key(target, r, p.ambiguous)) co_return false;
        continue;
      case errc::key_too_large: {
        // "ERR Protocol error: invalid bulk length": the payload is over the target's
        // proto-max-bulk-len, which ferry learns only this way. The server closes the connection
        // after this reply; the commands after it are retried.
        const std::size_t size = std::max(r.payload.size(), r.key.size());
        shard_.router.note_refused_bulk(size);
        failed(r, kind, fmt::format("{} ({})", shard_.router.refuses_bulk(size), answer.text()));
        continue;
      }
      default:
        break;
    }
    switch (protocol::disposition_of(kind)) {
      case protocol::disposition::retry:
        p.ask.clear();
        again.push_back(std::move(p));
        break;
      case protocol::disposition::fail_key:
        failed(r, kind, answer.text());
        break;
      case protocol::disposition::fatal:
        if (kind == errc::oom) {
          co_return fatal(make_error_code(kind),
                          fmt::format("target {} is out of memory{}: {}", node.address(),
                                      co_await memory_of(target), answer.text()));
        }
        co_return fatal(make_error_code(kind), fmt::format("target {} refused RESTORE: {}",
                                                           node.address(), answer.text()));
    }
  }
  if (broken) {
    if (protocol::disposition_of(broken) != protocol::disposition::retry) {
      co_return fatal(broken,
                      fmt::format("writing to the target: {}", target.connection().last_error()));
    }
    if (!co_await target.pause_before_retry()) {
      co_return fatal(broken, fmt::format("writing to the target: {} (gave up after retrying)",
                                          target.connection().last_error()));
    }
  }
  co_return true;
}

asio::awaitable<bool> batch_writer::settle_busy_key(link& target, const record& r, bool ambiguous) {
  if (shard_.rescan) co_return co_await settle_rescanned(target, r);
  if (ambiguous || shard_.resumed) {
    // An earlier attempt (a broken connection, or the run being resumed) may have written it:
    // if the target holds exactly our value and expiry, it is ours.
    auto ours = co_await holds_restored_value(target, r);
    if (!ours) co_return fatal(ours.error().code, ours.error().message);
    if (*ours) {
      copied(r);
      co_return true;
    }
  }
  // With no policy given the target was empty when the job began, so the key is ferry's own:
  // SCAN may return a key twice (its table shrank between two calls), and such a key is seen
  // again, not failed.
  if (shard_.config.existing == existing_policy::unset) {
    co_return co_await settle_rescanned(target, r);
  }
  if (shard_.config.existing == existing_policy::skip) {
    skipped();
  } else {
    failed(r, errc::busykey, "the key exists on the target (--on-existing fail)");
  }
  co_return true;
}

asio::awaitable<bool> batch_writer::settle_rescanned(link& target, const record& r) {
  // The target holds the key: most often the first pass copied it before its slot moved (or
  // SCAN returned it twice).
  auto rescanned = [&] {
    shard_counters::add(shard_.counters.rescanned, 1);
    ++tally_.rescanned;
  };
  auto same = co_await holds_restored_value(target, r);
  if (!same) co_return fatal(same.error().code, same.error().message);
  if (*same) {
    rescanned();
    co_return true;
  }
  // Another value: the key changed on the source since the first pass, or the target held it
  // before the job. Only a policy that lets ferry overwrite the target's keys replaces it; with
  // none given the target was empty when the job began, so the key is ferry's own.
  const existing_policy policy = shard_.config.existing;
  if (policy == existing_policy::skip) {
    skipped();
    co_return true;
  }
  if (policy == existing_policy::fail) {
    failed(r, errc::busykey,
           "the key exists on the target with another value (--on-existing fail)");
    co_return true;
  }
  protocol::command_buffer commands;
  std::vector<protocol::reply> answer;
  append_restore(commands, r, true);
  if (auto done = co_await target.exec(commands, answer); !done) {
    co_return fatal(done.error().code, done.error().message);
  }
  if (answer[0].is_error()) {
    failed(r, protocol::classify_error_reply(answer[0].text()), answer[0].text());
  } else {
    rescanned();
  }
  co_return true;
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

asio::awaitable<void> write_batches(shard_context& shard, record_channel& in) {
  auto executor = co_await asio::this_coro::executor;
  batch_writer writer(executor, shard);
  std::uint64_t retries_seen = 0;
  for (;;) {
    auto [ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    copied_batch to_verify;
    if (!shard.control.failed() && co_await writer.write(batch)) {
      settle_part(shard, batch.scan_seq, writer.tally());
      if (shard.verify != nullptr)
        to_verify = sample_copied(writer.written(), shard.config.verify.sample);
    }
    shard.budget.release(batch.charged_bytes);
    // Waits while the verifier is behind: back-pressure on the copy rather than memory.
    if (shard.verify != nullptr) co_await shard.verify->push(std::move(to_verify));
    const auto retries = writer.retries();
    shard_counters::add(shard.counters.retries, retries - retries_seen);
    retries_seen = retries;
  }
}

}  // namespace ferry::engine
