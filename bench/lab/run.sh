#!/usr/bin/env bash
# ferry's end-to-end performance lab (issue 7), in one command:
#
#   bench/lab/run.sh [--scenarios small,big,mixed,cluster,rss5m,latency] [--repeats N]
#                    [--keys N] [--ferry-args "ARGS"] [--baseline FERRY [--baseline-args "ARGS"]]
#                    [--no-references] [--profile] [--results FILE | --no-results]
#                    [--keep DIR] [--quiet-wait S]
#
# Installs what is missing, builds ferry and the lab tools (Release, build/release or
# $FERRY_BUILD_DIR), starts a plain source redis-server, a TLS-only target on port 10000 (as
# Azure Managed Redis listens) and, for the cluster scenario, a 3-master cluster source, all on
# this machine. For each scenario it fills the source with a fixed seed, measures the servers'
# own limits with reference clients (source DUMP rate: redis-benchmark pipelined on the real key
# names; target RESTORE ingest: redis-cli --pipe over TLS of the same RESTORE commands), then runs
# `ferry copy` --repeats times into the emptied target under /usr/bin/time -v and checks every copy
# independently of ferry (DEBUG DIGEST and DBSIZE on both sides). Prints the median of each figure
# against the targets of issue 7 (PASS/MISS) and writes the table, the date, the machine and the
# exact command into bench/RESULTS.md (between the lab markers; the rest of the file is kept).
#
# Scenarios (default: the first five, about 4 minutes on a quiet 2-core machine):
#   small    1,000,000 keys of 100 random bytes, standalone -> TLS
#   big      2,000 keys of 100 KB random bytes, standalone -> TLS
#   mixed    200,000 keys of every type, 30 % with an expiry, standalone -> TLS
#   cluster  the small dataset on a 3-master cluster source -> TLS
#   rss5m    5,000,000 keys of 100 bytes, standalone -> TLS (peak RSS at scale)
#   latency  the small dataset while an application's load (lab_latency_probe: 20,000 GET/SET
#            per second, open loop) runs on the source: its p50/p99 latency before and during
#            the copy, with ferry's defaults and with --source-latency-target 1
#
# For every ferry run the lab also reports the source's commands per key (INFO commandstats,
# reset before the run) and its CPU per million keys; the small and big scenarios measure, as
# the floor, the source's CPU per million DUMP calls alone (redis-benchmark, pipelined).
#
# --baseline FERRY runs another ferry binary (e.g. an older commit's build) in the same lab,
# interleaved with this one run by run, so that the two compare on the same noise; its rows
# are marked "baseline" and the table gives the ratio. --baseline-args are its extra options
# (default: those of --ferry-args).
#
# The machine may be shared: before each ferry run the lab waits (at most --quiet-wait seconds,
# default 60) until other processes leave the cores idle, and it reports the CPU time other
# processes used during the runs ("other CPU"), so that noisy figures can be told apart.
#
# Exit code: 0 when every copy was exact (whether or not the figures reach their targets), 1
# when a copy failed or differed, 2 for a bad command line or a lab that could not start.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
# The command as it matters for the figures (where results and work files go does not).
invocation=bench/lab/run.sh
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --results | --keep | --quiet-wait) i=$((i + 1)) ;;
    --no-results) ;;
    *) invocation+=" $(printf '%q' "${args[i]}")" ;;
  esac
done

scenarios=small,big,mixed,cluster,rss5m
repeats=3
small_keys=1000000
ferry_args=""
baseline=""
baseline_args=""
baseline_args_set=0
references=1
profile=0
results=$repo/bench/RESULTS.md
keep=""
quiet_wait=60
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while (($#)); do
  case $1 in
    --scenarios) scenarios=${2:?}; shift ;;
    --repeats) repeats=${2:?}; shift ;;
    --keys) small_keys=${2:?}; shift ;;
    --ferry-args) ferry_args=${2?}; shift ;;
    --baseline) baseline=${2:?}; shift ;;
    --baseline-args) baseline_args=${2?}; baseline_args_set=1; shift ;;
    --no-references) references=0 ;;
    --profile) profile=1 ;;
    --results) results=${2:?}; shift ;;
    --no-results) results="" ;;
    --keep) keep=${2:?}; shift ;;
    --quiet-wait) quiet_wait=${2:?}; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage 2 ;;
  esac
  shift
