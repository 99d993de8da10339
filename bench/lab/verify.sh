#!/usr/bin/env bash
# The verify lab (issue 18, Deliver 6): what `ferry verify` costs, in one command.
#
#   bench/lab/verify.sh [--mixed-keys N] [--small-keys N] [--repeats N] [--load-rate N]
#                       [--parts versions,small,live] [--baseline FERRY]
#
# Builds ferry and lab_fill (Release, build/release or $FERRY_BUILD_DIR), then on plain
# loopback servers of this machine:
#   versions  the mixed profile (lab_fill --dataset mixed, default 200,000 keys) copied 6.2 -> 7.4
#             and 7.4 -> 7.4 (builds from $FERRY_TEST_SERVERS or ../shared/servers), then
#             verified --repeats times each: the median verify time of 6.2 -> 7.4 against that
#             of 7.4 -> 7.4 (goal: within 1.25x), and how many keys each compared element by
#             element (the report's `deep`).
#   small     1,000,000 strings of 100 bytes (Debian's redis-server 7.0 on both sides): the
#             source's CPU seconds (/proc) and commands (INFO commandstats) during `ferry copy`
#             (into the emptied target before each round of verifies: medians of --repeats
#             runs both) and during a full `ferry verify` of the same servers (goal: verify <=
#             copy).
#   live      the small servers verified again while lab_sync_load writes --load-rate (default
#             5,000) commands per second to the source (SET/HSET/INCR/DEL on load:* keys, some
#             of them copied before): time against the quiet verify (goal: within 2x), and the
#             keys of the diff file counted, each of which must appear once.
# --baseline names another ferry binary (e.g. main's build): each verify of the versions and
# small parts then runs with it too, alternating with this build's on the same servers, and the
# table gains its figures ("before"). For each binary the source's INFO commandstats of its last
# 6.2 -> 7.4 verify and of its last small verify (and of the copy) are printed (calls and server
# seconds per command): where the servers' time goes. --parts runs some parts only (live needs small).
# Every copy is checked independently of ferry (DEBUG DIGEST and DBSIZE) before it is verified,
# and the quiet verifies must find no difference. Prints a table for bench/RESULTS.md.
#
# Exit code: 0 when every check held (whether or not the figures reach their goals), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
mixed_keys=200000
small_keys=1000000
repeats=3
load_rate=5000
parts=versions,small,live
baseline=
while (($#)); do
  case $1 in
    --mixed-keys) mixed_keys=${2:?}; shift ;;
    --small-keys) small_keys=${2:?}; shift ;;
    --repeats) repeats=${2:?}; shift ;;
    --load-rate) load_rate=${2:?}; shift ;;
    --parts) parts=${2:?}; shift ;;
    --baseline) baseline=$(realpath "${2:?}"); shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=bench/lab/servers.sh
source "$repo/bench/lab/servers.sh"
servers=${FERRY_TEST_SERVERS:-$repo/../shared/servers}
build=${FERRY_BUILD_DIR:-build/release}
[[ -f $build/CMakeCache.txt ]] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
nice cmake --build "$build" -j2 --target ferry lab_fill lab_sync_load >/dev/null
ferry=$repo/$build/cli/ferry
lab_fill=$repo/$build/bench/lab_fill
lab_load=$repo/$build/bench/lab_sync_load
work=$(mktemp -d /tmp/ferry-verify-lab.XXXXXX)
trap 'lab_stop_servers; rm -rf "$work"' EXIT
failed=0

# A server of the build in folder $1 (empty: Debian's) on a free port, which goes into the
# variable named $2 (not a subshell: lab_start_plain remembers its pid for lab_stop_servers).
start() {
  local folder=$1 port
  port=$(lab_free_port)
  if [[ -z $folder ]]; then
    lab_start_plain "$work/s$port" "$port" >&2
  else
    # As lab_start_plain, without enable-debug-command, which 6.2 does not know.
    mkdir -p "$work/s$port"
    "$servers/$folder/bin/redis-server" --port "$port" --bind 127.0.0.1 --save '' \
      --appendonly no --daemonize no --dir "$work/s$port" --logfile "$work/s$port/redis.log" &
    LAB_PIDS+=("$!")
    LAB_PID_OF_PORT[$port]=$!
    lab_wait_ready "$!" lab_cli "$port" || { echo "$folder on $port did not start" >&2; exit 1; }
  fi
  printf -v "$2" '%s' "$port"
}
url() { echo "redis://127.0.0.1:$1"; }
# Checks that two servers hold the same data (DBSIZE; DEBUG DIGEST when $3 is "digest").
same_data() {
  local a=$1 b=$2 how=${3:-digest}
  if [[ $(lab_cli "$a" DBSIZE) != "$(lab_cli "$b" DBSIZE)" ]]; then
    echo "   CHECK FAILED: DBSIZE differs on $a and $b" >&2; failed=1; return
  fi
  if [[ $how == digest && $(lab_digest "$a") != "$(lab_digest "$b")" ]]; then
    echo "   CHECK FAILED: DEBUG DIGEST differs on $a and $b" >&2; failed=1
  fi
}
# `ferry verify` (the binary in $verify_bin) of ports $1 -> $2; prints "seconds deep differences"
# from its report.
verify_bin=$ferry
verify() {
  local report=$work/report.json
  "$verify_bin" verify --source "$(url "$1")" --target "$(url "$2")" --progress never \
    --report "$report" --diff "$work/diff.jsonl" "${@:3}" >/dev/null 2>&1 || true
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["totals"];
print("%.2f %d %d" % (t["duration_s"], t["deep"], t["differences"]))' "$report"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
commands() { lab_cli "$1" INFO commandstats | awk -F'[:=,]' '/^cmdstat_/ {n+=$3} END {print n+0}'; }
# "name calls usec" per command of server $1, busiest first, on one line.
command_costs() {
  lab_cli "$1" INFO commandstats | awk -F'[:=,]' '/^cmdstat_/ {sub("cmdstat_", "", $1);
    printf "%s %d %d\n", $1, $3, $5}' | sort -k3 -n -r |
    awk '{printf "%s%s %d calls %.2f s", sep, $1, $2, $3 / 1e6; sep = ", "} END {print ""}'
}
has_part() { [[ ,$parts, == *,$1,* ]]; }
# The binaries each figure is measured with: this build ("after") and the baseline ("before").
labels=(after)
declare -A binary_of=([after]=$ferry)
if [[ -n $baseline ]]; then
  labels+=(before)
  binary_of[before]=$baseline
