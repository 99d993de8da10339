#include "engine/sync/sync_extension.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/copy/shard.hpp"
#include "engine/runtime/key_text.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "engine/sync/key_match.hpp"
#include "engine/topology/target_guard.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

/// How often a cluster source's slot map is read while a sync runs.
constexpr std::chrono::milliseconds look_interval{500};
/// How long --until-converged waits for its fence before it sends another.
constexpr std::chrono::milliseconds fence_retry{2'000};

/// The settings changed by an earlier run that died before it could put them back.
std::vector<notification_state> inherited_notifications(const checkpoint* previous) {
  std::vector<notification_state> states;
  if (previous == nullptr || previous->extension.empty()) return states;
  const auto json = nlohmann::json::parse(previous->extension, nullptr, false);
  if (!json.is_object() || !json.contains("notifications")) return states;
  for (const auto& entry : json["notifications"]) {
    if (!entry.value("configured", false)) continue;
    notification_state s;
    s.node = entry.value("node", std::string{});
    s.configured = true;
    s.previous = entry.value("previous", std::string{});
    s.value = entry.value("value", std::string{});
    s.readable = true;
    states.push_back(std::move(s));
  }
  return states;
}

nlohmann::json lag_json(const lag_snapshot& lag) {
  return {{"count", lag.total()},
          {"p50_ms", lag.quantile_ms(0.50)},
          {"p99_ms", lag.quantile_ms(0.99)},
          {"max_ms", lag.max_ms()}};
}

nlohmann::json gap_json(const gap_record& g) {
  return {{"cause", g.cause},
          {"detail", g.detail},
          {"at_ms", g.at_ms},
          {"slots", g.slots},
          {"reconcile_started_ms", g.reconcile_started_ms},
          {"reconcile_finished_ms", g.reconcile_finished_ms},
          {"compared", g.compared},
          {"marked", g.marked}};
}

}  // namespace

sync_extension::sync_extension(const sync_config& config)
    : config_(config), settle_(config.settle) {}

sync_extension::~sync_extension() = default;

