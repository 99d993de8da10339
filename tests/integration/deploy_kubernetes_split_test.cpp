// The Indexed Job of deploy/kubernetes, run as Kubernetes would run it but on this machine: its
// container command once per completion index, all at once, against a 3-master cluster source.
// Each part is SIGKILLed in the middle of its copy and started again with the same command (a
// replaced pod), which resumes its state file. The union of the parts is an exact copy (the
// keyspace oracle), their slots are disjoint and cover the slot space, and their copied counts
// add up to the source's keys: no key was counted by two parts.
//
// What differs from a cluster, and why: the pods would each have their own network namespace,
// here they share one, so --metrics listens on a port of the system's choice; the first runs
// are slowed (--max-keys-per-sec, --checkpoint-interval) so that the kill lands mid-copy; the
// linger is shortened to keep the test short.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "protocol/wire/slots.hpp"
#include "tests/integration/kubernetes_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Keys the source's masters hold.
std::uint64_t source_keys(const redis_cluster& cluster) {
  std::uint64_t total = 0;
  for (const auto& master : cluster.masters()) {
    sync_client c = master->client();
    total += static_cast<std::uint64_t>(c.checked({"DBSIZE"}).integer);
  }
  return total;
}

/// Copied keys in a part's state file, or 0 while it has none.
std::uint64_t copied_in(const fs::path& state) {
  if (!fs::exists(state)) return 0;
  std::uint64_t copied = 0;
  const auto saved = read_json(state);  // kept: a range over a temporary's member dangles
  for (const auto& shard : saved.at("shards")) {
    copied += shard.at("counts").at("copied").get<std::uint64_t>();
  }
  return copied;
}

