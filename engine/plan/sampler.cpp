#include "engine/plan/sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>

namespace ferry::engine {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using protocol::reply;

// Where MEMORY USAGE is refused, keys up to these lengths are DUMPed for their size; longer
// ones are estimated, because DUMP serializes the whole value while the server waits.
constexpr std::uint64_t dump_max_string = 1 << 20;
constexpr std::int64_t dump_max_elements = 1024;
// Bytes per element assumed for a large collection before any of its type was dumped.
constexpr double default_element_bytes = 32;

asio::awaitable<void> pace(rate_limiter& limiter, std::uint64_t keys, std::uint64_t bytes) {
  const auto wait = limiter.take(keys, bytes, clock::now());
  if (wait <= clock::duration::zero()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(asio::use_awaitable);
}

const char* length_command(std::string_view type) {
  if (type == "string") return "STRLEN";
  if (type == "list") return "LLEN";
  if (type == "set") return "SCARD";
  if (type == "zset") return "ZCARD";
  if (type == "hash") return "HLEN";
  if (type == "stream") return "XLEN";
  return nullptr;
}

/// Sizes keys where MEMORY USAGE is refused (see the constants above).
class fallback_sizer {
 public:
  asio::awaitable<outcome> size(node_session& session, std::vector<sampled_key>& keys) {
    std::vector<std::vector<std::string>> lengths;
    for (const auto& k : keys) {
      const char* command = length_command(k.type);
      lengths.push_back(command ? std::vector<std::string>{command, k.key}
                                : std::vector<std::string>{"TYPE", k.key});
    }
    auto counted = co_await session.run(lengths);
    if (!counted) co_return counted.error();
    std::vector<std::vector<std::string>> dumps;
    std::vector<std::size_t> dumped;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const reply& r = (*counted)[i];
      const std::int64_t n = r.kind == protocol::reply_kind::integer ? r.integer : 0;
      keys[i].measured_by = size_source::estimated;
      const bool string = keys[i].type == "string";
      if (string && static_cast<std::uint64_t>(n) > dump_max_string) {
        keys[i].bytes = static_cast<std::uint64_t>(n);
      } else if (!string && n > dump_max_elements) {
        const auto& seen = per_element_[keys[i].type];
        const double each = seen.second > 0 ? seen.first / seen.second : default_element_bytes;
        keys[i].bytes = static_cast<std::uint64_t>(each * static_cast<double>(n));
      } else {
        dumps.push_back({"DUMP", keys[i].key});
        dumped.push_back(i);
        elements_.push_back(string ? 1 : std::max<std::int64_t>(n, 1));
      }
    }
    if (dumps.empty()) co_return outcome{};
    auto payloads = co_await session.run(dumps);
    if (!payloads) co_return payloads.error();
    for (std::size_t j = 0; j < dumped.size(); ++j) {
      sampled_key& k = keys[dumped[j]];
      k.bytes = (*payloads)[j].text().size();
      k.measured_by = size_source::dump_length;
      auto& seen = per_element_[k.type];
      seen.first += static_cast<double>(k.bytes);
      seen.second += static_cast<double>(elements_[j]);
    }
    elements_.clear();
    co_return outcome{};
  }

 private:
  std::map<std::string, std::pair<double, double>> per_element_;  // bytes, elements dumped
  std::vector<std::int64_t> elements_;
};

/// TYPE, PTTL and size of each key in `names`, counted into `stats`.
class key_sizer {
 public:
  key_sizer(node_session& session, master_sample& into, const sample_request& request)
      : session_(session), into_(into), request_(request) {}