maybe<void> sync_extension::prepare(const copy_plan& plan, const checkpoint* previous,
                                    job_control& control) {
  control_ = &control;
  const protocol::server_facts& facts = plan.sides.source_facts;
  const protocol::topology& map = facts.map;
  cluster_ = map.is_cluster();
  source_base_ = plan.sides.source;
  can_pause_ = facts.major_version > 6 || (facts.major_version == 6 && facts.minor_version >= 2);
  pause_version_ = fmt::format("{}.{}", facts.major_version, facts.minor_version);
  if (config_.cutover && !can_pause_) {
    return fail_with(protocol::errc::server_error,
                     fmt::format("--cutover pauses the source's writes with CLIENT PAUSE WRITE, "
                                 "which needs Redis >= 6.2; the source runs {}.{}: stop the "
                                 "application's writes yourself, let ferry sync run with "
                                 "--until-converged, then switch",
                                 facts.major_version, facts.minor_version));
  }

  // Each shard's home: the node its snapshot reads (a master, or its replica).
  std::vector<sync_node> homes;
  std::vector<protocol::connection_options> nodes;
  std::vector<std::string> master_ids;
  for (const auto& shard : plan.shards) {
    sync_node home;
    home.options = protocol::at_node(plan.sides.source, shard.node.host, shard.node.port);
    home.options.readonly = cluster_;
    home.options.client_name = "ferry-sync";
    home.id = shard.node_id;
    home.master = shard.node;
    std::string master_id = shard.node_id;
    for (const auto& replica : map.replicas()) {
      if (replica.id != shard.node_id) continue;
      home.replica = true;
      master_id = replica.master_id;
      for (const auto& master : map.masters()) {
        if (master.id == replica.master_id) home.master = master.where;
      }
    }
    nodes.push_back(home.options);
    master_ids.push_back(master_id);
    homes.push_back(std::move(home));
  }

  // Notifications, before anything is written anywhere.
  const auto inherited = inherited_notifications(previous);
  auto states = check_notifications(nodes, config_.configure_notifications);
  if (!states) return states.error();
  for (auto& s : *states) {
    for (const auto& earlier : inherited) {
      // An earlier run set it and could not put it back: the value to restore is the first one.
      if (earlier.node == s.node) {
        s.configured = true;
        s.previous = earlier.previous;
      }
    }
  }
  notifications_ = std::move(*states);

  compare_options compare;
  compare.mode = compare_mode::full;
  compare.ttl_tolerance_ms = config_.copy.verify.ttl_tolerance_ms;
  compare.rounds = 1;
  compare.source_pexpiretime = facts.major_version >= 7;
  compare.target_pexpiretime = plan.sides.target_facts.major_version >= 7;
  // Reconciles and stream sweeps go on while a cut-over pauses the source's writes.
  compare.read_only_scripts = true;
  // The comparisons route each key to its slot's master. Not READONLY: a master demoted by a
  // failover answers with MOVED to the new master instead of serving its own copy, whose stream
  // groups may differ from the new master's (entries-read is recomputed on a replica) and would
  // hide exactly the differences a failover's reconcile is there to find.
  protocol::connection_options seed = plan.sides.source;
  seed.readonly = false;
  const std::size_t shards = std::max<std::size_t>(plan.shards.size(), 1);
  settings_ = std::make_unique<sync_settings>(sync_settings{
      .copy = config_.copy,
      .max_dirty_bytes = std::max<std::size_t>(config_.max_dirty_bytes / shards, 1 << 16),
      .hold = config_.hold,
      .ping_interval = config_.ping_interval,
      .stats_interval = config_.stats_interval,
      .channel = channel_of(notifications_),
      .compare = compare,
      .source_seed = seed,
      .source_map = map,
      .filter_slots = cluster_ || config_.copy.slots.has_value(),
      .job_id = new_job_id(),
  });

  std::vector<std::unique_ptr<shard_sync_stats>> stats;
  shards_.clear();
  views_.clear();
  handoffs_.clear();
  sources_.clear();
  std::vector<cutover_node> pause;
  for (std::size_t i = 0; i < plan.shards.size(); ++i) {
    stats.push_back(std::make_unique<shard_sync_stats>());
    sources_.push_back(plan.shards[i].node.address());
    const bool probe = !notifications_[i].readable;
    shards_.push_back(std::make_unique<sync_shard>(*settings_, *stats.back(), i, homes[i],
                                                   plan.shards[i].slots, probe));
    if (previous != nullptr) {
      shards_.back()->start_with_gap(gap_now(
          "resume",
          "ferry sync resumed from its state file: what changed while no subscriber was on is "
          "found by this reconcile"));
    }
    shard_view view;
    view.group.insert(master_ids[i]);
    for (const auto& replica : map.replicas()) {
      if (replica.master_id == master_ids[i]) view.group.insert(replica.id);
    }
    view.home_id = homes[i].id;
    view.slots = plan.shards[i].slots;
    views_.push_back(std::move(view));
    cutover_node node;
    node.master = protocol::at_node(plan.sides.source, homes[i].master.host, homes[i].master.port);
    if (homes[i].replica) node.replica = homes[i].options;
    pause.push_back(std::move(node));
  }
  {
    std::lock_guard lock(stats_mutex_);
    stats_ = std::move(stats);
  }
  if (cluster_) {
    protocol::connection_options look_seed = plan.sides.source;
    look_seed.client_name = "ferry-sync";
    look_ = std::make_unique<cluster_look>(look_seed, map);
  }
  {
    cutover_ =
        std::make_unique<cutover_io>(std::move(pause), seed, map, plan.sides.target,
                                     plan.sides.target_facts.map, config_.copy.tune, compare);
  }
  return {};
}

asio::awaitable<bool> sync_extension::before_scan(shard_context& shard) {
  if (shard.index >= shards_.size()) co_return true;
  co_return co_await shards_[shard.index]->wait_subscribed(shard.control);
}

asio::awaitable<void> sync_extension::beside(shard_context& shard) {
  if (shard.index >= shards_.size()) co_return;
  co_await shards_[shard.index]->run(shard);
}

void sync_extension::moved(const slot_set& slots) {
  // Slots that moved under a scan: whichever shard keeps them now reconciles them once its own
  // snapshot is done (its view is updated by the looks at the cluster).
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    const slot_set mine = slots & views_[i].slots;
    if (mine.none()) continue;
    gap_record gap = gap_now(
        "reshard",
        fmt::format("the source cluster moved slots {} while ferry scanned them", slot_text(mine)));
    shards_[i]->post([mine, gap](sync_shard& s) { s.reconcile(mine, gap); });
  }
}

bool sync_extension::quiet_for(std::chrono::milliseconds settle) const {
  // --until-converged is for scripted cut-overs: the source must have been quiet, not only
  // caught up at each look.
  std::lock_guard lock(stats_mutex_);
  for (const auto& s : stats_) {
    if (steady_ms() - s->last_change_ms < settle.count()) return false;
  }
  return true;
}

bool sync_extension::converged_now() const {
  if (!handoffs_.empty()) return false;
  std::lock_guard lock(stats_mutex_);
  if (stats_.empty()) return false;
  for (const auto& s : stats_) {
    const shard_convergence c{s->snapshot_done, s->subscribed, s->reconciling || s->sweeping,
                              static_cast<std::size_t>(s->dirty_keys.load())};
    if (!c.converged()) return false;
  }
  return true;
}

