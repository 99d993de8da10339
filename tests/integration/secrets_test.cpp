// Secrets stay secret: `ferry copy` and `ferry verify` run with distinctive passwords and tokens
// given every way ferry accepts them (URL, environment, files, token file, token command),
// succeed and fail, and every byte they write (stdout, stderr, progress, --report,
// --failed-keys, --diff) is searched for any 6-byte piece of any of them. The process list shows
// URL passwords as stars, and a command line that cannot be parsed is echoed without them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string admin_password = "AdminPw-Hq4Wz8";
const std::string source_url_password = "UrlPw-Kq83Zx5";
const std::string source_file_password = "FilePw-Tb61Mc0";
const std::string target_env_password = "EnvPw-Jd72Vn9";
const std::string wrong_password = "WrongPw-Rz93Lp2";
// The ACL rules are not what this test is about (auth_tls_test is): everything.
const std::vector<std::string> read_rules = {"~*", "+@all"};
const std::vector<std::string> write_rules = {"~*", "+@all"};

void set_user(sync_client& admin, const std::string& user,
              const std::vector<std::string>& passwords, const std::vector<std::string>& rules) {
  std::vector<std::string> command{"ACL", "SETUSER", user, "reset", "on"};
  for (const auto& password : passwords) command.push_back(">" + password);
  command.insert(command.end(), rules.begin(), rules.end());
  admin.checked(command);
}

class secrets_test : public ::testing::Test {
 protected:
  temp_dir inputs_{"secrets-in"};    // the secrets themselves (not searched)
  temp_dir outputs_{"secrets-out"};  // everything ferry writes (searched)
  std::vector<std::string> secrets_{admin_password, source_url_password, source_file_password,
                                    target_env_password, wrong_password};
  std::string seen_;  // stdout and stderr of every run

  std::string path_in(const std::string& name, const std::string& text) {
    const auto file = inputs_ / name;
    std::ofstream(file) << text;
    return file.string();
  }
  std::string path_out(const std::string& name) const { return (outputs_ / name).string(); }
  /// Runs ferry with --report (and --failed-keys for copy) in the searched directory.
  ferry_result run(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   const std::string& label) {
    args.insert(args.end(), {"--report", path_out(label + "-report.json")});
    if (args.front() == "copy") {
      args.insert(args.end(), {"--failed-keys", path_out(label + "-failed.jsonl")});
    }
    const ferry_result result = run_ferry(args, 120s, env);
    seen_ += "### " + label + "\n" + result.out + result.err;
    return result;
  }
};