TEST(deploy_kubernetes_split, each_part_of_the_indexed_job_resumes_and_together_they_copy_once) {
  const auto docs = load_manifests();
  const YAML::Node job = docs.at("Job/ferry-copy");
  const auto parts = static_cast<std::size_t>(job["spec"]["completions"].as<int>());
  ASSERT_GE(parts, 2u);
  const YAML::Node container = job_container(docs, "ferry-copy");
  ASSERT_EQ(yaml_strings(container["command"]).at(0), "/usr/libexec/ferry/ferry-job");

  redis_cluster source;  // 3 masters
  server_options target_options;
  target_options.password = "split-target-secret-4Kp";
  redis_server target(target_options);
  {
    cluster_client writer = source.client();
    dataset_options data;
    data.count_per_kind = 10;
    data.big_per_kind = 1;
    fill_every_type(writer, data);
    fill_strings(writer, 36'000, 100, 31);
  }
  const std::uint64_t keys = source_keys(source);

  temp_dir dir("k8s-split");
  const fs::path state = dir / "state";
  const fs::path secrets = dir / "secrets";
  fs::create_directories(state);
  fs::create_directories(secrets);
  std::ofstream(secrets / "target-password") << target_options.password << "\n";
  const std::string target_url = fmt::format("redis://127.0.0.1:{}", target.port());

  // Pod `index`'s command line; `slow` for the first runs.
  const auto command_of = [&](std::size_t index, bool slow) {
    const std::string i = std::to_string(index);
    std::vector<std::string> argv = pod_command(
        container,
        {{"FERRY_SOURCE", source.url()}, {"FERRY_TARGET", target_url}, {"JOB_COMPLETION_INDEX", i}},
        {"CREDENTIALS_DIRECTORY=" + secrets.string(), "JOB_COMPLETION_INDEX=" + i}, state);
    for (auto& arg : argv) {
      if (arg.starts_with("--metrics=")) arg = "--metrics=127.0.0.1:0";
      if (arg.starts_with("--metrics-linger=")) arg = "--metrics-linger=0.2";
    }
    if (slow) {
      for (const char* extra : {"--max-keys-per-sec=2500", "--checkpoint-interval=0.3"}) {
        argv.push_back(extra);
      }
    }
    return argv;
  };
  const auto state_of = [&](std::size_t index) { return state / fmt::format("{}.json", index); };
  const auto log_of = [&](std::size_t index, int run) {
    return dir / fmt::format("pod-{}-run-{}.log", index, run);
  };

  // First pods: all at once, each killed once its state file holds copied keys.
  {
    std::vector<child_process> pods;
    for (std::size_t i = 0; i < parts; ++i) {
      pods.push_back(child_process::spawn(command_of(i, true), log_of(i, 1)));
    }
    std::vector<bool> killed(parts, false);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (std::size_t done = 0; done < parts && std::chrono::steady_clock::now() < deadline;) {
      for (std::size_t i = 0; i < parts; ++i) {
        if (killed[i] || copied_in(state_of(i)) == 0) continue;
        ASSERT_TRUE(pods[i].running()) << "part " << i << " ended before it could be killed:\n"
                                       << file_tail(log_of(i, 1));
        pods[i].signal(SIGKILL);
        ASSERT_TRUE(pods[i].wait_exit(10s));
        killed[i] = true;
        ++done;
      }
      std::this_thread::sleep_for(50ms);
    }
    for (std::size_t i = 0; i < parts; ++i) {
      ASSERT_TRUE(killed[i]) << "part " << i << " wrote no checkpoint with copied keys:\n"
                             << file_tail(log_of(i, 1)) << "\nstate file:\n"
                             << (fs::exists(state_of(i)) ? file_contents(state_of(i)) : "none");
      const auto saved = read_json(state_of(i));
      EXPECT_NE(saved.at("status"), "complete") << "part " << i << " was killed mid-copy";
      EXPECT_EQ(saved.at("job").at("part"), fmt::format("{}/{}", i, parts));
      EXPECT_LT(copied_in(state_of(i)), keys);
    }
  }

  // Replacement pods: the same command, at full speed; each continues its own state file.
  std::vector<child_process> pods;
  for (std::size_t i = 0; i < parts; ++i) {
    pods.push_back(child_process::spawn(command_of(i, false), log_of(i, 2)));
  }
  for (std::size_t i = 0; i < parts; ++i) {
    ASSERT_TRUE(pods[i].wait_exit(180s)) << file_tail(log_of(i, 2));
    ASSERT_EQ(*pods[i].exit_status(), 0) << describe_exit_status(*pods[i].exit_status()) << "\n"
                                         << file_tail(log_of(i, 2));
  }

  protocol::slot_set covered;
  std::uint64_t copied = 0;
  for (std::size_t i = 0; i < parts; ++i) {
    SCOPED_TRACE(fmt::format("part {}", i));
    const auto report = read_json(state / fmt::format("report-{}.json", i));
    EXPECT_EQ(report.at("status"), "complete");
    EXPECT_TRUE(report.at("resumed").get<bool>());
    EXPECT_LT(report.at("this_run").at("scanned").get<std::uint64_t>(),
              report.at("totals").at("scanned").get<std::uint64_t>())
        << "the replacement started over";
    const auto& part = report.at("part");
    EXPECT_EQ(part.at("index"), i);
    EXPECT_EQ(part.at("count"), parts);
    // Three masters, three parts: a whole master each.
    EXPECT_TRUE(part.at("whole_masters").get<bool>());
    EXPECT_EQ(part.at("masters").size(), 1u);
    auto slots = protocol::parse_slot_text(part.at("slots").get<std::string>());
    ASSERT_TRUE(slots.has_value());
    EXPECT_TRUE((covered & *slots).none()) << "parts overlap";
    covered |= *slots;
    copied += report.at("totals").at("copied").get<std::uint64_t>();
    EXPECT_EQ(read_json(state_of(i)).at("status"), "complete");
    EXPECT_EQ(file_contents(log_of(i, 1)).find(target_options.password), std::string::npos);
  }
  EXPECT_TRUE(covered.all()) << "the parts leave slots out";
  EXPECT_EQ(copied, keys) << "a key was copied by two parts, or by none";
  cluster_client source_client = source.client();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

}  // namespace
}  // namespace ferry::testing
