#!/usr/bin/env bash
# ferry sync's lab (issue 17), in one command:
#
#   bench/lab/sync.sh [--rates "R1 R2 ..."] [--seconds S] [--keys N] [--cpu-rate R]
#                     [--results FILE | --no-results] [--keep DIR]
#
# Builds ferry and the lab tools (Release, build/release or $FERRY_BUILD_DIR), starts a plain
# source redis-server with keyspace notifications on (notify-keyspace-events KA) and a TLS-only
# target, fills the source with --keys (default 200,000) strings of 100 bytes, and measures:
#
#   1. the snapshot: `ferry copy` of the dataset into the emptied target (keys/s);
#   2. the sustained write rate: for each rate of --rates (writes a second, default
#      "2000 5000 10000 20000 40000"), a fresh `ferry sync --until-converged` whose snapshot is
#      left to finish, then lab_sync_load writes a mix of small writes (70 % SET of 100 bytes,
#      10 % HSET, 10 % INCR, 10 % DEL over 100,000 keys) for --seconds (default 20) at that rate;
#      ferry's report gives the lag (event received to applied, p50/p99/max) and the state file,
#      read every half second, the dirty set; every run ends with DEBUG DIGEST equal on both
#      sides. The highest rate whose lag p99 stays under 100 ms and whose dirty set does not grow
#      (the last third of the samples no higher than the first third plus 1,000 keys) is the
#      sustained rate; the lag at half of it is measured again;
#   3. the source's CPU per 1,000 writes at --cpu-rate (default 10,000 writes a second, 15 s) on
#      a 3-master cluster with a replica each: with no ferry, with ferry sync subscribed to the
#      masters, and with ferry sync --read-from replicas (subscribed to, and reading from, the
#      replicas); the masters' user+system CPU comes from /proc.
#
# The machine may be shared with other work: the CPU other processes used during each
# measurement is printed beside it. Writes the table, the date, the machine and the command into
# bench/RESULTS.md (between the sync lab markers; the rest of the file is kept).
#
# Exit code: 0 when every run was exact, 1 when one differed or failed, 2 for a bad command line.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
invocation=bench/lab/sync.sh
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --results | --keep) i=$((i + 1)) ;;
    --no-results) ;;
    *) invocation+=" $(printf '%q' "${args[i]}")" ;;
  esac
done

rates="2000 5000 10000 20000 40000"
seconds=20
keys=200000
cpu_rate=10000
results=$repo/bench/RESULTS.md
keep=""
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while (($#)); do
  case $1 in
    --rates) rates=${2:?}; shift ;;
    --seconds) seconds=${2:?}; shift ;;
    --keys) keys=${2:?}; shift ;;
    --cpu-rate) cpu_rate=${2:?}; shift ;;
    --results) results=${2:?}; shift ;;
    --no-results) results="" ;;
    --keep) keep=${2:?}; shift ;;
    -h | --help) usage 0 ;;
    *) echo "sync.sh: unknown option '$1'" >&2; usage 2 ;;
  esac
  shift
done
[[ $seconds =~ ^[1-9][0-9]*$ && $keys =~ ^[1-9][0-9]*$ && $cpu_rate =~ ^[1-9][0-9]*$ ]] ||
  { echo "sync.sh: --seconds, --keys and --cpu-rate want numbers" >&2; exit 2; }

source bench/lab/servers.sh
cmake/install-deps.sh
build=${FERRY_BUILD_DIR:-build/release}
echo "== building ferry and the lab tools (Release, $build) =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON >/dev/null
cmake --build "$build" --target ferry lab_fill lab_sync_load -j "$(nproc)" >/dev/null
ferry=$repo/$build/cli/ferry
lab_fill=$repo/$build/bench/lab_fill
lab_load=$repo/$build/bench/lab_sync_load

if [[ -n $keep ]]; then
  mkdir -p "$keep"
  work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d /tmp/ferry-sync-lab.XXXXXX)
