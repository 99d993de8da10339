#include "engine/verify/inline_verify.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/cluster/routed_side.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/task_group.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;

namespace {

/// Gives a batch's bytes back to the queue however a comparer leaves the batch (an exception
/// included), so a writer waiting for room is never stranded.
class release_on_exit {
 public:
  release_on_exit(byte_budget& budget, std::size_t bytes) : budget_(budget), bytes_(bytes) {}
  ~release_on_exit() { budget_.release(bytes_); }
  release_on_exit(const release_on_exit&) = delete;
  release_on_exit& operator=(const release_on_exit&) = delete;

 private:
  byte_budget& budget_;
  std::size_t bytes_;
};

}  // namespace

inline_verifier::inline_verifier(asio::any_io_executor executor, inline_verify_context& context,
                                 verify_counters& counters, unsigned comparers)
    : context_(context),
      counters_(counters),
      comparers_(std::max(1u, comparers)),
      queue_(executor, std::max<std::size_t>(context.config.queue_bytes, 1)),
      batches_(executor, comparers_) {}

asio::awaitable<void> inline_verifier::push(copied_batch batch) {
  if (batch.keys.empty()) co_return;
  const std::size_t charged = batch.charged_bytes;
  co_await queue_.acquire(charged);
  auto [ec] = co_await batches_.async_send(boost::system::error_code{}, std::move(batch),
                                           asio::as_tuple(asio::use_awaitable));
  if (ec) queue_.release(charged);  // closed after a comparer's internal error
}

asio::awaitable<void> inline_verifier::run() {
  auto executor = co_await asio::this_coro::executor;
  task_group comparers(executor, [this](std::exception_ptr error) {
    context_.control.fail(fail_with(job_error::internal,
                                    "internal error in the inline verifier: " + describe(error)));
    batches_.close();
  });
  for (unsigned i = 0; i < comparers_; ++i) comparers.spawn(compare_batches());
  co_await comparers.wait();
}

asio::awaitable<void> inline_verifier::finish() { co_await end_stream(batches_, comparers_); }

asio::awaitable<void> inline_verifier::compare_batches() {
  auto executor = co_await asio::this_coro::executor;
  routed_side source(executor, context_.source_map, context_.tune, context_.control, "source");
  routed_side target(executor, context_.target_map, context_.tune, context_.control, "target");
  key_comparer comparer(source, target, context_.compare);
  std::uint64_t deep_seen = 0;
  std::vector<bytes> keys;
  for (;;) {
    auto [ec, batch] = co_await batches_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    const release_on_exit release(queue_, batch.charged_bytes);
    // After a fatal failure keep receiving, so that no writer waits for room forever.
    if (context_.control.failed()) continue;
    keys.clear();
    for (const copied_key& k : batch.keys) keys.push_back(k.key);
    auto verdicts = co_await comparer.compare(keys);
    for (const auto& warning : comparer.take_warnings()) context_.warnings.add(warning);
    if (!verdicts) {
      // A drain cuts re-checks short; the batch's keys are then simply not compared.
      if (!context_.control.draining()) context_.control.fail(verdicts.error());
      continue;
    }
    // Strings written by value: whether the source still holds what was copied is asked of its
    // value, read again for the keys that differ (few).
    std::vector<std::size_t> by_value;
    for (std::size_t i = 0; i < verdicts->size(); ++i) {
      const difference kind = (*verdicts)[i].kind;
      if (batch.keys[i].by_value && !(*verdicts)[i].vanished &&
          (kind == difference::value || kind == difference::type || kind == difference::expiry)) {
        by_value.push_back(i);
      }
    }
    std::vector<std::string> values_now(verdicts->size());
    if (!by_value.empty()) {
      std::vector<bytes> again;
      for (const std::size_t i : by_value) again.push_back(batch.keys[i].key);
      std::vector<protocol::reply> replies;
      const auto encode = [&](std::size_t index, protocol::command_buffer& commands) {
        commands.begin(2);
        commands.arg("GET");
        commands.arg_ref(again[index]);
      };
      if (auto read = co_await source.run(again, 1, encode, replies); !read) {
        if (!context_.control.draining()) context_.control.fail(read.error());
        continue;
      }
      for (std::size_t n = 0; n < by_value.size(); ++n) {
        const protocol::reply& now = replies[n];
        if (!now.is_error() && !now.is_nil()) values_now[by_value[n]] = sha1_hex(now.text());
      }
    }
    verify_counts counts;
    for (std::size_t i = 0; i < verdicts->size(); ++i) {
      verdict& v = (*verdicts)[i];
      if (v.vanished) {
        ++counts[verify_counter::vanished];
        continue;
      }
      const copied_key& copied = batch.keys[i];
      if (copied.by_value) {
        judge_against_copied_value(v, values_now[i], copied.digest, copied.expire_at_ms,
                                   context_.compare.ttl_tolerance_ms);
      } else {
        judge_against_copy(v, copied.digest, copied.expire_at_ms,
                           context_.compare.ttl_tolerance_ms);
      }
      ++counts[verify_counter::checked];
      ++counts[counter_of(v.kind)];
      if (v.rounds > 1) ++counts[verify_counter::rechecked];
      if (v.kind != difference::none) context_.diffs.record(v);
    }
    counts[verify_counter::deep] = comparer.deep_compared() - deep_seen;
    deep_seen = comparer.deep_compared();
    counters_.add(counts);
  }
}

}  // namespace ferry::engine
