#!/usr/bin/env bash
# Installs ferry's build and test dependencies from Debian's archive.
# Idempotent: when every package is already installed it does nothing (no apt-get update either).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev
  libssl-dev openssl
  libhiredis-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
  time procps
  jq
)

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
# Debian's redis-server package starts a system service on port 6379; ferry's tests and demo
# start their own servers, so the packaged one is stopped to leave the machine as it was.
if systemctl is-active --quiet redis-server 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl stop redis-server || true
fi
