#pragma once
// A real Prometheus for integration tests (Debian's `prometheus` package): started on a free
// loopback port with a private storage directory and a scrape config pointing at the endpoints
// under test every second; queried through its HTTP API; killed and reaped at the end.
//
// Also what the metrics and deploy tests share: a plain HTTP/1.0 client (POSIX sockets, no
// Beast, so it does not share code with the server it checks) and running a tool (promtool,
// systemd-analyze, dpkg-deb) to its end with its output.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {

/// An HTTP answer.
struct http_result {
  /// The status code (0 when no answer came).
  int status = 0;
  /// The Content-Type header ("" when absent).
  std::string content_type;
  /// The body.
  std::string body;
  /// Every header line as received, for tests that look at one more.
  std::vector<std::string> headers;
};

/// Sends `method target` as HTTP/1.0 to 127.0.0.1:`port` and reads the answer to the end;
/// throws std::runtime_error (naming the port and what failed) on a connection error or when
/// nothing complete arrives within `timeout`.
http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// `http_request(port, "GET", target)`.
http_result http_get(std::uint16_t port, const std::string& target,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// `text` percent-encoded for a URL query value.
std::string url_encode(const std::string& text);

/// How a tool run ended.
struct tool_result {
  /// Its exit code (-1 when it was killed, e.g. at the timeout).
  int exit_code = -1;
  /// stdout and stderr together.
  std::string output;
};

/// Runs `argv` to its end (stdin from `stdin_file` when given, else /dev/null), killing it after
/// `timeout`. Throws when argv[0] is not found.
tool_result run_tool(const std::vector<std::string>& argv,
                     const std::optional<std::filesystem::path>& stdin_file = std::nullopt,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// The path of `name` in PATH, or nullopt (tests print a line and skip without it).
std::optional<std::filesystem::path> find_tool(const std::string& name);

/// What a test Prometheus scrapes.
struct prometheus_options {
  /// The endpoints to scrape, "127.0.0.1:9121".
  std::vector<std::string> targets;
  /// The scrape job's name (the `job` label of every scraped series).
  std::string job = "ferry";
  /// How often it scrapes (and evaluates rules).
  std::chrono::seconds scrape_interval{1};
  /// Rule files to load (e.g. deploy/prometheus/ferry-alerts.yml), so a test can see alerts.
  std::vector<std::filesystem::path> rule_files;
};

/// See the file comment.
class prometheus_server {
 public:
  /// True when Debian's prometheus binary is installed (cmake/install-deps.sh installs it).
  static bool available() { return find_tool("prometheus").has_value(); }

  /// Starts Prometheus as `options` say and waits (bounded) until it is ready. Throws, with
  /// its log, when it does not start.
  explicit prometheus_server(prometheus_options options);
  /// Kills and reaps it; removes its storage (kept with FERRY_KEEP_TEST_DIRS=1).
  ~prometheus_server();
  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  /// Its HTTP port on 127.0.0.1.
  std::uint16_t port() const noexcept { return port_; }
  /// What it was started with.
  const prometheus_options& options() const noexcept { return options_; }

  /// Runs the instant query `promql` (GET /api/v1/query) and returns `data.result`; throws when
  /// the API answers an error.
  nlohmann::json query(const std::string& promql);

  /// The value of the single sample `promql` returns now, or nullopt when it returns none.
  /// Throws when it returns several.
  std::optional<double> value(const std::string& promql);

  /// Polls `value(promql)` every 200 ms until `accept` says yes or `timeout` passes; returns the
  /// last value seen (nullopt if none), so a failing test can print it.
  std::optional<double> wait_for(const std::string& promql,
                                 const std::function<bool(double)>& accept,
                                 std::chrono::milliseconds timeout);

  /// Waits until every target has been scraped successfully (`up == 1`); false at `timeout`.
  bool wait_for_scrape(std::chrono::milliseconds timeout);

  /// The last lines of its log, for failure messages.
  std::string log_tail() const;

 private:
  prometheus_options options_;
  temp_dir dir_;
  std::uint16_t port_ = 0;
  child_process process_;
};

}  // namespace ferry::testing