TEST_F(secrets_test, no_secret_in_any_output_or_file_of_copy_and_verify_runs) {
  server_options locked;
  locked.password = admin_password;
  redis_server source(locked);
  redis_server target(locked);
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  dataset_options data;
  data.count_per_kind = 10;
  fill_every_type(source_admin, data);
  // One key exists on the target, so that with --on-existing fail it is listed in --failed-keys.
  source_admin.checked({"SET", "already-there", "source value"});
  target_admin.checked({"SET", "already-there", "target value"});

  const auto expires = std::chrono::system_clock::now() + 1h;
  const std::string source_oid = "0a1b2c3d-0000-4e5f-8a9b-5ec7e7500001";
  const std::string target_oid = "7f6e5d4c-0000-4b3a-9c8d-5ec7e7500002";
  const std::string source_token = make_token(expires, source_oid, "SrcTokNonce-Vx81");
  const std::string target_token = make_token(expires, target_oid, "TgtTokNonce-Gn52");
  // The parts of a token that are its own (the header is the same in every token).
  secrets_.push_back(source_token.substr(source_token.find('.') + 1));
  secrets_.push_back(target_token.substr(target_token.find('.') + 1));
  set_user(source_admin, "src-user", {source_url_password, source_file_password}, read_rules);
  set_user(source_admin, source_oid, {source_token}, read_rules);
  set_user(target_admin, "tgt-user", {target_env_password}, write_rules);
  set_user(target_admin, target_oid, {target_token}, write_rules);
  const std::string source_at = "127.0.0.1:" + std::to_string(source.port());
  const std::string target_at = "127.0.0.1:" + std::to_string(target.port());

  // 1. Source password in the URL (warned about), target password in the environment.
  const ferry_result url_env = run(
      {"copy", "--source", "redis://src-user:" + source_url_password + "@" + source_at, "--target",
       "redis://tgt-user@" + target_at, "--on-existing", "fail", "--progress", "always"},
      {{"FERRY_TARGET_PASSWORD", target_env_password}}, "url-env");
  EXPECT_EQ(url_env.exit_code, 1) << url_env.output();  // already-there
  EXPECT_THAT(url_env.err, HasSubstr("password is on the command line"));
  EXPECT_THAT(url_env.out, HasSubstr("redis://src-user:***@" + source_at));

  // 2. Source password from a file, target token from a token file.
  const ferry_result file_token =
      run({"copy", "--source", "redis://src-user@" + source_at, "--source-password-file",
           path_in("source.pw", source_file_password + "\n"), "--target", "redis://" + target_at,
           "--target-token-file", path_in("target.jwt", target_token), "--on-existing", "skip"},
          {}, "file-token");
  EXPECT_EQ(file_token.exit_code, 0) << file_token.output();

  // 3. Source token from a command, target password from the environment, progress lines.
  const ferry_result command_env =
      run({"copy", "--source", "redis://" + source_at, "--source-token-command",
           "cat " + path_in("source.jwt", source_token), "--target",
           "redis://tgt-user@" + target_at, "--on-existing", "replace", "--progress", "always"},
          {{"FERRY_TARGET_PASSWORD", target_env_password}}, "command-env");
  EXPECT_EQ(command_env.exit_code, 0) << command_env.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_admin), dump_keyspace(target_admin)), "");

  // 4. verify, with a difference to report in --diff, then --repair.
  target_admin.checked({"SET", "str:embstr:1", "differs"});
  const ferry_result verify_diff =
      run({"verify", "--source", "redis://src-user:" + source_url_password + "@" + source_at,
           "--target", "redis://" + target_at, "--target-token-file",
           path_in("target2.jwt", target_token), "--diff", path_out("verify-diff.jsonl"),
           "--progress", "always"},
          {}, "verify-diff");
  EXPECT_EQ(verify_diff.exit_code, 1) << verify_diff.output();
  const ferry_result verify_repair =
      run({"verify", "--source", "redis://" + source_at, "--source-token-command",
           "cat " + path_in("source2.jwt", source_token), "--target",
           "redis://tgt-user@" + target_at, "--repair"},
          {{"FERRY_TARGET_PASSWORD", target_env_password}}, "verify-repair");
  EXPECT_EQ(verify_repair.exit_code, 0) << verify_repair.output();

  // 5. Refused: a wrong password on each side, a token for the wrong user.
  const ferry_result wrong_source =
      run({"copy", "--source", "redis://src-user:" + wrong_password + "@" + source_at, "--target",
           "redis://tgt-user@" + target_at},
          {{"FERRY_TARGET_PASSWORD", target_env_password}}, "wrong-source");
  EXPECT_EQ(wrong_source.exit_code, 2) << wrong_source.output();
  const ferry_result wrong_target =
      run({"copy", "--source", "redis://src-user@" + source_at, "--target",
           "redis://tgt-user@" + target_at, "--source-password-file",
           path_in("source2.pw", source_file_password)},
          {{"FERRY_TARGET_PASSWORD", wrong_password}}, "wrong-target");
  EXPECT_EQ(wrong_target.exit_code, 2) << wrong_target.output();
  const ferry_result wrong_user =
      run({"copy", "--source", "redis://" + source_at, "--source-user", "src-user",
           "--source-token-file", path_in("source-token", source_token), "--target",
           "redis://" + target_at, "--target-token-file", path_in("target-token", target_token)},
          {}, "wrong-user");
  EXPECT_EQ(wrong_user.exit_code, 2) << wrong_user.output();

  const std::string everything = seen_ + all_files_text(outputs_.path());
  ASSERT_THAT(everything, HasSubstr("already-there"));  // the failed-keys file was searched
  ASSERT_THAT(everything, HasSubstr("str:embstr:1"));   // and the diff file
  for (const auto& secret : secrets_) {
    EXPECT_THAT(leaked_parts(everything, secret), IsEmpty()) << secret << "\n" << seen_;
  }
}

TEST_F(secrets_test, the_process_list_shows_url_passwords_as_stars) {
  redis_server source;
  redis_server target;
  source.pause();  // ferry waits for the source's answer to AUTH, with its arguments in view
  const std::string url =
      "redis://user:" + source_url_password + "@127.0.0.1:" + std::to_string(source.port());
  ferry_process ferry(
      {"copy", "--source", url,
       "--target=redis://:" + target_env_password + "@127.0.0.1:" + std::to_string(target.port()),
       "--timeout", "30000", "--progress", "never"},
      outputs_.path());
  std::string cmdline;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    cmdline = file_contents("/proc/" + std::to_string(ferry.pid()) + "/cmdline");
    if (cmdline.find("user:*") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  EXPECT_THAT(cmdline, HasSubstr("redis://user:" + std::string(source_url_password.size(), '*') +
                                 "@127.0.0.1:"));
  EXPECT_THAT(cmdline, HasSubstr("--target=redis://:" +
                                 std::string(target_env_password.size(), '*') + "@127.0.0.1:"));
  EXPECT_THAT(leaked_parts(cmdline, source_url_password), IsEmpty()) << cmdline;
  EXPECT_THAT(leaked_parts(cmdline, target_env_password), IsEmpty()) << cmdline;
  ferry.signal(SIGKILL);
  ferry.wait(10s);
  source.resume();
}

TEST_F(secrets_test, a_command_line_that_cannot_be_parsed_is_echoed_without_passwords) {
  const ferry_result stray = run_ferry(
      {"copy", "--source", "redis://a:" + source_url_password + "@127.0.0.1:1", "--target",
       "redis://127.0.0.1:2", "rediss://someone:" + wrong_password + "@example.net:6380"});
  EXPECT_EQ(stray.exit_code, 64) << stray.output();
  EXPECT_THAT(stray.err, HasSubstr("rediss://someone:***@example.net:6380"));
  EXPECT_THAT(leaked_parts(stray.out + stray.err, wrong_password), IsEmpty()) << stray.output();
  EXPECT_THAT(leaked_parts(stray.out + stray.err, source_url_password), IsEmpty())
      << stray.output();
}

}  // namespace
}  // namespace ferry::testing
