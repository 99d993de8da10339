#!/usr/bin/env bash
# ferry's main job in one command, on a fresh Debian 12 machine:
#
#   cli/demo.sh
#
# Installs what is missing, builds ferry (Release, build/release), makes a throwaway CA and a
# server certificate for localhost/127.0.0.1, starts a plain source redis-server on a free
# loopback port filled with sample data of every type (every encoding, streams with consumer
# groups and pending entries, binary key names, hash tags, keys with expiry) and a TLS-only
# target on port 10000 (as Azure Managed Redis listens), copies the source into the target with
# `ferry copy`, and then checks the copy independently of ferry: DEBUG DIGEST of both servers
# with redis-cli. Prints ferry's JSON report and the digests. Exit code 0 only for an exact
# copy. The servers are stopped on every exit path.
#
# Environment: FERRY_BUILD_DIR (default build/release), DEMO_SEED (default 1),
# DEMO_KEYS_PER_KIND (default 100; about 9 keys per unit plus the big and odd ones).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

target_port=10000
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_taken "$target_port"; then
  echo "demo: port $target_port is already in use on this machine; the demo's TLS target must" \
    "listen there (as Azure Managed Redis does). Stop whatever uses it and run again." >&2
  exit 1
fi

cmake/install-deps.sh

build=${FERRY_BUILD_DIR:-build/release}
echo "== building ferry (Release, $build) =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON >/dev/null
cmake --build "$build" --target ferry lab_fill -j "$(nproc)" >/dev/null
ferry=$repo/$build/cli/ferry
lab_fill=$repo/$build/bench/lab_fill

source bench/lab/servers.sh
work=$(mktemp -d /tmp/ferry-demo.XXXXXX)
cleanup() {
  local status=$?
  lab_stop_servers
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== TLS material (throwaway CA, certificate for localhost and 127.0.0.1) =="
lab_make_certs "$work/tls"
ca=$work/tls/ca.crt
echo "   CA: $ca"

source_port=$(lab_free_port)
echo "== servers: plain source on 127.0.0.1:$source_port, TLS-only target on localhost:$target_port =="
lab_start_plain "$work/source" "$source_port"
if port_taken "$target_port"; then
  echo "demo: port $target_port was taken while the demo was starting; stop whatever uses it" \
    "and run again." >&2
  exit 1
fi
lab_start_tls "$work/target" "$target_port" "$work/tls"

echo "== sample data of every type on the source =="
"$lab_fill" --port "$source_port" --dataset every-type --seed "${DEMO_SEED:-1}" \
  --count "${DEMO_KEYS_PER_KIND:-100}"
# Keys per type, counted on the server (key names are binary, so not through a shell pipe).
count_types="local c={} local cur='0' repeat local r=redis.call('SCAN',cur,'COUNT',1000) \
cur=r[1] for _,k in ipairs(r[2]) do local t=redis.call('TYPE',k).ok c[t]=(c[t] or 0)+1 end \
until cur=='0' local out={} for t,n in pairs(c) do out[#out+1]=t..'='..n end table.sort(out) \
return table.concat(out,' ')"
echo "   keys per type on the source: $(lab_cli "$source_port" EVAL "$count_types" 0)"
echo "   keys with an expiry: $(lab_cli "$source_port" INFO keyspace | grep -o 'expires=[0-9]*')"

report=$work/report.json
source_url=redis://127.0.0.1:$source_port
target_url=rediss://localhost:$target_port
echo "== ferry copy --source $source_url --target $target_url --cacert $ca --report $report =="
copy_status=0
"$ferry" copy --source "$source_url" --target "$target_url" --cacert "$ca" --report "$report" \
  --progress never || copy_status=$?
echo "== ferry's report ($report) =="
if [[ -s $report ]]; then cat "$report"; else echo "(no report written)"; fi

# `ferry verify` is being written; use it when this build has it, but never depend on it.
if "$ferry" --help 2>/dev/null | grep -qE '^[[:space:]]+verify([[:space:]]|$)'; then
  echo "== ferry verify =="
  "$ferry" verify --source "$source_url" --target "$target_url" --cacert "$ca" ||
    echo "(ferry verify exited with status $?)"
fi

echo "== independent check: DEBUG DIGEST and DBSIZE on both servers (redis-cli) =="
source_digest=$(lab_cli "$source_port" DEBUG DIGEST)
target_digest=$(lab_tls_cli "$target_port" "$work/tls" DEBUG DIGEST)
source_keys=$(lab_cli "$source_port" DBSIZE)
target_keys=$(lab_tls_cli "$target_port" "$work/tls" DBSIZE)
echo "source keys $source_keys, target keys $target_keys"
if [[ -n $source_digest && $source_digest == "$target_digest" && $source_keys == "$target_keys" &&
  $source_digest != 0000000000000000000000000000000000000000 ]]; then
  echo "source digest $source_digest, target digest $target_digest: EXACT COPY"
  result=0
else
  echo "source digest $source_digest, target digest $target_digest: DIFFERENT"
  result=1
fi
if ((copy_status != 0)); then
  echo "ferry copy exited with status $copy_status"
  result=1
fi
exit "$result"
