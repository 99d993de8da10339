#include "engine/auth/token_fetch.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

extern char** environ;

namespace ferry::engine::detail {
namespace {

constexpr std::size_t max_token_bytes = 64 * 1024;
constexpr std::size_t max_stderr_bytes = 4 * 1024;

/// Closes a descriptor on scope exit.
struct fd_guard {
  int fd = -1;
  ~fd_guard() { reset(); }
  void reset() noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (const auto newline = text.rfind('\n'); newline != std::string_view::npos) {
    text.remove_prefix(newline + 1);
  }
  if (text.size() > 200) text = text.substr(0, 200);
  return mask_tokens(text);
}

}  // namespace

std::string mask_tokens(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && token_char(text[run])) ++run;
    if (run - i >= 24) {
      out += "***";
    } else {
      out.append(text.substr(i, run - i));
    }
    if (run < text.size()) out.push_back(text[run]);
    i = run + 1;
  }
  return out;
}

token_text read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return token_problem::because(fmt::format("cannot open it: {}", std::strerror(errno)));
  std::string text(max_token_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    return token_problem::because(fmt::format("cannot read it: {}", std::strerror(errno)));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_token_bytes) {
    return token_problem::because(
        fmt::format("it is larger than {} KiB, too large for a token", max_token_bytes / 1024));
  }
  return text;
}

token_text run_token_command(const std::string& command, std::chrono::milliseconds timeout,
                             const std::atomic<bool>* cancel) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return token_problem::because(fmt::format("pipe: {}", std::strerror(errno)));
  fd_guard out_read{out_pipe[0]}, out_write{out_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return token_problem::because(fmt::format("pipe: {}", std::strerror(errno)));
  fd_guard err_read{err_pipe[0]}, err_write{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // ferry's sockets are not the command's business.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The command gets default signal handling and an empty mask, whatever ferry blocks.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  // Its own process group, so that a timeout kills whatever it started too.
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::string shell = "/bin/sh", dash_c = "-c", line = command;
  std::array<char*, 4> argv{shell.data(), dash_c.data(), line.data(), nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0)
    return token_problem::because(fmt::format("cannot start /bin/sh: {}", std::strerror(spawned)));
  out_write.reset();
  err_write.reset();

  std::string out, err;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false, too_long = false, cancelled = false;
  std::array<char, 4096> chunk;
  while (out_read.fd >= 0 || err_read.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (cancel != nullptr && cancel->load()) {
      cancelled = true;
      break;
    }
    std::array<pollfd, 2> watch{pollfd{out_read.fd, POLLIN, 0}, pollfd{err_read.fd, POLLIN, 0}};
    // Wake up now and then to notice `cancel`.
    const int ready = ::poll(watch.data(), watch.size(),
                             static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < watch.size(); ++i) {
      if (watch[i].fd < 0 || watch[i].revents == 0) continue;
      fd_guard& from = i == 0 ? out_read : err_read;
      const ssize_t n = ::read(from.fd, chunk.data(), chunk.size());
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        from.reset();
        continue;
      }
      std::string& into = i == 0 ? out : err;
      const std::size_t limit = i == 0 ? max_token_bytes : max_stderr_bytes;
      if (i == 0 && into.size() + static_cast<std::size_t>(n) > limit) too_long = true;
      if (into.size() < limit) {
        into.append(chunk.data(),
                    std::min<std::size_t>(static_cast<std::size_t>(n), limit - into.size()));
      }
    }
  }
  if (timed_out || cancelled) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string said = last_line(err);
  const std::string tail = said.empty() ? "" : fmt::format(" (its last words: {})", said);
  if (cancelled) return token_problem::because("the command was stopped because ferry is ending");
  if (timed_out) {
    return token_problem::because(fmt::format(
        "the command did not finish within {} s and was killed{}", timeout.count() / 1000.0, tail));
  }
  if (WIFSIGNALED(status)) {
    return token_problem::because(
        fmt::format("the command was killed by signal {}{}", WTERMSIG(status), tail));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return token_problem::because(
        fmt::format("the command exited with code {}{}", WEXITSTATUS(status), tail));
  }
  if (too_long) {
    return token_problem::because(fmt::format(
        "the command printed more than {} KiB, too much for a token", max_token_bytes / 1024));
  }
  return out;
}

}  // namespace ferry::engine::detail
