#pragma once
// Microsoft Entra ID access tokens as Redis credentials: user = the identity's object id,
// password = the token. Tokens live about an hour; something else keeps them fresh (the Azure
// CLI, a managed identity sidecar) in a file, or a command prints one. A `token_login` reads the
// token, learns its expiry from the JWT's `exp`, and on a thread of its own fetches the next one:
// as soon as the file changes, and in any case from `exp - margin - jitter` on until a newer
// token appears. Each renewal bumps the generation; connections that authenticated with an
// older generation AUTH again before their next batch (engine/link.cpp), and new connections
// always use the current token.
//
// Thread: every public method is safe from any thread. The refresher thread lives as long as the
// object.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "engine/auth/jwt.hpp"
#include "protocol/wire/login_source.hpp"

namespace ferry::engine {

/// How tokens are renewed.
struct token_timing {
  /// Renew at least this long before a token expires (--token-refresh-margin).
  std::chrono::milliseconds margin{std::chrono::minutes{3}};
  /// Up to this much earlier still, at random, so that many ferry processes (and the
  /// connections of one) do not all renew at the same moment. Default: a quarter of the margin.
  std::optional<std::chrono::milliseconds> jitter;
  /// Longest a token command may run before it is killed.
  std::chrono::milliseconds command_timeout{std::chrono::seconds{60}};
};

/// Receives sentences for the operator (token renewed, renewal failing). Never a secret. Called
/// on the refresher thread.
using notice_sink = std::function<void(const std::string&)>;

/// Where tokens come from.
enum class token_origin {
  file,     ///< a file holding the token (re-read when it changes and before expiry)
  command,  ///< a command (run with /bin/sh -c) that prints the token on stdout
};

/// An access token that renews itself (see the file comment).
class token_login final : public protocol::login_source {
 public:
  /// Reads the first token at once (so `current()` can tell what is wrong before anything
  /// connects) and starts the refresher thread.
  /// - `where`: the file's path or the command line.
  /// - `user`: the ACL user; empty means the token's `oid` claim (Azure's rule: the user name
  ///   is the identity's object id).
  /// - `label`: how messages name it, e.g. "target token file '/run/token'". Must not hold a
  ///   secret (a command line may: say "--target-token-command" instead).
  static std::shared_ptr<token_login> start(token_origin origin, std::string where,
                                            std::string user, std::string label,
                                            token_timing timing, notice_sink notices = {});

  /// Stops and joins the refresher thread.
  ~token_login() override;
  token_login(const token_login&) = delete;
  token_login& operator=(const token_login&) = delete;

  /// The current token, or why there is none: it could not be read, or it expired (the error
  /// names the label and the expiry time and says what to do).
  boost::system::result<protocol::login_state, std::string> current() const override;
  /// Bumped by every renewal.
  std::uint64_t generation() const noexcept override {
    return generation_.load(std::memory_order_acquire);
  }
  /// When the current token expires; nothing before a token was read.
  std::optional<std::chrono::sys_seconds> expires() const;
  /// How many times a newer token replaced the one before.
  std::uint64_t renewals() const noexcept { return generation() > 0 ? generation() - 1 : 0; }

 private:
  token_login(token_origin origin, std::string where, std::string user, std::string label,
              token_timing timing, notice_sink notices);

  /// The raw text of the file or the command's output, or why it cannot be had.
  token_text fetch();
  /// Takes what `fetch` returned; with `mutex_` held.
  void take(token_text fetched);
  /// True when the file's identity, size or modification time changed since the last read.
  bool file_changed();
  /// How long the refresher sleeps; with `mutex_` held.
  std::chrono::milliseconds next_wait() const;
  void run();
  void notice(const std::string& text) const;

  struct installed {
    std::string token;
    std::string user;
    std::chrono::sys_seconds expires;
    /// `expires - margin - jitter`: from then on, look for a newer token.
    std::chrono::system_clock::time_point due;
  };
  struct file_signature {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const file_signature&) const = default;
  };

  const token_origin origin_;
  const std::string where_;
  const std::string user_;
  const std::string label_;
  const token_timing timing_;
  const notice_sink notices_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<installed> token_;
  /// Why the last fetch did not give a usable token; empty after a good one.
  std::string problem_;
  bool warned_overdue_ = false;
  std::optional<file_signature> seen_;
  std::mt19937_64 random_;
  std::atomic<std::uint64_t> generation_{0};
  bool stop_ = false;
  /// Set before `stop_`, without the lock, to cut a running token command short.
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// "2025-05-01T12:00:00Z".
std::string utc_text(std::chrono::sys_seconds when);

/// When the access token in use by `login` expires (ferry_token_expiry_timestamp_seconds):
/// nothing for a password, the URL's credentials (null), or a token not read yet.
std::optional<std::chrono::sys_seconds> token_expiry(const protocol::login_source* login);

}  // namespace ferry::engine