  asio::awaitable<outcome> size(const std::vector<std::string>& names) {
    std::vector<std::vector<std::string>> commands;
    for (const auto& name : names) {
      commands.push_back({"TYPE", name});
      commands.push_back({"PTTL", name});
      if (memory_usage_) commands.push_back({"MEMORY", "USAGE", name});
    }
    auto replies = co_await session_.run(commands);
    if (!replies) co_return replies.error();
    const std::size_t per_key = memory_usage_ ? 3 : 2;
    if (memory_usage_ && !names.empty() && (*replies)[2].is_error()) {
      // Refused (ACL, a managed service, Redis < 4): size with DUMP lengths from now on.
      memory_usage_ = false;
    }
    std::vector<sampled_key> keys;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const reply& type = (*replies)[i * per_key];
      const reply& ttl = (*replies)[i * per_key + 1];
      for (const auto* refused : {&type, &ttl}) {
        if (refused->is_error()) {
          co_return fail_with(
              protocol::classify_error_reply(refused->text()),
              fmt::format("the source {} refused {}: {}; ferry plan needs +type and +pttl "
                          "(README, \"Planning a migration\")",
                          session_.address(), refused == &type ? "TYPE" : "PTTL", refused->text()));
        }
      }
      // A key that expired or was deleted since SCAN.
      if (type.text() == "none" || ttl.integer == -2) continue;
      sampled_key k;
      k.key = names[i];
      k.type = std::string(type.text());
      k.ttl_ms = std::max<std::int64_t>(ttl.integer, -1);
      k.node = session_.address();
      if (per_key == 3) {
        const reply& usage = (*replies)[i * per_key + 2];
        if (usage.is_nil()) continue;
        k.bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(usage.integer, 0));
        k.measured_by = size_source::memory_usage;
      }
      keys.push_back(std::move(k));
    }
    if (per_key == 2 || !memory_usage_) {
      if (auto sized = co_await fallback_.size(session_, keys); !sized) co_return sized.error();
    }
    if (auto measured = co_await measure_stream_slack(keys); !measured) co_return measured.error();
    for (const auto& k : keys) {
      into_.stats.add(k);
      if (k.bytes <= request_.probe_max_bytes) {
        if (probe_.size() < request_.probe_keys) probe_.push_back(k.key);
      } else if (k.bytes <= reserve_max_bytes && reserve_.size() < reserve_keys) {
        reserve_.push_back(k.key);
      }
    }
    co_return outcome{};
  }

  /// Keys for the probe: small ones, or where there are none a few of up to 1 MiB, so that a
  /// dataset of large values still gets a rate.
  std::vector<std::string>& probe_keys() noexcept {
    return probe_.empty() && request_.probe_keys != 0 ? reserve_ : probe_;
  }

 private:
  /// The preallocated last node of small streams (see stream_slack): XLEN and DUMP of each
  /// stream between one node's preallocation and the probe's size limit (larger ones carry at
  /// most 4 KiB of slack in much more data, and their DUMP costs the source more).
  asio::awaitable<outcome> measure_stream_slack(std::vector<sampled_key>& keys) {
    if (!request_.stream_prealloc) co_return outcome{};
    std::vector<std::size_t> streams;
    std::vector<std::vector<std::string>> commands;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const sampled_key& k = keys[i];
      if (k.type != "stream" || k.measured_by != size_source::memory_usage || k.bytes < 4096 ||
          k.bytes > request_.probe_max_bytes) {
        continue;
      }
      streams.push_back(i);
      commands.push_back({"XLEN", k.key});
      commands.push_back({"DUMP", k.key});
    }
    if (streams.empty()) co_return outcome{};
    auto replies = co_await session_.run(commands);
    if (!replies) co_return replies.error();
    for (std::size_t j = 0; j < streams.size(); ++j) {
      const reply& length = (*replies)[2 * j];
      const reply& payload = (*replies)[2 * j + 1];
      // Refused or vanished: no correction for this key.
      if (length.kind != protocol::reply_kind::integer ||
          payload.kind != protocol::reply_kind::string) {
        continue;
      }
      sampled_key& k = keys[streams[j]];
      k.slack = std::min(
          k.bytes, stream_slack(payload.text().size(), static_cast<std::uint64_t>(length.integer),
                                request_.node_max_entries, request_.node_max_bytes));
    }
    co_return outcome{};
  }

  node_session& session_;
  master_sample& into_;
  const sample_request& request_;
  fallback_sizer fallback_;
  bool memory_usage_ = true;
  std::vector<std::string> probe_;
  std::vector<std::string> reserve_;
  static constexpr std::uint64_t reserve_max_bytes = 1 << 20;
  static constexpr std::size_t reserve_keys = 20;
};

