// The Debian package (cmake/FerryPackaging.cmake): CPack builds ferry_<version>_amd64.deb with
// dependencies from dpkg-shlibdeps; it installs into a temporary root (dpkg --root, nothing on
// this machine changes), puts every file where it belongs, runs, and is removed again; apt
// accepts its dependencies on Debian 12. Label `packaging`.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/prometheus.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// What the package must hold (paths under the root).
const std::vector<std::string> expected_files = {
    "usr/bin/ferry",
    "usr/libexec/ferry/ferry-job",
    "usr/share/man/man1/ferry.1.gz",
    "usr/lib/systemd/system/ferry-copy@.service",
    "usr/lib/systemd/system/ferry-sync@.service",
    "usr/share/ferry/grafana/ferry-dashboard.json",
    "usr/share/ferry/prometheus/ferry-alerts.yml",
    "usr/share/doc/ferry/README.md",
    "usr/share/doc/ferry/examples/ferry.env",
};

class packaging_deb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* tool : {"cpack", "dpkg", "dpkg-deb", "dpkg-shlibdeps"}) {
      if (!find_tool(tool)) {
        skip_reason = std::string(tool) + " not installed";
        return;
      }
    }
    out = std::make_unique<temp_dir>("deb");
    // The same as `cmake --build build --target deb`, into a directory of the test's own.
    built = run_tool(
        {"cpack", "-G", "DEB", "--config",
         (fs::path(FERRY_BUILD_DIR) / "CPackConfig.cmake").string(), "-B", out->path().string()},
        std::nullopt, 300s);
    deb = out->path() / fmt::format("ferry_{}_amd64.deb", FERRY_PROJECT_VERSION);
  }
  static void TearDownTestSuite() { out.reset(); }
  void SetUp() override {
    if (!skip_reason.empty()) {
      std::printf("%s: test skipped\n", skip_reason.c_str());
      GTEST_SKIP();
    }
    ASSERT_EQ(built.exit_code, 0) << built.output;
    ASSERT_TRUE(fs::exists(deb)) << deb << "\n" << built.output;
  }
  std::string field(const std::string& name) {
    const tool_result r = run_tool({"dpkg-deb", "--field", deb.string(), name});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find_last_not_of('\n') + 1);
  }

  static inline std::string skip_reason;
  static inline std::unique_ptr<temp_dir> out;
  static inline tool_result built;
  static inline fs::path deb;
};

TEST_F(packaging_deb, control_fields_come_from_the_project_and_dpkg_shlibdeps) {
  EXPECT_EQ(field("Package"), "ferry");
  EXPECT_EQ(field("Version"), FERRY_PROJECT_VERSION);
  EXPECT_EQ(field("Architecture"), "amd64");
  const std::string depends = field("Depends");
  for (const char* library : {"libc6", "libssl3", "libhiredis0.14", "libfmt9", "libstdc++6"}) {
    EXPECT_NE(depends.find(library), std::string::npos) << depends;
  }
  EXPECT_EQ(field("Recommends"), "ca-certificates");
  EXPECT_FALSE(field("Maintainer").empty());
  EXPECT_FALSE(field("Description").empty());
}

TEST_F(packaging_deb, installs_into_a_root_runs_and_is_removed_again) {
  temp_dir root("deb-root");
  const fs::path admin = root / "var/lib/dpkg";
  for (const char* d : {"info", "updates", "triggers"}) fs::create_directories(admin / d);
  std::ofstream(admin / "status");
  std::ofstream(admin / "available");
  // The root has no libc6 etc. in its own database (they are checked against Debian below), and
  // maintainer scripts run outside it: they see DPKG_ROOT and leave this machine's systemd alone.
  const std::vector<std::string> dpkg{"dpkg",
                                      "--root=" + root.path().string(),
                                      "--admindir=" + admin.string(),
                                      "--log=/dev/null",
                                      "--force-depends",
                                      "--force-script-chrootless",
                                      "--force-not-root"};
  auto with = [&](std::initializer_list<std::string> more) {
    std::vector<std::string> argv = dpkg;
    argv.insert(argv.end(), more);
    return run_tool(argv, std::nullopt, 120s);
  };
  const tool_result install = with({"--install", deb.string()});
  ASSERT_EQ(install.exit_code, 0) << install.output;
  for (const auto& file : expected_files) {
    EXPECT_TRUE(fs::is_regular_file(root / file)) << file << " missing";
  }
  for (const auto& program : {"usr/bin/ferry", "usr/libexec/ferry/ferry-job"}) {
    EXPECT_NE(fs::status(root / program).permissions() & fs::perms::others_exec, fs::perms::none)
        << program;
  }
  const tool_result version = run_tool({(root / "usr/bin/ferry").string(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output, std::string("ferry ") + FERRY_PROJECT_VERSION + "\n");
  // The packaged man page is the build's.
  const tool_result man =
      run_tool({"gzip", "-dc", (root / "usr/share/man/man1/ferry.1.gz").string()});
  EXPECT_EQ(man.output, file_contents(fs::path(FERRY_BUILD_DIR) / "man/ferry.1"));
  const tool_result status = with({"--status", "ferry"});
  EXPECT_NE(status.output.find("Status: install ok installed"), std::string::npos) << status.output;

  const tool_result remove = with({"--purge", "ferry"});
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  for (const auto& file : expected_files) {
    EXPECT_FALSE(fs::exists(root / file)) << file << " left behind";
  }
}

TEST_F(packaging_deb, apt_accepts_its_dependencies_on_this_debian) {
  if (!find_tool("apt-get")) {
    std::printf("apt-get missing: test skipped\n");
    GTEST_SKIP();
  }
  // A simulation: resolves Depends against the archive and installed packages, changes nothing.
  const tool_result simulate =
      run_tool({"apt-get", "--simulate", "install", deb.string()}, std::nullopt, 120s);
  EXPECT_EQ(simulate.exit_code, 0) << simulate.output;
  EXPECT_NE(simulate.output.find("Inst ferry"), std::string::npos) << simulate.output;
}

}  // namespace
}  // namespace ferry::testing
