// Proves the integration-test harness itself: every server kind starts, answers, and leaves
// nothing behind; TLS material behaves as each variant promises; clusters form and route; the
// dataset writer and the keyspace oracle agree with Redis's own DEBUG DIGEST.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/expectations.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

const std::string zero_digest(40, '0');

TEST(harness, standalone_starts_answers_and_leaves_nothing_behind) {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::filesystem::path dir;
  {
    redis_server server;
    pid = server.pid();
    port = server.port();
    dir = server.dir();
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(server.url(), "redis://127.0.0.1:" + std::to_string(port));
    sync_client client = server.client();
    EXPECT_TRUE(client.command({"SET", "greeting", "hello"}).is_ok());
    EXPECT_EQ(client.command({"GET", "greeting"}).str, "hello");
    const std::string binary_key = "a\0b\r\n c\xff"s;
    EXPECT_TRUE(client.command({"SET", binary_key, "v\0v"s}).is_ok());
    EXPECT_EQ(client.command({"GET", binary_key}).str, "v\0v"s);
    EXPECT_EQ(info_field(client.checked({"INFO", "server"}).str, "process_id"),
              std::to_string(pid));
    // The harness's fixed settings are in force.
    const reply config = client.checked({"CONFIG", "GET", "*"});
    std::map<std::string, std::string> settings;
    for (std::size_t i = 0; i + 1 < config.elements.size(); i += 2) {
      settings[config[i].str] = config[i + 1].str;
    }
    EXPECT_EQ(settings["save"], "");
    EXPECT_EQ(settings["appendonly"], "no");
    EXPECT_EQ(settings["bind"], "127.0.0.1");
    EXPECT_EQ(settings["enable-debug-command"], "yes");
  }
  EXPECT_FALSE(process_alive(pid));
  EXPECT_TRUE(port_is_free(port));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(harness, password_is_required_and_kept_out_of_the_process_list) {
  server_options options;
  options.password = "s3cret pass";
  redis_server server(options);
  EXPECT_EQ(server.url(), "redis://:s3cret%20pass@127.0.0.1:" + std::to_string(server.port()));
  client_options anonymous = server.connect_options();
  anonymous.password.clear();
  sync_client stranger(anonymous);
  EXPECT_EQ(stranger.command({"PING"}).str.substr(0, 6), "NOAUTH");
  EXPECT_EQ(server.client().command({"PING"}).str, "PONG");
  EXPECT_EQ(file_contents(fmt::format("/proc/{}/cmdline", server.pid())).find("s3cret"),
            std::string::npos);
}

TEST(harness, a_taken_fixed_port_is_reported_as_port_in_use) {
  // Hold a listener on a port, then ask for a server on exactly that port.
  port_holder holder;
  const std::uint16_t port = holder.port();
  EXPECT_FALSE(port_is_free(port));
  server_options options;
  options.port = port;
  EXPECT_THROW(redis_server{options}, port_in_use_error);
  // A free choice of port still works while another process holds ports.
  EXPECT_EQ(redis_server().client().command({"PING"}).str, "PONG");
}

TEST(harness, pause_resume_restart_and_kill) {
  redis_server server;
  client_options quick = server.connect_options();
  quick.timeout = 300ms;
  sync_client client(quick);
  server.pause();
  EXPECT_THROW(client.command({"PING"}), client_error);
  server.resume();
  EXPECT_EQ(sync_client(quick).command({"PING"}).str, "PONG");

  const pid_t before = server.pid();
  server.restart();
  EXPECT_NE(server.pid(), before);
  EXPECT_FALSE(process_alive(before));
  EXPECT_EQ(sync_client(quick).command({"PING"}).str, "PONG");

  server.kill(SIGTERM);
  EXPECT_TRUE(server.wait_exit(5s));
  EXPECT_FALSE(server.running());
}

TEST(harness, tls_only_server_answers_over_tls_and_refuses_plain_text) {
  tls_material tls;
  server_options options;
  options.tls = make_server_tls(tls);
  redis_server server(options);
  EXPECT_EQ(server.url(), "rediss://localhost:" + std::to_string(server.port()));

  sync_client client = server.client();
  EXPECT_TRUE(client.command({"SET", "k", "over tls"}).is_ok());
  EXPECT_EQ(client.command({"GET", "k"}).str, "over tls");
  // The IP SAN works as well as the DNS name.
  client_options by_ip = server.connect_options();
  by_ip.tls->server_name = "127.0.0.1";
  EXPECT_EQ(sync_client(by_ip).command({"GET", "k"}).str, "over tls");

  client_options plain = server.connect_options();
  plain.tls.reset();
  plain.timeout = 1000ms;
  EXPECT_THROW(sync_client(plain).command({"PING"}), client_error);

  client_options untrusting = server.connect_options();
  untrusting.tls->ca_file = tls.other_ca().cert;
  EXPECT_THROW(sync_client{untrusting}, client_error);
  client_options wrong_name = server.connect_options();
  wrong_name.tls->server_name = "wronghost.example";
  EXPECT_THROW(sync_client{wrong_name}, client_error);
}

TEST(harness, bad_certificate_variants_fail_verification_but_serve) {
  tls_material tls;
  // Each variant must fail for its own reason, as OpenSSL words it.
  const std::map<std::string, cert_files> variants{
      {"certificate has expired", tls.expired_server()},
      {"hostname mismatch", tls.wrong_host_server()},
      {"unable to get local issuer certificate", tls.other_ca_server()}};
  for (const auto& [reason, files] : variants) {
    SCOPED_TRACE(reason);
    server_options options;
    options.tls = make_server_tls(tls);
    options.tls->cert_file = files.cert;
    options.tls->key_file = files.key;
    redis_server server(options);
    const std::string error = connection_error(server.connect_options());
    EXPECT_NE(error.find(reason), std::string::npos) << error;
    client_options insecure = server.connect_options();
    insecure.tls->verify = false;
    EXPECT_EQ(sync_client(insecure).command({"PING"}).str, "PONG");
  }
}

TEST(harness, tls_client_auth_requires_the_client_certificate) {
  tls_material tls;
  server_options options;
  options.tls = make_server_tls(tls, /*auth_clients=*/true);
  redis_server server(options);
  EXPECT_EQ(connection_error(server.connect_options()), "");
  client_options without_cert = server.connect_options();
  without_cert.tls->cert_file.clear();
  without_cert.tls->key_file.clear();
  EXPECT_NE(connection_error(without_cert), "");
  client_options foreign_cert = server.connect_options();
  foreign_cert.tls->cert_file = tls.other_ca_client().cert;
  foreign_cert.tls->key_file = tls.other_ca_client().key;
  EXPECT_NE(connection_error(foreign_cert), "");
}

// Checks a freshly formed cluster: slots, agreement, routing, the oracle across masters.
void check_cluster(const redis_cluster& cluster) {
  ASSERT_EQ(cluster.masters().size(), 3u);
  EXPECT_TRUE(cluster_matches_creation(cluster));
  EXPECT_EQ(key_hash_slot("foo"), 12182);  // the example in the cluster specification
  cluster_client router = cluster.client();
  const std::vector<std::string> keys{
      "foo", "{user1000}.following", "a\0b"s, "", "\xff\xfe", "key:1", "key:2", "key:3", "{tag}x"};
  for (const auto& key : keys) {
    router.checked({"SET", key, "value of " + key});
    EXPECT_EQ(router.checked({"GET", key}).str, "value of " + key);
  }
  EXPECT_TRUE(keys_live_on_owning_masters(cluster, keys));

  // Same data in the cluster and in one server: the oracles must agree across topologies.
  for (auto* master : router.masters()) {
    master->checked({"FLUSHALL"});
  }
  redis_server single;
  sync_client single_client = single.client();
  dataset_options data;
  data.count_per_kind = 5;
  data.big_per_kind = 1;
  data.expiry_base_ms = now_ms();
  const fill_result filled = fill_every_type(router, data);
  fill_every_type(single_client, data);
  EXPECT_EQ(total_dbsize(router), static_cast<long long>(filled.keys));
  EXPECT_EQ(debug_digest(router), debug_digest(single_client));
  EXPECT_TRUE(keyspaces_equal(dump_keyspace(single_client), dump_keyspace(router)));
}

TEST(harness, plain_cluster_covers_all_slots_and_routes_keys) {
  std::vector<pid_t> pids;
  {
    redis_cluster cluster;
    pids = cluster.pids();
    EXPECT_EQ(cluster.url().rfind("redis://127.0.0.1:", 0), 0u);
    check_cluster(cluster);
  }
  EXPECT_TRUE(processes_gone(pids));
}

TEST(harness, tls_cluster_covers_all_slots_and_routes_keys) {
  tls_material tls;
  std::vector<pid_t> pids;
  {
    cluster_options options;
    options.node.tls = make_server_tls(tls);
    redis_cluster cluster(options);
    pids = cluster.pids();
    EXPECT_EQ(cluster.url().rfind("rediss://localhost:", 0), 0u);
    sync_client first = cluster.masters()[0]->client();
    EXPECT_EQ(first.checked({"CONFIG", "GET", "tls-cluster"})[1].str, "yes");
    check_cluster(cluster);
  }
  EXPECT_TRUE(processes_gone(pids));
}

TEST(harness, cluster_with_replicas_attaches_replicas_and_survives_a_failover) {
  cluster_options options;
  options.replicas_per_master = 1;
  redis_cluster cluster(options);
  ASSERT_EQ(cluster.replicas().size(), 3u);
  EXPECT_TRUE(cluster_matches_creation(cluster));
  // A write to master 0's slots reaches replica 0 (replica r follows master r).
  const std::string key_in_slot0_range =
      key_in_slots(cluster.slots_of(0).front().first, cluster.slots_of(0).front().last);
  cluster_client router = cluster.client();
  router.checked({"SET", key_in_slot0_range, "yes"});
  // WAIT on the connection that wrote: it waits for that client's own write offset.
  EXPECT_EQ(router.master_for_slot(key_hash_slot(key_in_slot0_range))
                .checked({"WAIT", "1", "5000"})
                .integer,
            1);
  sync_client replica = cluster.replicas()[0]->client();
  replica.checked({"READONLY"});
  EXPECT_EQ(replica.checked({"GET", key_in_slot0_range}).str, "yes");

  // Kill master 0: wait_ready must see replica 0 promoted and owning master 0's slots.
  cluster.masters()[0]->stop();
  ASSERT_NO_THROW(cluster.wait_ready(20s));
  const auto view = cluster.topology();
  const cluster_node_info* owner = slot_owner(view, cluster.slots_of(0).front().first);
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->port, cluster.replicas()[0]->port());
  router.refresh_slots();
  EXPECT_EQ(router.checked({"GET", key_in_slot0_range}).str, "yes");
}

