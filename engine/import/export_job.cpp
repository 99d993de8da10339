#include "engine/import/export_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <filesystem>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/shard.hpp"
#include "engine/import/export_file.hpp"
#include "engine/import/target_version.hpp"
#include "engine/runtime/worker_pool.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
namespace rdb = protocol::rdb;
using protocol::errc;

namespace {

/// One master (or its replica) as the export reads it.
struct source_node {
  protocol::connection_options options;
  slot_set slots;
  std::uint64_t keys = 0;
  std::uint64_t expires = 0;
  /// The RDB version of its payloads (a DUMP of one key; INFO server when it holds none).
  std::uint16_t rdb_version = 0;
};

/// The decided export.
struct export_plan {
  protocol::connection_options source;
  protocol::server_facts facts;
  std::vector<source_node> nodes;
  std::vector<protocol::keyspace_entry> other_dbs;
  std::string redis_version;  // of the first node, for the file's redis-ver field
  std::uint16_t version = 0;  // the file's
  std::string functions;      // FUNCTION DUMP's payload; empty when none or unsupported
  std::uint64_t libraries = 0;
};

std::uint16_t version_of_payload(std::string_view payload) {
  if (payload.size() < 10) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data()) + payload.size() - 10;
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

/// INFO server, DBSIZE, INFO keyspace and one key's DUMP on a node.
asio::awaitable<maybe<void>> probe_node(source_node& node, export_plan& plan) {
  protocol::connection c(co_await asio::this_coro::executor, node.options);
  const std::string where = node.options.where.address();
  if (auto ec = co_await c.connect()) {
    co_return protocol::failure{
        ec, fmt::format("cannot use source node {}: {}", where, c.last_error())};
  }
  protocol::command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"DBSIZE"});
  commands.push({"INFO", "keyspace"});
  commands.push({"RANDOMKEY"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await c.exec(commands, replies)) co_return protocol::failure{ec, c.last_error()};
  if (replies[1].is_error()) {
    co_return fail_with(
        protocol::classify_error_reply(replies[1].text()),
        fmt::format("source node {}: DBSIZE refused: {}", where, replies[1].text()));
  }
  node.keys = static_cast<std::uint64_t>(std::max<std::int64_t>(replies[1].integer, 0));
  if (!replies[0].is_error()) {
    if (plan.redis_version.empty()) {
      plan.redis_version = std::string(protocol::info_text(replies[0].text(), "redis_version"));
    }
    node.rdb_version = server_rdb_version(replies[0].text()).value_or(0);
  }
  if (!replies[2].is_error()) {
    for (const auto& db : protocol::parse_keyspace(replies[2].text())) {
      if (db.db == node.options.where.db) {
        node.expires = db.expires;
        continue;
      }
      if (db.keys == 0) continue;
      auto same = std::find_if(plan.other_dbs.begin(), plan.other_dbs.end(),
                               [&](const protocol::keyspace_entry& e) { return e.db == db.db; });
      if (same == plan.other_dbs.end()) {
        plan.other_dbs.push_back(db);
      } else {
        same->keys += db.keys;
        same->expires += db.expires;
      }
    }
  }
  if (replies[3].kind == protocol::reply_kind::string) {
    // The version of the payloads themselves, which is what the file must hold.
    protocol::command_buffer dump;
    dump.push({"DUMP", replies[3].text()});
    std::vector<protocol::reply> payload;
    if (auto ec = co_await c.exec(dump, payload)) co_return protocol::failure{ec, c.last_error()};
    if (payload[0].kind == protocol::reply_kind::string)
      node.rdb_version = version_of_payload(payload[0].text());
  }
  co_return maybe<void>{};
}

