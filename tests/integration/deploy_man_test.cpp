// deploy/man/ferry.1.in, as the build fills it in: it names every option of each command's
// --help in that command's sections and no option ferry lacks, every command, the version
// `ferry --version` prints and the exit codes of --help; and groff renders it without a warning.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/prometheus.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
const fs::path page = fs::path(FERRY_BUILD_DIR) / "man/ferry.1";

// Sections (.SH NAME) of the page and their text.
std::map<std::string, std::string> sections() {
  std::map<std::string, std::string> out;
  std::istringstream in(file_contents(page));
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(".SH ")) {
      current = line.substr(4);
      continue;
    }
    out[current] += line + "\n";
  }
  return out;
}

// The options a section documents: the bold names opening each .TP entry.
std::set<std::string> documented(const std::string& text) {
  std::set<std::string> names;
  std::istringstream in(text);
  bool entry = false;
  for (std::string line; std::getline(in, line);) {
    if (line == ".TP") {
      entry = true;
      continue;
    }
    if (!entry) continue;
    entry = false;
    const std::regex name(R"(\\fB((?:\\-)+[a-z0-9-]+)\\fR)");
    for (auto it = std::sregex_iterator(line.begin(), line.end(), name);
         it != std::sregex_iterator(); ++it) {
      names.insert(std::regex_replace((*it)[1].str(), std::regex(R"(\\-)"), "-"));
    }
  }
  return names;
}

// The options `ferry <command> --help` lists (each at the start of a line).
std::set<std::string> offered(const std::string& command) {
  std::vector<std::string> argv{FERRY_BINARY};
  if (!command.empty()) argv.push_back(command);
  argv.push_back("--help");
  const tool_result help = run_tool(argv);
  EXPECT_EQ(help.exit_code, 0) << help.output;
  std::set<std::string> names;
  std::istringstream in(help.output);
  const std::regex option(R"(^  (-[a-z](?:,|\s))?(--[a-z0-9-]+|-[a-z]))");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, option)) continue;
    if (m[1].matched) names.insert(m[1].str().substr(0, 2));
    names.insert(m[2]);
  }
  return names;
}

// "only in the man page: ...; only in --help: ..." for a failure message.
std::string difference(const std::set<std::string>& man, const std::set<std::string>& help) {
  std::string only_man, only_help;
  for (const auto& n : man) {
    if (!help.contains(n)) only_man += " " + n;
  }
  for (const auto& n : help) {
    if (!man.contains(n)) only_help += " " + n;
  }
  return "only in the man page:" + only_man + "; only in --help:" + only_help;
}

std::set<std::string> merged(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> out;
  for (const auto& s : sets) out.insert(s.begin(), s.end());
  return out;
}

// The subcommands `ferry --help` lists.
std::set<std::string> commands_of_binary() {
  const tool_result help = run_tool({FERRY_BINARY, "--help"});
  std::set<std::string> commands;
  const auto listed = help.output.substr(help.output.find("Subcommands:"));
  const std::regex command(R"(\n  ([a-z]+)\s)");
  for (auto it = std::sregex_iterator(listed.begin(), listed.end(), command);
       it != std::sregex_iterator(); ++it) {
    commands.insert((*it)[1]);
  }
  return commands;
}

TEST(deploy_man, the_page_documents_exactly_the_options_of_each_command) {
  ASSERT_TRUE(fs::exists(page)) << page << " (built by the ferry_man target)";
  const auto s = sections();
  const auto general = documented(s.at("GENERAL OPTIONS"));
  const auto connection = documented(s.at("CONNECTION OPTIONS"));
  EXPECT_EQ(general, (std::set<std::string>{"-h", "--help", "--version"}));
  EXPECT_EQ(merged({general}), offered(""));
  for (const std::string& command : commands_of_binary()) {
    std::string section = command + " OPTIONS";
    for (char& c : section) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto help = offered(command);
    ASSERT_TRUE(s.contains(section)) << section;
    // Commands that talk to a source share the CONNECTION OPTIONS.
    auto man = help.contains("--source") ? merged({general, connection, documented(s.at(section))})
                                         : merged({general, documented(s.at(section))});
    man.erase("--version");  // ferry's own, not its commands'

    EXPECT_EQ(man, help) << "ferry " << command << " --help and the man page's GENERAL, "
                         << "CONNECTION and " << section << " differ: " << difference(man, help);
  }
}

TEST(deploy_man, commands_version_and_exit_codes_agree_with_the_binary) {
  const auto s = sections();
  const tool_result help = run_tool({FERRY_BINARY, "--help"});
  // Subcommands: the lines under "Subcommands:" of --help.
  std::set<std::string> commands;
  const auto listed = help.output.substr(help.output.find("Subcommands:"));
  const std::regex command(R"(\n  ([a-z]+)\s)");
  for (auto it = std::sregex_iterator(listed.begin(), listed.end(), command);
       it != std::sregex_iterator(); ++it) {
    commands.insert((*it)[1]);
  }
  EXPECT_TRUE(commands.contains("copy") && commands.contains("verify")) << "update this test";
  // The man page's COMMANDS entries: ".TP" then ".B name".
  std::set<std::string> described;
  const std::string& text = s.at("COMMANDS");
  const std::regex entry(R"(\.TP\n\.B ([a-z]+)\n)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), entry);
       it != std::sregex_iterator(); ++it) {
    described.insert((*it)[1]);
  }
  EXPECT_EQ(described, commands);
  for (const auto& c : commands) {
    EXPECT_NE(s.at("SYNOPSIS").find(".B ferry " + c + "\n"), std::string::npos) << c;
  }
  const tool_result version = run_tool({FERRY_BINARY, "--version"});
  EXPECT_EQ(version.output, std::string("ferry ") + FERRY_PROJECT_VERSION + "\n");
  EXPECT_NE(file_contents(page).find(fmt::format("\"ferry {}\"", FERRY_PROJECT_VERSION)),
            std::string::npos);
  for (const char* code : {"0", "1", "2", "3", "64"}) {
    EXPECT_NE(s.at("EXIT STATUS").find(std::string(".B ") + code + "\n"), std::string::npos)
        << code;
    EXPECT_NE(help.output.find(std::string(code) + " "), std::string::npos) << code;
  }
}

TEST(deploy_man, groff_renders_it_without_a_warning) {
  const auto groff = find_tool("groff");
  if (!groff) {
    std::printf("groff not installed (groff-base): test skipped\n");
    GTEST_SKIP();
  }
  const tool_result r = run_tool({groff->string(), "-man", "-Tutf8", "-ww", "-z", page.string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
}

}  // namespace
}  // namespace ferry::testing
