// engine::token_login on its own, with real files and commands: renewals bump the generation,
// the user defaults to the token's oid, an expired token is an error naming the file, a command
// is run again only when its token is due, and nothing it says holds the token.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/auth/credentials.hpp"
#include "engine/auth/token_fetch.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using engine::token_login;
using engine::token_origin;
using ::testing::HasSubstr;
using ::testing::Not;
using wall = std::chrono::system_clock;

/// Collects notices from the refresher thread.
struct notices {
  std::mutex mutex;
  std::vector<std::string> lines;
  engine::notice_sink sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
  std::string all() {
    std::lock_guard lock(mutex);
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  }
};

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds within = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

TEST(token_login, a_renewed_token_file_is_picked_up_and_bumps_the_generation) {
  temp_dir dir("token-login");
  const auto file = dir / "token.jwt";
  const std::string first = make_token(wall::now() + 1h, "oid-1234", "one");
  write_file_atomically(file, first + "\n");
  notices said;
  engine::token_timing timing;
  timing.margin = 10min;  // not due for 50 minutes: only the file's change can renew it
  auto login = token_login::start(token_origin::file, file.string(), "", "target token file",
                                  timing, said.sink());
  auto state = login->current();
  ASSERT_TRUE(state) << state.error();
  EXPECT_EQ(state->login.user, "oid-1234");  // the oid claim
  EXPECT_EQ(state->login.password, first);
  EXPECT_EQ(state->generation, 1u);
  EXPECT_THAT(state->origin, HasSubstr("target token file"));

  const std::string second = make_token(wall::now() + 2h, "oid-1234", "two");
  write_file_atomically(file, second);
  ASSERT_TRUE(eventually([&] { return login->generation() == 2; }));
  EXPECT_EQ(login->current()->login.password, second);
  EXPECT_EQ(login->renewals(), 1u);
  EXPECT_THAT(said.all(), HasSubstr("renewed the access token from the target token file"));

  // A broken write does not replace a good token; it is reported, without the text.
  write_file_atomically(file, "half-a-tok");
  ASSERT_TRUE(eventually([&] { return said.all().find("not a JWT") != std::string::npos; }));
  EXPECT_EQ(login->current()->login.password, second);
  EXPECT_EQ(login->generation(), 2u);
  EXPECT_THAT(said.all(), Not(HasSubstr("half-a-tok")));
  EXPECT_THAT(said.all(), Not(HasSubstr(second.substr(second.find('.') + 1, 12))));
}

TEST(token_login, an_explicit_user_wins_over_the_oid_claim) {
  temp_dir dir("token-login");
  const auto file = dir / "token.jwt";
  write_file_atomically(file, make_token(wall::now() + 1h, "oid-claim", "x"));
  auto login =
      token_login::start(token_origin::file, file.string(), "explicit-user", "token", {}, {});
  EXPECT_EQ(login->current()->login.user, "explicit-user");
}

TEST(token_login, an_expired_or_unreadable_token_is_an_error_that_names_the_file) {
  temp_dir dir("token-login");
  const auto file = dir / "old.jwt";
  write_file_atomically(file, make_token(wall::now() - 5min, "oid", "old"));
  auto expired = token_login::start(token_origin::file, file.string(), "",
                                    "source token file '" + file.string() + "'", {}, {});
  auto state = expired->current();
  ASSERT_FALSE(state);
  EXPECT_THAT(state.error(), HasSubstr("old.jwt"));
  EXPECT_THAT(state.error(), HasSubstr("expired at"));

  auto missing = token_login::start(token_origin::file, (dir / "none").string(), "",
                                    "source token file 'none'", {}, {});
  ASSERT_FALSE(missing->current());
  EXPECT_THAT(missing->current().error(), HasSubstr("No such file"));

  // A token that expires while in use turns into an error once it has expired.
  const auto short_lived = dir / "short.jwt";
  write_file_atomically(short_lived, make_token(wall::now() + 2s, "oid", "short"));
  notices said;
  engine::token_timing timing;
  timing.margin = 1s;
  auto fading = token_login::start(token_origin::file, short_lived.string(), "", "short token",
                                   timing, said.sink());
  ASSERT_TRUE(fading->current());
  ASSERT_TRUE(eventually([&] { return !fading->current(); }, 5s));
  EXPECT_THAT(fading->current().error(), HasSubstr("expired at"));
  EXPECT_THAT(said.all(), HasSubstr("ferry keeps looking"));
}

TEST(token_login, a_token_command_runs_again_only_when_its_token_is_due) {
  temp_dir dir("token-login");
  // Prints a fresh 3-second token each time and counts its runs.
  const auto script = dir / "issue.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                           "echo run >> "
                        << (dir / "runs").string()
                        << "\n"
                           "cat "
                        << (dir / "current.jwt").string() << "\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const auto issue = [&](int n) {
    write_file_atomically(dir / "current.jwt",
                          make_token(wall::now() + 3s, "oid", std::to_string(n * 1000 + 7)));
  };
  issue(1);
  engine::token_timing timing;
  timing.margin = 1500ms;
  timing.jitter = 0ms;
  auto login =
      token_login::start(token_origin::command, script.string(), "", "token command", timing, {});
  ASSERT_TRUE(login->current()) << login->current().error();
  const auto runs = [&] {
    std::ifstream in(dir / "runs");
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  };
  // Due at exp - 1.5 s, so about 1.5 s from now (exp is whole seconds): not before.
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(runs(), 1);
  issue(2);
  ASSERT_TRUE(eventually([&] { return login->generation() == 2; }, 4s));
  EXPECT_LE(runs(), 3);
  EXPECT_EQ(login->current()->generation, 2u);
}

TEST(token_fetch, a_command_that_fails_or_hangs_is_reported_with_masked_words) {
  const std::string jwt_like = "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c2lnbmF0dXJlLXNlY3JldA";
  auto failed = engine::detail::run_token_command(
      "echo 'login failed for token " + jwt_like + "' >&2; exit 4", 5s);
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().why, HasSubstr("exited with code 4"));
  EXPECT_THAT(failed.error().why, HasSubstr("login failed for token ***"));
  EXPECT_THAT(failed.error().why, Not(HasSubstr("c2lnbmF0dXJl")));

  const auto started = std::chrono::steady_clock::now();
  auto hung = engine::detail::run_token_command("sleep 30", 300ms);
  ASSERT_FALSE(hung);
  EXPECT_THAT(hung.error().why, HasSubstr("did not finish"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  const auto cancelled_at = std::chrono::steady_clock::now();
  auto cancelled = engine::detail::run_token_command("sleep 30", 30s, &cancel);
  stopper.join();
  ASSERT_FALSE(cancelled);
  EXPECT_THAT(cancelled.error().why, HasSubstr("ferry is ending"));
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 5s);

  auto printed = engine::detail::run_token_command("printf 'abc.def.ghi\\n'", 5s);
  ASSERT_TRUE(printed) << printed.error().why;
  EXPECT_EQ(*printed, "abc.def.ghi\n");
}

}  // namespace
}  // namespace ferry::testing
