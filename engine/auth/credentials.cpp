#include "engine/auth/credentials.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>

#include "engine/auth/token_fetch.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::system_clock;

std::string seconds_text(system_clock::duration d) {
  return fmt::format("{} s", std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

/// Where a user should look when no fresh token comes.
constexpr const char* renewal_hint =
    "whatever renews it (the Azure CLI, a managed identity sidecar) must write a fresh token";

}  // namespace

std::string utc_text(std::chrono::sys_seconds when) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(system_clock::to_time_t(when)));
}

std::shared_ptr<token_login> token_login::start(token_origin origin, std::string where,
                                                std::string user, std::string label,
                                                token_timing timing, notice_sink notices) {
  std::shared_ptr<token_login> login(new token_login(origin, std::move(where), std::move(user),
                                                     std::move(label), timing, std::move(notices)));
  {
    std::lock_guard lock(login->mutex_);
    if (origin == token_origin::file) login->file_changed();  // remember the first signature
  }
  auto first = login->fetch();
  {
    std::lock_guard lock(login->mutex_);
    login->take(std::move(first));
  }
  // The refresher must not take SIGINT/SIGTERM away from the thread that sigwait()s for them
  // (cli/signals.cpp): it starts with every signal blocked.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  login->thread_ = std::thread([raw = login.get()] { raw->run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return login;
}

token_login::token_login(token_origin origin, std::string where, std::string user,
                         std::string label, token_timing timing, notice_sink notices)
    : origin_(origin),
      where_(std::move(where)),
      user_(std::move(user)),
      label_(std::move(label)),
      timing_(timing),
      notices_(std::move(notices)),
      random_(std::random_device{}()) {}

token_login::~token_login() {
  stopping_.store(true);  // a token command still running is killed
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

boost::system::result<protocol::login_state, std::string> token_login::current() const {
  std::lock_guard lock(mutex_);
  if (!token_) {
    return fmt::format("cannot get an access token from the {}: {}", label_, problem_);
  }
  const auto now = system_clock::now();
  if (now >= token_->expires) {
    return fmt::format("the access token from the {} expired at {} ({} ago){}; {}", label_,
                       utc_text(token_->expires), seconds_text(now - token_->expires),
                       problem_.empty() ? std::string()
                                        : fmt::format(" and no newer one is usable ({})", problem_),
                       renewal_hint);
  }
  return protocol::login_state{{token_->user, token_->token},
                               generation_.load(std::memory_order_relaxed),
                               fmt::format("access token from the {}", label_)};
}

std::optional<std::chrono::sys_seconds> token_expiry(const protocol::login_source* login) {
  const auto* token = dynamic_cast<const token_login*>(login);
  return token != nullptr ? token->expires() : std::nullopt;
}

std::optional<std::chrono::sys_seconds> token_login::expires() const {
  std::lock_guard lock(mutex_);
  if (!token_) return std::nullopt;
  return token_->expires;
}

token_text token_login::fetch() {
  if (origin_ == token_origin::file) return detail::read_token_file(where_);
  return detail::run_token_command(where_, timing_.command_timeout, &stopping_);
}

void token_login::notice(const std::string& text) const {
  if (notices_) notices_(text);
}

void token_login::take(token_text fetched) {
  auto complain = [this](std::string why) {
    if (why != problem_ && token_)
      notice(fmt::format("cannot renew the access token from the {}: {}", label_, why));
    problem_ = std::move(why);
  };
  if (!fetched) return complain(fetched.error().why);
  auto token = extract_token(*fetched);
  if (!token) return complain("it does not hold a token: " + token.error().why);
  if (token_ && *token == token_->token) {
    problem_.clear();
    return;  // not renewed yet
  }
  auto claims = read_jwt_claims(*token);
  if (!claims) return complain(claims.error());
  const auto now = system_clock::now();
  if (claims->expires <= now) {
    return complain(fmt::format("its token expired at {} ({} ago); {}", utc_text(claims->expires),
                                seconds_text(now - claims->expires), renewal_hint));
  }
  std::string user = user_.empty() ? claims->object_id : user_;
  const auto spread = timing_.jitter.value_or(timing_.margin / 4);
  std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(spread.count(), 0));
  const auto due = claims->expires - timing_.margin - milliseconds{pick(random_)};
  const bool renewal = token_.has_value();
  token_ = installed{std::move(*token), std::move(user), claims->expires, due};
  problem_.clear();
  warned_overdue_ = false;
  generation_.fetch_add(1, std::memory_order_release);
  if (renewal) {
    notice(fmt::format("renewed the access token from the {}; the new one is valid until {}",
                       label_, utc_text(claims->expires)));
  }
  if (due <= now) {
    notice(
        fmt::format("the access token from the {} expires at {}, in less than the refresh "
                    "margin ({}); ferry keeps looking for a newer one",
                    label_, utc_text(claims->expires), seconds_text(timing_.margin)));
    warned_overdue_ = true;
  }
}

bool token_login::file_changed() {
  struct stat info {};
  file_signature now;
  if (::stat(where_.c_str(), &info) == 0) {
    now = {static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino),
           static_cast<std::uint64_t>(info.st_size),
           static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
  }
  const bool changed = !seen_ || !(*seen_ == now);
  seen_ = now;
  return changed;
}

milliseconds token_login::next_wait() const {
  // A file is cheap to look at: check it often enough that a renewed token is in use within a
  // small part of the margin. A command may be slow or rate-limited: run it only when due, and
  // then retry at a pace set by the margin.
  const milliseconds poll = std::clamp(timing_.margin / 8, milliseconds{100}, milliseconds{1000});
  const milliseconds retry =
      std::clamp(timing_.margin / 8, milliseconds{500}, milliseconds{30'000});
  const auto now = system_clock::now();
  if (!token_ || now >= token_->due) return origin_ == token_origin::file ? poll : retry;
  const auto until_due = std::chrono::duration_cast<milliseconds>(token_->due - now) + 1ms;
  return origin_ == token_origin::file ? std::min(poll, until_due) : until_due;
}

void token_login::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, next_wait(), [this] { return stop_; });
    if (stop_) break;
    const auto now = system_clock::now();
    const bool due = !token_ || now >= token_->due;
    const bool changed = origin_ == token_origin::file && file_changed();
    if (!due && !changed) continue;
    lock.unlock();
    auto fetched = fetch();
    lock.lock();
    if (stop_) break;
    take(std::move(fetched));
    if (token_ && system_clock::now() >= token_->due && !warned_overdue_) {
      warned_overdue_ = true;
      notice(
          fmt::format("the access token from the {} expires at {} and no newer one is there "
                      "yet; ferry keeps looking",
                      label_, utc_text(token_->expires)));
    }
  }
}

}  // namespace ferry::engine
