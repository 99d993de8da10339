#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// Owns a file descriptor for the duration of a helper.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

}  // namespace

std::filesystem::path find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::filesystem::path candidate = std::filesystem::path(path.substr(begin, end - begin)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    begin = end + 1;
  }
  throw std::runtime_error(fmt::format("{} not found in PATH ({})", name, path));
}

child_process child_process::spawn(const std::vector<std::string>& argv,
                                   const std::filesystem::path& log_file) {
  if (argv.empty()) {
    throw std::invalid_argument("child_process::spawn: empty argv");
  }
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  const std::string program = find_executable(argv[0]).string();
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  fd_guard log{::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
  if (log.fd < 0) {
    throw std::system_error(errno, std::generic_category(), "open " + log_file.string());
  }
  fd_guard null_in{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::system_error(errno, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // Die with the parent; if the parent already died between fork and prctl, go now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(126);
    }
    ::dup2(null_in.fd, STDIN_FILENO);
    ::dup2(log.fd, STDOUT_FILENO);
    ::dup2(log.fd, STDERR_FILENO);
    // Sockets of the test (e.g. clients of other servers) must not leak into the server.
    ::close_range(3, ~0U, 0);
    ::execv(program.c_str(), args.data());
    ::_exit(127);
  }
  child_process child;
  child.pid_ = pid;
  return child;
}

child_process::~child_process() { kill_and_reap(); }

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

bool child_process::running() {
  if (pid_ < 0 || status_) {
    return false;
  }
  int status = 0;
  const pid_t result = ::waitpid(pid_, &status, WNOHANG);
  if (result == pid_) {
    status_ = status;
    return false;
  }
  return result == 0;
}

void child_process::signal(int signal_number) {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, signal_number);
  }
}

bool child_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void child_process::kill_and_reap() noexcept {
  if (pid_ < 0 || status_) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
}

std::string describe_exit_status(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exit code {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("wait status {}", status);
}

bool process_alive(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string content;
  if (!stat || !std::getline(stat, content)) {
    return false;
  }
  // Format: "pid (comm) S ...": comm may contain spaces or ')', so look after the last ')'.
  const auto close = content.rfind(')');
  if (close == std::string::npos || close + 2 >= content.size()) {
    return false;
  }
  const char state = content[close + 2];
  return state != 'Z' && state != 'X';
}

bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_alive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string file_tail(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) {
      tail.pop_front();
    }
  }
  std::string out;
  for (const auto& line : tail) {
    out += line;
    out += '\n';
  }
  return out;
}

namespace {

// Binds 127.0.0.1:port (0 = kernel's choice) and returns the bound port, or 0 on failure.
std::uint16_t try_bind(std::uint16_t port) {
  fd_guard sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) {
    throw std::system_error(errno, std::generic_category(), "socket");
  }
  const int one = 1;
  ::setsockopt(sock.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return 0;
  }
  socklen_t len = sizeof addr;
  if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

}  // namespace

std::string file_contents(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

port_holder::port_holder(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    if (fd_ >= 0) {
      ::close(fd_);
    }
    throw std::system_error(err, std::generic_category(),
                            fmt::format("port_holder: listen on 127.0.0.1:{}", port));
  }
  port_ = ntohs(addr.sin_port);
}

port_holder::~port_holder() { ::close(fd_); }

bool port_is_free(std::uint16_t port) { return port != 0 && try_bind(port) == port; }

std::uint16_t pick_free_port(bool with_cluster_bus) {
  constexpr int max_tries = 200;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    const std::uint16_t candidate = try_bind(0);
    if (candidate == 0) {
      continue;
    }
    if (!with_cluster_bus) {
      return candidate;
    }
    if (candidate <= 65535 - 10000 && port_is_free(static_cast<std::uint16_t>(candidate + 10000))) {
      return candidate;
    }
  }
  throw std::runtime_error("pick_free_port: no free loopback port found after 200 tries");
}

}  // namespace ferry::testing
