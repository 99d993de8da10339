#include "engine/shard.hpp"

#include <boost/asio/this_coro.hpp>

#include "engine/task_group.hpp"
#include "protocol/errors.hpp"

namespace ferry::engine {

boost::asio::awaitable<void> copy_shard(shard_context& shard) {
  auto executor = co_await boost::asio::this_coro::executor;
  const unsigned readers = shard.readers = std::max(1u, shard.config.tune.readers_per_shard);
  const unsigned writers = shard.writers = std::max(1u, shard.config.tune.writers_per_shard);
  key_channel keys(executor, 2 * readers);
  record_channel records(executor, readers + writers);
  shard.readers_running = readers;

  // A stage that throws is a bug; the job stops with its message, and closing the channels
  // lets the other stages of the shard finish instead of waiting forever.
  task_group stages(executor, [&shard, &keys, &records](std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    shard.control.fail({make_error_code(protocol::errc::server_error),
                        "internal error in shard " + shard.label + ": " + what});
    keys.close();
    records.close();
  });
  stages.spawn(scan_shard(shard, keys));
  for (unsigned i = 0; i < readers; ++i) stages.spawn(read_batches(shard, keys, records));
  for (unsigned i = 0; i < writers; ++i) stages.spawn(write_batches(shard, records));
  co_await stages.wait();
}

}  // namespace ferry::engine
