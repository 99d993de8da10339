#include "engine/import/import_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <filesystem>

#include "engine/import/rdb_io.hpp"
#include "engine/import/target_version.hpp"
#include "engine/runtime/number_text.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// Loads the state file to resume, or makes sure a fresh import does not overwrite one.
maybe<std::optional<checkpoint>> previous_state(const import_config& config) {
  return load_previous_state(
      config.state, "import", [](const checkpoint& loaded) -> std::optional<std::string> {
        if (loaded.shards.size() == 1 && loaded.job.source.rfind("rdb:", 0) == 0) {
          return std::nullopt;
        }
        return std::string(
            "was written by another kind of job (`ferry copy`?), not by "
            "`ferry import`");
      });
}

/// Connects to every master of the target and reads INFO server: the lowest RDB version.
asio::awaitable<maybe<void>> learn_target(import_plan& plan) {
  std::optional<std::uint16_t> lowest;
  bool unknown = false;
  for (const auto& master : plan.target_facts.map.masters()) {
    protocol::connection c(co_await asio::this_coro::executor,
                           protocol::at_node(plan.target, master.where.host, master.where.port));
    if (auto ec = co_await c.connect()) {
      co_return protocol::failure{
          ec, fmt::format("cannot use target node {}: {}", master.where.address(), c.last_error())};
    }
    protocol::command_buffer commands;
    commands.push({"INFO", "server"});
    std::vector<protocol::reply> replies;
    if (auto ec = co_await c.exec(commands, replies)) {
      co_return protocol::failure{ec, c.last_error()};
    }
    if (replies[0].is_error()) {
      unknown = true;  // a service hiding INFO: payloads go as they are
      continue;
    }
    const auto text = replies[0].text();
    if (plan.target_server.empty()) plan.target_server = server_description(text);
    const auto version = server_rdb_version(text);
    if (!version) {
      unknown = true;
      continue;
    }
    lowest = lowest ? std::min(*lowest, *version) : *version;
  }
  plan.target_version = unknown && !lowest ? std::nullopt : lowest;
  co_return maybe<void>{};
}

/// Inspects the target; refuses a database number on a cluster and, for a fresh job with no
/// --on-existing, a target that holds keys.
asio::awaitable<maybe<void>> inspect_target(import_plan& plan, const import_config& config) {
  auto options = base_options(config.target, config.tune, "target");
  if (!options) co_return options.error();
  plan.target = std::move(*options);
  auto facts = co_await inspect(plan.target, "target");
  if (!facts) co_return facts.error();
  plan.target_facts = std::move(*facts);
  if (plan.target_facts.map.is_cluster() && plan.target.where.db != 0) {
    co_return fail_with(job_error::configuration,
                        fmt::format("the target {} is a cluster, which has only database 0; drop "
                                    "--target-db {}",
                                    plan.target.where.address(), plan.target.where.db));
  }
  if (config.existing == existing_policy::unset && !plan.previous) {
    auto held = co_await key_counts(plan.target, plan.target_facts.map.masters(), "target");
    if (!held) co_return held.error();
    std::uint64_t total = 0;
    for (auto n : *held) total += n;
    if (total != 0) {
      co_return fail_with(
          errc::busykey,
          fmt::format("the target {} (db {}) already holds {} keys; ferry imports into a "
                      "non-empty target only when told what to do with keys that exist there: "
                      "--on-existing fail (keep them, report each as failed), skip (keep them, "
                      "count them as skipped) or replace (overwrite them)",
                      plan.target.where.address(), plan.target.where.db, with_commas(total)));
    }
  }
  co_return co_await learn_target(plan);
}