asio::awaitable<outcome> run_probe(node_session& session, const sample_request& request,
                                   rate_limiter& limiter, const std::vector<std::string>& keys,
                                   dump_probe& probe) {
  if (keys.empty()) co_return outcome{};
  double rtt = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = clock::now();
    std::vector<std::string> ping{"PING"};
    auto pong = co_await session.one(std::move(ping));
    if (!pong) co_return pong.error();
    rtt = std::min(rtt, std::chrono::duration<double>(clock::now() - start).count());
  }
  probe.rtt_ms = rtt * 1000;
  const char* expiry = request.major_version >= 7 ? "PEXPIRETIME" : "PTTL";
  constexpr std::size_t batch = 100;
  for (std::size_t at = 0; at < keys.size(); at += batch) {
    const std::size_t n = std::min(batch, keys.size() - at);
    co_await pace(limiter, n, 0);
    std::vector<std::vector<std::string>> commands;
    for (std::size_t i = at; i < at + n; ++i) {
      commands.push_back({"DUMP", keys[i]});
      commands.push_back({expiry, keys[i]});
    }
    const auto start = clock::now();
    auto replies = co_await session.run(commands);
    if (!replies) co_return replies.error();
    const double took = std::chrono::duration<double>(clock::now() - start).count();
    std::uint64_t dumped = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const reply& payload = (*replies)[2 * i];
      if (payload.is_error()) {
        // The permission check reports the missing rule; the plan goes on without a rate.
        probe = dump_probe{};
        probe.rtt_ms = rtt * 1000;
        probe.note = fmt::format("DUMP refused: {}", payload.text());
        co_return outcome{};
      }
      if (payload.is_nil()) continue;
      ++dumped;
      probe.bytes += payload.text().size();
      if (probe.rdb_version == 0) probe.rdb_version = payload_rdb_version(payload.text());
    }
    probe.keys += dumped;
    // The server's time: the pipeline's round trip less one network round trip, and no less than
    // a microsecond a key (no server serves a million DUMPs a second on one core).
    probe.seconds += std::max(took - rtt, 1e-6 * static_cast<double>(n));
  }
  co_return outcome{};
}

}  // namespace

unsigned payload_rdb_version(std::string_view payload) noexcept {
  if (payload.size() < 10) return 0;
  const auto* trailer =
      reinterpret_cast<const unsigned char*>(payload.data() + payload.size() - 10);
  return static_cast<unsigned>(trailer[0]) | (static_cast<unsigned>(trailer[1]) << 8);
}

asio::awaitable<outcome> sample_master(node_session& session, const sample_request& request,
                                       rate_limiter& limiter, master_sample& into) {
  key_sizer sizer(session, into, request);
  std::string cursor = "0";
  std::uint64_t taken = 0;
  const auto wanted = [&] { return request.all || taken < request.keys; };
  while (wanted()) {
    std::vector<std::string> command{"SCAN", cursor, "COUNT",
                                     std::to_string(std::max(1u, request.scan_count))};
    auto scan = co_await session.one(std::move(command));
    if (!scan) co_return scan.error();
    if (scan->is_error() || scan->elements.size() != 2) {
      co_return fail_with(protocol::classify_error_reply(scan->text()),
                          fmt::format("the source {} refused SCAN: {}; ferry needs +scan",
                                      session.address(), scan->text()));
    }
    cursor = std::string(scan->elements[0].text());
    std::vector<std::string> names;
    for (const auto& key : scan->elements[1].elements) {
      if (!request.all && taken + names.size() >= request.keys) break;
      names.emplace_back(key.text());
    }
    for (std::size_t at = 0; at < names.size(); at += request.batch_keys) {
      const std::size_t n = std::min<std::size_t>(request.batch_keys, names.size() - at);
      co_await pace(limiter, n, 0);
      std::vector<std::string> chunk(names.begin() + static_cast<std::ptrdiff_t>(at),
                                     names.begin() + static_cast<std::ptrdiff_t>(at + n));
      if (auto sized = co_await sizer.size(chunk); !sized) co_return sized.error();
    }
    taken += names.size();
    if (cursor == "0") break;
  }
  co_return co_await run_probe(session, request, limiter, sizer.probe_keys(), into.probe);
}

}  // namespace ferry::engine