void sync_extension::follow_topology() {
  last_look_ = clock::now();
  auto map = look_->look();
  if (!map) return;  // looked at again soon; the subscribers report nodes that stay away
  const auto moves = follow(*map, views_, config_.copy.protect.read_from_replicas);
  for (const auto& move : moves.homes) {
    sync_node home;
    home.options = protocol::at_node(source_base_, move.node.where.host, move.node.where.port);
    home.options.readonly = true;
    home.options.client_name = "ferry-sync";
    home.id = move.node.id;
    home.master = move.master;
    home.replica = move.replica;
    gap_record gap = gap_now(
        "failover", fmt::format("the slots of shard {} are served by {} now (a failover): ferry "
                                "subscribes there and reconciles them",
                                sources_[move.shard], move.node.where.address()));
    shards_[move.shard]->post([home, gap](sync_shard& s) { s.switch_home(home, gap); });
  }
  for (const auto& move : moves.slots) {
    const std::uint64_t token = next_token_++;
    const slot_set slots = move.slots;
    shards_[move.from]->post([slots, token](sync_shard& s) { s.release(slots, token); });
    shards_[move.to]->post([slots](sync_shard& s) { s.acquire(slots); });
    handoffs_.push_back({token, move.from, move.to, slots});
  }
  if (moves.unowned.any()) {
    control_->fail(fail_with(
        protocol::errc::clusterdown,
        fmt::format("the source cluster serves slots {} from a master ferry sync did not know "
                    "when it started (a master added since): run the same command with --resume, "
                    "which plans again with every master and reconciles",
                    slot_text(moves.unowned))));
  }
}

void sync_extension::tick() {
  if (!settings_ || control_ == nullptr) return;
  const auto now = clock::now();
  if (cluster_ && look_ && now - last_look_ >= look_interval) follow_topology();
  for (auto it = handoffs_.begin(); it != handoffs_.end();) {
    // The shard that had the slots has no re-copy of them in flight any more: the one that has
    // them now may reconcile them without racing it.
    if (stats_[it->from]->released < it->token) {
      ++it;
      continue;
    }
    gap_record gap = gap_now(
        "reshard", fmt::format("the source cluster moved slots {} from shard {} to shard {}",
                               slot_text(it->slots), sources_[it->from], sources_[it->to]));
    const slot_set slots = it->slots;
    shards_[it->to]->post([slots, gap](sync_shard& s) { s.reconcile(slots, gap); });
    it = handoffs_.erase(it);
  }
  // Once the job stops, its shards unsubscribe: what it reports is the state it stopped in.
  if (outcome_ != outcome::running || control_->stopping()) return;
  const bool converged = converged_now();
  converged_ = converged;
  if (converged && converged_at_ms_ == 0) converged_at_ms_ = unix_ms();
  if (cutover_requested_ && !config_.cutover && step_ == cutover_step::idle && !can_pause_) {
    warnings_.push_back(fmt::format(
        "a cut-over was asked for (SIGUSR1), but CLIENT PAUSE WRITE needs Redis >= 6.2 and the "
        "source runs {}: stop the application's writes yourself and switch once converged",
        pause_version_));
    cutover_requested_ = false;
  }
  if (config_.cutover || cutover_requested_) {
    // The pause stops the writes, and the drain waits for the last of them: the cut-over may
    // begin once the shards have caught up up to a few keys in flight.
    advance_cutover(settle_.observe(ready_for_cutover(), now));
    return;
  }
  if (config_.until_converged) until_converged(settle_.observe(converged, now), now);
}

bool sync_extension::fenced(std::uint64_t token) const {
  std::lock_guard lock(stats_mutex_);
  for (const auto& s : stats_) {
    if (s->fenced < token) return false;
  }
  return true;
}

void sync_extension::until_converged(bool settled, clock::time_point now) {
  if (!settled || !quiet_for(config_.settle)) {
    until_fence_ = 0;
    return;
  }
  // Figures that look converged may be stale: a subscriber may not yet have read the events in
  // its socket (a stalled process, a loaded machine). The job ends only once a fence sent now
  // has come back on every subscriber (its pong follows every event published before it) and
  // the job is still converged after that; a fence lost with its connection is sent again.
  if (until_fence_ != 0 && fenced(until_fence_)) {
    if (converged_now() && quiet_for(config_.settle)) {
      outcome_ = outcome::converged;
      control_->drain();
    } else {
      until_fence_ = 0;
    }
    return;
  }
  if (until_fence_ == 0 || now - until_fence_sent_ >= fence_retry) {
    until_fence_ = next_token_++;
    until_fence_sent_ = now;
    for (auto& shard : shards_) {
      shard->post([token = until_fence_](sync_shard& s) { s.fence(token); });
    }
  }
}

