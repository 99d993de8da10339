// deploy/systemd/ferry-{copy,sync}@.service: systemd-analyze verify accepts them as installed
// (in a root holding the package's files), their exposure is low, and their restart policy
// matches ferry's exit codes.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "cli/common/exit_codes.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
const fs::path deploy = fs::path(FERRY_SOURCE_DIR) / "deploy";

// key -> every value it is given, in order ("LoadCredential" twice, ...).
std::multimap<std::string, std::string> unit_settings(const fs::path& unit) {
  std::multimap<std::string, std::string> settings;
  std::istringstream in(file_contents(unit));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    const auto eq = line.find('=');
    if (eq != std::string::npos) settings.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return settings;
}

std::string one(const std::multimap<std::string, std::string>& settings, const std::string& key) {
  const auto [first, last] = settings.equal_range(key);
  if (first == last) return "<missing>";
  if (std::next(first) != last) return "<given twice>";
  return first->second;
}

// A root with the host's systemd units (targets the units refer to) and ferry's installed
// files, as the Debian package lays them out.
struct installed_root {
  installed_root() {
    const fs::path units = dir.path() / "usr/lib/systemd/system";
    fs::create_directories(units);
    for (const char* host : {"/usr/lib/systemd/system", "/lib/systemd/system"}) {
      if (fs::is_directory(host)) {
        fs::copy(host, units,
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                     fs::copy_options::skip_existing);
        break;
      }
    }
    for (const char* unit : {"ferry-copy@.service", "ferry-sync@.service"}) {
      fs::copy_file(deploy / "systemd" / unit, units / unit);
    }
    fs::create_directories(dir.path() / "usr/bin");
    fs::copy_file(FERRY_BINARY, dir.path() / "usr/bin/ferry");
    fs::create_directories(dir.path() / "usr/libexec/ferry");
    fs::copy_file(deploy / "bin/ferry-job", dir.path() / "usr/libexec/ferry/ferry-job");
    fs::create_directories(dir.path() / "usr/share/man/man1");
    fs::copy_file(fs::path(FERRY_BUILD_DIR) / "man/ferry.1.gz",
                  dir.path() / "usr/share/man/man1/ferry.1.gz");
  }
  temp_dir dir{"systemd-root"};
};

class deploy_systemd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    analyze = find_tool("systemd-analyze");
    if (!analyze) {
      std::printf("systemd-analyze not installed: test skipped\n");
      GTEST_SKIP();
    }
    if (!fs::is_directory("/usr/lib/systemd/system") && !fs::is_directory("/lib/systemd/system")) {
      std::printf("no systemd unit directory on this machine: test skipped\n");
      GTEST_SKIP();
    }
  }
  std::optional<fs::path> analyze;
};

TEST_P(deploy_systemd, systemd_analyze_verify_accepts_the_installed_unit) {
  installed_root root;
  const std::string instance = GetParam() + "@demo.service";
  fs::create_symlink(GetParam() + "@.service",
                     root.dir.path() / "usr/lib/systemd/system" / instance);
  // `man` looks for the Documentation= page in the root's man directory.
  const tool_result verify =
      run_tool({"/usr/bin/env", "MANPATH=" + (root.dir.path() / "usr/share/man").string(),
                analyze->string(), "verify", "--root=" + root.dir.path().string(), instance});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output, "") << "systemd-analyze verify warned";

  const tool_result security = run_tool({analyze->string(), "security", "--offline=yes",
                                         "--root=" + root.dir.path().string(), instance});
  std::smatch level;
  ASSERT_TRUE(std::regex_search(security.output, level,
                                std::regex(R"(Overall exposure level for \S+: ([0-9.]+))")))
      << security.output;
  EXPECT_LE(std::stod(level[1]), 2.0) << security.output;
}

TEST_P(deploy_systemd, restart_policy_follows_ferrys_exit_codes) {
  const auto settings = unit_settings(deploy / "systemd" / (GetParam() + "@.service"));
  using namespace ferry::cli;
  EXPECT_EQ(one(settings, "Restart"), "on-failure");
  // Keys failed or differ, fatal errors and bad command lines need a person.
  EXPECT_EQ(one(settings, "RestartPreventExitStatus"),
            fmt::format("{} {} {}", exit_incomplete, exit_failed, exit_usage));
  // Interrupted: a clean stop under `systemctl stop`, a restart (resuming) otherwise.
  EXPECT_EQ(one(settings, "SuccessExitStatus"), std::to_string(exit_interrupted));
  EXPECT_EQ(one(settings, "RestartForceExitStatus"), std::to_string(exit_interrupted));
  // The state file lives in the unit's state directory; a restart resumes from it.
  EXPECT_EQ(one(settings, "StateDirectory"), "ferry/%i");
  const std::string exec = one(settings, "ExecStart");
  EXPECT_TRUE(exec.starts_with("/usr/libexec/ferry/ferry-job " + GetParam().substr(6) + " "))
      << exec;
  EXPECT_NE(exec.find(" --state %S/ferry/%i/state.json --resume-if-exists "), std::string::npos)
      << exec;
  EXPECT_EQ(one(settings, "EnvironmentFile"), "/etc/ferry/%i.env");
  // Passwords only as credentials, found in the credential store by name.
  const auto [first, last] = settings.equal_range("LoadCredential");
  std::vector<std::string> credentials;
  for (auto it = first; it != last; ++it) credentials.push_back(it->second);
  EXPECT_EQ(credentials, (std::vector<std::string>{"source-password:ferry-%i.source-password",
                                                   "target-password:ferry-%i.target-password"}));
  for (const char* hardening :
       {"DynamicUser", "ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
        "RestrictAddressFamilies", "SystemCallFilter", "CapabilityBoundingSet"}) {
    EXPECT_TRUE(settings.contains(hardening)) << hardening;
  }
  EXPECT_EQ(one(settings, "ProtectSystem"), "strict");
  EXPECT_EQ(one(settings, "CapabilityBoundingSet"), "");
}

INSTANTIATE_TEST_SUITE_P(units, deploy_systemd, ::testing::Values("ferry-copy", "ferry-sync"));

}  // namespace
}  // namespace ferry::testing
