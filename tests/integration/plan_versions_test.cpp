// `ferry plan` across server versions: a source newer than the target (Redis 7.4 or Valkey 8 into
// Redis 7.0) is a warning (struct mode copies what the target cannot RESTORE); an older source
// into a newer target is nothing to mention. The other versions' servers come from
// ../shared/servers (or FERRY_TEST_SERVERS); a test whose build is absent skips with a line saying
// so.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tests/integration/plan_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;

fs::path servers_dir() {
  const char* env = std::getenv("FERRY_TEST_SERVERS");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/work/shared/servers");
}

/// A server of another version: the harness runs "redis-server" from PATH, so PATH leads to a
/// folder whose redis-server is that build while the server starts (the harness has no option
/// for the binary; when it gets one, use it instead).
std::unique_ptr<redis_server> start_version(const temp_dir& dir, const std::string& folder,
                                            const std::string& binary) {
  const fs::path program = servers_dir() / folder / "bin" / binary;
  if (!fs::exists(program)) return nullptr;
  const fs::path shim = dir / ("bin-" + folder);
  fs::create_directories(shim);
  fs::create_symlink(program, shim / "redis-server");
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (shim.string() + ":" + saved).c_str(), 1);
  std::unique_ptr<redis_server> server;
  try {
    server = std::make_unique<redis_server>();
  } catch (...) {
    ::setenv("PATH", saved.c_str(), 1);
    throw;
  }
  ::setenv("PATH", saved.c_str(), 1);
  return server;
}

class plan_versions_test : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  temp_dir dir_{"plan-versions"};
};

TEST_P(plan_versions_test, a_source_newer_than_the_target_is_a_warning) {
  const auto& [folder, binary] = GetParam();
  auto source = start_version(dir_, folder, binary);
  if (!source) {
    std::printf("skipped: %s not found in %s\n", folder.c_str(), servers_dir().c_str());
    GTEST_SKIP() << folder << " is not installed in " << servers_dir();
  }
  redis_server target;  // Debian's Redis 7.0
  sync_client client = source->client();
  fill_strings(client, 100, 20);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});

  const plan_run newer = run_plan({"--source", source->url(), "--target", target.url()}, dir_);
  EXPECT_EQ(newer.result.exit_code, 1) << newer.result.output();
  EXPECT_EQ(newer.codes("warning"), (std::set<std::string>{"source_newer_than_target"}))
      << listed(newer.codes());
  EXPECT_GT(newer.json["source"]["masters"][0]["dump_probe"]["rdb_version"].get<int>(), 10);

  // The other way round is fine: 7.0's payloads (RDB 10) restore on the newer server.
  target.client().checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  fill_strings(*std::make_unique<sync_client>(target.client()), 100, 20);
  source->client().checked({"FLUSHALL"});
  const plan_run older = run_plan({"--source", target.url(), "--target", source->url()}, dir_);
  EXPECT_EQ(older.result.exit_code, 0) << older.result.output();
  EXPECT_TRUE(older.codes().empty()) << listed(older.codes());
}

INSTANTIATE_TEST_SUITE_P(
    servers, plan_versions_test,
    ::testing::Values(std::pair<std::string, std::string>{"redis-7.4.1", "redis-server"},
                      std::pair<std::string, std::string>{"valkey-8.0.1", "valkey-server"}),
    [](const auto& param_info) {
      std::string name = param_info.param.first;
      for (char& c : name) {
        if (c == '-' || c == '.') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace ferry::testing
