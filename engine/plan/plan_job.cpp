#include "engine/plan/plan_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "engine/cluster/sides.hpp"
#include "engine/plan/findings.hpp"
#include "engine/plan/inspector.hpp"
#include "engine/plan/sampler.hpp"

namespace ferry::engine {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

bool azure_host(const std::string& host) {
  const auto ends = [&](std::string_view suffix) {
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".redis.azure.net") || ends(".redisenterprise.cache.azure.net");
}

/// One side's nodes while the plan runs.
struct side_state {
  side_report report;
  std::vector<std::unique_ptr<node_session>> sessions;
  /// Commands each session had sent before its first INFO.
  std::vector<std::uint64_t> sent_before;
  std::vector<std::uint64_t> reads_before;
};

asio::awaitable<outcome> open_side(const side& s, const tuning& tune, const char* role,
                                   side_state& state) {
  auto options = base_options(s, tune, role);
  if (!options) co_return options.error();
  auto facts = co_await inspect(*options, role);
  if (!facts) co_return facts.error();
  side_report& r = state.report;
  r.url = s.where.redacted();
  r.db = s.where.db;
  r.cluster = facts->map.is_cluster();
  r.azure_managed_redis = azure_host(s.where.host);
  r.enterprise_proxy = !r.cluster && r.azure_managed_redis;
  r.tls = s.where.tls;
  r.insecure = s.tls.insecure;
  r.replicas = facts->map.replicas().size();
  if (r.cluster && s.where.db != 0) {
    co_return fail_with(protocol::errc::server_error,
                        fmt::format("the {} {} is a cluster, which has only database 0; drop "
                                    "--{}-db {}",
                                    role, s.where.address(), role, s.where.db));
  }
  const inspect_request request{std::string_view(role) == "source", s.where.db, r.cluster};
  for (const auto& master : facts->map.masters()) {
    protocol::connection_options node = *options;
    node.where.host = master.where.host;
    node.where.port = master.where.port;
    auto session =
        std::make_unique<node_session>(co_await asio::this_coro::executor, std::move(node), role);
    if (auto connected = co_await session->connect(); !connected) co_return connected.error();
    state.sent_before.push_back(session->sent());
    state.reads_before.push_back(session->sent_reads());
    auto inspected = co_await inspect_node(*session, request);
    if (!inspected) co_return inspected.error();
    if (!r.cluster) r.replicas = inspected->info.connected_replicas;
    r.masters.push_back(std::move(*inspected));
    state.sessions.push_back(std::move(session));
  }
  co_return outcome{};
}

asio::awaitable<outcome> close_window(side_state& state, double seconds) {
  for (std::size_t i = 0; i < state.sessions.size(); ++i) {
    node_session& session = *state.sessions[i];
    const std::uint64_t sent = session.sent() - state.sent_before[i];
    const std::uint64_t reads = session.sent_reads() - state.reads_before[i];
    auto after = co_await read_info(session);
    if (!after) co_return after.error();
    node_report& node = state.report.masters[i];
    node.window = traffic_between(node.info, *after, seconds, sent, reads);
  }
  co_return outcome{};
}

/// Lifetime averages per second of a node: commands and writes. Only for a server that has run
/// an hour or more: a young server's average is dominated by whatever filled it.
std::pair<double, double> lifetime_rates(const node_info& info) {
  if (info.uptime_s < 3600) return {0, 0};
  const double uptime = static_cast<double>(info.uptime_s);
  return {static_cast<double>(info.total_commands) / uptime,
          static_cast<double>(mix_of(info.commands).writes) / uptime};
}

void estimate(const plan_config& config, const sku_table& table, plan_report& r) {
  std::uint64_t data = 0, baseline = 0, source_baseline = 0;
  for (const auto& m : r.source.masters) {
    data += movable_bytes(m.info.memory);
    source_baseline += m.info.memory.startup;
  }
  // Streams' preallocated last nodes do not move: the sample's share, for all the keys.
  if (r.sample.keys() != 0) {
    const double scale =
        static_cast<double>(r.source.keys()) / static_cast<double>(r.sample.keys());
    r.stream_slack_bytes = std::min<std::uint64_t>(
        data, static_cast<std::uint64_t>(static_cast<double>(r.sample.slack_bytes()) * scale));
    data -= r.stream_slack_bytes;
  }
  if (r.target) {
    for (const auto& m : r.target->masters) baseline += m.info.memory.startup;
  } else {
    baseline = source_baseline;
  }
  r.size = estimate_size(data, baseline, config.headroom, table.reserved_fraction);
  r.sampled_data_bytes =
      static_cast<std::uint64_t>(r.sample.mean_bytes() * static_cast<double>(r.source.keys()));

  std::vector<master_load> loads;
  double ops = 0;
  std::uint64_t clients = 0;
  for (const auto& m : r.source.masters) {
    const auto [lifetime_ops, lifetime_writes] = lifetime_rates(m.info);
    ops += std::max(m.window.ops_per_sec(), lifetime_ops);
    // ferry's own connection is one of the connected clients.
    clients += m.info.connected_clients > 0 ? m.info.connected_clients - 1 : 0;
    loads.push_back({m.address, m.dbsize, movable_bytes(m.info.memory), m.probe.keys_per_sec(),
                     std::max(m.window.writes_per_sec(), lifetime_writes)});
  }
  r.load = workload{ops, clients};
  r.skus = recommend_skus(table, r.size.sku_bytes, r.load, config.rules);
  r.time = estimate_time(loads, config.copy_max_keys_per_sec);
}

asio::awaitable<outcome> plan(const plan_config& config, plan_report& r) {
  const auto say = [&](std::string_view text) {
    if (config.progress) config.progress(text);
  };
  const auto started = clock::now();
  say("inspecting the source");
  side_state source;
  if (auto opened = co_await open_side(config.source, config.tune, "source", source); !opened) {
    co_return opened.error();
  }
  std::optional<side_state> target;
  if (config.target) {
    say("inspecting the target");
    target.emplace();
    if (auto opened = co_await open_side(*config.target, config.tune, "target", *target); !opened) {
      co_return opened.error();
    }
  }

  say(config.scan_all ? "looking at every key of the source" : "sampling the source's keys");
  rate_limiter limiter(config.max_keys_per_sec, 0);
  std::uint64_t total = 0;
  for (const auto& m : source.report.masters) total += m.dbsize;
  r.sample = sample_stats(config.big_key_bytes);
  r.sample_asked = config.sample_keys;
  r.scanned_all = config.scan_all;
  for (std::size_t i = 0; i < source.sessions.size(); ++i) {
    node_report& node = source.report.masters[i];
    sample_request request;
    request.all = config.scan_all;
    // Shares in proportion to each master's keys, so that the sample is spread as the data is.
    request.keys = total == 0 ? 0
                              : static_cast<std::uint64_t>(std::ceil(
                                    static_cast<double>(config.sample_keys) *
                                    static_cast<double>(node.dbsize) / static_cast<double>(total)));
    request.scan_count = std::min(config.tune.scan_count, 1000u);
    request.probe_keys = config.probe_keys;
    request.major_version = node.info.version.major;
    request.stream_prealloc = node.info.version.major >= 7 || node.info.flavour == "valkey";
    const auto config_number = [&](const char* name, std::uint64_t fallback) {
      const config_value* v = node.config_of(name);
      return v && v->known ? std::strtoull(v->value.c_str(), nullptr, 10) : fallback;
    };
    request.node_max_entries = config_number("stream-node-max-entries", 100);
    request.node_max_bytes = config_number("stream-node-max-bytes", 4096);
    master_sample sample{sample_stats(config.big_key_bytes), {}};
    if (auto sampled = co_await sample_master(*source.sessions[i], request, limiter, sample);
        !sampled) {
      co_return sampled.error();
    }
    node.sampled = sample.stats.keys();
    node.probe = sample.probe;
    r.sample.merge(sample.stats);
  }

  const auto elapsed = clock::now() - started;
  if (elapsed < config.observe) {
    say("watching the source's traffic");
    asio::steady_timer timer(co_await asio::this_coro::executor, config.observe - elapsed);
    co_await timer.async_wait(asio::use_awaitable);
  }
  const double seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (auto closed = co_await close_window(source, seconds); !closed) co_return closed.error();
  if (target) {
    if (auto closed = co_await close_window(*target, seconds); !closed) co_return closed.error();
  }
  r.source = std::move(source.report);
  if (target) r.target = std::move(target->report);
  co_return outcome{};
}

}  // namespace

ferry_capabilities current_capabilities() noexcept {
  // Struct mode (engine/copy/struct_stage, engine/transfer) and function copy
  // (engine/copy/function_copy) are in this build.
  return {.struct_mode = true, .copies_functions = true};
}

plan_report run_plan(const plan_config& config) {
  const auto started = clock::now();
  const sku_table& table = config.skus ? *config.skus : builtin_sku_table();
  plan_report r;
  r.capabilities = current_capabilities();
  outcome done;
  try {
    done = run_blocking(plan(config, r));
  } catch (...) {
    done = fail_with(protocol::errc::server_error, describe(std::current_exception()));
  }
  if (!done) {
    r.failure = done.error();
    r.verdict = plan_verdict::blocked;
  } else {
    estimate(config, table, r);
    r.findings = evaluate(r);
    r.verdict = verdict_of(r.findings);
  }
  r.seconds = std::chrono::duration<double>(clock::now() - started).count();
  return r;
}

}  // namespace ferry::engine
