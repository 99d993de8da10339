#pragma once
// Where a connection's credentials come from. A password stays the same for the whole job; an
// access token (Microsoft Entra ID) is renewed while connections stay open, and each open
// connection must AUTH again with the new one before the old one expires. The generation number
// tells a connection that it authenticated with credentials that are no longer current.

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace ferry::protocol {

/// User name and password (or access token) to AUTH with.
struct credentials {
  /// ACL user; empty for the default user.
  std::string user;
  /// Password or token; empty means no AUTH.
  std::string password;
};

/// The credentials to use now.
struct login_state {
  /// What to AUTH with.
  credentials login;
  /// Changes whenever `login` does (a renewed token); never goes back.
  std::uint64_t generation = 0;
  /// Where the secret came from, for messages: "password from FERRY_TARGET_PASSWORD", "token
  /// file '/run/token'". Never the secret itself.
  std::string origin;
};

/// A source of credentials. Thread: every method is safe from any thread.
class login_source {
 public:
  virtual ~login_source() = default;
  /// The credentials to AUTH with now, or why there are none (the token file cannot be read,
  /// its token expired, ...): a sentence that names the file or command and never the secret.
  virtual boost::system::result<login_state, std::string> current() const = 0;
  /// The generation `current()` would return; cheap, for "has it changed since I logged in?".
  virtual std::uint64_t generation() const noexcept = 0;
};

/// Credentials that never change.
class fixed_login final : public login_source {
 public:
  /// `origin` says where the password came from (see login_state::origin).
  explicit fixed_login(credentials login, std::string origin = {})
      : state_{std::move(login), 0, std::move(origin)} {}
  /// Always the same credentials.
  boost::system::result<login_state, std::string> current() const override { return state_; }
  /// Always 0.
  std::uint64_t generation() const noexcept override { return 0; }

 private:
  login_state state_;
};

}  // namespace ferry::protocol
