// deploy/kubernetes/: the Indexed Job splits one migration into --shard-count parts that match
// its completions, keeps each part's state file on the shared volume, takes its options from the
// ConfigMap and its passwords from the Secret, fails an index for the exit codes a retry cannot
// fix, asks for the resources the lab measured, and runs as the image's user; every flag it
// passes exists in ferry; and the verify Job's command, run here as
// Kubernetes would run it, verifies a real copy.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "cli/common/exit_codes.hpp"
#include "tests/integration/kubernetes_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;

// Bytes of a Kubernetes quantity such as "128Mi".
double bytes_of(const std::string& quantity) {
  std::smatch m;
  EXPECT_TRUE(std::regex_match(quantity, m, std::regex(R"((\d+)(Ki|Mi|Gi)?)"))) << quantity;
  const double unit = m[2] == "Ki"   ? 1024.0
                      : m[2] == "Mi" ? 1048576.0
                      : m[2] == "Gi" ? 1073741824.0
                                     : 1;
  return std::stod(m[1]) * unit;
}

// The pod spec shared by both Jobs: image user, secret, volume, resources.
void expect_sound_pod(const YAML::Node& job, const std::map<std::string, YAML::Node>& docs) {
  const YAML::Node pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"].as<std::string>(), "Never");  // podFailurePolicy needs it
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 10001);  // the Dockerfile's USER
  const YAML::Node container = pod["containers"][0];
  EXPECT_EQ(container["name"].as<std::string>(), "ferry");
  EXPECT_EQ(yaml_strings(container["command"]),
            std::vector<std::string>{"/usr/libexec/ferry/ferry-job"});
  EXPECT_EQ(env_of(container).at("CREDENTIALS_DIRECTORY"), "/run/secrets/ferry");
  EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  std::map<std::string, std::string> mounts;
  for (const auto& m : container["volumeMounts"]) {
    mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
  }
  EXPECT_EQ(mounts.at("state"), "/state");
  EXPECT_EQ(mounts.at("credentials"), "/run/secrets/ferry");
  for (const auto& v : pod["volumes"]) {
    if (v["persistentVolumeClaim"]) {
      EXPECT_TRUE(docs.contains("PersistentVolumeClaim/" +
                                v["persistentVolumeClaim"]["claimName"].as<std::string>()));
    }
    if (v["secret"]) {
      EXPECT_TRUE(docs.contains("Secret/" + v["secret"]["secretName"].as<std::string>()));
    }
  }
  const std::string config = container["envFrom"][0]["configMapRef"]["name"].as<std::string>();
  ASSERT_TRUE(docs.contains("ConfigMap/" + config));
  for (const auto& a : yaml_strings(container["args"])) {
    for (const char* var : {"FERRY_SOURCE", "FERRY_TARGET"}) {
      if (a.find(std::string("$(") + var + ")") != std::string::npos) {
        EXPECT_TRUE(docs.at("ConfigMap/" + config)["data"][var]) << var << " not in " << config;
      }
    }
  }
  // bench/RESULTS.md: peak RSS 19-36 MB with the default 64 MiB --max-inflight-bytes; the limit
  // must hold the whole budget plus that.
  const auto resources = container["resources"];
  EXPECT_GE(bytes_of(resources["limits"]["memory"].as<std::string>()), (64 << 20) + 36e6);
  EXPECT_GE(bytes_of(resources["requests"]["memory"].as<std::string>()), 36e6);
  EXPECT_TRUE(resources["requests"]["cpu"]);
  // Fail at once for what a retry cannot fix.
  const auto rule = job["spec"]["podFailurePolicy"]["rules"][0];
  std::vector<int> codes;
  for (const auto& c : rule["onExitCodes"]["values"]) codes.push_back(c.as<int>());
  EXPECT_EQ(codes, (std::vector<int>{cli::exit_incomplete, cli::exit_failed, cli::exit_usage}));
}

// Flags the binary offers for `command` (from its --help).
std::set<std::string> ferry_flags(const std::string& command) {
  const tool_result help = run_tool({FERRY_BINARY, command, "--help"});
  std::set<std::string> flags;
  const std::regex flag(R"((?:^|[\s,])(--[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), flag);
       it != std::sregex_iterator(); ++it) {
    flags.insert((*it)[1]);
  }
  return flags;
}