fi

declare -A verify_s deep_of ratio_of costs_of
if has_part versions; then
echo "== versions: the mixed profile ($mixed_keys keys), verify 6.2 -> 7.4 and 7.4 -> 7.4"
for pair in "redis-6.2.16 redis-7.4.1" "redis-7.4.1 redis-7.4.1"; do
  read -r from to <<<"$pair"
  start "$from" s
  start "$to" t
  "$lab_fill" --port "$s" --dataset mixed --count "$mixed_keys" >/dev/null
  "$ferry" copy --source "$(url "$s")" --target "$(url "$t")" --progress never >/dev/null
  # DEBUG DIGEST is computed alike by 6.2 and 7.4 only for some encodings: DBSIZE here,
  # verify's own cross-version test compares every value with the sorted dump.
  same_data "$s" "$t" "$([[ $from == "$to" ]] && echo digest || echo size)"
  declare -A times=()
  for ((r = 1; r <= repeats; r++)); do
    for label in "${labels[@]}"; do
      verify_bin=${binary_of[$label]}
      lab_wait_quiet 5 >/dev/null || true
      lab_cli "$s" CONFIG RESETSTAT >/dev/null
      read -r seconds deep differences < <(verify "$s" "$t")
      [[ $differences == 0 ]] || { echo "   CHECK FAILED: $differences differences" >&2; failed=1; }
      times[$label]+="$seconds "
      deep_of[$label,$from]=$deep
      [[ $from == "$to" ]] || costs_of[$label]=$(command_costs "$s")
    done
  done
  for label in "${labels[@]}"; do
    key="$label ${from#redis-} -> ${to#redis-}"
    verify_s[$key]=$(printf '%s\n' ${times[$label]} | median)
    echo "   $key: verify ${times[$label]}s (median ${verify_s[$key]}), deep-compared keys" \
      "${deep_of[$label,$from]}"
  done
  unset times
  lab_stop_servers
  LAB_PIDS=()
done
for label in "${labels[@]}"; do
  ratio_of[$label]=$(awk -v a="${verify_s["$label 6.2.16 -> 7.4.1"]}" \
    -v b="${verify_s["$label 7.4.1 -> 7.4.1"]}" 'BEGIN {printf "%.2f", a / b}')
  echo "   $label: the 6.2 source's commands during its last verify: ${costs_of[$label]}"
done
fi

declare -A verify_cpu_of verify_commands_of quiet_of small_costs_of
if has_part small; then
echo "== small: $small_keys strings of 100 bytes, 7.0 -> 7.0: the source's CPU, copy vs verify"
start "" s
start "" t
"$lab_fill" --port "$s" --dataset small-strings --count "$small_keys" >/dev/null
"$lab_load" --port "$s" --rate 50000 --seconds 1 --keys 100000 >/dev/null  # load:* keys
# The copy, into an emptied target, before each round of verifies: its source CPU is as noisy
# as theirs, so it is a median of as many runs.
copy_cpu_runs=
copy_once() {
  lab_cli "$t" FLUSHALL >/dev/null
  lab_cli "$s" CONFIG RESETSTAT >/dev/null
  lab_wait_quiet 5 >/dev/null || true
  local cpu0 cpu1
  cpu0=$(lab_cpu_seconds "$s")
  "$ferry" copy --source "$(url "$s")" --target "$(url "$t")" --progress never \
    --report "$work/copy.json" >/dev/null
  cpu1=$(lab_cpu_seconds "$s")
  copy_commands=$(commands "$s")
  copy_costs=$(command_costs "$s")
  same_data "$s" "$t"
  copy_cpu_runs+="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}') "
  copy_s=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.2f" % r.get("duration_s", r["totals"].get("duration_s", 0)))' \
    "$work/copy.json")
}
keys=$(lab_cli "$s" DBSIZE)
declare -A quiet_runs=() cpu_runs=()
for ((r = 1; r <= repeats; r++)); do
  copy_once
  for label in "${labels[@]}"; do
    verify_bin=${binary_of[$label]}
    lab_cli "$s" CONFIG RESETSTAT >/dev/null
    lab_wait_quiet 5 >/dev/null || true
    cpu0=$(lab_cpu_seconds "$s")
    read -r seconds deep differences < <(verify "$s" "$t")
    cpu1=$(lab_cpu_seconds "$s")
    verify_commands_of[$label]=$(commands "$s")
    small_costs_of[$label]=$(command_costs "$s")
    [[ $differences == 0 ]] || { echo "   CHECK FAILED: $differences differences" >&2; failed=1; }
    quiet_runs[$label]+="$seconds "
    cpu_runs[$label]+="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}') "
  done
