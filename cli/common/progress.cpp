#include "cli/common/progress.hpp"

#include <fmt/format.h>

namespace ferry::cli {

progress_printer::progress_printer(std::function<progress_sample()> sample, bool live,
                                   std::chrono::seconds log_every)
    : sample_(std::move(sample)), live_(live), log_every_(log_every) {
  thread_ = std::thread([this] { loop(); });
}

progress_printer::progress_printer(std::function<engine::counts()> sample, bool live,
                                   std::chrono::seconds log_every)
    : progress_printer(
          [sample = std::move(sample)] {
            const engine::counts c = sample();
            return progress_sample{c.settled(), c.estimated, c.bytes, "failed", c.failed, {}};
          },
          live, log_every) {}

progress_printer::~progress_printer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (live_) fmt::print(stderr, "\n");
}

void progress_printer::loop() {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto last_time = started;
  progress_sample last{};
  double keys_rate = 0, bytes_rate = 0;
  const auto interval = live_ ? std::chrono::milliseconds{500}
                              : std::chrono::duration_cast<std::chrono::milliseconds>(log_every_);
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
    const auto now_time = clock::now();
    const progress_sample now = sample_();
    const double dt = std::chrono::duration<double>(now_time - last_time).count();
    if (dt > 0) {
      const double k = static_cast<double>(now.done - last.done) / dt;
      const double b = static_cast<double>(now.bytes.value_or(0) - last.bytes.value_or(0)) / dt;
      // Smooth the live rates so the ETA does not jump with every sample.
      const double weight = keys_rate == 0 ? 1.0 : 0.3;
      keys_rate = weight * k + (1 - weight) * keys_rate;
      bytes_rate = weight * b + (1 - weight) * bytes_rate;
    }
    print(now, std::chrono::duration<double>(now_time - started).count(), keys_rate, bytes_rate);
    last = now;
    last_time = now_time;
  }
}

void progress_printer::print(const progress_sample& now, double elapsed_s, double keys_per_s,
                             double bytes_per_s) {
  const std::uint64_t done = now.done;
  std::string of;
  std::string eta = "-";
  if (now.estimated != 0) {
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(now.estimated);
    of = fmt::format(" of ~{} ({:.0f}%)", with_commas(now.estimated), std::min(pct, 100.0));
    if (keys_per_s > 0 && now.estimated > done) {
      const auto left =
          static_cast<std::uint64_t>(static_cast<double>(now.estimated - done) / keys_per_s);
      eta = fmt::format("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60);
    } else if (now.estimated <= done) {
      eta = "0:00:00";
    }
  }
  const std::string rate =
      now.bytes ? fmt::format(" | {:.1f} MB/s", bytes_per_s / 1e6) : std::string{};
  const std::string line =
      fmt::format("{} keys{} | {:.0f} keys/s{} | ETA {} | {} {} | {:.0f}s{}", with_commas(done), of,
                  keys_per_s, rate, eta, now.trouble_label, with_commas(now.trouble), elapsed_s,
                  now.extra.empty() ? std::string{} : " | " + now.extra);
  if (live_) {
    fmt::print(stderr, "\r\x1b[2K{}", line);
  } else {
    fmt::print(stderr, "progress: {}\n", line);
  }
  std::fflush(stderr);
}

}  // namespace ferry::cli
