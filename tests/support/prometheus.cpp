#include "tests/support/prometheus.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

struct socket_guard {
  int fd = -1;
  ~socket_guard() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

// Splits "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody".
http_result parse_response(const std::string& raw, std::uint16_t port) {
  const auto end_of_head = raw.find("\r\n\r\n");
  if (end_of_head == std::string::npos || !raw.starts_with("HTTP/1.")) {
    throw std::runtime_error(
        fmt::format("127.0.0.1:{} answered no HTTP response ({} bytes)", port, raw.size()));
  }
  http_result result;
  result.body = raw.substr(end_of_head + 4);
  std::size_t at = raw.find("\r\n");
  result.status = std::stoi(raw.substr(raw.find(' ') + 1, 3));
  while (at < end_of_head) {
    const auto next = raw.find("\r\n", at + 2);
    std::string line = raw.substr(at + 2, next - at - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "content-type")
        result.content_type = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    result.headers.push_back(std::move(line));
    at = next;
  }
  return result;
}

}  // namespace

http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  socket_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(
        fmt::format("connecting to 127.0.0.1:{}: {}", port, std::strerror(errno)));
  }
  // HTTP/1.0 without keep-alive: the server closes after its answer, so the end of the stream
  // is the end of the body.
  const std::string request =
      fmt::format("{} {} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", method, target, port);
  if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    throw std::runtime_error(
        fmt::format("sending to 127.0.0.1:{}: {}", port, std::strerror(errno)));
  }
  std::string raw;
  char buffer[16384];
  for (;;) {
    pollfd p{s.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready == 0) {
      throw std::runtime_error(
          fmt::format("127.0.0.1:{} did not finish answering {} {} within {} ms", port, method,
                      target, timeout.count()));
    }
    if (ready < 0 && errno == EINTR) continue;
    const ssize_t n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::runtime_error(
          fmt::format("reading from 127.0.0.1:{}: {}", port, std::strerror(errno)));
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  return parse_response(raw, port);
}

http_result http_get(std::uint16_t port, const std::string& target,
                     std::chrono::milliseconds timeout) {
  return http_request(port, "GET", target, timeout);
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::optional<std::filesystem::path> find_tool(const std::string& name) {
  try {
    return find_executable(name);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

tool_result run_tool(const std::vector<std::string>& argv,
                     const std::optional<std::filesystem::path>& stdin_file,
                     std::chrono::milliseconds timeout) {
  temp_dir dir("tool");
  const auto log = dir / "output.log";
  std::vector<std::string> command = argv;
  if (stdin_file) {
    // child_process gives its children /dev/null as stdin; a shell redirects the file instead.
    command = {"/bin/sh", "-c", "f=$1; shift; exec \"$@\" < \"$f\"", "sh", stdin_file->string()};
    command.insert(command.end(), argv.begin(), argv.end());
  }
  child_process child = child_process::spawn(command, log);
  tool_result result;
  if (child.wait_exit(timeout)) {
    const int status = *child.exit_status();
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  } else {
    child.kill_and_reap();
  }
  result.output = file_contents(log);
  return result;
}

prometheus_server::prometheus_server(prometheus_options options)
    : options_(std::move(options)), dir_("prometheus") {
  const auto binary = find_tool("prometheus");
  if (!binary) throw std::runtime_error("prometheus is not installed (cmake/install-deps.sh)");
  std::string targets;
  for (const auto& t : options_.targets) targets += fmt::format("'{}', ", t);
  std::string rules;
  for (const auto& file : options_.rule_files) rules += fmt::format("  - '{}'\n", file.string());
  {
    std::ofstream config(dir_ / "prometheus.yml");
    config << fmt::format(
        "global:\n"
        "  scrape_interval: {0}s\n"
        "  scrape_timeout: {0}s\n"
        "  evaluation_interval: {0}s\n"
        "{1}"
        "scrape_configs:\n"
        "  - job_name: '{2}'\n"
        "    static_configs:\n"
        "      - targets: [{3}]\n",
        options_.scrape_interval.count(), rules.empty() ? "" : "rule_files:\n" + rules,
        options_.job, targets);
  }
  // Another process may take the free port first: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = pick_free_port();
    process_ = child_process::spawn(
        {binary->string(), "--config.file=" + (dir_ / "prometheus.yml").string(),
         "--storage.tsdb.path=" + (dir_ / "data").string(),
         fmt::format("--web.listen-address=127.0.0.1:{}", port_), "--log.level=warn"},
        dir_ / "prometheus.log");
    const auto deadline = clock::now() + 60s;
    while (clock::now() < deadline && process_.running()) {
      try {
        if (http_get(port_, "/-/ready", 2s).status == 200) return;
      } catch (const std::runtime_error&) {
        // not listening yet
      }
      std::this_thread::sleep_for(100ms);
    }
    const bool port_taken = log_tail().find("address already in use") != std::string::npos;
    process_.kill_and_reap();
    if (!port_taken) break;
  }
  throw std::runtime_error(
      fmt::format("prometheus did not become ready on 127.0.0.1:{} within 60 s; its log:\n{}",
                  port_, log_tail()));
}

prometheus_server::~prometheus_server() { process_.kill_and_reap(); }

nlohmann::json prometheus_server::query(const std::string& promql) {
  const http_result answer = http_get(port_, "/api/v1/query?query=" + url_encode(promql));
  const auto json = nlohmann::json::parse(answer.body, nullptr, false);
  if (json.is_discarded() || json.value("status", "") != "success") {
    throw std::runtime_error(fmt::format("prometheus query '{}' failed: HTTP {}: {}", promql,
                                         answer.status, answer.body));
  }
  return json["data"]["result"];
}

std::optional<double> prometheus_server::value(const std::string& promql) {
  const nlohmann::json result = query(promql);
  if (result.empty()) return std::nullopt;
  if (result.size() > 1) {
    throw std::runtime_error(
        fmt::format("prometheus query '{}' returned {} series, expected one: {}", promql,
                    result.size(), result.dump()));
  }
  // An instant vector's sample is [unix time, "value as text"].
  return std::stod(result[0]["value"][1].get<std::string>());
}

std::optional<double> prometheus_server::wait_for(const std::string& promql,
                                                  const std::function<bool(double)>& accept,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  std::optional<double> last;
  for (;;) {
    last = value(promql);
    if (last && accept(*last)) return last;
    if (clock::now() >= deadline) return last;
    std::this_thread::sleep_for(200ms);
  }
}

bool prometheus_server::wait_for_scrape(std::chrono::milliseconds timeout) {
  const std::string promql = fmt::format("count(up{{job='{}'}} == 1)", options_.job);
  const auto want = static_cast<double>(options_.targets.size());
  const auto seen = wait_for(
      promql, [want](double v) { return v >= want; }, timeout);
  return seen && *seen >= want;
}

std::string prometheus_server::log_tail() const { return file_tail(dir_ / "prometheus.log", 40); }

}  // namespace ferry::testing