/// The check pass of a regular file, and the database it decides.
maybe<void> survey_input(import_plan& plan, const import_config& config) {
  auto input = open_rdb_input(config.input);
  if (!input) return input.error();
  auto survey = survey_file(*input->source, config.input, input->size);
  if (!survey) return survey.error();
  const auto& dbs = survey->databases;
  if (config.db) {
    const auto it = std::find_if(dbs.begin(), dbs.end(),
                                 [&](const file_database& d) { return d.db == *config.db; });
    if (it == dbs.end()) {
      return fail_with(job_error::configuration,
                       fmt::format("--db {}: the RDB file '{}' holds no keys in database {} ({})",
                                   *config.db, config.input, *config.db,
                                   dbs.empty() ? std::string("it holds no keys at all")
                                               : "it holds " + describe_databases(dbs)));
    }
    plan.estimate = it->keys.value_or(0);
  } else if (dbs.size() > 1) {
    return fail_with(
        job_error::configuration,
        fmt::format("the RDB file '{}' holds keys in {} databases: {}. ferry imports one database "
                    "per job: choose it with --db N (Azure Managed Redis and every cluster have "
                    "only database 0, so import each other database into a separate target, or "
                    "into this one with a job of its own)",
                    config.input, dbs.size(), describe_databases(dbs)));
  } else if (dbs.size() == 1) {
    plan.db = dbs.front().db;
    plan.estimate = dbs.front().keys.value_or(0);
  }
  if (config.db) plan.db = config.db;
  plan.survey = std::move(*survey);
  return {};
}

}  // namespace

std::string describe_databases(const std::vector<file_database>& databases) {
  std::string text;
  for (const auto& d : databases) {
    if (!text.empty()) text += ", ";
    text += d.keys ? fmt::format("db {} ({} keys)", d.db, with_commas(*d.keys))
                   : fmt::format("db {} (key count not in the file)", d.db);
  }
  return text;
}

job_identity import_identity(const import_config& config, std::optional<std::uint64_t> db) {
  const std::string file =
      config.input == "-" ? std::string("-")
                          : std::filesystem::absolute(config.input).lexically_normal().string();
  job_identity identity;  // no --match, --type, --slots or part: an import takes the file
  identity.source =
      fmt::format("rdb:{}#db={}", file, db ? std::to_string(*db) : std::string("first"));
  identity.target = endpoint_identity(config.target.where);
  return identity;
}

maybe<void> same_file(const checkpoint& previous, const file_identity& identity,
                      const std::string& state_path) {
  const std::string& saved = previous.shards.front().run_id;
  const std::string now = identity.fingerprint();
  if (saved == now) return {};
  return fail_with(job_error::state_file,
                   fmt::format("--resume: the state file '{}' was written for another RDB file "
                               "(then: {}; now: {}): its offsets mean nothing in this one; import "
                               "the file it was written for, or remove the state file to start "
                               "over",
                               state_path, saved, now));
}

maybe<import_plan> plan_import(const import_config& config) {
  import_plan plan;
  auto previous = previous_state(config);
  if (!previous) return previous.error();
  plan.previous = std::move(*previous);
  plan.db = config.db;
  // A file that cannot be opened fails first. Not stdin: its first bytes, once read to look
  // for gzip's magic, would be gone for the import itself.
  if (config.input != "-") {
    auto probe = open_rdb_input(config.input);
    if (!probe) return probe.error();
    if (config.precheck && probe->regular) {
      if (auto surveyed = survey_input(plan, config); !surveyed) return surveyed.error();
    }
  }
  plan.identity = import_identity(config, plan.db);
  if (plan.previous) {
    if (plan.previous->job != plan.identity) {
      return fail_with(
          job_error::state_file,
          fmt::format("--resume: the state file '{}' belongs to another job ({}); "
                      "run with the same file, --db and target, or remove the file "
                      "to start over",
                      config.state.path, describe_differences(plan.previous->job, plan.identity)));
    }
    if (plan.survey) {
      if (auto same = same_file(*plan.previous, plan.survey->identity, config.state.path); !same) {
        return same.error();
      }
    }
  }
  if (auto target = run_blocking(inspect_target(plan, config)); !target) return target.error();
  return plan;
}

}  // namespace ferry::engine
