// deploy/Dockerfile and deploy/runtime-packages.txt, tested without a Docker engine: the runtime
// packages provide exactly the shared libraries the ferry binary needs, the Dockerfile installs
// exactly that list on debian:12-slim (and builds with the -dev packages install-deps.sh
// installs), the list installs on Debian 12, and ferry runs in a root that holds nothing but
// those packages' files.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/prometheus.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
const fs::path deploy = fs::path(FERRY_SOURCE_DIR) / "deploy";

struct runtime_list {
  std::set<std::string> libs;    // `lib NAME` lines
  std::set<std::string> others;  // `other NAME` lines
  std::set<std::string> all() const {
    std::set<std::string> both = libs;
    both.insert(others.begin(), others.end());
    return both;
  }
};

runtime_list read_runtime_list() {
  runtime_list list;
  std::istringstream in(file_contents(deploy / "runtime-packages.txt"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string kind, name;
    words >> kind >> name;
    if (kind == "lib") {
      list.libs.insert(name);
    } else if (kind == "other") {
      list.others.insert(name);
    } else {
      ADD_FAILURE() << "runtime-packages.txt: '" << line << "' is neither `lib` nor `other`";
    }
  }
  return list;
}

// Packages (without :arch) owning the shared libraries `binary` loads.
std::set<std::string> library_packages(const std::string& binary) {
  const tool_result ldd = run_tool({"ldd", binary});
  EXPECT_EQ(ldd.exit_code, 0) << ldd.output;
  std::set<std::string> packages;
  const std::regex library(R"((?:=>\s+)?(/\S+)\s+\(0x)");
  for (auto it = std::sregex_iterator(ldd.output.begin(), ldd.output.end(), library);
       it != std::sregex_iterator(); ++it) {
    const fs::path path = (*it)[1].str();
    // dpkg knows the path it installed, which may be the link or its target (usrmerge).
    tool_result owner = run_tool({"dpkg", "-S", path.string()});
    if (owner.exit_code != 0) owner = run_tool({"dpkg", "-S", fs::canonical(path).string()});
    EXPECT_EQ(owner.exit_code, 0) << "no package owns " << path << ": " << owner.output;
    const std::string name = owner.output.substr(0, owner.output.find_first_of(":,"));
    packages.insert(name);
  }
  return packages;
}

// The packages named by the `apt-get install` of the Dockerfile's stage `from` (a prefix of
// the FROM line, e.g. "FROM debian:12-slim").
std::set<std::string> dockerfile_installs(const std::string& from) {
  const std::string text = file_contents(deploy / "Dockerfile");
  const auto stage = text.find("\n" + from);
  if (stage == std::string::npos) return {};
  const auto next = text.find("\nFROM ", stage + 1);
  std::string body =
      text.substr(stage, next == std::string::npos ? std::string::npos : next - stage);
  body = std::regex_replace(body, std::regex(R"(\\\n)"), " ");  // join continued lines
  std::smatch install;
  if (!std::regex_search(body, install, std::regex(R"(apt-get install ([^&\n]*))"))) return {};
  std::set<std::string> packages;
  std::istringstream words(install[1].str());
  for (std::string w; words >> w;) {
    if (!w.starts_with("-")) packages.insert(w);
  }
  return packages;
}

TEST(deploy_container, runtime_packages_are_exactly_the_binarys_libraries) {
  if (!find_tool("ldd") || !find_tool("dpkg")) {
    std::printf("ldd or dpkg missing (not Debian?): test skipped\n");
    GTEST_SKIP();
  }
  const runtime_list list = read_runtime_list();
  EXPECT_EQ(library_packages(FERRY_BINARY), list.libs)
      << "the `lib` lines of deploy/runtime-packages.txt must name the packages of ferry's "
         "shared libraries (ldd, dpkg -S), no more, no fewer";
  EXPECT_EQ(list.others, std::set<std::string>{"ca-certificates"});
}

TEST(deploy_container, the_dockerfile_installs_that_list_and_builds_with_install_deps) {
  const runtime_list list = read_runtime_list();
  EXPECT_EQ(dockerfile_installs("FROM debian:12-slim"), list.all());
  // The build stage's packages are among those the test suite builds with.
  const std::string deps = file_contents(fs::path(FERRY_SOURCE_DIR) / "cmake/install-deps.sh");
  const auto build = dockerfile_installs("FROM debian:12 AS build");
  EXPECT_FALSE(build.empty());
  for (const auto& package : build) {
    EXPECT_TRUE(std::regex_search(deps, std::regex("\\s" + package + "(\\s|$)")))
        << package << " is not in cmake/install-deps.sh";
  }
  const std::string text = file_contents(deploy / "Dockerfile");
  EXPECT_NE(text.find("\nUSER 10001:10001\n"), std::string::npos) << "runs as a non-root user";
  EXPECT_NE(text.find("\nENTRYPOINT [\"/usr/bin/ferry\"]\n"), std::string::npos);
  EXPECT_NE(text.find("--target ferry "), std::string::npos) << "builds the ferry binary only";
  EXPECT_NE(text.find("-DFERRY_BUILD_TESTS=OFF"), std::string::npos);
  EXPECT_NE(text.find("COPY deploy/bin/ferry-job /usr/libexec/ferry/ferry-job"), std::string::npos);
}

// The build stage's text, continued lines joined.
std::string build_stage() {
  const std::string text = file_contents(deploy / "Dockerfile");
  const auto from = text.find("\nFROM debian:12 AS build");
  const auto next = text.find("\nFROM ", from + 1);
  return std::regex_replace(text.substr(from, next - from), std::regex(R"(\\\n)"), " ");
}

TEST(deploy_container, the_build_stage_configures_from_what_it_copies) {
  // The build context as the stage sees it: only what its COPY lines bring in.
  temp_dir context("docker-context");
  const std::string stage = build_stage();
  const std::regex copy(R"(\nCOPY ([^\n]+))");
  for (auto it = std::sregex_iterator(stage.begin(), stage.end(), copy);
       it != std::sregex_iterator(); ++it) {
    std::istringstream words((*it)[1].str());
    std::vector<std::string> paths;
    for (std::string w; words >> w;) paths.push_back(w);
    paths.pop_back();  // the destination, the same relative place under WORKDIR
    for (const auto& p : paths) {
      fs::copy(fs::path(FERRY_SOURCE_DIR) / p, context / p, fs::copy_options::recursive);
    }
  }
  std::smatch configure;
  ASSERT_TRUE(std::regex_search(stage, configure, std::regex(R"(cmake -S \. -B /build([^&]*)&&)")));
  std::vector<std::string> argv{"cmake", "-S", context.path().string(), "-B",
                                (context / "build").string()};
  std::istringstream flags(configure[1].str());
  for (std::string f; flags >> f;) argv.push_back(f);
  const tool_result r = run_tool(argv, std::nullopt, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(deploy_container, the_list_installs_on_debian_12) {
  if (!find_tool("apt-get")) {
    std::printf("apt-get missing: test skipped\n");
    GTEST_SKIP();
  }
  const std::string release = file_contents("/etc/debian_version");
  if (!release.starts_with("12.")) {
    std::printf("not Debian 12 (%s): test skipped\n", release.c_str());
    GTEST_SKIP();
  }
  std::vector<std::string> argv{"apt-get", "--simulate", "--no-install-recommends", "install"};
  for (const auto& p : read_runtime_list().all()) argv.push_back(p);
  const tool_result simulate = run_tool(argv);
  EXPECT_EQ(simulate.exit_code, 0) << simulate.output;
}

TEST(deploy_container, ferry_runs_with_only_the_runtime_packages_files) {
  if (geteuid() != 0 || !find_tool("dpkg")) {
    std::printf("needs root (chroot) and dpkg: test skipped\n");
    GTEST_SKIP();
  }
  temp_dir root("runtime-root");
  for (const auto& package : read_runtime_list().libs) {
    const tool_result files = run_tool({"dpkg", "-L", package});
    ASSERT_EQ(files.exit_code, 0) << files.output;
    std::istringstream in(files.output);
    for (std::string line; std::getline(in, line);) {
      const fs::path from = line;
      // Documentation is not needed; directories (and usrmerge's /lib -> usr/lib links) are
      // created as the files below them are copied.
      if (line.starts_with("/usr/share/") || fs::is_directory(from) ||
          (!fs::is_symlink(from) && !fs::is_regular_file(from))) {
        continue;
      }
      const fs::path to = root.path() / from.relative_path();
      fs::create_directories(to.parent_path());
      fs::copy(from, to, fs::copy_options::copy_symlinks | fs::copy_options::skip_existing);
    }
  }
  fs::create_directories(root / "usr/bin");
  fs::copy_file(FERRY_BINARY, root / "usr/bin/ferry");
  const tool_result run = run_tool({"chroot", root.path().string(), "/usr/bin/ferry", "--version"});
  if (run.exit_code != 0 && run.output.find("Operation not permitted") != std::string::npos) {
    std::printf("chroot is not permitted here: test skipped\n");
    GTEST_SKIP();
  }
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, std::string("ferry ") + FERRY_PROJECT_VERSION + "\n");
}

}  // namespace
}  // namespace ferry::testing
