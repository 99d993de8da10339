#pragma once
// Compares a batch of keys between the source and the target: existence, type, value, expiry.
//
// Values are not moved twice where it can be avoided: each side computes a digest of each key
// itself (a Lua script loaded once per server and called with EVALSHA: SHA-1 of DUMP without its
// version/CRC trailer between servers of one version, an encoding-independent canonical form
// across versions; digest_scripts.hpp; across versions a small value's DUMP is read instead and
// its canonical digest computed here, payload_digest.hpp), and only keys whose digests differ, or
// that are too large to DUMP on the server (`digest_max_bytes`), are compared type-aware, in chunks
// (deep_compare.hpp). A side that refuses scripts (NOPERM, EVAL disabled) is read with DUMP instead
// and the digest computed here: correct, but every value crosses the network; a warning says so
// once. Per key the batch pipelines TYPE, PEXPIRETIME (PTTL before Redis 7, made absolute) and the
// digest on both sides at once, each side routed by slot (routed_side.hpp); with
// `prove_no_expiry`, where a side's INFO proves its database has no expiry, without PEXPIRETIME.
//
// A key that differs is read again on both sides after a pause (a live source may be ahead of
// a target that a sync is about to update): when either side has moved on, the key is compared
// again, up to `rounds` comparisons; one that keeps moving is reported as `changed`, not as a
// difference. Only a difference that holds still is reported as one.
//
// Built to be called from any worker thread's pipeline, the copy pipeline included: give it two
// routed sides on that thread (see routed_side.hpp) and batches of keys.
//
// Thread: the worker thread owning both routed sides; one call at a time.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/cluster/expiry_probe.hpp"
#include "engine/cluster/routed_side.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/verify/deep_compare.hpp"
#include "engine/verify/verdict.hpp"

namespace ferry::engine {

/// How much is compared.
enum class compare_mode {
  quick,  ///< existence, type, expiry and length only
  full,   ///< values too
};

/// What a comparison checks and how patiently.
struct compare_options {
  /// Values too, or lengths only.
  compare_mode mode = compare_mode::full;
  /// Expiries this far apart (ms) still count as equal.
  std::int64_t ttl_tolerance_ms = 1000;
  /// Most comparisons of one key while its source keeps changing (at least 1).
  unsigned rounds = 3;
  /// Pause before reading a differing key's sides again; doubles each round.
  std::chrono::milliseconds recheck_pause{200};
  /// The source answers PEXPIRETIME (Redis >= 7); otherwise PTTL.
  bool source_pexpiretime = true;
  /// The same for the target.
  bool target_pexpiretime = true;
  /// Digest scripts as EVAL_RO/EVALSHA_RO on sides that answer PEXPIRETIME (Redis >= 7), which
  /// CLIENT PAUSE WRITE lets through (ferry sync compares while its cut-over pauses the source;
  /// the ACL needs +eval_ro +evalsha_ro).
  bool read_only_scripts = false;
  /// Digest with the encoding-independent script (digest_scripts.hpp): for servers of
  /// different versions, whose DUMP payloads of equal values often differ.
  bool canonical_digest = false;
  /// The source holds hash-field expiries (Redis >= 7.4): its digests and deep comparisons
  /// include them. A side without them compares as having none.
  bool source_field_ttls = false;
  /// The same for the target.
  bool target_field_ttls = false;
  /// Both sides report Redis 7's stream metadata (entries-added, ...): the canonical digest
  /// includes it.
  bool stream_v7 = false;
  /// Read strings directly (GET + PEXPIRETIME; a reply over `direct_max_bytes` not kept) while they
  /// are most of the keys, as the copy reads them (GET): a string shorter than that is compared
  /// by its bytes' digest computed here (string_digest), with no script run on the server; other
  /// keys (WRONGTYPE) and longer strings then take the usual path. Off for callers that compare
  /// digests with DUMP digests of their own (copy --verify, sync).
  bool direct_strings = false;
  /// See direct_strings.
  std::size_t direct_max_bytes = 4096;
  /// Leave out the expiry command where a side's INFO, sampled before and after the keys on
  /// each node, proves its database holds no key with an expiry (expiry_probe.hpp, as the
  /// copy's --expiry-reads auto); false: every key's expiry is read.
  bool prove_no_expiry = false;
  /// Keys estimated larger than this (estimated_bytes: a string's length, 64 bytes per element
  /// of a collection) get no server-side digest, which would make the server hold a DUMP of
  /// that size three times over and block it meanwhile; they are compared element by element.
  /// (A side that refuses scripts DUMPs keys of at most 4 MiB into ferry.)
  std::size_t digest_max_bytes = std::size_t{64} << 20;
  /// Chunk sizes of value comparisons.
  deep_options deep;
};

/// What the comparers of one shard learn together about each side's expiries (see
/// compare_options::prove_no_expiry): one comparer's first batch tells the others'.
struct side_probes {
  explicit side_probes(bool allowed) : source(allowed), target(allowed) {}
  expiry_probe source;
  expiry_probe target;
};

/// A re-check in progress (key_comparer::recheck_round): the verdicts, which of them still
/// differ, and when the next look at them is due.
struct recheck_state {
  std::vector<verdict> verdicts;
  /// Indices into `verdicts` of those still differing.
  std::vector<std::size_t> differing;
  /// The comparison the next look makes (the first look was 1).
  unsigned round = 1;
  /// The pause before the next look; doubles each round.
  std::chrono::milliseconds pause{0};
  std::chrono::steady_clock::time_point due;