/// FUNCTION DUMP and FUNCTION LIST on the first node; none on servers before 7.0.
asio::awaitable<maybe<void>> read_functions(const protocol::connection_options& options,
                                            export_plan& plan) {
  protocol::connection c(co_await asio::this_coro::executor, options);
  if (auto ec = co_await c.connect()) co_return protocol::failure{ec, c.last_error()};
  protocol::command_buffer commands;
  commands.push({"FUNCTION", "LIST"});
  commands.push({"FUNCTION", "DUMP"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await c.exec(commands, replies)) co_return protocol::failure{ec, c.last_error()};
  if (replies[0].is_error() || replies[1].is_error()) {
    const auto kind = protocol::classify_error_reply(replies[0].is_error() ? replies[0].text()
                                                                           : replies[1].text());
    if (kind == errc::unknown_command) co_return maybe<void>{};  // before Redis 7: none
    co_return fail_with(kind,
                        fmt::format("source {}: FUNCTION DUMP refused: {}; allow "
                                    "+function|dump +function|list for ferry's user",
                                    options.where.address(),
                                    replies[0].is_error() ? replies[0].text() : replies[1].text()));
  }
  plan.libraries = replies[0].elements.size();
  if (plan.libraries != 0) plan.functions = std::string(replies[1].text());
  co_return maybe<void>{};
}

asio::awaitable<maybe<export_plan>> plan_export(const export_config& config) {
  export_plan plan;
  auto options = base_options(config.source, config.tune, "source");
  if (!options) co_return options.error();
  plan.source = std::move(*options);
  auto facts = co_await inspect(plan.source, "source");
  if (!facts) co_return facts.error();
  plan.facts = std::move(*facts);
  const protocol::topology& map = plan.facts.map;
  if (map.is_cluster() && plan.source.where.db != 0) {
    co_return fail_with(job_error::configuration,
                        fmt::format("the source {} is a cluster, which has only database 0; drop "
                                    "--source-db {}",
                                    plan.source.where.address(), plan.source.where.db));
  }
  if (auto gaps = map.unassigned(); !gaps.empty()) {
    co_return fail_with(errc::clusterdown,
                        fmt::format("the source cluster does not serve slots {}-{} (and {} more "
                                    "ranges); fix the cluster before exporting it",
                                    gaps.front().start, gaps.front().end, gaps.size() - 1));
  }
  for (const auto& master : map.masters()) {
    const protocol::cluster_node* node = &master;
    if (config.protect.read_from_replicas) {
      for (const auto& replica : map.replicas()) {
        if (replica.master_id == master.id) {
          node = &replica;
          break;
        }
      }
    }
    source_node n;
    n.options = protocol::at_node(plan.source, node->where.host, node->where.port);
    n.options.readonly = map.is_cluster();
    n.slots = slots_of(master.slots);
    if (auto probed = co_await probe_node(n, plan); !probed) co_return probed.error();
    plan.nodes.push_back(std::move(n));
  }
  if (auto read = co_await read_functions(plan.nodes.front().options, plan); !read) {
    co_return read.error();
  }
  if (config.rdb_version) {
    plan.version = *config.rdb_version;
  } else {
    for (const auto& n : plan.nodes) plan.version = std::max(plan.version, n.rdb_version);
    if (plan.version == 0) plan.version = plan.libraries != 0 ? rdb::version::redis_7_0 : 9;
  }
  co_return plan;
}

bool same_slot_map(const protocol::topology& a, const protocol::topology& b) {
  if (a.masters().size() != b.masters().size()) return false;
  for (std::size_t i = 0; i < a.masters().size(); ++i) {
    const auto& x = a.masters()[i];
    const auto& y = b.masters()[i];
    if (x.id != y.id || x.slots.size() != y.slots.size()) return false;
    for (std::size_t s = 0; s < x.slots.size(); ++s) {
      if (x.slots[s].start != y.slots[s].start || x.slots[s].end != y.slots[s].end) return false;
    }
  }
  return true;
}

/// The sink of one shard: its record batches into the file.
asio::awaitable<void> write_to_file(export_file& file, shard_context& shard, record_channel& in,
                                    settled_sink settled) {
  for (;;) {
    auto [ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    std::optional<settled_part> done;
    if (!shard.control.failed()) {
      counts mine;
      // A payload larger than the thread's budget was not read (the readers hand it on for
      // struct mode, which a file has not): it is failed with its size and what to do.
      std::erase_if(batch.records, [&](const record& r) {
        if (r.kind != record_kind::rebuild) return false;
        ++mine.failed;
        shard_counters::add(shard.counters.failed, 1);
        shard.failures.record(
            shard.label, r.key.view(), "too_big",
            fmt::format("its DUMP payload ({} bytes) is larger than this worker thread's share "
                        "of --max-inflight-bytes ({} bytes): export again with a larger "
                        "--max-inflight-bytes or fewer --threads",
                        r.size, shard.budget.capacity()));
        return true;
      });
      if (auto written = file.write(batch, mine); !written) {
        shard.control.fail(written.error());
      } else {
        shard_counters::add(shard.counters.copied, mine.copied);
        shard_counters::add(shard.counters.bytes, mine.bytes);
        shard_counters::add(shard.counters.rescanned, mine.rescanned);
        counts tally = batch.tally;
        tally += mine;
        done = settled_part{batch.scan_seq, tally, {}};
      }
    }
    shard.budget.release(batch.charged_bytes);
    if (done) co_await settled(std::move(*done));
  }
}

/// One worker thread's state.
struct export_worker {
  std::unique_ptr<byte_budget> budget;
  // Never used: the shards' sink is the file, not the target's writers, but a shard's context
  // carries a writer context, whose router must exist.
  std::unique_ptr<slot_router> unused_router;
  std::vector<std::unique_ptr<shard_context>> shards;
};

}  // namespace

export_job::export_job(export_config config) : config_(std::move(config)) {}
export_job::~export_job() = default;

counts export_job::progress() const { return shards_.total(); }

export_report export_job::run() {
  const auto started = std::chrono::steady_clock::now();
  export_report report;
  report.source = config_.source.where.redacted();
  report.output = config_.output;
  report.gzip = config_.gzip_level > 0;
  const auto done = [&] {
    report.duration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };
  auto planned = run_blocking(plan_export(config_));
  if (!planned) {
    report.failure = planned.error();
    return done();
  }
  export_plan& plan = *planned;
  report.rdb_version = plan.version;
  report.db = plan.source.where.db;
  report.functions = plan.libraries;
  std::uint64_t keys = 0, expires = 0;
  for (const auto& n : plan.nodes) {
    keys += n.keys;
    expires += n.expires;
  }
  auto file = export_file::create(
      {config_.output, plan.version, plan.redis_version.empty() ? "7.2.0" : plan.redis_version,
       config_.gzip_level, keys, expires, static_cast<std::uint64_t>(plan.source.where.db)});
  if (!file) {
    report.failure = file.error();
    return done();
  }
  if (!plan.functions.empty()) {
    if (auto written = (*file)->functions(plan.functions); !written) {
      report.failure = written.error();
      return done();
    }
  }
  auto failures = failed_keys::open(config_.failed_keys_path);
  if (!failures) {
    report.failure = fail_with(job_error::output_file, failures.error());
    return done();
  }
  (*failures)->on_error([this](const std::string& why) {
    control_.fail(fail_with(job_error::output_file, why + "; ferry stops the export"));
  });

  // The copy pipeline's configuration for the shards: one sink per shard (the file is one).
  copy_config copy;
  copy.source = config_.source;
  copy.match = config_.match;
  copy.type = config_.type;
  copy.tune = config_.tune;
  copy.tune.writers_per_shard = 1;
  copy.protect = config_.protect;
  rate_limiter limiter(config_.protect.max_keys_per_sec, config_.protect.max_bytes_per_sec);
  warning_list warnings;
  source_commands commands;
  const bool cluster = plan.facts.map.is_cluster();
  worker_pool pool(worker_pool::threads_for(config_.tune.threads, plan.nodes.size()));
  const unsigned threads = pool.size();
  report.threads = threads;
  std::vector<export_worker> workers(threads);
  std::vector<shard_run> runs;
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const source_node& node = plan.nodes[i];
    const std::size_t index = shards_.add({}, node.keys);
    runs.push_back(shards_.run(index, node.options, 0, {},
                               cluster ? std::make_shared<const slot_set>(node.slots) : nullptr,
                               false));
  }
  for (unsigned t = 0; t < threads; ++t) {
    const auto executor = pool.io(t).get_executor();
    workers[t].budget = std::make_unique<byte_budget>(
        executor, std::max<std::size_t>(config_.tune.max_inflight_bytes / threads, 1));
    workers[t].unused_router =
        std::make_unique<slot_router>(executor, plan.source, plan.facts.map, copy.tune, control_);
  }
  export_file& out = **file;
  for (std::size_t n = 0; n < runs.size(); ++n) {
    const shard_run& run = runs[n];
    export_worker& w = workers[n % threads];
    const std::string label = run.source.where.address();
    w.shards.push_back(std::make_unique<shard_context>(shard_context{
        .config = copy,
        .index = run.index,
        .label = label,
        .source = run.source,
        .use_pexpiretime = plan.facts.major_version >= 7,
        // The file needs every value's DUMP payload: never GET first.
        .paths = read_path_chooser{false},
        .commands = commands,
        .start_cursor = 0,
        .slots = run.slots,
        .counters = *run.counters,
        .control = control_,
        .failures = **failures,
        .budget = *w.budget,
        .limiter = limiter,
        .warnings = warnings,
        .write = write_context{.tune = copy.tune,
                               .label = label,
                               .counters = *run.counters,
                               .control = control_,
                               .failures = **failures,
                               .budget = *w.budget,
                               .router = *w.unused_router},
        .ledger = scan_ledger{},
        .position = *run.position,
        .sizing = batch_sizer{copy.tune.batch_keys, copy.tune.batch_bytes, limiter.keys_per_sec()},
        .pace = {},
        .finished = false,
        .meters = nullptr,
        // The file needs every payload whole: only the thread's budget bounds a key.
        .big_key_bytes = SIZE_MAX,
        .caps = {},
        .sizes = {},
        .job_id = {},
        .struct_budget = nullptr,
        .source_map = nullptr,
        .sink = {},
    }));
    shard_context& shard = *w.shards.back();
    shard.sink = [&out, &shard](record_channel& in, settled_sink settled) {
      return write_to_file(out, shard, in, std::move(settled));
    };
  }
  const auto on_error = [this](std::exception_ptr error) {
    control_.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
  };
  pool.run(
      [&](unsigned t, asio::io_context& io) {
        std::vector<asio::awaitable<void>> flows;
        for (auto& shard : workers[t].shards) flows.push_back(copy_shard(*shard));
        run_flows_with_reauth(io, std::move(flows), on_error);
      },
      on_error, std::chrono::milliseconds{500},
      [&] { file_bytes_.store(out.bytes_written(), std::memory_order_relaxed); });
  for (auto& w : workers) report.peak_inflight_bytes += w.budget->peak();
  for (const auto& warning : warnings.all()) report.warnings.push_back(warning);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    report.shards.push_back({runs[i].source.where.address(), shards_.counters(i).snapshot(),
                             plan.nodes[i].rdb_version});
    report.totals += report.shards.back().totals;
  }
  report.downgraded = out.downgraded();
  report.dedup_bytes = out.dedup_bytes();

  bool complete = true;
  for (std::size_t i = 0; i < runs.size(); ++i)
    complete = complete && shards_.position(i).get().complete;
  if (!control_.failed() && complete && cluster) {
    // Keys of a slot that moved during the scan may be missing: the file would not be whole.
    auto now = run_blocking(inspect(plan.source, "source"));
    if (!now) {
      control_.fail(now.error());
    } else if (!same_slot_map(plan.facts.map, now->map)) {
      control_.fail(fail_with(errc::clusterdown,
                              "the source cluster moved slots while ferry exported it, so keys of "
                              "the moved slots may be missing from the file: it was not written; "
                              "run the export again once the resharding is over"));
    }
  }
  if (control_.failed()) {
    report.status = job_status::fatal;
    report.failure = control_.failure();
    return done();
  }
  if (!complete) {
    report.status = job_status::interrupted;
    return done();
  }
  if (auto committed = out.commit(); !committed) {
    report.status = job_status::fatal;
    report.failure = committed.error();
    return done();
  }
  std::error_code size_error;
  report.file_bytes = std::filesystem::file_size(config_.output, size_error);
  file_bytes_.store(report.file_bytes, std::memory_order_relaxed);
  report.left_behind = plan.other_dbs;
  report.status = report.totals.failed != 0                              ? job_status::keys_failed
                  : !plan.other_dbs.empty() && !config_.ignore_other_dbs ? job_status::left_behind
                                                                         : job_status::complete;
  return done();
}

}  // namespace ferry::engine
