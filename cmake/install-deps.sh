#!/usr/bin/env bash
# Installs ferry's build and test dependencies from Debian's archive.
# Idempotent: when every package is already installed it does nothing (no apt-get update either).
#
#   cmake/install-deps.sh        what building, the demo and the tests need
#   cmake/install-deps.sh fuzz   and clang 16 with libFuzzer, for the fuzz tree (tests/run.sh)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev
  libssl-dev openssl
  libhiredis-dev libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
  time procps
  jq
  # metrics and deployment checks: a real Prometheus and promtool, the Debian package's tools
  # (dpkg-shlibdeps, `file` for CPack), groff to check the man page, yaml-cpp to read the
  # Kubernetes manifests
  prometheus dpkg-dev file groff-base
  libyaml-cpp-dev
)
if [[ ${1:-} == fuzz ]]; then
  # libFuzzer and the sanitizer runtimes of clang 16 (tests/fuzz, cmake/FerryFuzz.cmake).
  packages+=(clang-16 libfuzzer-16-dev libclang-rt-16-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's redis-server and prometheus packages start system services (ports 6379 and 9090);
# ferry's tests and demo start their own servers, so the packaged ones are stopped to leave the
# machine as it was.
for service in redis-server prometheus; do
  if systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop "$service" || true
  fi
done