std::vector<sync_shard_report> sync_extension::shard_reports() const {
  std::vector<sync_shard_report> reports;
  std::lock_guard lock(stats_mutex_);
  for (std::size_t i = 0; i < stats_.size(); ++i) {
    const auto& s = *stats_[i];
    sync_shard_report r;
    r.source = sources_[i];
    r.node = s.node();
    r.phase = static_cast<shard_phase>(s.phase.load());
    r.events = s.events;
    r.ignored = s.ignored;
    r.dropped = s.dropped;
    r.recopied = s.recopied;
    r.erased = s.erased;
    r.failed = s.failed;
    r.reconcile_marked = s.reconcile_marked;
    r.stream_sweeps = s.stream_sweeps;
    r.dirty_keys = s.dirty_keys;
    r.dirty_bytes = s.dirty_bytes;
    r.lag = s.lag.snapshot();
    r.gaps = s.gaps();
    reports.push_back(std::move(r));
  }
  return reports;
}

std::string sync_extension::state() const {
  nlohmann::json json{
      {"command", "sync"}, {"converged", converged_.load()}, {"converged_at_ms", converged_at_ms_}};
  json["notifications"] = nlohmann::json::array();
  for (const auto& n : notifications_) {
    json["notifications"].push_back({{"node", n.node},
                                     {"readable", n.readable},
                                     {"value", n.value},
                                     {"configured", n.configured},
                                     {"previous", n.previous}});
  }
  json["shards"] = nlohmann::json::array();
  for (const auto& r : shard_reports()) {
    nlohmann::json shard{{"source", r.source},           {"node", r.node},
                         {"phase", phase_name(r.phase)}, {"events", r.events},
                         {"recopied", r.recopied},       {"erased", r.erased},
                         {"dirty_keys", r.dirty_keys},   {"lag", lag_json(r.lag)}};
    shard["gaps"] = nlohmann::json::array();
    for (const auto& g : r.gaps) shard["gaps"].push_back(gap_json(g));
    json["shards"].push_back(std::move(shard));
  }
  return json.dump();
}

bool sync_extension::keep_marks() const {
  return outcome_ != outcome::converged && outcome_ != outcome::cut_over;
}

sync_progress sync_extension::progress() const {
  sync_progress p;
  std::lock_guard lock(stats_mutex_);
  p.shards = stats_.size();
  for (const auto& s : stats_) {
    p.snapshot_done += s->snapshot_done ? 1 : 0;
    p.reconciling += s->reconciling || s->sweeping ? 1 : 0;
    p.events += s->events;
    p.applied += s->recopied + s->erased;
    p.dirty += s->dirty_keys;
    p.lag += s->lag.snapshot();
    p.gaps += s->gaps().size();
  }
  p.converged = converged_;
  return p;
}

sync_report sync_extension::finish(copy_report snapshot) {
  sync_report report;
  // Whatever ended the job, what ferry changed on the source goes back.
  for (const auto& n : notifications_) {
    if (n.configured) {
      report.notes.push_back(fmt::format(
          "notify-keyspace-events on {} was set to '{}' for the job and put back to '{}'", n.node,
          n.value, n.previous));
    }
  }
  for (auto& w : restore_notifications(notifications_, source_base_)) {
    report.warnings.push_back(std::move(w));
  }
  for (auto& w : warnings_) report.warnings.push_back(w);
  report.shards = shard_reports();
  for (const auto& s : report.shards) report.lag += s.lag;
  report.converged = converged_;
  report.converged_at_ms = converged_at_ms_;
  report.cutover = cutover_report_;
  std::uint64_t failed = snapshot.totals.failed;
  for (const auto& s : report.shards) failed += s.failed;
  if (snapshot.status == job_status::fatal) {
    report.status = sync_status::fatal;
    report.failure = snapshot.failure;
  } else {
    switch (outcome_) {
      case outcome::converged:
        report.status = failed != 0 ? sync_status::keys_failed : sync_status::converged;
        break;
      case outcome::cut_over:
        report.status = failed != 0 ? sync_status::keys_failed : sync_status::cut_over;
        break;
      case outcome::cutover_failed:
        report.status = sync_status::cutover_failed;
        break;
      case outcome::running:
        report.status = sync_status::interrupted;
        break;
    }
  }
  report.snapshot = std::move(snapshot);
  return report;
}

}  // namespace ferry::engine
