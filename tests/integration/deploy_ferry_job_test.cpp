// deploy/bin/ferry-job, the wrapper the systemd units, the container image and the Kubernetes
// Jobs run: passwords come from the credentials directory as file names only, never as
// arguments; and the command line they all give it, `--state FILE --resume-if-exists`, starts
// the job the first time and resumes it after a restart.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
const fs::path ferry_job = fs::path(FERRY_SOURCE_DIR) / "deploy/bin/ferry-job";

TEST(deploy_ferry_job, starts_with_a_state_file_then_resumes_from_it) {
  redis_server source;
  server_options target_options;
  target_options.password = "target-secret-7Qz";
  redis_server target(target_options);
  {
    sync_client writer = source.client();
    dataset_options data;
    data.count_per_kind = 5;
    data.big_per_kind = 0;
    fill_every_type(writer, data);
  }
  temp_dir dir("ferry-job");
  const fs::path credentials = dir / "credentials";
  fs::create_directories(credentials);
  std::ofstream(credentials / "target-password") << target_options.password << "\n";
  const fs::path state = dir / "state.json";
  const auto run = [&](const std::string& report) {
    return run_tool({"/usr/bin/env", std::string("FERRY_BINARY=") + FERRY_BINARY,
                     "CREDENTIALS_DIRECTORY=" + credentials.string(), ferry_job.string(), "copy",
                     "--source", source.url(), "--target",
                     fmt::format("redis://127.0.0.1:{}", target.port()), "--state", state.string(),
                     "--resume-if-exists", "--report", (dir / report).string(), "--progress",
                     "never"});
  };
  const tool_result first = run("first.json");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(fs::exists(state));
  EXPECT_EQ(read_json(dir / "first.json").at("resumed"), false);
  {
    sync_client s = source.client();
    sync_client t = target.client();
    expect_exact_copy(s, t);
  }
  // A restart (systemd, a new pod) runs the same command: it continues the state file.
  const tool_result second = run("second.json");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(read_json(dir / "second.json").at("resumed"), true);
  EXPECT_EQ(second.output.find(target_options.password), std::string::npos);
}

// The arguments ferry-job gives ferry, seen by a stand-in that writes them one per line.
TEST(deploy_ferry_job, adds_password_files_only_as_names) {
  temp_dir dir("ferry-job-args");
  const fs::path stand_in = dir / "ferry";
  std::ofstream(stand_in) << "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args\"\n";
  fs::permissions(stand_in, fs::perms::owner_all);
  const fs::path credentials = dir / "credentials";
  fs::create_directories(credentials);
  const auto args_of = [&](std::vector<std::string> env) {
    std::vector<std::string> argv{"/usr/bin/env", "FERRY_BINARY=" + stand_in.string()};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(ferry_job.string());
    for (const char* a : {"copy", "--source", "redis://a:1", "--target", "redis://b:2"}) {
      argv.push_back(a);
    }
    const tool_result r = run_tool(argv);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return file_contents(dir / "ferry.args");
  };
  // Nothing to add: the options pass through unchanged.
  const std::string plain = "copy\n--source\nredis://a:1\n--target\nredis://b:2\n";
  EXPECT_EQ(args_of({}), plain);
  // A credentials directory without a password for either side adds nothing.
  EXPECT_EQ(args_of({"CREDENTIALS_DIRECTORY=" + credentials.string()}), plain);
  // The one credential present, by file name; then both.
  std::ofstream(credentials / "source-password") << "source-secret\n";
  std::string args = args_of({"CREDENTIALS_DIRECTORY=" + credentials.string()});
  EXPECT_EQ(args, fmt::format("copy\n--source-password-file\n{}\n--source\nredis://a:1\n"
                              "--target\nredis://b:2\n",
                              (credentials / "source-password").string()));
  std::ofstream(credentials / "target-password") << "target-secret\n";
  args = args_of({"CREDENTIALS_DIRECTORY=" + credentials.string()});
  EXPECT_EQ(args, fmt::format("copy\n--source-password-file\n{}\n--target-password-file\n{}\n"
                              "--source\nredis://a:1\n--target\nredis://b:2\n",
                              (credentials / "source-password").string(),
                              (credentials / "target-password").string()));
  EXPECT_EQ(args.find("source-secret"), std::string::npos);
  EXPECT_EQ(args.find("target-secret"), std::string::npos);
}

TEST(deploy_ferry_job, refuses_to_run_without_a_command) {
  const tool_result r = run_tool({ferry_job.string()});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.output.find("usage: ferry-job COMMAND"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ferry::testing
