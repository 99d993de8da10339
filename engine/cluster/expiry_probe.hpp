#pragma once
// When a reader may leave out the per-key expiry command: a proof, per pipeline, that no key it
// reads has an expiry.
//
// Every key is read with its value command (GET or DUMP) and an expiry command (PEXPIRETIME, or
// PTTL): two commands per key, and for a small string the expiry is about 40 % of what the
// source spends on it (bench/RESULTS.md). A database whose keys have no expiry at all is common
// (a store rather than a cache) and INFO says so: `INFO keyspace` counts the keys with an expiry
// (`expires=`), and `INFO stats` counts the keys deleted by expiring (`expired_keys`). A pass is
// then sent as
//
//   INFO keyspace, INFO stats, <value command per key>, INFO keyspace, INFO stats
//
// on one connection to the node that holds the keys, which runs them in that order. When both
// samples count no key with an expiry in the job's database and no key expired in between, no
// key read had an expiry when it was read, except one that gained one after the first sample and
// lost it again before the second other than by expiring (PERSIST, a new value, DEL, eviction):
// a write after the read, as any copy may see one (`ferry sync` replays it). Otherwise the pass's
// replies are dropped and its keys read again with their expiries.
//
// Only where INFO is the node's own and in order with the reads: a Redis or Valkey server
// (INFO server names its `executable` and `process_id`) read directly, never a replica (a
// replica learns of an expiry as a DEL) and never a proxy (Redis Enterprise, Azure Managed Redis
// and Azure Cache Enterprise as a source answer INFO for the whole database). Pure: unit-tested
// in tests/unit/expiry_probe_test.cpp.
//
// The copy's key_reader sends its passes itself; `probed_read` is the same for a reader that goes
// through routed_side (verify's key_comparer): one per call, its bracket sent on each node.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/cluster/routed_side.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine {

/// What one pair of INFO keyspace + INFO stats replies says about a database.
struct expiry_sample {
  /// Keys of the database with an expiry.
  std::uint64_t expires = 0;
  /// Keys the server deleted by expiring (every database) since its start or CONFIG RESETSTAT.
  std::uint64_t expired_keys = 0;
};

/// Reads the sample of database `db` from the text of INFO keyspace and INFO stats; nothing when
/// either lacks its field (a database not listed holds no key, so its `expires` is 0).
std::optional<expiry_sample> expiry_sample_of(std::string_view keyspace, std::string_view stats,
                                              int db);

/// The keys with an expiry in database `db`, from the text of INFO keyspace; nothing when it is
/// not INFO keyspace.
std::optional<std::uint64_t> expires_of(std::string_view keyspace, int db);

/// True when INFO server's text is a Redis or Valkey server's own (see the file comment).
bool info_is_the_nodes_own(std::string_view server);

/// The text of an INFO reply; nothing for a refusal or a reply not kept whole.
std::optional<std::string_view> info_reply_text(const protocol::reply& reply);

/// expiry_sample_of on the replies to INFO keyspace and INFO stats.
std::optional<expiry_sample> expiry_sample_in(const protocol::reply& keyspace,
                                              const protocol::reply& stats, int db);

/// Below this many keys a pass costs the server less with one expiry command per key than
/// bracketed: the four INFO commands cost about 11 us together (2.4 us of command time each in
/// the lab's commandstats, plus reading and answering), a PEXPIRETIME about 0.26 us
/// (bench/lab/read_paths.sh), even at about 40 keys. Such a pass is sent with its expiries and
/// learns nothing (e.g. the few hashes among a batch of strings, read after the GET pass).
inline constexpr std::size_t min_bracketed_keys = 40;

/// The reader's state: whether its next pass is sent bracketed by INFO (without expiries).
class expiry_probe {
 public:
  /// Passes sent with expiries after a failed proof before the next attempt, at first; doubled
  /// after each failure up to `max_wait`, so a database where expiries come and go pays for a
  /// dropped pass rarely.
  static constexpr unsigned first_wait = 4;
  static constexpr unsigned max_wait = 4096;

  /// `allowed` false: every pass is sent with its expiries (--expiry-reads per-key, a replica,
  /// a re-copy).
  explicit expiry_probe(bool allowed) noexcept : state_(allowed ? state::unknown : state::off) {}

  /// True when the next pass should carry a trailing INFO keyspace (and, until the node is
  /// known, INFO server) to learn whether the database has expiries.
  bool wants_probe() const noexcept { return state_ != state::off && !bracket_next(); }
  /// True until INFO server has been judged.
  bool wants_server_info() const noexcept { return state_ == state::unknown; }
  /// True when the next pass should be sent bracketed, without expiries.
  bool bracket_next() const noexcept {
    return state_ == state::trusted && free_seen_ && wait_ == 0;
  }

  /// INFO server's text (nothing: refused): a node whose INFO cannot be trusted turns the probe
  /// off for good.
  void judge_server(std::optional<std::string_view> server) noexcept;
  /// A pass sent with expiries ended; its trailing INFO keyspace said the database has `expires`
  /// keys with an expiry (nothing: refused or unreadable).
  void probed(std::optional<std::uint64_t> expires) noexcept;
  /// A bracketed pass ended with these samples (nothing: a reply refused or unreadable). True
  /// when it proved its keys had no expiry; false when they must be read again with expiries.
  bool proven(std::optional<expiry_sample> before, std::optional<expiry_sample> after) noexcept;

  /// Bracketed passes that proved their keys had no expiry, and those that did not.
  std::uint64_t proofs() const noexcept { return proofs_; }
  std::uint64_t failures() const noexcept { return failures_; }

 private:
  enum class state { unknown, trusted, off };
  state state_;
  bool free_seen_ = false;  // the last look at INFO keyspace found no expiry
  unsigned wait_ = 0;       // passes to send with expiries before the next attempt
  unsigned next_wait_ = first_wait;
  std::uint64_t proofs_ = 0;
  std::uint64_t failures_ = 0;
};

/// One call of routed_side::run under an expiry_probe: whether its keys carry their expiry
/// command, the INFO commands to send around them on each node, and what their answers proved.
class probed_read {
 public:
  /// For the next call reading `keys` keys through `probe`; `allowed` false, or fewer keys than
  /// min_bracketed_keys: every key with its expiry, and nothing learnt (e.g. around replies kept
  /// within a budget, where an INFO may be dropped).
  probed_read(expiry_probe& probe, std::size_t keys, bool allowed = true);

  /// True when every key must be sent with its expiry command.
  bool per_key_expiries() const noexcept { return !bracketed_; }
  /// The commands to send around the keys on each node (none when there is nothing to learn).
  const node_bracket& bracket() const noexcept { return bracket_; }
  /// Filled by routed_side::run.
  std::vector<bracket_answer> answers;

  /// Tells the probe what the answers said of database `db`; returns the keys (indices into the
  /// call's keys) sent without their expiry whose node proved nothing: to be read again with it.
  std::vector<std::uint32_t> settle(int db);

 private:
  expiry_probe& probe_;
  bool bracketed_;
  bool probing_;
  bool server_info_;
  node_bracket bracket_;
};

}  // namespace ferry::engine
