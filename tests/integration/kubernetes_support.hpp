#pragma once
// deploy/kubernetes/ read as Kubernetes would (yaml-cpp), and a container's command turned into a
// command line for this machine: $(VAR) expanded from the container's environment, the wrapper
// and the volumes pointed at the repository and at test directories.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace ferry::testing {

/// Where the manifests are.
inline const std::filesystem::path kubernetes_manifests =
    std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/kubernetes";

/// Every document of every manifest, by "Kind/name".
inline std::map<std::string, YAML::Node> load_manifests() {
  std::map<std::string, YAML::Node> docs;
  for (const auto& entry : std::filesystem::directory_iterator(kubernetes_manifests)) {
    if (entry.path().extension() != ".yaml") continue;
    for (const YAML::Node& doc : YAML::LoadAllFromFile(entry.path().string())) {
      docs[doc["kind"].as<std::string>() + "/" + doc["metadata"]["name"].as<std::string>()] = doc;
    }
  }
  return docs;
}

/// A YAML list of strings.
inline std::vector<std::string> yaml_strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.as<std::string>());
  return out;
}

/// "--name=value" → {"--name", "value"}; "--flag" → {"--flag", ""}.
inline std::map<std::string, std::string> flags_of(const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (a.starts_with("--"))
      flags[a.substr(0, eq)] = eq == std::string::npos ? "" : a.substr(eq + 1);
  }
  return flags;
}

/// A container's `env`: literal values, or "<from field>" for a fieldRef.
inline std::map<std::string, std::string> env_of(const YAML::Node& container) {
  std::map<std::string, std::string> env;
  for (const auto& e : container["env"]) {
    env[e["name"].as<std::string>()] = e["value"] ? e["value"].as<std::string>() : "<from field>";
  }
  return env;
}

/// Kubernetes's $(VAR) expansion in args, from `env`.
inline std::string expand(std::string text, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    const std::string ref = "$(" + name + ")";
    for (auto at = text.find(ref); at != std::string::npos;
         at = text.find(ref, at + value.size())) {
      text.replace(at, ref.size(), value);
    }
  }
  return text;
}

/// The first container of Job `name`.
inline YAML::Node job_container(const std::map<std::string, YAML::Node>& docs,
                                const std::string& name) {
  return docs.at("Job/" + name)["spec"]["template"]["spec"]["containers"][0];
}

/// The command line a pod of `container` runs, as run here: /usr/bin/env with FERRY_BINARY (the
/// build's ferry), `extra_env` (e.g. CREDENTIALS_DIRECTORY), the repository's deploy/bin/ferry-job
/// for the image's /usr/libexec/ferry/ferry-job, every arg expanded from `env`, and paths under
/// /state/ moved to `state_dir`.
inline std::vector<std::string> pod_command(const YAML::Node& container,
                                            const std::map<std::string, std::string>& env,
                                            const std::vector<std::string>& extra_env,
                                            const std::filesystem::path& state_dir) {
  std::vector<std::string> argv{"/usr/bin/env", std::string("FERRY_BINARY=") + FERRY_BINARY};
  argv.insert(argv.end(), extra_env.begin(), extra_env.end());
  argv.push_back((std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/bin/ferry-job").string());
  for (auto arg : yaml_strings(container["args"])) {
    arg = expand(arg, env);
    arg = std::regex_replace(arg, std::regex("^(--[a-z-]+=)/state/"),
                             "$1" + state_dir.string() + "/");
    argv.push_back(arg);
  }
  return argv;
}

}  // namespace ferry::testing
