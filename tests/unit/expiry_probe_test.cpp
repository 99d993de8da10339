// When a reader may leave out each key's expiry command (engine/cluster/expiry_probe.hpp).

#include "engine/cluster/expiry_probe.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ferry::engine {
namespace {

// Shaped as Redis 7.4 answers (fields cut down; the parser looks for whole field names).
constexpr std::string_view server_74 =
    "# Server\r\nredis_version:7.4.1\r\nredis_mode:standalone\r\nprocess_id:4242\r\n"
    "run_id:0123456789abcdef0123456789abcdef01234567\r\ntcp_port:6379\r\n"
    "executable:/usr/bin/redis-server\r\nconfig_file:\r\n";
constexpr std::string_view stats_with =
    "# Stats\r\ntotal_commands_processed:90\r\nexpired_keys:17\r\n";

std::string keyspace(std::string_view lines) { return "# Keyspace\r\n" + std::string(lines); }

TEST(expiry_sample_of, reads_the_jobs_database_and_the_expired_count) {
  const auto sample = expiry_sample_of(
      keyspace("db0:keys=10,expires=0,avg_ttl=0\r\ndb3:keys=5,expires=2,avg_ttl=900\r\n"),
      stats_with, 3);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->expires, 2u);
  EXPECT_EQ(sample->expired_keys, 17u);
  EXPECT_EQ(
      expiry_sample_of(keyspace("db3:keys=5,expires=2,avg_ttl=900\r\n"), stats_with, 0)->expires,
      0u)
      << "a database INFO does not list holds no key";
  // Redis 7.4 adds subexpiry (hash fields): the key count with an expiry is still `expires`.
  EXPECT_EQ(
      expiry_sample_of(keyspace("db0:keys=9,expires=0,avg_ttl=0,subexpiry=4\r\n"), stats_with, 0)
          ->expires,
      0u);
}

TEST(expiry_sample_of, a_reply_that_is_not_the_sections_asked_proves_nothing) {
  EXPECT_FALSE(expiry_sample_of("db0:keys=1,expires=0\r\n", stats_with, 0)) << "no header";
  EXPECT_FALSE(expiry_sample_of(keyspace(""), "# Stats\r\ntotal_commands_processed:9\r\n", 0));
  EXPECT_FALSE(expiry_sample_of("", "", 0));
}

TEST(info_is_the_nodes_own, a_server_process_yes_a_proxy_without_its_process_no) {
  EXPECT_TRUE(info_is_the_nodes_own(server_74));
  EXPECT_FALSE(info_is_the_nodes_own("# Server\r\nredis_version:7.4.0\r\nrun_id:abc\r\n"));
  EXPECT_FALSE(info_is_the_nodes_own(""));
}

expiry_probe trusted_and_free() {
  expiry_probe probe(true);
  probe.judge_server(server_74);
  probe.probed(0);
  return probe;
}

TEST(expiry_probe, brackets_only_after_a_trusted_node_showed_no_expiry) {
  expiry_probe probe(true);
  EXPECT_FALSE(probe.bracket_next());
  EXPECT_TRUE(probe.wants_probe());
  EXPECT_TRUE(probe.wants_server_info());
  probe.judge_server(server_74);
  EXPECT_FALSE(probe.wants_server_info());
  probe.probed(3);  // the database has expiries: per key
  EXPECT_FALSE(probe.bracket_next());
  probe.probed(0);
  EXPECT_TRUE(probe.bracket_next());
  EXPECT_FALSE(probe.wants_probe()) << "a bracketed pass carries its own samples";
}

TEST(expiry_probe, never_on_a_node_whose_info_is_not_its_own_or_when_turned_off) {
  expiry_probe proxy(true);
  proxy.judge_server("# Server\r\nredis_version:7.2.0\r\n");
  proxy.probed(0);
  EXPECT_FALSE(proxy.bracket_next());
  EXPECT_FALSE(proxy.wants_probe());

  expiry_probe refused(true);
  refused.judge_server(std::nullopt);
  refused.probed(0);
  EXPECT_FALSE(refused.bracket_next());

  expiry_probe off(false);
  EXPECT_FALSE(off.wants_probe());
  off.judge_server(server_74);
  off.probed(0);
  EXPECT_FALSE(off.bracket_next());
}

TEST(expiry_probe, proves_a_pass_only_when_both_samples_show_no_expiry_and_none_expired) {
  expiry_probe probe = trusted_and_free();
  EXPECT_TRUE(probe.proven(expiry_sample{0, 17}, expiry_sample{0, 17}));
  EXPECT_TRUE(probe.bracket_next());
  EXPECT_EQ(probe.proofs(), 1u);

  // A key gained an expiry and expired between the samples: its read may have had one.
  EXPECT_FALSE(trusted_and_free().proven(expiry_sample{0, 17}, expiry_sample{0, 18}));
  EXPECT_FALSE(trusted_and_free().proven(expiry_sample{1, 17}, expiry_sample{0, 17}));
  EXPECT_FALSE(trusted_and_free().proven(expiry_sample{0, 17}, expiry_sample{1, 17}));
  EXPECT_FALSE(trusted_and_free().proven(std::nullopt, expiry_sample{0, 17}));
  EXPECT_FALSE(trusted_and_free().proven(expiry_sample{0, 17}, std::nullopt));
  // CONFIG RESETSTAT between the samples: the count went back, which proves nothing either.
  EXPECT_FALSE(trusted_and_free().proven(expiry_sample{0, 17}, expiry_sample{0, 0}));
}