fi
cleanup() {
  local status=$?
  [[ -n ${ferry_pid:-} ]] && kill -KILL "$ferry_pid" 2>/dev/null
  lab_stop_servers
  [[ -n $keep ]] || rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_make_certs "$work/tls"
certs=$work/tls
source_port=$(lab_free_port)
target_port=$(lab_free_port)
lab_start_plain "$work/source" "$source_port" --notify-keyspace-events KA
lab_start_tls "$work/target" "$target_port" "$certs"
target_cli() { lab_tls_cli "$target_port" "$certs" "$@"; }
source_url=redis://127.0.0.1:$source_port
target_url=rediss://localhost:$target_port
echo "== servers: plain source 127.0.0.1:$source_port, TLS target localhost:$target_port =="

# CPU seconds (user+sys) of every process but the ones named, from /proc/stat's totals.
total_cpu() { awk '/^cpu / {print ($2+$3+$4+$7+$8) / 100}' /proc/stat; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
status=0
exact() {
  local a b
  a=$(lab_digest "$source_port")
  b=$(lab_digest "tls:$target_port:$certs")
  [[ $a == "$b" ]] && echo yes || { echo "NO ($a vs $b)"; status=1; }
}

echo "== filling the source: $keys keys of 100 bytes =="
"$lab_fill" --port "$source_port" --dataset small-strings --count "$keys" >/dev/null

echo "== 1. snapshot: ferry copy =="
target_cli FLUSHALL >/dev/null
"$ferry" copy --source "$source_url" --target "$target_url" --cacert "$certs/ca.crt" \
  --progress never --report "$work/copy.json" >/dev/null
copy_keys_per_s=$(json "$work/copy.json" "round(d['totals']['copied'] / d['totals']['duration_s'])")
copy_exact=$(exact)
echo "   $copy_keys_per_s keys/s, exact: $copy_exact"

# One sync run at a write rate: prints "rate achieved p50 p99 max dirty_max dirty_growth exact".
sync_at() {
  local rate=$1 run=$work/sync-$1
  mkdir -p "$run"
  rm -f "$run/state.json" "$run/report.json"
  target_cli FLUSHALL >/dev/null
  "$ferry" sync --source "$source_url" --target "$target_url" --cacert "$certs/ca.crt" \
    --progress never --state "$run/state.json" --report "$run/report.json" \
    --checkpoint-interval 0.5 --until-converged --settle 2000 >"$run/out.txt" 2>"$run/err.txt" &
  ferry_pid=$!
  local i
  for i in $(seq 1 600); do
    if [[ -s $run/state.json ]] && json "$run/state.json" \
      "all(s['phase'] != 'snapshot' for s in d['extension']['shards'])" 2>/dev/null | grep -q True; then
      break
    fi
    sleep 0.2
  done
  "$lab_load" --port "$source_port" --rate "$rate" --seconds "$seconds" >"$run/load.json" &
  local load_pid=$!
  : >"$run/dirty.txt"
  while kill -0 "$load_pid" 2>/dev/null; do
    json "$run/state.json" "sum(s['dirty_keys'] for s in d['extension']['shards'])" \
      >>"$run/dirty.txt" 2>/dev/null || true
    sleep 0.5
  done
  wait "$load_pid"
  wait "$ferry_pid" || { echo "ferry sync failed at rate $rate: $(tail -3 "$run/err.txt")" >&2; status=1; }
  ferry_pid=""
  local achieved lag dirty
  achieved=$(json "$run/load.json" "d['achieved']")
  lag=$(json "$run/report.json" "'%.1f %.1f %.1f' % (d['sync']['lag']['p50_ms'], d['sync']['lag']['p99_ms'], d['sync']['lag']['max_ms'])")
  dirty=$(awk '{v[NR]=$1} END {n=NR; t=int(n/3); if (t<1) {print "0 0"; exit}
    a=0; b=0; m=0; for (i=1;i<=n;i++) if (v[i]>m) m=v[i];
    for (i=1;i<=t;i++) a+=v[i]; for (i=n-t+1;i<=n;i++) b+=v[i];
    printf "%d %d\n", m, (b-a)/t}' "$run/dirty.txt")
  echo "$rate $achieved $lag $dirty $(exact)"
}

echo "== 2. sustained write rate (each run: $seconds s of writes after the snapshot) =="
best=0
declare -A row
for rate in $rates; do
  line=$(sync_at "$rate")
  row[$rate]=$line
  read -r _ achieved p50 p99 max dirty_max growth ok <<<"$line"
  echo "   rate $rate: achieved $achieved writes/s, lag p50 $p50 ms p99 $p99 ms max $max ms, dirty max $dirty_max growth $growth, exact $ok"
  if awk -v p="$p99" -v g="$growth" -v a="$achieved" -v r="$rate" \
    'BEGIN {exit !(p < 100 && g <= 1000 && a >= 0.95 * r)}'; then
    best=$rate
  fi
done
half=$((best / 2))
half_line=""
if ((half > 0)); then
  half_line=$(sync_at "$half")
  echo "   half of $best: $half_line"
fi

echo "== 3. the source masters' CPU per 1,000 writes at $cpu_rate writes/s =="
lab_stop_servers
nodes=()
addresses=()
for i in 1 2 3 4 5 6; do
  port=$(lab_free_port)
  lab_start_plain "$work/cluster/node$i" "$port" --cluster-enabled yes \
    --cluster-config-file "$work/cluster/node$i/nodes.conf" --cluster-node-timeout 5000 \
    --notify-keyspace-events KA
  nodes+=("$port")
  addresses+=("127.0.0.1:$port")
done
redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
  >"$work/cluster/create.log" 2>&1 || { cat "$work/cluster/create.log" >&2; exit 1; }
sleep 3
masters=()
for port in "${nodes[@]}"; do
  lab_cli "$port" INFO replication | grep -q 'role:master' && masters+=("$port")
done
cluster_target=$(lab_free_port)
lab_start_plain "$work/ctarget" "$cluster_target"
"$lab_fill" --port "${masters[0]}" --cluster --dataset small-strings --count 50000 >/dev/null

cpu_run() {  # $1 = label, rest = ferry sync arguments (none: no ferry)
  local label=$1
  shift
  if (($#)); then
    lab_cli "$cluster_target" FLUSHALL >/dev/null
    rm -f "$work/cpu-$label.state"
    "$ferry" sync --source "redis://127.0.0.1:${masters[0]}" \
      --target "redis://127.0.0.1:$cluster_target" --progress never \
      --state "$work/cpu-$label.state" --checkpoint-interval 0.5 "$@" \
      >"$work/cpu-$label.out" 2>&1 &
    ferry_pid=$!
    for i in $(seq 1 300); do
      [[ -s $work/cpu-$label.state ]] && json "$work/cpu-$label.state" \
        "all(s['phase'] != 'snapshot' for s in d['extension']['shards'])" 2>/dev/null |
        grep -q True && break
      sleep 0.2
    done
  fi
  local before others_before after others_after
  before=$(lab_cpu_seconds "${masters[@]}")
  others_before=$(total_cpu)
  "$lab_load" --port "${masters[0]}" --cluster --rate "$cpu_rate" --seconds 15 \
    >"$work/cpu-$label.json"
  after=$(lab_cpu_seconds "${masters[@]}")
  others_after=$(total_cpu)
  if [[ -n ${ferry_pid:-} ]]; then
    kill -TERM "$ferry_pid"
    wait "$ferry_pid" || true
    ferry_pid=""
  fi
  local ops
  ops=$(json "$work/cpu-$label.json" "d['ops']")
  awk -v a="$before" -v b="$after" -v n="$ops" -v t0="$others_before" -v t1="$others_after" \
    -v l="$label" 'BEGIN {printf "%s %.1f %.1f %d\n", l, (b-a)/n*1e6, (t1-t0)-(b-a), n}'
}
cpu_none=$(cpu_run none)
cpu_master=$(cpu_run master)
cpu_replica=$(cpu_run replicas --read-from replicas)
for line in "$cpu_none" "$cpu_master" "$cpu_replica"; do
  read -r label per_k other ops <<<"$line"
  echo "   $label: $per_k ms of master CPU per 1,000 writes ($ops writes; other CPU $other s)"
done

if [[ -n $results ]]; then
  cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
  {
    echo "<!-- sync lab: begin -->"
    echo "## Live sync (\`ferry sync\`)"
    echo
    echo "\`$invocation\`, $(date -u +%Y-%m-%d), $(nproc) cores ($cpu_model), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Source and TLS target on this machine; $keys keys of 100 bytes; writes: 70 % SET, 10 % HSET, 10 % INCR, 10 % DEL on 100,000 keys, in 1 ms bursts."
    echo
    echo "Snapshot (\`ferry copy\` of the same dataset, same run): **$copy_keys_per_s keys/s** (exact: $copy_exact)."
    echo
    echo "| writes/s asked | achieved | lag p50 ms | lag p99 ms | lag max ms | dirty keys max | dirty growth (last third - first third) | exact |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"
    for rate in $rates; do
      read -r r achieved p50 p99 max dirty_max growth ok <<<"${row[$rate]}"
      echo "| $r | $achieved | $p50 | $p99 | $max | $dirty_max | $growth | $ok |"
    done
    echo
    echo "Highest sustained rate with lag p99 < 100 ms and a stable dirty set: **$best writes/s**."
    if [[ -n $half_line ]]; then
      read -r r achieved p50 p99 max dirty_max growth ok <<<"$half_line"
      echo "At half of it ($r writes/s): lag p50 $p50 ms, p99 $p99 ms, max $max ms (exact: $ok)."
    fi
    echo
    echo "Source masters' CPU per 1,000 writes at $cpu_rate writes/s (3-master cluster with a replica each):"
    echo
    echo "| ferry | master CPU ms per 1,000 writes | other processes' CPU s |"
    echo "| --- | ---: | ---: |"
    for line in "$cpu_none" "$cpu_master" "$cpu_replica"; do
      read -r label per_k other ops <<<"$line"
      case $label in
        none) name="not running" ;;
        master) name="ferry sync subscribed to the masters" ;;
        replicas) name="ferry sync --read-from replicas" ;;
      esac
      echo "| $name | $per_k | $other |"
    done
    echo "<!-- sync lab: end -->"
  } >"$work/section.md"
  python3 - "$results" "$work/section.md" <<'PY'
import re, sys
path, section = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read() if __import__("os").path.exists(path) else ""
pattern = re.compile(r"<!-- sync lab: begin -->.*?<!-- sync lab: end -->\n?", re.S)
text = pattern.sub(section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
PY
  echo "== results written to $results =="
fi
exit "$status"