done
copy_cpu=$(printf '%s\n' $copy_cpu_runs | median)
echo "   copy: ${copy_s} s (last run), source CPU ${copy_cpu_runs}s (median ${copy_cpu}), " \
  "$copy_commands commands ($keys keys)"
echo "   the source's commands during the copy: $copy_costs"
for label in "${labels[@]}"; do
  quiet_of[$label]=$(printf '%s\n' ${quiet_runs[$label]} | median)
  verify_cpu_of[$label]=$(printf '%s\n' ${cpu_runs[$label]} | median)
  echo "   $label verify: ${quiet_runs[$label]}s (median ${quiet_of[$label]}), source CPU" \
    "${cpu_runs[$label]}s, ${verify_commands_of[$label]} commands (last run)"
  echo "   the source's commands during the last $label verify: ${small_costs_of[$label]}"
done
verify_bin=$ferry
quiet_s=${quiet_of[after]}
fi

live_s=
if has_part live && has_part small; then
echo "== live: the same servers verified while the source takes $load_rate writes/s"
live=()
for ((r = 1; r <= repeats; r++)); do
  lab_wait_quiet 5 >/dev/null || true
  seconds_budget=$(awk -v q="$quiet_s" 'BEGIN {printf "%d", q * 3 + 5}')
  "$lab_load" --port "$s" --rate "$load_rate" --seconds "$seconds_budget" --keys 100000 \
    >"$work/load.json" &
  load_pid=$!
  sleep 0.5
  read -r seconds deep differences < <(verify "$s" "$t")
  kill "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  lines=$(wc -l <"$work/diff.jsonl")
  distinct=$(python3 -c 'import json,sys; print(len({json.loads(l)["key_base64"] for l in open(sys.argv[1]) if l.strip()}))' "$work/diff.jsonl")
  if [[ $lines != "$distinct" ]]; then
    echo "   CHECK FAILED: $lines diff lines for $distinct keys" >&2
    failed=1
  fi
  live+=("$seconds")
  echo "   run $r: $seconds s, $differences differences, $lines diff lines, $distinct keys"
done
live_s=$(printf '%s\n' "${live[@]}" | median)
fi

pass() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b) ? "PASS" : "MISS"}'; }
echo
echo "| verify figure (issue 18) | measured | goal | result |"
echo "| --- | ---: | ---: | :---: |"
for label in "${labels[@]}"; do
  suffix=$([[ $label == after ]] && echo "" || echo " ($label)")
  if has_part versions; then
    echo "| mixed profile ($mixed_keys keys): 6.2 -> 7.4 verify s / 7.4 -> 7.4 verify s$suffix |" \
      "${verify_s["$label 6.2.16 -> 7.4.1"]} / ${verify_s["$label 7.4.1 -> 7.4.1"]} =" \
      "${ratio_of[$label]}x (deep ${deep_of[$label,redis-6.2.16]} / ${deep_of[$label,redis-7.4.1]})" \
      "| <= 1.25x | $(pass "${ratio_of[$label]}" 1.25) |"
  fi
  if has_part small; then
    echo "| $keys small keys: source CPU s, verify / copy (same servers)$suffix |" \
      "${verify_cpu_of[$label]} / $copy_cpu | verify <= copy |" \
      "$(pass "${verify_cpu_of[$label]}" "$copy_cpu") |"
    echo "| $keys small keys: source commands, verify / copy$suffix |" \
      "${verify_commands_of[$label]} / $copy_commands | | |"
  fi
done
if [[ -n $live_s ]]; then
  echo "| live source ($load_rate writes/s): verify s, live / quiet | $live_s / $quiet_s | <= 2x |" \
    "$(awk -v a="$live_s" -v b="$quiet_s" 'BEGIN {print (a <= 2 * b) ? "PASS" : "MISS"}') |"
fi
echo "| every check (DEBUG DIGEST/DBSIZE, no false difference, each key once) |" \
  "$([[ $failed == 0 ]] && echo held || echo FAILED) | all |" \
  "$([[ $failed == 0 ]] && echo PASS || echo FAIL) |"
exit "$failed"