TEST(expiry_probe, after_a_failed_proof_waits_longer_each_time) {
  expiry_probe probe = trusted_and_free();
  std::size_t waits[3] = {};
  for (std::size_t& wait : waits) {
    ASSERT_TRUE(probe.bracket_next());
    ASSERT_FALSE(probe.proven(expiry_sample{0, 1}, expiry_sample{0, 2}));
    for (int pass = 0; pass < 100'000 && !probe.bracket_next(); ++pass) {
      probe.probed(0);
      ++wait;
    }
  }
  EXPECT_EQ(waits[0], expiry_probe::first_wait);
  EXPECT_EQ(waits[1], 2 * expiry_probe::first_wait);
  EXPECT_EQ(waits[2], 4 * expiry_probe::first_wait);
  EXPECT_EQ(probe.failures(), 3u);
}

TEST(expiry_probe, a_database_that_gains_expiries_is_read_per_key_until_it_has_none) {
  expiry_probe probe = trusted_and_free();
  ASSERT_FALSE(probe.proven(expiry_sample{0, 5}, expiry_sample{2, 5}));
  for (unsigned pass = 0; pass < 2 * expiry_probe::max_wait; ++pass) {
    probe.probed(2);
    ASSERT_FALSE(probe.bracket_next());
  }
  probe.probed(0);
  EXPECT_TRUE(probe.bracket_next());
}

protocol::reply bulk(std::string_view text) {
  return {protocol::reply_kind::string, 0, protocol::bytes::copy_of(text), {}};
}

/// What a node sent back for `keys` around them: INFO keyspace and stats before and after.
bracket_answer bracketed(std::vector<std::uint32_t> keys, std::string_view before_keyspace,
                         std::string_view after_keyspace, std::string_view after_stats) {
  return {std::move(keys),
          {bulk(keyspace(before_keyspace)), bulk(stats_with)},
          {bulk(keyspace(after_keyspace)), bulk(after_stats)}};
}

TEST(probed_read, learns_from_the_trailing_info_then_brackets_the_next_read) {
  expiry_probe probe(true);
  probed_read first(probe, 100);
  EXPECT_TRUE(first.per_key_expiries());
  EXPECT_TRUE(first.bracket().before.empty());
  ASSERT_EQ(first.bracket().after.size(), 2u);
  EXPECT_EQ(first.bracket().after[1], (std::vector<std::string>{"INFO", "server"}));
  first.answers.push_back({{0, 1}, {}, {bulk(keyspace("db0:keys=9,expires=0\r\n")), bulk(server_74)}});
  EXPECT_TRUE(first.settle(0).empty()) << "keys read with their expiries need nothing more";

  probed_read second(probe, 100);
  EXPECT_FALSE(second.per_key_expiries());
  EXPECT_EQ(second.bracket().before.size(), 2u);
  EXPECT_EQ(second.bracket().after.size(), 2u);
  // Two nodes (a cluster side): one proves its keys, one saw an expiry expire meanwhile, and
  // keys sent with ASKING had no samples around them at all.
  second.answers.push_back(bracketed({0, 2}, "db0:keys=9,expires=0\r\n",
                                     "db0:keys=9,expires=0\r\n", stats_with));
  second.answers.push_back(bracketed({1, 4}, "db0:keys=9,expires=0\r\n",
                                     "db0:keys=9,expires=0\r\n",
                                     "# Stats\r\nexpired_keys:18\r\n"));
  second.answers.push_back({{3}, {}, {}});
  EXPECT_EQ(second.settle(0), (std::vector<std::uint32_t>{1, 4, 3}));
  EXPECT_EQ(probe.proofs(), 1u);
  EXPECT_EQ(probe.failures(), 1u) << "keys sent with ASKING count as no attempt";
  EXPECT_TRUE(probed_read(probe, 100).per_key_expiries()) << "a failed proof waits";
}

TEST(probed_read, a_side_with_expiries_or_a_proxy_is_read_per_key) {
  expiry_probe with(true);
  probed_read first(with, 100);
  first.answers.push_back({{0}, {}, {bulk(keyspace("db0:keys=9,expires=3\r\n")), bulk(server_74)}});
  first.settle(0);
  EXPECT_TRUE(probed_read(with, 100).per_key_expiries());

  expiry_probe proxy(true);
  probed_read asked(proxy, 100);
  asked.answers.push_back({{0}, {}, {bulk(keyspace("db0:keys=9,expires=0\r\n")),
                                     bulk("# Server\r\nredis_version:7.2.0\r\n")}});
  asked.settle(0);
  probed_read next(proxy, 100);
  EXPECT_TRUE(next.per_key_expiries());
  EXPECT_TRUE(next.bracket().after.empty()) << "nothing more to learn there";

  expiry_probe off(false);
  EXPECT_TRUE(probed_read(off, 100).bracket().after.empty());
}

TEST(probed_read, a_read_of_few_keys_carries_their_expiries_and_learns_nothing) {
  // Four INFO commands cost the server more than a few PEXPIRETIME: a pass of fewer than
  // min_bracketed_keys keys is sent per key, even where the probe would bracket it.
  expiry_probe probe(true);
  probed_read first(probe, min_bracketed_keys);
  first.answers.push_back({{0}, {}, {bulk(keyspace("db0:keys=9,expires=0\r\n")), bulk(server_74)}});
  first.settle(0);
  EXPECT_FALSE(probed_read(probe, min_bracketed_keys).per_key_expiries());
  probed_read few(probe, min_bracketed_keys - 1);
  EXPECT_TRUE(few.per_key_expiries());
  EXPECT_TRUE(few.bracket().before.empty());
  EXPECT_TRUE(few.bracket().after.empty());
  EXPECT_TRUE(few.settle(0).empty());
  EXPECT_EQ(probe.proofs() + probe.failures(), 0u);
  EXPECT_FALSE(probed_read(probe, min_bracketed_keys).per_key_expiries()) << "still trusted";
}

}  // namespace
}  // namespace ferry::engine
