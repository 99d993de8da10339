#pragma once
// The rounds of one batch of keyed commands on a side that may redirect them: which node each
// key goes to, what a MOVED, ASK or "not now" reply changes for the next round, and when to give
// up. Pure: it does no I/O and knows no connection, so the reader, the writer and the routed
// sides of the verifier run the same decisions, and tests step it reply by reply.
//
// A round groups the keys still pending by destination. A key starts at its *home*: the owner of
// its slot in the side's map (writers, routed sides), or the caller's own node (a shard's reader,
// which reads from the node it scans). The caller runs each group and reports, per key, nothing
// (settled), `redirect()` for MOVED/ASK, or `retry()` for a reply or a broken connection that
// says "try the same again later". `finish()` then says what comes next: done, another round
// after a backoff delay (and whether the slot map must be read again first), or give up.
//
// MOVED means the slot map changed. A side with a map (`moved_policy::refresh_map`) re-reads it
// and sends the key home again, which the new map resolves; a reader (`moved_policy::follow`)
// goes to the node named in the reply. ASK is a one-off: the key goes to the named node, with
// ASKING before the command, and returns home after that round.
//
// Thread: one (the caller's); not thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/cluster/link_stats.hpp"
#include "engine/runtime/backoff.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// A node named by address (by a MOVED or ASK reply) rather than by the slot map.
struct node_address {
  /// Host as the reply gives it (an IPv6 address without brackets).
  std::string host;
  /// Port.
  std::uint16_t port = 0;

  /// "host:port", with brackets around an IPv6 literal.
  std::string text() const;
  /// Ordering, so groups come in a stable order.
  friend auto operator<=>(const node_address&, const node_address&) = default;
};

/// Where a key starts, and where it goes back to after an ASK.
enum class home_node {
  slot_owner,  ///< the master that owns the key's slot in the side's map
  own_node,    ///< the caller's own node (a shard's reader: the node it scans)
};

/// What MOVED means to the caller.
enum class moved_policy {
  refresh_map,  ///< read the slot map again; the key goes home, where the new map sends it
  follow,       ///< go to the node the reply names
};

/// One destination of a round and the keys that go there.
struct round_group {
  /// Index into the map's masters (home keys of a slot_owner side); nothing otherwise.
  std::optional<std::size_t> master;
  /// The node a redirect named; nothing for home keys.
  std::optional<node_address> node;
  /// Send ASKING before each key's commands (an ASK redirect).
  bool asking = false;
  /// The keys (indices into the caller's batch), in batch order.
  std::vector<std::uint32_t> keys;

  /// True for the caller's own node (home keys of an own_node side).
  bool own_node() const noexcept { return !master && !node; }
};

/// What `finish()` decided.
struct round_outcome {
  /// What to do.
  enum class step {
    done,     ///< every key is settled
    again,    ///< run another round after `delay`
    give_up,  ///< the retry time is spent: `pending` keys stay unsettled
  };
  /// What to do.
  step next = step::done;
  /// Wait this long before the next round (`again`).
  std::chrono::milliseconds delay{0};
  /// Read the slot map again before the next round (a MOVED, or a slot the map has no owner
  /// for).
  bool refresh_map = false;
  /// Keys not settled yet.
  std::size_t pending = 0;
};

/// See the file comment.
class redirect_round {
 public:
  /// The slot of key `index` (only asked for keys routed by a slot map).
  using slot_of = std::function<std::uint16_t(std::uint32_t index)>;

  /// A round keeper for a side whose keys start at `home` and that treats MOVED by `moved`, with
  /// the retry timing of `retry` (whose give-up time bounds the whole batch).
  redirect_round(home_node home, moved_policy moved, backoff retry);

  /// Starts a batch of `keys` keys (indices 0 .. keys-1), all at home.
  void begin(std::size_t keys);
  /// Starts a batch of the given keys only (others of the caller's batch are already settled).
  void begin(std::vector<std::uint32_t> keys);

  /// The groups of the coming round. Home keys of a slot_owner side are grouped by the owner
  /// of `slot(index)` in `map`; a key whose slot has no owner is kept for the next round and
  /// asks for a map refresh. Valid until the next call of `plan` or `begin`. (`map` may be null
  /// for an own_node side.)
  std::span<const round_group> plan(const protocol::topology* map, const slot_of& slot);

  /// Key `index` got MOVED or ASK `to` from the node at `from_host` (a reply without a host,
  /// "MOVED 3999 :6381", names a node on the same host). It goes again next round.
  void redirect(std::uint32_t index, const protocol::redirect& to, const std::string& from_host);
  /// Key `index` goes again next round, home (its reply said "not now", or no reply came);
  /// `cause` is why, for the retries by cause (errc{} when the caller cannot tell).
  void retry(std::uint32_t index, protocol::errc cause = {});
  /// Key `index` goes again next round to the same node as this round (an ASK target that
  /// answered TRYAGAIN keeps it).
  void retry_same(std::uint32_t index, const round_group& group, protocol::errc cause = {});

  /// Ends the round: done, another round (after a backoff delay, with a map refresh when
  /// asked), or give up once the backoff's retry time is spent.
  round_outcome finish(backoff::clock::time_point now);

  /// Rounds run again since this object was made (a redirect or a retry in each).
  std::uint64_t rounds_retried() const noexcept { return rounds_retried_; }
  /// Also counts each round run again into `stats`, under the cause of the first key sent
  /// again (so the causes add up to rounds_retried()); null to stop.
  void count_into(link_stats* stats) noexcept { stats_ = stats; }

 private:
  struct pending {
    std::uint32_t index = 0;
    std::optional<node_address> node;  // named by a redirect
    bool asking = false;
  };

  home_node home_;
  moved_policy moved_;
  backoff backoff_;
  std::vector<pending> todo_;
  std::vector<pending> next_;
  bool refresh_ = false;
  // Groups are reused from round to round (and batch to batch) so that their key vectors keep
  // their capacity: the first `used_` are this round's.
  std::vector<round_group> groups_;
  std::size_t used_ = 0;
  std::vector<std::size_t> by_master_;  // group index of each master this round; npos if none
  std::uint64_t rounds_retried_ = 0;
  link_stats* stats_ = nullptr;
  std::optional<protocol::errc> cause_;  // of the first key sent again this round
};

}  // namespace ferry::engine