TEST(deploy_kubernetes, the_indexed_job_splits_the_migration_and_resumes_each_part) {
  const auto docs = load_manifests();
  for (const char* name : {"Job/ferry-copy", "Job/ferry-verify", "Secret/ferry-credentials",
                           "ConfigMap/ferry-options", "PersistentVolumeClaim/ferry-state"}) {
    ASSERT_TRUE(docs.contains(name)) << name;
  }
  const YAML::Node job = docs.at("Job/ferry-copy");
  const YAML::Node spec = job["spec"];
  EXPECT_EQ(spec["completionMode"].as<std::string>(), "Indexed");
  const int completions = spec["completions"].as<int>();
  EXPECT_EQ(spec["parallelism"].as<int>(), completions);
  const YAML::Node container = spec["template"]["spec"]["containers"][0];
  const auto args = yaml_strings(container["args"]);
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args[0], "copy");
  const auto flags = flags_of(args);
  EXPECT_EQ(flags.at("--shard-index"), "$(JOB_COMPLETION_INDEX)");
  EXPECT_EQ(flags.at("--shard-count"), std::to_string(completions));
  // Each part has its own state file, report and failed-keys file on the shared volume, and a
  // replaced pod continues its part's state file.
  EXPECT_EQ(flags.at("--state"), "/state/$(JOB_COMPLETION_INDEX).json");
  EXPECT_TRUE(flags.contains("--resume-if-exists"));
  EXPECT_FALSE(flags.contains("--resume"));
  EXPECT_TRUE(flags.at("--report").find("$(JOB_COMPLETION_INDEX)") != std::string::npos);
  EXPECT_TRUE(flags.at("--failed-keys").find("$(JOB_COMPLETION_INDEX)") != std::string::npos);
  // The args refer to JOB_COMPLETION_INDEX, so the container declares it.
  EXPECT_EQ(env_of(container).at("JOB_COMPLETION_INDEX"), "<from field>");
  // Metrics on the pod's port, kept up after the part ended for the last scrapes.
  EXPECT_EQ(flags.at("--metrics"), "0.0.0.0:9121");
  EXPECT_GE(std::stod(flags.at("--metrics-linger")), 30);
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(), 9121);
  const auto pvc = docs.at("PersistentVolumeClaim/ferry-state");
  EXPECT_EQ(yaml_strings(pvc["spec"]["accessModes"]), std::vector<std::string>{"ReadWriteMany"});
  expect_sound_pod(job, docs);
  expect_sound_pod(docs.at("Job/ferry-verify"), docs);
}

TEST(deploy_kubernetes, every_flag_exists_in_ferry) {
  const auto docs = load_manifests();
  for (const char* name : {"Job/ferry-copy", "Job/ferry-verify"}) {
    const auto args =
        yaml_strings(docs.at(name)["spec"]["template"]["spec"]["containers"][0]["args"]);
    const auto offered = ferry_flags(args.at(0));
    for (const auto& [flag, value] : flags_of(args)) {
      if (offered.contains(flag)) continue;
      ADD_FAILURE() << name << " passes " << flag << ", which `ferry " << args[0]
                    << " --help` does not offer";
    }
  }
}

TEST(deploy_kubernetes, the_verify_jobs_command_verifies_a_real_copy) {
  redis_server source;
  server_options target_options;
  target_options.password = "verify-job-secret-1";
  redis_server target(target_options);
  {
    sync_client writer = source.client();
    dataset_options data;
    data.count_per_kind = 5;
    data.big_per_kind = 0;
    fill_every_type(writer, data);
  }
  temp_dir dir("k8s-verify");
  const fs::path state = dir / "state";
  const fs::path secrets = dir / "secrets";
  fs::create_directories(state);
  fs::create_directories(secrets);
  std::ofstream(secrets / "target-password") << target_options.password << "\n";
  const std::string target_url = fmt::format("redis://127.0.0.1:{}", target.port());
  const tool_result copy = run_tool(
      {FERRY_BINARY, "copy", "--source", source.url(), "--target", target_url,
       "--target-password-file", (secrets / "target-password").string(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;

  // The pod's command and args, with the ConfigMap's variables pointed at these servers and the
  // volumes at directories here.
  const auto docs = load_manifests();
  const YAML::Node container = job_container(docs, "ferry-verify");
  ASSERT_EQ(yaml_strings(container["command"]).at(0), "/usr/libexec/ferry/ferry-job");
  const std::vector<std::string> argv =
      pod_command(container, {{"FERRY_SOURCE", source.url()}, {"FERRY_TARGET", target_url}},
                  {"CREDENTIALS_DIRECTORY=" + secrets.string()}, state);
  const tool_result verify = run_tool(argv);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  const auto report = read_json(state / "verify-report.json");
  EXPECT_EQ(report.at("status"), "equal") << report.dump();
  EXPECT_EQ(verify.output.find(target_options.password), std::string::npos);
}

}  // namespace
}  // namespace ferry::testing
