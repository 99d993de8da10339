#pragma once
// Reading keys from the source: pipelined GET (strings, read_path.hpp) or DUMP, with PEXPIRETIME
// (PTTL before Redis 7) for a list of keys, on the node of a shard, following MOVED/ASK to wherever
// a key lives now, with what each answer means decided by judge_read (read_outcome.hpp). The
// shard's readers use it for the keys SCAN returned; `ferry sync` uses it again for the keys named
// by keyspace events.
//
// Thread: one worker thread; one batch at a time per reader.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/cluster/link.hpp"
#include "engine/cluster/link_stats.hpp"
#include "engine/cluster/node_links.hpp"
#include "engine/cluster/redirect_round.hpp"
#include "engine/copy/batches.hpp"
#include "engine/copy/counters.hpp"
#include "engine/cluster/expiry_probe.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/read_path.hpp"
#include "engine/copy/source_commands.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/verifier.hpp"
#include "protocol/net/connection.hpp"

namespace ferry::engine {

/// What a reader works with (references into its owner: a shard, or sync's re-copy stage).
struct read_context {
  /// Timeouts and retry time.
  const tuning& tune;
  /// Position among the job's shards (spreads retry jitter).
  std::size_t index = 0;
  /// The source node's address, for messages and the failed-keys file.
  const std::string& label;
  /// How to connect to the node read (db applied).
  const protocol::connection_options& source;
  /// Read expiry with PEXPIRETIME (Redis >= 7) rather than PTTL; turned off for good when the
  /// source refuses PEXPIRETIME.
  bool& use_pexpiretime;
  /// Where vanished and failed keys are counted.
  shard_counters& counters;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// Where keys that cannot be read are recorded.
  failed_keys& failures;
  /// Messages to show once.
  warning_list& warnings;
  /// Only keys of this type (string, hash, ...; TYPE is read beside DUMP); a key of another type
  /// counts as gone. Empty for every type (the scanner already filters with SCAN TYPE).
  std::string_view type;
  /// GET first or DUMP first, batch by batch (read_path.hpp); null for DUMP only (sync's
  /// re-copies, which RESTORE ... REPLACE).
  read_path_chooser* paths = nullptr;
  /// The commands sent, by kind, for the report; null when nobody counts.
  source_commands* commands = nullptr;
  /// Retries and reconnects for the metrics endpoint; null when nobody counts.
  link_stats* stats = nullptr;
  /// Payloads over this many bytes are not read: they become `rebuild` records for struct mode,
  /// which copies them in chunks (--big-key-bytes, at most the thread's budget). 0: every
  /// payload is read whole.
  std::size_t big_key_bytes = 0;
  /// Leave out the per-key expiry command where INFO proves the database has no expiry
  /// (expiry_probe.hpp): on a master read directly, unless --expiry-reads per-key.
  bool prove_no_expiry = false;
};

/// What a reader does with a key that is gone from the source.
enum class gone_keys {
  count,  ///< count it vanished: nothing to write (a snapshot: the key was never copied)
  erase,  ///< hand it on as an `erase` record, so the target deletes it too (a re-copy)
};

/// See the file comment.
class key_reader {
 public:
  /// A reader on `context.source`, living on `executor`.
  key_reader(boost::asio::any_io_executor executor, const read_context& context);

  /// Reads every key of `keys` into `out.records` (names are moved out of `keys`); keys gone
  /// from the source are counted vanished or become erase records (`gone`), keys the source
  /// refuses alone are recorded failed (both tallied in `out.tally`). Payload and key bytes are
  /// added to `out.charged_bytes`. False when the job failed.
  /// At most `reservation` bytes are kept in `out` (payloads and names): a payload that does
  /// not fit is left in `keys` and listed in take_again().
  boost::asio::awaitable<bool> read(std::vector<protocol::bytes>& keys, record_batch& out,
                                    gone_keys gone = gone_keys::count,
                                    std::size_t reservation = SIZE_MAX);

  /// Keys of the last read whose payloads did not fit its reservation: their index in `keys`
  /// and payload size. Read them again with room for them.
  std::vector<std::pair<std::uint32_t, std::size_t>> take_again() {
    return std::exchange(again_, {});
  }

  /// Batches sent again so far (broken connections, redirects, TRYAGAIN).
  std::uint64_t retries() const {
    return source_.retries() + redirected_.retries() + round_.rounds_retried();
  }

 private:
  boost::asio::awaitable<bool> read_group(const round_group& group,
                                          std::vector<protocol::bytes>& keys, record_batch& out,
                                          gone_keys gone);
  /// Runs `command` (GET or DUMP) and the expiry command for `indices` of `group` on its node
  /// (or, where expiry_probe allows, the value command alone between two INFO samples) and
  /// settles each key; keys that must be read with DUMP go to `dump_next`. False when the job
  /// failed.
  boost::asio::awaitable<bool> read_keys(const round_group& group,
                                         std::span<const std::uint32_t> indices, bool by_get,
                                         std::vector<protocol::bytes>& keys, record_batch& out,
                                         gone_keys gone, std::vector<std::uint32_t>& dump_next);
  bool fatal(protocol::errc kind, std::string message);

  read_context context_;
  link source_;
  node_links redirected_;  // nodes named by MOVED/ASK
  redirect_round round_;
  expiry_probe probe_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> replies_;
  std::vector<std::uint32_t> dump_next_;
  std::vector<std::uint32_t> dump_pass_;  // the keys of a GET-first group's DUMP pass
  std::size_t reservation_ = SIZE_MAX;
  std::vector<std::pair<std::uint32_t, std::size_t>> again_;
  struct {
    std::size_t strings = 0;
    std::size_t others = 0;
  } types_;  // the current group's keys read, by type
};

}  // namespace ferry::engine
