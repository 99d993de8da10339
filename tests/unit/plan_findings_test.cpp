// Each of ferry plan's rules, on a report built by hand: it appears exactly when its condition
// holds, at the level the capabilities of this build give it (engine/plan/findings).

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/plan/findings.hpp"

namespace ferry::engine {
namespace {

node_report node(std::string address, std::string run_id, bool target) {
  node_report n;
  n.address = std::move(address);
  n.info.version_text = "7.0.15";
  n.info.version = {7, 0};
  n.info.role = "master";
  n.info.run_id = std::move(run_id);
  n.info.memory.used = 2'000'000;
  n.info.memory.startup = 900'000;
  n.info.memory.policy = "noeviction";
  n.dbsize = target ? 0 : 1000;
  if (!target) n.info.keyspace = {{0, 1000, 10, 5000}};
  n.config["notify-keyspace-events"] = {true, "KA", ""};
  n.config["client-output-buffer-limit"] = {
      true, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", ""};
  n.config["proto-max-bulk-len"] = {true, "536870912", ""};
  n.acl_users = std::vector<std::string>{"default"};
  n.function_libraries = std::vector<std::string>{};
  n.permissions.checked = true;
  n.permissions.user = "default";
  if (target) n.restore_available = true;
  if (!target) n.probe.rdb_version = 10;
  return n;
}

/// A report with nothing to find: one source master, an empty target of the same version.
plan_report ready_report() {
  plan_report r;
  r.source.url = "redis://source:6379";
  r.source.masters.push_back(node("source:6379", "aaaa", false));
  side_report target;
  target.url = "redis://target:6379";
  target.masters.push_back(node("target:6379", "bbbb", true));
  r.target = std::move(target);
  r.size = estimate_size(r.source.data_bytes(), 900'000, 0.1, 0.2);
  r.skus = recommend_skus(builtin_sku_table(), r.size.sku_bytes, {});
  return r;
}

const finding* find(const std::vector<finding>& findings, std::string_view code) {
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [&](const finding& f) { return f.code == code; });
  return it == findings.end() ? nullptr : &*it;
}

std::string codes(const std::vector<finding>& findings) {
  std::string text;
  for (const auto& f : findings) text += f.code + " ";
  return text;
}

/// The one finding `report` has besides `ignored` ones, checked to be `code` at `level`.
void expect_only(const plan_report& report, std::string_view code, severity level) {
  const auto findings = evaluate(report);
  const finding* f = find(findings, code);
  ASSERT_NE(f, nullptr) << "missing " << code << "; got " << codes(findings);
  EXPECT_EQ(f->level, level) << code;
  EXPECT_FALSE(f->message.empty());
  EXPECT_FALSE(f->advice.empty());
  EXPECT_EQ(findings.size(), 1u) << codes(findings);
}

TEST(findings, a_clean_report_is_ready) {
  const plan_report r = ready_report();
  const auto findings = evaluate(r);
  EXPECT_TRUE(findings.empty()) << codes(findings);
  EXPECT_EQ(verdict_of(findings), plan_verdict::ready);
}

TEST(findings, several_databases_and_an_empty_job_database) {
  plan_report r = ready_report();
  r.source.masters[0].info.keyspace.push_back({3, 50, 0, 0});
  expect_only(r, "several_databases", severity::warning);
  r.source.masters[0].info.keyspace = {{3, 50, 0, 0}};
  expect_only(r, "job_database_empty", severity::warning);
}

TEST(findings, a_target_too_small_or_nearly_full_or_evicting) {
  plan_report r = ready_report();
  r.target->masters[0].info.memory.maxmemory = 1'500'000;  // 2 MB used + 1.1 MB data
  expect_only(r, "target_too_small", severity::blocker);
  EXPECT_EQ(verdict_of(evaluate(r)), plan_verdict::blocked);
  r.target->masters[0].info.memory.maxmemory = 3'300'000;  // 94 %
  expect_only(r, "target_nearly_full", severity::warning);
  r.target->masters[0].info.memory.maxmemory = 0;
  r.target->masters[0].info.memory.policy = "allkeys-lru";
  expect_only(r, "target_evicts", severity::warning);
}

TEST(findings, a_non_empty_target_and_the_same_server) {
  plan_report r = ready_report();
  r.target->masters[0].dbsize = 7;
  expect_only(r, "target_not_empty", severity::blocker);
  r = ready_report();
  r.target->masters[0].info.run_id = "aaaa";
  expect_only(r, "same_server", severity::blocker);
}

TEST(findings, a_target_without_restore_depends_on_struct_mode) {
  plan_report r = ready_report();
  r.target->masters[0].restore_available = false;
  r.target->masters[0].permissions.missing = {"restore (no such command)"};
  expect_only(r, "restore_refused", severity::blocker);  // not also a permission finding
  r.capabilities.struct_mode = true;
  expect_only(r, "restore_refused", severity::warning);
}

TEST(findings, a_source_newer_than_the_target) {
  plan_report r = ready_report();
  r.source.masters[0].info.version_text = "7.4.1";
  r.source.masters[0].info.version = {7, 4};
  r.source.masters[0].probe.rdb_version = 12;
  expect_only(r, "source_newer_than_target", severity::blocker);
  r.capabilities.struct_mode = true;
  expect_only(r, "source_newer_than_target", severity::warning);
  // Older into newer is fine.
  r = ready_report();
  r.source.masters[0].probe.rdb_version = 9;
  EXPECT_TRUE(evaluate(r).empty());
}

TEST(findings, modules_the_target_lacks) {
  plan_report r = ready_report();
  r.source.masters[0].info.modules = {{"ReJSON", 20607}};
  expect_only(r, "modules_missing", severity::warning);
  r.sample.add({"doc:1", "ReJSON-RL", 100, size_source::memory_usage, -1, "source:6379"});
  r.source.masters[0].dbsize = 1;  // the sample covers every key
  expect_only(r, "modules_missing", severity::blocker);
  r.target->masters[0].info.modules = {{"ReJSON", 20607}};
  EXPECT_TRUE(evaluate(r).empty()) << codes(evaluate(r));
}

TEST(findings, keys_over_the_targets_bulk_limit) {
  plan_report r = ready_report();
  r.sample = sample_stats(1ull << 40);  // nothing counts as big
  r.sample.add({"huge", "string", 20 << 20, size_source::memory_usage, -1, "source:6379"});
  r.source.masters[0].dbsize = 1;
  r.target->masters[0].config["proto-max-bulk-len"] = {true, "16mb", ""};
  expect_only(r, "keys_over_bulk_limit", severity::blocker);
  r.target->masters[0].config["proto-max-bulk-len"] = {true, "536870912", ""};
  EXPECT_TRUE(evaluate(r).empty()) << codes(evaluate(r));
}

TEST(findings, permissions_missing_on_either_side) {
  plan_report r = ready_report();
  r.source.masters[0].permissions.missing = {"dump"};
  expect_only(r, "source_permissions", severity::blocker);
  r = ready_report();
  r.target->masters[0].permissions.missing = {"restore", "del"};
  expect_only(r, "target_permissions", severity::blocker);
}

TEST(findings, notifications_off_or_unknown) {
  plan_report r = ready_report();
  r.source.masters[0].config["notify-keyspace-events"] = {true, "", ""};
  expect_only(r, "notifications_off", severity::warning);
  EXPECT_NE(find(evaluate(r), "notifications_off")->advice.find("'KA'"), std::string::npos);
  r.source.masters[0].config["notify-keyspace-events"] = {false, "", "ERR unknown command"};
  expect_only(r, "notifications_unknown", severity::note);
}

TEST(findings, pubsub_buffers_too_small_for_the_write_rate) {
  plan_report r = ready_report();
  r.source.masters[0].window.seconds = 10;
  r.source.masters[0].window.writes = 20'000;  // 2,000 writes/s
  EXPECT_TRUE(evaluate(r).empty());            // 10 s of ~100-byte events: 2 MB < 8 MB
  r.source.masters[0].config["client-output-buffer-limit"] = {true, "pubsub 1mb 512kb 60", ""};
  expect_only(r, "pubsub_buffer_small", severity::warning);
  r.source.masters[0].config["client-output-buffer-limit"] = {true, "pubsub 0 0 0", ""};
  EXPECT_TRUE(evaluate(r).empty());  // no limit at all
}

TEST(findings, acl_users_and_functions_do_not_move) {
  plan_report r = ready_report();
  r.source.masters[0].acl_users = std::vector<std::string>{"default", "app"};
  expect_only(r, "acl_users", severity::warning);
  r = ready_report();
  r.source.masters[0].function_libraries = std::vector<std::string>{"mylib"};
  expect_only(r, "functions", severity::warning);
  r.capabilities.copies_functions = true;
  expect_only(r, "functions", severity::note);
}

TEST(findings, big_keys_and_the_sample_note) {
  plan_report r = ready_report();
  r.sample = sample_stats(1000);
  r.sample.add({"big", "hash", 5000, size_source::memory_usage, -1, "source:6379"});
  r.sample.add({"small", "string", 50, size_source::memory_usage, -1, "source:6379"});
  const auto findings = evaluate(r);
  ASSERT_NE(find(findings, "big_keys"), nullptr) << codes(findings);
  ASSERT_NE(find(findings, "sample_only"), nullptr) << codes(findings);  // 2 of 1000 keys
  EXPECT_EQ(findings.size(), 2u) << codes(findings);
  r.scanned_all = true;
  EXPECT_EQ(find(evaluate(r), "sample_only"), nullptr);
}

TEST(findings, the_enterprise_proxy_and_multi_key_commands_into_a_cluster) {
  plan_report r = ready_report();
  r.target->enterprise_proxy = true;
  r.target->azure_managed_redis = true;
  r.target->tls = true;
  expect_only(r, "enterprise_policy", severity::warning);
  r.source.masters[0].info.commands = {{"sunionstore", 12, 0, 0, 0}, {"mget", 5, 0, 0, 0}};
  const auto findings = evaluate(r);
  const finding* f = find(findings, "enterprise_policy");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("sunionstore (12 calls)"), std::string::npos) << f->message;
  EXPECT_EQ(f->message.find("mget"), std::string::npos) << f->message;  // allowed across slots

  r = ready_report();
  r.target->cluster = true;
  EXPECT_TRUE(evaluate(r).empty());  // no multi-key commands used
  r.source.masters[0].info.commands = {{"mget", 5, 0, 0, 0}};
  expect_only(r, "cluster_multi_key", severity::warning);
}

TEST(findings, azure_without_tls_and_unverified_tls) {
  plan_report r = ready_report();
  r.target->azure_managed_redis = true;
  r.target->enterprise_proxy = false;
  r.target->cluster = true;
  expect_only(r, "azure_without_tls", severity::warning);
  r = ready_report();
  r.source.insecure = true;
  expect_only(r, "tls_unverified", severity::warning);
}

TEST(findings, sync_falling_behind_and_no_size_fitting) {
  plan_report r = ready_report();
  r.time = estimate_time({{"source:6379", 1000, 0, 10'000, 8'000}});
  expect_only(r, "sync_too_slow", severity::warning);
  r = ready_report();
  r.skus = recommend_skus(builtin_sku_table(), 10'000'000'000'000, {});
  expect_only(r, "no_sku_fits", severity::warning);
}

TEST(findings, without_a_target_only_a_note) {
  plan_report r = ready_report();
  r.target.reset();
  expect_only(r, "no_target", severity::note);
  EXPECT_EQ(verdict_of(evaluate(r)), plan_verdict::ready);
}

TEST(findings, blockers_come_first_and_decide_the_verdict) {
  plan_report r = ready_report();
  r.source.masters[0].acl_users = std::vector<std::string>{"default", "app"};
  r.target->masters[0].dbsize = 3;
  const auto findings = evaluate(r);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].level, severity::blocker);
  EXPECT_EQ(findings[1].level, severity::warning);
  EXPECT_EQ(verdict_of(findings), plan_verdict::blocked);
  EXPECT_EQ(verdict_of({findings[1]}), plan_verdict::with_warnings);
  EXPECT_STREQ(verdict_text(plan_verdict::with_warnings), "ready with warnings");
}

TEST(clustering_advice, follows_the_source) {
  plan_report r = ready_report();
  EXPECT_NE(clustering_advice(r).find("Enterprise clustering policy"), std::string::npos);
  r.source.masters[0].info.commands = {{"rename", 3, 0, 0, 0}};
  EXPECT_NE(clustering_advice(r).find("rename"), std::string::npos);
  r.source.cluster = true;
  EXPECT_NE(clustering_advice(r).find("OSS clustering policy"), std::string::npos);
}

}  // namespace
}  // namespace ferry::engine