done
[[ $scenarios == all ]] && scenarios=small,big,mixed,cluster,rss5m,latency
((baseline_args_set)) || baseline_args=$ferry_args
if [[ -n $baseline ]]; then
  [[ -x $baseline ]] || { echo "run.sh: --baseline $baseline is not an executable" >&2; exit 2; }
  baseline=$(cd "$(dirname "$baseline")" && pwd)/$(basename "$baseline")
fi
[[ $repeats =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --repeats wants 1..99" >&2; exit 2; }
[[ $small_keys =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --keys wants a number" >&2; exit 2; }
for s in ${scenarios//,/ }; do
  [[ $s =~ ^(small|big|mixed|cluster|rss5m|latency)$ ]] || { echo "run.sh: unknown scenario '$s'" >&2; exit 2; }
done

target_port=10000
source bench/lab/servers.sh
if lab_port_in_use "$target_port"; then
  echo "run.sh: port $target_port is already in use; the lab's TLS target must listen there" \
    "(as Azure Managed Redis does). Stop whatever uses it and run again." >&2
  exit 2
fi

cmake/install-deps.sh
build=${FERRY_BUILD_DIR:-build/release}
echo "== building ferry and the lab tools (Release, $build) =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON >/dev/null
cmake --build "$build" --target ferry lab_fill lab_restore_stream lab_latency_probe \
  -j "$(nproc)" >/dev/null
ferry=$repo/$build/cli/ferry
lab_fill=$repo/$build/bench/lab_fill
lab_restore_stream=$repo/$build/bench/lab_restore_stream
lab_latency_probe=$repo/$build/bench/lab_latency_probe

if [[ -n $keep ]]; then
  mkdir -p "$keep"
  work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d /tmp/ferry-lab.XXXXXX)
fi
cleanup() {
  local status=$?
  [[ -n ${probe_pid:-} ]] && kill -TERM "$probe_pid" 2>/dev/null
  lab_stop_servers
  [[ -n $keep ]] || rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_make_certs "$work/tls"
certs=$work/tls
source_port=$(lab_free_port)
lab_start_plain "$work/source" "$source_port"
lab_start_tls "$work/target" "$target_port" "$certs"
echo "== servers: plain source 127.0.0.1:$source_port, TLS target localhost:$target_port =="
target_cli() { lab_tls_cli "$target_port" "$certs" "$@"; }
cluster_started=0

# ---- helpers -------------------------------------------------------------------------------

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
fmt_int() { awk -v v="$1" 'BEGIN { if (v=="nan"||v=="") print "n/a"; else printf "%d\n", v+0.5 }' |
  sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
fmt_num() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v=="nan"||v=="") print "n/a"; else printf "%.*f\n", d, v }'; }
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a=="nan"||b=="nan"||a==""||b=="") { print "n/a"; exit }
  ok = (op==">=") ? (a+0 >= b+0) : (a+0 <= b+0); print ok ? "PASS" : "MISS" }'; }

flush_target() { target_cli FLUSHALL SYNC >/dev/null; }
flush_source() {
  local port
  for port in "$@"; do lab_cli "$port" FLUSHALL SYNC >/dev/null; done
}

# redis-benchmark's best DUMP rate (requests/s) on the real key names key:000000000000.. over a
# small grid of pipeline depths and client counts.
dump_rate() {
  local port=$1 keys=$2 n=$3
  shift 3
  local best=0 depth clients rate
  for depth in "$@"; do
    for clients in 2 4; do
      rate=$(redis-benchmark -h 127.0.0.1 -p "$port" -r "$keys" -n "$n" -P "$depth" -c "$clients" \
        -q DUMP key:__rand_int__ 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -n 1 |
        awk '{for (i=1;i<=NF;i++) if ($i=="requests") print $(i-1)}')
      best=$(awk -v a="$best" -v b="${rate:-0}" 'BEGIN {print (b>a)?b:a}')
    done
  done
  echo "$best"
}

# The source's CPU seconds per million DUMP calls alone (redis-benchmark at pipeline depth $4
# with $5 clients, $3 calls): the floor of any DUMP-based copy's cost to the source.
dump_cpu_per_m() {
  local port=$1 keys=$2 n=$3 depth=$4 clients=$5 c0 c1
  c0=$(lab_cpu_seconds "$port")
  redis-benchmark -h 127.0.0.1 -p "$port" -r "$keys" -n "$n" -P "$depth" -c "$clients" -q \
    DUMP key:__rand_int__ >/dev/null 2>&1
  c1=$(lab_cpu_seconds "$port")
  awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.3f\n", (b - a) * 1e6 / n }'
}

# Commands the source servers ran since their last CONFIG RESETSTAT, summed over PORTs:
# "name calls" lines (INFO commandstats).
source_cmdstats() {
  local port
  for port in "$@"; do lab_cli "$port" INFO commandstats; done | tr -d '\r' |
    awk -F'[:,=]' '/^cmdstat_/ { sub(/^cmdstat_/, "", $1); calls[$1] += $3 }
      END { for (c in calls) print c, calls[c] }'
}
reset_cmdstats() {
  local port
  for port in "$@"; do lab_cli "$port" CONFIG RESETSTAT >/dev/null; done
}

# Target RESTORE ingest with a reference client: the RESTORE stream of the source's keys, piped
# over TLS by redis-cli --pipe. Prints "keys/s MB/s".
restore_ingest() {
  local name=$1
  shift
  local stream=$work/$name.restore
  local info
  info=$("$lab_restore_stream" "$@" --out "$stream")
  local keys bytes
  keys=$(jq -r .keys <<<"$info")
  bytes=$(jq -r .dump_bytes <<<"$info")
  flush_target
  local start end out
  start=$(date +%s.%N)
  out=$(target_cli --pipe <"$stream" 2>&1)
  end=$(date +%s.%N)
  rm -f "$stream"
  flush_target
  if ! grep -q 'errors: 0' <<<"$out"; then
    echo "restore_ingest: redis-cli --pipe reported errors: $out" >&2
    echo "nan nan"
    return
  fi
  awk -v k="$keys" -v b="$bytes" -v s="$start" -v e="$end" \
    'BEGIN { t=e-s; printf "%.0f %.1f\n", k/t, b/1e6/t }'
}

# Average DUMP payload size of the source's keys (sampled), for turning DUMP/s into MB/s.
avg_dump_bytes() {
  local port=$1 keys=$2 i total=0 size n=0
  for i in 0 1 2 3 4 5 6 7 8 9; do
    size=$(lab_cli "$port" --no-raw EVAL "return string.len(redis.call('DUMP', KEYS[1]))" 1 \
      "$(printf 'key:%012d' $((i * keys / 10)))" | tr -dc 0-9)
    total=$((total + size))
    n=$((n + 1))
  done
  echo $((total / n))
}

# The digest one server holding the source's keys would report, and the target's.
source_digest() { lab_digest "${source_ports[@]}"; }
target_digest() { lab_digest "tls:$target_port:$certs"; }
source_dbsize() {
  local port total=0
  for port in "${source_ports[@]}"; do total=$((total + $(lab_cli "$port" DBSIZE))); done
  echo "$total"
}

failures=0
# scenario run copied bytes duration_s cpu_s rss_kb exact src_cpu tgt_cpu other_cpu variant
# source_commands_per_key source_commands_by_kind
rows=$work/rows.tsv
: >"$rows"
hz=$(getconf CLK_TCK)
quiet_before_runs=1  # the latency scenario's own load keeps the machine busy on purpose

# One `ferry copy` into the emptied target, timed and verified: $5 is the variant ("ferry" or
# "baseline"), $6 the binary, the rest its extra options.
ferry_run() {
  local scenario=$1 run=$2 expect_digest=$3 expect_keys=$4 variant=$5 bin=$6
  shift 6
  local report=$work/$scenario.$variant.$run.report.json timing=$work/$scenario.$variant.$run.time
  local log=$work/$scenario.$variant.$run.log
  flush_target
  ((quiet_before_runs)) && { lab_wait_quiet "$quiet_wait" || true; }
  reset_cmdstats "${source_ports[@]}"
  local status=0 src0 tgt0 busy0 idle0 src1 tgt1 busy1 idle1
  src0=$(lab_cpu_seconds "${source_ports[@]}")
  tgt0=$(lab_cpu_seconds "$target_port")
  read -r busy0 idle0 < <(lab_machine_ticks)
  timeout 900 /usr/bin/time -v -o "$timing" "$bin" copy --source "$source_url" \
    --target "rediss://localhost:$target_port" --cacert "$certs/ca.crt" --report "$report" \
    --progress never "$@" >"$log" 2>&1 || status=$?
  read -r busy1 idle1 < <(lab_machine_ticks)
  src1=$(lab_cpu_seconds "${source_ports[@]}")
  tgt1=$(lab_cpu_seconds "$target_port")
  local commands
  commands=$(source_cmdstats "${source_ports[@]}")
  local digest keys exact=yes
  digest=$(target_digest)
  keys=$(target_cli DBSIZE)
  if ((status != 0)) || [[ $digest != "$expect_digest" || $keys != "$expect_keys" ]]; then
    exact=NO
    failures=$((failures + 1))
    echo "   run $run ($variant): ferry exit $status; target digest $digest, $keys keys; source" \
      "digest $expect_digest, $expect_keys keys: NOT AN EXACT COPY (log: $log)" >&2
    tail -n 5 "$log" >&2 || true
  fi
  local copied=0 bytes=0 duration=0
  if [[ -s $report ]]; then
    copied=$(jq -r .totals.copied "$report")
    bytes=$(jq -r .totals.bytes "$report")
    duration=$(jq -r .totals.duration_s "$report")
  fi
  # Per key, the commands that are not the lab's own (CONFIG, INFO, DEBUG come from the script).
  local per_key by_kind
  per_key=$(awk -v k="$expect_keys" '$1 !~ /^(config|info|debug)/ { t += $2 }
    END { printf "%.3f", (k > 0) ? t / k : 0 }' <<<"$commands")
  by_kind=$(awk -v k="$expect_keys" '$1 !~ /^(config|info|debug)/ && k > 0 && $2 / k >= 0.001 {
      printf "%s %.3f\n", toupper($1), $2 / k }' <<<"$commands" | sort -k2,2gr | paste -sd, -)
  local user sys rss
  user=$(awk -F': ' '/User time/ {print $2}' "$timing")
  sys=$(awk -F': ' '/System time/ {print $2}' "$timing")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  local line
  line=$(awk -v sc="$scenario" -v n="$run" -v c="$copied" -v b="$bytes" -v d="$duration" \
    -v u="$user" -v s="$sys" -v r="$rss" -v e="$exact" -v s0="$src0" -v s1="$src1" -v t0="$tgt0" \
    -v t1="$tgt1" -v busy="$((busy1 - busy0))" -v hz="$hz" -v variant="$variant" \
    -v pk="$per_key" -v bk="${by_kind:-none}" 'BEGIN {
      f = u + s; src = s1 - s0; tgt = t1 - t0; other = busy / hz - f - src - tgt
      if (other < 0) other = 0
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sc, n, c, b, d, f, r, e, src, tgt, other, variant, pk, bk }')
  printf '%s\n' "$line" >>"$rows"
  awk -F'\t' '{ d = ($5 > 0) ? $5 : 1e-9; c = ($3 > 0) ? $3 : 1
    printf "   run %s (%s): %d keys in %.2f s = %.0f keys/s, %.1f MB/s; CPU s: ferry %.2f (%.2f per M keys), source %.2f (%.2f per M keys), target %.2f, other processes %.2f; ferry peak RSS %.1f MB; source commands per key %s (%s); exact: %s\n",
      $2, $12, $3, d, $3 / d, $4 / 1e6 / d, $6, $6 * 1e6 / c, $9, $9 * 1e6 / c, $10, $11, $7 / 1024, $13, $14, $8 }' <<<"$line"
}

# This build's run and, with --baseline, the baseline's, one after the other.
ferry_runs() {
  local scenario=$1 run=$2 digest=$3 keys=$4
  shift 4
  # shellcheck disable=SC2086
  ferry_run "$scenario" "$run" "$digest" "$keys" ferry "$ferry" $ferry_args "$@"
  if [[ -n $baseline ]]; then
    # shellcheck disable=SC2086
    ferry_run "$scenario" "$run" "$digest" "$keys" baseline "$baseline" $baseline_args "$@"
  fi
}

# Extra run under perf (not counted): the top of the profile goes to $work/<scenario>.perf.txt.
profile_run() {
  local scenario=$1
  if ! perf stat -e task-clock true >/dev/null 2>&1; then
    echo "   (--profile: perf is not usable here; skipped)"
    return
  fi
  flush_target
  # shellcheck disable=SC2086
  timeout 900 perf record -F 1999 -g -o "$work/$scenario.perf.data" "$ferry" copy \
    --source "$source_url" --target "rediss://localhost:$target_port" --cacert "$certs/ca.crt" \
    --progress never $ferry_args >/dev/null 2>&1 || true
  perf report -i "$work/$scenario.perf.data" --stdio --no-children --sort dso,symbol \
    --percent-limit 0.7 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -e 's/[ -]*$//' >"$work/$scenario.perf.txt" || true
  echo "   profile (self time, top entries; full: $work/$scenario.perf.txt):"
  head -n 25 "$work/$scenario.perf.txt" | sed 's/^/     /'
}

# Medians of a scenario's runs (of variant $2, default ferry):
#   keys/s MB/s ferry_cpu_per_M rss_MB exact_runs runs source_cpu_per_M target_cpu_per_M other_cpu_s
#   source_commands_per_key
summarize() {
  local scenario=$1 variant=${2:-ferry}
  local sel
  sel=$(awk -F'\t' -v s="$scenario" -v v="$variant" '$1==s && $12==v' "$rows")
  local kps mbs cpu rss exact runs src tgt other
  kps=$(awk -F'\t' '{d=($5>0)?$5:1e-9; print $3/d}' <<<"$sel" | median)
  mbs=$(awk -F'\t' '{d=($5>0)?$5:1e-9; print $4/1e6/d}' <<<"$sel" | median)
  cpu=$(awk -F'\t' '{c=($3>0)?$3:1; print $6*1e6/c}' <<<"$sel" | median)
  rss=$(awk -F'\t' '{print $7/1024}' <<<"$sel" | median)
  exact=$(awk -F'\t' '$8=="yes"' <<<"$sel" | wc -l)
  runs=$(wc -l <<<"$sel")
  src=$(awk -F'\t' '{c=($3>0)?$3:1; print $9*1e6/c}' <<<"$sel" | median)
  tgt=$(awk -F'\t' '{c=($3>0)?$3:1; print $10*1e6/c}' <<<"$sel" | median)
  other=$(awk -F'\t' '{print $11}' <<<"$sel" | median)
  local per_key
  per_key=$(awk -F'\t' '{print $13}' <<<"$sel" | median)
  echo "$kps $mbs $cpu $rss $exact $runs $src $tgt $other $per_key"
}

declare -A ref_dump_kps ref_dump_mbs ref_dump_cpu ref_restore_kps ref_restore_mbs summary \
  baseline_summary scenario_keys
latency_rate=20000
latency_rows=$work/latency.tsv  # variant run p50_before p99_before p50_during p99_during rate_during
: >"$latency_rows"
probe_pid=""

# One copy under the application's load (the latency scenario): the probe runs 5 s before the
# copy, during it, and 2 s after; its latencies per phase go to $latency_rows.
latency_run() {
  local run=$1 digest=$2 keys=$3 variant=$4 bin=$5
  shift 5
  local out=$work/latency.$variant.$run.json
  "$lab_latency_probe" --port "$source_port" --rate "$latency_rate" --connections 8 \
    --keys "$small_keys" --max-seconds 900 >"$out" 2>"$out.err" &
  probe_pid=$!
  sleep 5
  kill -USR1 "$probe_pid"
  ferry_run latency "$run" "$digest" "$keys" "$variant" "$bin" "$@"
  kill -USR1 "$probe_pid"
  sleep 2
  kill -TERM "$probe_pid"
  if ! wait "$probe_pid"; then
    echo "   the latency probe failed: $(cat "$out.err")" >&2
    failures=$((failures + 1))
  fi
  probe_pid=""
  local before during
  before=$(jq -r 'select(.phase == 0) | "\(.p50_us) \(.p99_us)"' "$out")
  during=$(jq -r 'select(.phase == 1) | "\(.p50_us) \(.p99_us) \(.rate)"' "$out")
  read -r b50 b99 <<<"${before:-nan nan}"
  read -r d50 d99 drate <<<"${during:-nan nan nan}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$run" "$b50" "$b99" "$d50" "$d99" "$drate" \
    >>"$latency_rows"
  echo "   application load ($variant): before the copy p50 $b50 us, p99 $b99 us; during it p50" \
    "$d50 us, p99 $d99 us at $(fmt_int "$drate") requests/s"
}

# ---- scenarios -----------------------------------------------------------------------------

run_scenario() {
  local scenario=$1
  local dataset count cluster_flag=()
  case $scenario in
    small) dataset=small-strings count=$small_keys ;;
    big) dataset=big-strings count=2000 ;;
    mixed) dataset=mixed count=200000 ;;
    cluster) dataset=small-strings count=$small_keys ;;
    rss5m) dataset=small-strings count=5000000 ;;
    latency) dataset=small-strings count=$small_keys ;;
  esac
  if [[ $scenario == cluster ]]; then
    if ((!cluster_started)); then
      lab_start_cluster "$work/cluster" 3
      cluster_started=1
    fi
    source_ports=("${LAB_CLUSTER_PORTS[@]}")
    cluster_flag=(--cluster)
  else
    source_ports=("$source_port")
  fi
  source_url=redis://127.0.0.1:${source_ports[0]}
  echo "== scenario $scenario: $dataset, $count keys, source ${source_ports[*]} =="
  flush_source "${source_ports[@]}"
  echo "   fill: $("$lab_fill" --port "${source_ports[0]}" "${cluster_flag[@]}" --dataset "$dataset" \
    --count "$count" --seed 7)"
  if [[ $scenario == latency ]]; then
    "$lab_latency_probe" --port "$source_port" --prefill >/dev/null
  fi
  local expect_digest expect_keys
  expect_digest=$(source_digest)
  expect_keys=$(source_dbsize)
  scenario_keys[$scenario]=$expect_keys

  if ((references)) && [[ $scenario != rss5m && $scenario != latency ]]; then
    lab_wait_quiet "$quiet_wait" || true
    if [[ $scenario == small || $scenario == big ]]; then
      local rate avg
      if [[ $scenario == small ]]; then
        rate=$(dump_rate "$source_port" "$count" 1000000 64 256)
      else
        rate=$(dump_rate "$source_port" "$count" 10000 4 16)
      fi
      avg=$(avg_dump_bytes "$source_port" "$count")
      ref_dump_kps[$scenario]=$rate
      ref_dump_mbs[$scenario]=$(awk -v r="$rate" -v a="$avg" 'BEGIN {print r*a/1e6}')
      echo "   source DUMP (redis-benchmark, best of -P/-c grid): $(fmt_int "$rate") keys/s," \
        "$(fmt_num "${ref_dump_mbs[$scenario]}") MB/s (DUMP payload ~$avg bytes)"
      lab_wait_quiet "$quiet_wait" || true
      if [[ $scenario == small ]]; then
        ref_dump_cpu[$scenario]=$(dump_cpu_per_m "$source_port" "$count" 1000000 64 2)
      else
        ref_dump_cpu[$scenario]=$(dump_cpu_per_m "$source_port" "$count" 10000 16 2)
      fi
      echo "   source CPU of DUMP alone (redis-benchmark -P 64/16 -c 2):" \
        "$(fmt_num "${ref_dump_cpu[$scenario]}" 2) s per M keys"
    fi
    local ingest
    lab_wait_quiet "$quiet_wait" || true
    ingest=$(restore_ingest "$scenario" --port "${source_ports[0]}" "${cluster_flag[@]}")
    ref_restore_kps[$scenario]=${ingest% *}
    ref_restore_mbs[$scenario]=${ingest#* }
    echo "   target RESTORE ingest (redis-cli --pipe over TLS): $(fmt_int "${ingest% *}") keys/s," \
      "$(fmt_num "${ingest#* }") MB/s"
  fi

  local n=$repeats run
  [[ $scenario == rss5m ]] && n=1
  for run in $(seq 1 "$n"); do
    if [[ $scenario == latency ]]; then
      quiet_before_runs=0
      # shellcheck disable=SC2086
      latency_run "$run" "$expect_digest" "$expect_keys" ferry "$ferry" $ferry_args
      # shellcheck disable=SC2086
      latency_run "$run" "$expect_digest" "$expect_keys" ferry-latency-target "$ferry" \
        $ferry_args --source-latency-target 1
      if [[ -n $baseline ]]; then
        # shellcheck disable=SC2086
        latency_run "$run" "$expect_digest" "$expect_keys" baseline "$baseline" $baseline_args
      fi
      quiet_before_runs=1
    else
      ferry_runs "$scenario" "$run" "$expect_digest" "$expect_keys"
    fi
  done
  ((profile)) && profile_run "$scenario"
  summary[$scenario]=$(summarize "$scenario")
  [[ -n $baseline ]] && baseline_summary[$scenario]=$(summarize "$scenario" baseline)
  flush_target
  flush_source "${source_ports[@]}"
}

started=$(date +%s)
for s in ${scenarios//,/ }; do run_scenario "$s"; done
elapsed=$(($(date +%s) - started))

# ---- the table ----------------------------------------------------------------------------

cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
ram=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- engine protocol cli 2>/dev/null || commit+=" + uncommitted changes"
redis_version=$(redis-server --version | awk '{print $3}' | sed 's/v=//')

table=$work/table.md
{
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); lab time ${elapsed} s"
  echo
  echo "Machine: $(nproc) cores ($cpu_model), $ram RAM, kernel $(uname -r), $os, redis-server $redis_version;"
  echo "source, target and ferry share the cores. ferry commit $commit."
  echo
  echo "Command: \`$invocation\`"
  echo
  echo "Each ferry figure is the median of $repeats runs (rss5m: 1 run); keys/s and MB/s use ferry's"
  echo "own duration (report), CPU and peak RSS come from /usr/bin/time -v. Every run is checked with"
  echo "DEBUG DIGEST and DBSIZE on both sides. Server CPU comes from /proc; \"other processes\" is the"
  echo "CPU time the rest of the machine used while ferry ran (0 on a quiet machine)."
  echo
  echo "Source commands per key come from INFO commandstats (reset before each run; in the latency"
  echo "scenario they include the application load's GET and SET). \"DUMP alone\" is the source's"
  echo "CPU per million DUMP calls from redis-benchmark: the floor of a DUMP-based copy's cost."
  [[ -n $baseline ]] && echo "Rows marked \"baseline\" ran \`$baseline\` $baseline_args in the same lab, run by run after this build's."
  echo
  echo "| scenario | keys | ferry keys/s | ferry MB/s | ferry CPU s / M keys | ferry peak RSS MB | exact copies | source / target CPU s per M keys | source commands per key | other processes' CPU s per run | source DUMP (redis-benchmark) | source CPU of DUMP alone, s / M keys | target RESTORE ingest (redis-cli --pipe, TLS) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  table_row() {
    local label=$1 s=$2
    read -r kps mbs cpu rss exact runs src tgt other per_key <<<"$3"
    dump="n/a"
    [[ -n ${ref_dump_kps[$s]:-} ]] &&
      dump="$(fmt_int "${ref_dump_kps[$s]}") keys/s, $(fmt_num "${ref_dump_mbs[$s]}") MB/s"
    dump_cpu="n/a"
    [[ -n ${ref_dump_cpu[$s]:-} ]] && dump_cpu=$(fmt_num "${ref_dump_cpu[$s]}" 2)
    ingest="n/a"
    [[ -n ${ref_restore_kps[$s]:-} ]] &&
      ingest="$(fmt_int "${ref_restore_kps[$s]}") keys/s, $(fmt_num "${ref_restore_mbs[$s]}") MB/s"
    echo "| $label | $(fmt_int "${scenario_keys[$s]}") | $(fmt_int "$kps") | $(fmt_num "$mbs") | $(fmt_num "$cpu" 2) | $(fmt_num "$rss") | $exact/$runs | $(fmt_num "$src" 2) / $(fmt_num "$tgt" 2) | $(fmt_num "$per_key" 2) | $(fmt_num "$other" 2) | $dump | $dump_cpu | $ingest |"
  }
  for s in ${scenarios//,/ }; do
    table_row "$s" "$s" "${summary[$s]}"
    [[ -n ${baseline_summary[$s]:-} ]] && table_row "$s (baseline)" "$s" "${baseline_summary[$s]}"
  done
  if [[ -n $baseline ]]; then
    echo
    echo "| scenario | keys/s, this build / baseline | ferry CPU per key, this build / baseline | source CPU per key, this build / baseline |"
    echo "| --- | ---: | ---: | ---: |"
    for s in ${scenarios//,/ }; do
      [[ -n ${baseline_summary[$s]:-} ]] || continue
      read -r k1 _ c1 _ _ _ s1 _ <<<"${summary[$s]}"
      read -r k0 _ c0 _ _ _ s0 _ <<<"${baseline_summary[$s]}"
      ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a=="nan"||b=="nan"||b+0==0) print "n/a"; else printf "%.2f\n", a/b }'; }
      echo "| $s | $(ratio "$k1" "$k0") | $(ratio "$c1" "$c0") | $(ratio "$s1" "$s0") |"
    done
  fi
  if [[ -s $latency_rows ]]; then
    echo
    echo "Latency impact: an application load of $(fmt_int "$latency_rate") requests/s (90 % GET, 10 % SET, open loop over 8"
    echo "connections, lab_latency_probe) on the source, 5 s before the copy and during it (medians of the runs)."
    echo
    echo "| ferry | app p50 / p99 before the copy, us | app p50 / p99 during the copy, us | app requests/s during | ferry keys/s | source CPU s / M keys | exact copies |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for v in $(cut -f1 "$latency_rows" | awk '!seen[$0]++'); do
      col() { awk -F'\t' -v v="$v" -v c="$1" '$1==v {print $c}' "$latency_rows" | median; }
      read -r kps _ _ _ exact runs src _ <<<"$(summarize latency "$v")"
      echo "| $v | $(fmt_int "$(col 3)") / $(fmt_int "$(col 4)") | $(fmt_int "$(col 5)") / $(fmt_int "$(col 6)") | $(fmt_int "$(col 7)") | $(fmt_int "$kps") | $(fmt_num "$src" 2) | $exact/$runs |"
    done
  fi
  echo
  echo "| target (issue 7) | measured | goal | result |"
  echo "| --- | ---: | ---: | :---: |"
  get() { local s=$1 i=$2; [[ -n ${summary[$s]:-} ]] && awk -v i="$i" '{print $i}' <<<"${summary[$s]}" || echo nan; }
  if [[ -n ${summary[small]:-} ]]; then
    v=$(get small 1)
    echo "| 1M small keys, standalone -> TLS: keys/s | $(fmt_int "$v") | >= 250,000 | $(verdict "$v" ">=" 250000) |"
    v=$(get small 3)
    echo "| 1M small keys: ferry CPU s per M keys | $(fmt_num "$v" 2) | <= 1.50 | $(verdict "$v" "<=" 1.5) |"
    v=$(get small 4)
    echo "| 1M small keys: peak RSS MB | $(fmt_num "$v") | <= 128 | $(verdict "$v" "<=" 128) |"
  fi
  if [[ -n ${summary[big]:-} ]]; then
    v=$(get big 2)
    goal=$(awk -v d="${ref_dump_mbs[big]:-nan}" 'BEGIN { if (d=="nan") print "nan"; else print 0.85*d }')
    echo "| 100 KB values: MB/s vs 85 % of source DUMP MB/s | $(fmt_num "$v") | >= $(fmt_num "$goal") | $(verdict "$v" ">=" "$goal") |"
    v=$(get big 4)
    echo "| 100 KB values: peak RSS MB | $(fmt_num "$v") | <= 128 | $(verdict "$v" "<=" 128) |"
  fi
  if [[ -n ${summary[mixed]:-} ]]; then
    v=$(get mixed 4)
    echo "| mixed types: peak RSS MB | $(fmt_num "$v") | <= 128 | $(verdict "$v" "<=" 128) |"
  fi
  if [[ -n ${summary[rss5m]:-} ]]; then
    v=$(get rss5m 4)
    echo "| 5M small keys: peak RSS MB | $(fmt_num "$v") | <= 128 | $(verdict "$v" "<=" 128) |"
  fi
  if [[ -n ${summary[cluster]:-} ]]; then
    v=$(get cluster 1)
    goal=$(get small 1)
    [[ $goal == nan ]] && goal=250000
    echo "| 3-master cluster -> TLS: keys/s vs standalone | $(fmt_int "$v") | >= $(fmt_int "$goal") | $(verdict "$v" ">=" "$goal") |"
    v=$(get cluster 4)
    echo "| 3-master cluster: peak RSS MB | $(fmt_num "$v") | <= 128 | $(verdict "$v" "<=" 128) |"
  fi
  exact_all=$(awk -F'\t' '$8=="yes"' "$rows" | wc -l)
  runs_all=$(wc -l <"$rows")
  echo "| every copy exact (DEBUG DIGEST, DBSIZE) | $exact_all/$runs_all | all | $( ((exact_all == runs_all)) && echo PASS || echo MISS) |"
} >"$table"

echo
cat "$table"

if [[ -n $results ]]; then
  begin='<!-- lab:begin (written by bench/lab/run.sh; edit outside these markers) -->'
  end='<!-- lab:end -->'
  if [[ ! -f $results ]]; then
    printf '# ferry benchmark results\n\n## End-to-end lab (bench/lab/run.sh)\n\n%s\n%s\n' \
      "$begin" "$end" >"$results"
  fi
  if ! grep -qF "$begin" "$results"; then
    printf '\n## End-to-end lab (bench/lab/run.sh)\n\n%s\n%s\n' "$begin" "$end" >>"$results"
  fi
  awk -v begin="$begin" -v end="$end" -v table="$table" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0 }
    !skipping { print }' "$results" >"$results.tmp"
  mv "$results.tmp" "$results"
  echo
  echo "(written to $results)"
fi

((failures == 0)) || { echo "run.sh: $failures copy run(s) were not exact" >&2; exit 1; }
