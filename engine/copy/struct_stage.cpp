#include "engine/copy/struct_stage.hpp"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "engine/cluster/routed_side.hpp"
#include "engine/runtime/key_text.hpp"
#include "engine/transfer/rebuild_driver.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/verify_sample.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// Numbers temporary keys apart across every stage of the process (the job id tells processes
/// apart).
std::uint64_t next_temp_number() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

key_rebuild::params params_for(const record& r, const struct_context& context) {
  const bool known = r.rdb_type != unknown_rdb_type;
  const existing_policy policy = context.write.policy;
  return {r.key,
          r.slot,
          known ? type_from_rdb(r.rdb_type) : value_type::unknown,
          r.size,
          !known || rdb_hash_with_field_ttls(r.rdb_type),
          policy == existing_policy::skip || policy == existing_policy::fail,
          temp_key_prefix(r.slot, context.job_id, next_temp_number())};
}

/// Adds one batch's tally to the shard's counters.
void publish(shard_counters& c, const counts& t) {
  shard_counters::add(c.copied, t.copied);
  shard_counters::add(c.rescanned, t.rescanned);
  shard_counters::add(c.vanished, t.vanished);
  shard_counters::add(c.skipped, t.skipped);
  shard_counters::add(c.failed, t.failed);
  shard_counters::add(c.bytes, t.bytes);
  shard_counters::add(c.rebuilt, t.rebuilt);
  shard_counters::add(c.changed, t.changed);
  for (std::size_t i = 0; i < rebuild_reasons; ++i)
    shard_counters::add(c.rebuilt_by[i], t.rebuilt_by[i]);
}

/// Compares keys of the target with the source: did an earlier run (or attempt) write them?
class ours_check {
 public:
  ours_check(asio::any_io_executor executor, struct_context& context)
      : executor_(executor), context_(context) {}

  /// True when the target holds exactly what the source holds for `key`.
  asio::awaitable<maybe<bool>> same(const protocol::bytes& key) {
    if (context_.source_map == nullptr) co_return false;
    if (!comparer_) {
      const write_context& w = context_.write;
      source_.emplace(executor_, *context_.source_map, w.tune, w.control, "source");
      target_.emplace(executor_, w.router, w.tune, w.control, "target");
      compare_options options;
      options.source_pexpiretime = context_.caps.source_pexpiretime;
      options.target_pexpiretime = context_.caps.target_pexpiretime;
      comparer_.emplace(*source_, *target_, options);
    }
    auto verdicts = co_await comparer_->compare_once(std::span<const protocol::bytes>(&key, 1));
    if (!verdicts) co_return verdicts.error();
    co_return verdicts->front().kind == difference::none;
  }

 private:
  asio::any_io_executor executor_;
  struct_context& context_;
  std::optional<routed_side> source_, target_;
  std::optional<key_comparer> comparer_;
};

}  // namespace

asio::awaitable<void> rebuild_batches(struct_context& context, rebuild_channel& in,
                                      settled_sink settled) {
  auto executor = co_await asio::this_coro::executor;
  write_context& w = context.write;
  rebuild_driver driver(executor, context.source, w.router, w.tune, w.control, context.budget);
  ours_check ours(executor, context);
  std::uint64_t retries_seen = 0;
  std::vector<key_rebuild> keys;
  for (;;) {
    // No structured binding over the received tuple: GCC 12 mis-destroys it in a coroutine
    // frame across later suspensions (SIGBUS in ~vector<record>).
    auto received = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(received)) break;
    rebuild_batch batch = std::move(std::get<1>(received));
    // Stopping: the part stays open and a resumed job copies these keys.
    if (w.control.stopping()) continue;
    keys.clear();
    keys.reserve(batch.records.size());
    for (const record& r : batch.records)
      keys.emplace_back(params_for(r, context), context.caps, context.sizes);
    const auto ran = co_await driver.run(keys);
    shard_counters::add(w.counters.retries, driver.retries() - retries_seen);
    retries_seen = driver.retries();
    if (!ran) {
      if (ran.error().code != make_error_code(job_error::stopped)) {
        const bool oom = ran.error().code == make_error_code(errc::oom);
        w.control.fail(
            {ran.error().code,
             oom ? fmt::format("target is out of memory (struct mode): {}", ran.error().message)
                 : fmt::format("struct mode: {}", ran.error().message)});
      }
      continue;
    }
    counts tally;
    copied_batch verify;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const record& r = batch.records[i];
      const rebuild_outcome& o = keys[i].outcome();
      rebuild_end end = o.end;
      if (end == rebuild_end::exists && (w.resumed || o.restarts > 0)) {
        // An earlier run (or attempt) may have written it: ours when it equals the source.
        auto same = co_await ours.same(r.key);
        if (!same) {
          w.control.fail(same.error());
          break;
        }
        if (*same) end = rebuild_end::copied;
      }
      switch (end) {
        case rebuild_end::copied:
          ++tally.copied;
          ++tally.rebuilt;
          ++tally.rebuilt_by[static_cast<std::size_t>(r.why)];
          tally.bytes += o.bytes;
          if (o.changed) ++tally.changed;
          if (w.verify_sample > 0 && in_sample(r.key.view(), w.verify_sample)) {
            // No payload digest: the verifier tells a changed source by its expiry alone.
            verify.keys.push_back({protocol::bytes::copy_of(r.key.view()),
                                   {},
                                   o.expire_at_ms > 0 ? o.expire_at_ms : -1});
            verify.charged_bytes += r.key.size() + copied_key_cost;
          }
          break;
        case rebuild_end::rescanned:
          ++tally.rescanned;
          if (o.changed) ++tally.changed;
          break;
        case rebuild_end::vanished:
          ++tally.vanished;
          break;
        case rebuild_end::exists:
          if (w.policy == existing_policy::skip) {
            ++tally.skipped;
          } else {
            w.failures.record(w.label, r.key.view(), protocol::errc_name(errc::busykey),
                              "the key exists on the target (--on-existing fail)");
            ++tally.failed;
          }
          break;
        case rebuild_end::failed:
        case rebuild_end::fatal:
          if (o.error == errc::key_too_large && r.size != 0) {
            // The size is this key's own (its DUMP payload as the source gave it).
            w.failures.record(w.label, r.key.view(), protocol::errc_name(o.error),
                              fmt::format("{} (its DUMP payload is {} bytes; raise the target's "
                                          "proto-max-bulk-len above the value's size)",
                                          o.detail, r.size));
          } else {
            w.failures.record(w.label, r.key.view(), protocol::errc_name(o.error), o.detail);
          }
          ++tally.failed;
          break;
      }
      if (o.lost_pending > 0 && w.warnings != nullptr) {
        w.warnings->add(fmt::format(
            "stream {}: {} pending entries of its consumer groups refer to entries deleted from "
            "the stream and could not be recreated in struct mode (XCLAIM needs the entry)",
            printable_key(r.key.view()), o.lost_pending));
      }
    }
    if (w.control.failed()) continue;
    publish(w.counters, tally);
    settled_part part{batch.seq, tally, std::move(verify), 0};
    co_await settled(std::move(part));
  }
}

}  // namespace ferry::engine
