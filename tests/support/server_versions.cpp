#include "tests/support/server_versions.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <stdexcept>

#include "tests/support/process.hpp"

#ifndef FERRY_TEST_SERVERS_DIR
#define FERRY_TEST_SERVERS_DIR ""
#endif

namespace ferry::testing {
namespace {

// A name split into what to look for.
struct wanted {
  std::string product;  // "redis" or "valkey" (folder and binary prefix)
  int major = 0;
  int minor = 0;
};

wanted parse_name(const std::string& name) {
  static const std::regex form(R"(^(?:(redis|valkey)-)?(\d+)\.(\d+)$)");
  std::smatch m;
  if (!std::regex_match(name, m, form)) {
    throw std::invalid_argument(fmt::format(
        "server version '{}' is not a name like \"7.4\" or \"valkey-8.0\" (known: 5.0, 6.2, "
        "7.0, 7.4, valkey-8.0)",
        name));
  }
  return {m[1].matched ? m[1].str() : std::string("redis"), std::stoi(m[2]), std::stoi(m[3])};
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// "Redis server v=7.4.1 sha=..." / "Valkey server v=8.0.1 ...": product and version.
std::optional<std::pair<std::string, std::string>> ask_version(const std::filesystem::path& exe) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      ::popen((shell_quote(exe.string()) + " --version 2>/dev/null").c_str(), "r"), ::pclose);
  if (!pipe) {
    return std::nullopt;
  }
  std::array<char, 512> buffer{};
  std::string out;
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) {
    out += buffer.data();
  }
  static const std::regex form(R"(^(Redis|Valkey) server v=(\d+\.\d+\.\d+))");
  std::smatch m;
  if (!std::regex_search(out, m, form)) {
    return std::nullopt;
  }
  return std::make_pair(m[1].str(), m[2].str());
}

bool executable(const std::filesystem::path& file) { return ::access(file.c_str(), X_OK) == 0; }

// The newest DIR/<product>-<major>.<minor>[.<patch>]/bin/<product>-server under `dir`.
std::optional<std::filesystem::path> find_in(const std::filesystem::path& dir, const wanted& w) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return std::nullopt;
  }
  const std::regex form(fmt::format(R"(^{}-{}\.{}(?:\.(\d+))?$)", w.product, w.major, w.minor));
  std::optional<std::filesystem::path> best;
  int best_patch = -1;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string folder = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(folder, m, form)) {
      continue;
    }
    const auto server = entry.path() / "bin" / (w.product + "-server");
    const int patch = m[1].matched ? std::stoi(m[1]) : 0;
    if (executable(server) && patch > best_patch) {
      best = server;
      best_patch = patch;
    }
  }
  return best;
}

std::optional<server_build> describe(const std::string& name, const std::filesystem::path& server,
                                     const std::string& cli_name) {
  const auto version = ask_version(server);
  if (!version) {
    return std::nullopt;
  }
  server_build build;
  build.name = name;
  build.product = version->first;
  build.version = version->second;
  build.server = server;
  const auto cli = server.parent_path() / cli_name;
  if (executable(cli)) {
    build.cli = cli;
  }
  const int major = std::stoi(build.version);
  const int minor = std::stoi(build.version.substr(build.version.find('.') + 1));
  if (build.valkey()) {
    // Valkey forked from Redis 7.2.4 and answers as that version (INFO redis_version).
    build.redis_major = 7;
    build.redis_minor = 2;
  } else {
    build.redis_major = major;
    build.redis_minor = minor;
  }
  return build;
}

std::optional<server_build> look_up(const std::string& name) {
  if (name.empty()) {
    try {
      return describe(name, find_executable("redis-server"), "redis-cli");
    } catch (const std::runtime_error&) {
      return std::nullopt;
    }
  }
  const wanted w = parse_name(name);
  for (const auto& dir : server_search_dirs()) {
    if (const auto server = find_in(dir, w)) {
      auto build = describe(name, *server, w.product + "-cli");
      if (build) {
        return build;
      }
    }
  }
  // Debian's redis-server serves as "7.0" (or whatever version the PATH's is).
  if (w.product == "redis") {
    try {
      auto build = describe(name, find_executable("redis-server"), "redis-cli");
      if (build && build->redis_major == w.major && build->redis_minor == w.minor) {
        return build;
      }
    } catch (const std::runtime_error&) {
    }
  }
  return std::nullopt;
}

}  // namespace

int server_build::rdb_version() const noexcept {
  if (valkey()) {
    return 11;  // Valkey 8.0
  }
  if (at_least(7, 4)) return 12;
  if (at_least(7, 2)) return 11;
  if (at_least(7, 0)) return 10;
  return 9;  // 5.0 to 6.2
}

const std::vector<std::string>& known_server_versions() {
  static const std::vector<std::string> names{"5.0", "6.2", "7.0", "7.4", "valkey-8.0"};
  return names;
}

std::vector<std::filesystem::path> server_search_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("FERRY_TEST_SERVERS"); env != nullptr) {
    const std::string list = env;
    std::size_t begin = 0;
    while (begin <= list.size()) {
      std::size_t end = list.find(':', begin);
      if (end == std::string::npos) end = list.size();
      if (end > begin) dirs.emplace_back(list.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  const std::filesystem::path built_in = FERRY_TEST_SERVERS_DIR;
  if (!built_in.empty()) dirs.push_back(built_in.lexically_normal());
  return dirs;
}

std::optional<server_build> find_server_build(const std::string& name) {
  // Asking a binary its version costs a fork; tests ask often. The key includes the folders and
  // PATH, so that a test changing FERRY_TEST_SERVERS or PATH (to put another redis-server first)
  // sees the change.
  static std::mutex mutex;
  static std::map<std::string, std::optional<server_build>> cache;
  // Appended piece by piece: GCC 12's -Wrestrict misfires on `"|" + std::string(...)` at -O2.
  std::string key = name;
  key += '|';
  for (const auto& dir : server_search_dirs()) {
    key += dir.string();
    key += ':';
  }
  key += '|';
  if (const char* path = std::getenv("PATH"); path != nullptr) key += path;
  std::lock_guard lock(mutex);
  if (const auto it = cache.find(key); it != cache.end()) {
    return it->second;
  }
  auto build = look_up(name);
  cache.emplace(key, build);
  return build;
}

server_build require_server_build(const std::string& name) {
  auto build = find_server_build(name);
  if (!build) {
    throw std::runtime_error(server_missing_message(name));
  }
  return *build;
}

std::string server_missing_message(const std::string& name) {
  if (name.empty()) {
    return "redis-server not found in PATH; run cmake/install-deps.sh (Debian's redis-server)";
  }
  const wanted w = parse_name(name);
  const std::string product = w.product == "valkey" ? "Valkey" : "Redis";
  std::string dirs;
  for (const auto& dir : server_search_dirs()) {
    dirs += (dirs.empty() ? "" : ", ") + dir.string();
  }
  return fmt::format(
      "{} {}.{} not found under {}{}; set FERRY_TEST_SERVERS=DIR where "
      "DIR/{}-{}.{}.<patch>/bin/{}-server is a build (README, \"Tests\")",
      product, w.major, w.minor, dirs.empty() ? "(no folder)" : dirs,
      w.product == "redis" && w.major == 7 && w.minor == 0 ? " or in PATH" : "", w.product, w.major,
      w.minor, w.product);
}

}  // namespace ferry::testing