TEST(harness, fill_every_type_round_trips_through_dump_keyspace) {
  redis_server server;
  sync_client client = server.client();
  dataset_options options;
  options.count_per_kind = 20;
  options.big_per_kind = 2;
  options.with_expiry_fraction = 0.2;
  const fill_result filled = fill_every_type(client, options);
  EXPECT_EQ(client.checked({"DBSIZE"}).integer, static_cast<long long>(filled.keys));
  EXPECT_GT(filled.keys_with_expiry, 0u);

  const keyspace dump = dump_keyspace(client);
  ASSERT_EQ(dump.size(), filled.keys);
  std::set<std::string> types;
  std::set<std::string> encodings;
  std::size_t expiring = 0;
  for (const auto& record : dump) {
    types.insert(record.type);
    encodings.insert(client.checked({"OBJECT", "ENCODING", record.key}).str);
    expiring += record.expire_at_ms > 0 ? 1 : 0;
  }
  EXPECT_EQ(expiring, filled.keys_with_expiry);
  EXPECT_EQ(types, std::set<std::string>({"string", "list", "set", "zset", "hash", "stream"}));
  for (const char* encoding : {"int", "embstr", "raw", "listpack", "quicklist", "intset",
                               "hashtable", "skiplist", "stream"}) {
    EXPECT_EQ(encodings.count(encoding), 1u) << encoding;
  }
  for (const std::string& key : {""s, "nul\0key"s, "cr\rkey"s, "lf\nkey"s, "\xff\xfe-not-utf8"s}) {
    EXPECT_TRUE(std::any_of(dump.begin(), dump.end(), [&](const key_record& r) {
      return r.key == key;
    })) << printable(key);
  }
  const auto groups = std::find_if(dump.begin(), dump.end(),
                                   [](const key_record& r) { return r.key == "stream:groups:0"; });
  ASSERT_NE(groups, dump.end());
  const auto has = [&](const std::string& prefix) {
    return std::any_of(groups->value.begin(), groups->value.end(),
                       [&](const std::string& v) { return v.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has("pending 2:g1 ")) << "pending entries of g1";
  EXPECT_TRUE(has("consumer 2:g2 5:carol pending=0"));

  EXPECT_TRUE(keyspaces_equal(dump, dump_keyspace(client)));
  client.checked({"LSET", "list:listpack:3", "0", "changed"});
  client.checked({"PEXPIREAT", "str:int:0", std::to_string(now_ms() + 3'600'000)});
  client.checked({"DEL", "set:intset:1"});
  const std::string diff = diff_keyspaces(dump, dump_keyspace(client));
  EXPECT_NE(diff.find("value of \"list:listpack:3\""), std::string::npos) << diff;
  EXPECT_NE(diff.find("missing: \"set:intset:1\""), std::string::npos) << diff;
  EXPECT_NE(diff.find("expiry of \"str:int:0\""), std::string::npos) << diff;
}

TEST(harness, same_seed_gives_the_same_digest_on_two_servers) {
  redis_server first;
  redis_server second;
  sync_client a = first.client();
  sync_client b = second.client();
  dataset_options options;
  options.seed = 42;
  options.expiry_base_ms = now_ms();
  fill_every_type(a, options);
  fill_every_type(b, options);
  const std::string digest = debug_digest(a);
  EXPECT_NE(digest, zero_digest);
  EXPECT_EQ(digest, debug_digest(b));
  EXPECT_TRUE(keyspaces_equal(dump_keyspace(a), dump_keyspace(b)));

  b.checked({"HSET", "hash:hashtable:0", "f0-extra", "x"});
  EXPECT_NE(digest, debug_digest(b));
  EXPECT_FALSE(keyspaces_equal(dump_keyspace(a), dump_keyspace(b)));
}

TEST(harness, fill_strings_writes_100k_keys_quickly) {
  redis_server server;
  sync_client client = server.client();
  const auto start = std::chrono::steady_clock::now();
  const fill_result filled = fill_strings(client, 100'000, 64, 7);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(filled.keys, 100'000u);
  EXPECT_EQ(client.checked({"DBSIZE"}).integer, 100'000);
  EXPECT_LT(took, 10s) << "fill_strings is too slow for the tests that depend on it";
  RecordProperty("fill_ms", static_cast<int>(took / 1ms));
}

TEST(harness, server_does_not_outlive_an_aborting_test_process) {
  // Become the reaper of orphans (for this test only) so the server's zombie is ours to
  // collect: PID 1 in a container may never reap it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  struct unset_subreaper {
    ~unset_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } restore;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::string message = "-1 none\n";
    try {
      auto* server = new redis_server();  // deliberately never destroyed
      message = fmt::format("{} {}\n", server->pid(), server->dir().string());
    } catch (...) {
    }
    [[maybe_unused]] const auto written = ::write(fds[1], message.data(), message.size());
    std::abort();
  }
  ::close(fds[1]);
  pollfd pfd{fds[0], POLLIN, 0};
  char buffer[4096] = {};
  const bool reported = ::poll(&pfd, 1, 20000) == 1 && ::read(fds[0], buffer, 4095) > 0;
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(reported) << "child did not report";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

  std::istringstream report(buffer);
  pid_t server_pid = -1;
  std::string dir;
  report >> server_pid >> std::ws;
  std::getline(report, dir);
  ASSERT_GT(server_pid, 0) << "the child could not start a server";
  EXPECT_TRUE(processes_gone({server_pid})) << "redis-server outlived its aborted parent";
  ::waitpid(server_pid, nullptr, 0);  // reap it as subreaper
  std::filesystem::remove_all(dir);   // the aborted child could not clean up
}

}  // namespace
}  // namespace ferry::testing