  /// True when no look is left to make.
  bool done() const noexcept { return differing.empty(); }
};

/// See the file comment.
class key_comparer {
 public:
  /// A comparer reading through `source` and `target`, which it does not own; `probes` (if not
  /// null, outliving it) shared with the shard's other comparers on this thread.
  key_comparer(routed_side& source, routed_side& target, compare_options options,
               side_probes* probes = nullptr);

  /// Compares every key; a verdict per key, in the order of `keys`. Differing keys come with
  /// both sides' lengths (for descriptions).
  boost::asio::awaitable<maybe<std::vector<verdict>>> compare(
      std::span<const protocol::bytes> keys);

  /// The re-checks of compare(), for verdicts of compare_once() (first looked at at
  /// `first_look`, from which the first pause counts): each differing verdict is replaced by
  /// what later looks find, and differing ones get both sides' lengths. Lets a caller go on
  /// comparing other keys meanwhile, on another comparer (one call at a time each).
  boost::asio::awaitable<outcome> recheck(std::vector<verdict>& verdicts,
                                          std::chrono::steady_clock::time_point first_look);

  /// The re-checks of recheck() one look at a time, so that a caller can interleave those of
  /// many batches (each look due a pause after the last): starts with the verdicts of
  /// compare_once(), first looked at at `first_look`.
  recheck_state begin_recheck(std::vector<verdict> verdicts,
                              std::chrono::steady_clock::time_point first_look) const;
  /// Makes the next look of `state` (when it is due: this does not wait); once it is done(),
  /// its differing verdicts have both sides' lengths.
  boost::asio::awaitable<outcome> recheck_round(recheck_state& state);

  /// One comparison per key, no re-check and no lengths (e.g. to confirm a repair).
  boost::asio::awaitable<maybe<std::vector<verdict>>> compare_once(
      std::span<const protocol::bytes> keys);

  /// Reads what each side holds for `keys` (type, expiry, digest or length) without comparing.
  boost::asio::awaitable<maybe<std::vector<key_state>>> read_source(
      std::span<const protocol::bytes> keys);

  /// Messages to show once (a side that refused the digest script); cleared by the call.
  std::vector<std::string> take_warnings();
  /// Keys whose values were compared element by element so far.
  std::uint64_t deep_compared() const noexcept { return deep_compared_; }

 private:
  /// How one side is read.
  struct side_reader {
    routed_side& side;
    bool pexpiretime = true;
    bool field_ttls = false;    // ARGV[2] of the canonical script
    bool scripts = true;        // false once the side refused the digest script: DUMP instead
    double string_share = 1.0;  // running share of strings among the keys read
    std::vector<protocol::reply> replies;
    bool dumps = true;  // false once the side refused DUMP: the canonical script instead
    expiry_probe* probe = nullptr;  // whether its keys' expiries may be left out
  };

  boost::asio::awaitable<maybe<std::vector<key_state>>> read_states(
      side_reader& reader, std::span<const protocol::bytes> keys);
  boost::asio::awaitable<maybe<std::vector<key_state>>> read_typed_states(
      side_reader& reader, std::span<const protocol::bytes> keys, bool dumps, bool may_prove);
  boost::asio::awaitable<outcome> read_script_digests(side_reader& reader,
                                                      std::span<const protocol::bytes> keys,
                                                      const std::vector<std::size_t>& which,
                                                      std::vector<key_state>& states,
                                                      std::vector<std::size_t>& refused_keys,
                                                      std::string& refusal);
  boost::asio::awaitable<outcome> read_dump_digests(side_reader& reader,
                                                    std::span<const protocol::bytes> keys,
                                                    const std::vector<std::size_t>& which,
                                                    std::vector<key_state>& states);
  boost::asio::awaitable<outcome> read_lengths(side_reader& reader,
                                               std::span<const protocol::bytes> keys,
                                               std::vector<key_state>& states, bool all);
  void note_refusal(side_reader& reader, std::string_view refusal);
  static std::vector<protocol::bytes> pick(std::span<const protocol::bytes> keys,
                                           const std::vector<std::size_t>& which);
  static std::vector<protocol::bytes> pick_keys(const std::vector<verdict>& verdicts,
                                                const std::vector<std::size_t>& which);
  boost::asio::awaitable<outcome> add_lengths(std::vector<verdict>& verdicts);
  boost::asio::awaitable<maybe<verdict>> judge(const protocol::bytes& key, key_state source,
                                               key_state target);

  side_probes own_probes_;
  side_reader source_;
  side_reader target_;
  compare_options options_;
  std::string_view script_;
  std::string script_sha_;
  std::vector<std::string> warnings_;
  std::uint64_t deep_compared_ = 0;
};

}  // namespace ferry::engine
