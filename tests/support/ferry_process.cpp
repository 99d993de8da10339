#include "tests/support/ferry_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/support/process.hpp"
#include "tests/support/sanitizer_report.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef FERRY_BINARY
#define FERRY_BINARY "ferry"
#endif

namespace ferry::testing {

ferry_process::ferry_process(const std::vector<std::string>& args, const std::filesystem::path& dir,
                             const std::map<std::string, std::string>& env,
                             const ferry_limits& limits, const std::filesystem::path& stdin_file) {
  // Numbered, so several runs can share a directory and their output stays apart.
  static int runs = 0;
  ++runs;
  out_file_ = dir / ("ferry-" + std::to_string(runs) + ".out");
  err_file_ = dir / ("ferry-" + std::to_string(runs) + ".err");
  // FERRY_TEST_BINARY runs the suite against another build (e.g. an older commit, to see a
  // test fail before its fix).
  const char* other = std::getenv("FERRY_TEST_BINARY");
  std::vector<std::string> argv{other != nullptr && *other != '\0' ? other : FERRY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const pid_t parent = getpid();
  started_ = std::chrono::steady_clock::now();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int out = open(out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int in = open(stdin_file.c_str(), O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    if (limits.file_size) {
      const rlimit size{*limits.file_size, *limits.file_size};
      if (setrlimit(RLIMIT_FSIZE, &size) != 0) _exit(127);
    }
    execv(raw[0], raw.data());
    _exit(127);
  }
}

ferry_process::~ferry_process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ferry_process::signal(int signal_number) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signal_number);
}

bool ferry_process::running() {
  if (reaped_) return false;
  int status = 0;
  rusage usage{};
  if (wait4(pid_, &status, WNOHANG, &usage) == pid_) {
    reaped_ = true;
    result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result_.max_rss_kb = usage.ru_maxrss;
    result_.cpu_seconds =
        static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    result_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return false;
  }
  return true;
}

std::string ferry_process::err_so_far() const { return file_contents(err_file_); }

ferry_result ferry_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline && !killed) {
      ::kill(pid_, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{killed ? 1 : 10});
  }
  result_.out = file_contents(out_file_);
  result_.err = file_contents(err_file_);
  if (killed) result_.err += "\n[test harness: ferry did not finish in time and was killed]\n";
  // In the sanitizer tree ferry is instrumented: its findings fail the test, whatever the exit
  // code (which may be the 1 or 2 the test expects).
  if (const std::string report = sanitizer_report(result_.err); !report.empty()) {
    ADD_FAILURE() << "ferry (pid " << pid_ << ") reported a sanitizer finding:\n" << report;
  }
  return result_;
}

ferry_result run_ferry(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                       const std::map<std::string, std::string>& env,
                       const std::filesystem::path& stdin_file) {
  temp_dir dir("ferry-run");
  ferry_process process(args, dir.path(), env, {}, stdin_file);
  return process.wait(timeout);
}

}  // namespace ferry::testing
