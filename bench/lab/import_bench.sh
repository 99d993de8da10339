#!/usr/bin/env bash
# `ferry import` throughput (issue 14), compared in the same run with the two things it competes
# with on the same data:
#
#   bench/lab/import_bench.sh [--small N] [--mixed N] [--repeats N] [--results FILE | --no-results]
#                             [--ferry BIN --lab-fill BIN]   (binaries built already: no build)
#
#   copy    `ferry copy` from the plain source that BGSAVEd the file, into the TLS target
#   import  `ferry import FILE` into the same TLS target (emptied first)
#   load    redis-server started on the file (--dir/--dbfilename): the target's own load, the
#           limit (it parses the file in-process, with no network, no TLS and no RESTORE)
#
# Datasets: small (--small keys of 100 random bytes, default 1,000,000) and mixed (--mixed keys
# of every type, 30 % with an expiry, default 200,000), filled by bench/lab/lab_fill with seed 7.
# Every copy and import is checked with DEBUG DIGEST and DBSIZE against the source; the load
# too. Each figure is the median of --repeats runs (default 3); keys/s use ferry's own duration
# (its report), the load's the server's "DB loaded from disk" line. Writes a section of
# bench/RESULTS.md between the import markers (the rest of the file is kept).
#
# Exit code: 0 when every run was exact, 1 when one was not, 2 when the lab could not start.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
invocation="bench/lab/import_bench.sh $*"
small=1000000
mixed=200000
repeats=3
results=bench/RESULTS.md
ferry=
lab_fill=
while (($#)); do
  case $1 in
    --small) small=$2; shift 2 ;;
    --mixed) mixed=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-results) results=; shift ;;
    --ferry) ferry=$(realpath "$2"); shift 2 ;;
    --lab-fill) lab_fill=$(realpath "$2"); shift 2 ;;
    *) echo "usage: $0 [--small N] [--mixed N] [--repeats N] [--results FILE | --no-results] [--ferry BIN --lab-fill BIN]" >&2
       exit 2 ;;
  esac
done

# shellcheck source=bench/lab/servers.sh
source bench/lab/servers.sh
if [[ -z $ferry || -z $lab_fill ]]; then
  build=${FERRY_BUILD_DIR:-build/release}
  echo "== building ferry and lab_fill (Release, $build) =="
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target ferry lab_fill -j 2 >/dev/null
  ferry=$repo/$build/cli/ferry
  lab_fill=$repo/$build/bench/lab_fill
fi
work=$(mktemp -d /tmp/ferry-import-bench.XXXXXX)
cleanup() { lab_stop_servers; rm -rf "$work"; }
trap cleanup EXIT
lab_make_certs "$work/certs"
certs=$work/certs
source_port=$(lab_free_port)
lab_start_plain "$work/source" "$source_port"
target_port=$(lab_free_port)
lab_start_tls "$work/target" "$target_port" "$certs"
target_cli() { lab_tls_cli "$target_port" "$certs" "$@"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else print v[int((NR+1)/2)]}'; }
failures=0
rows=$work/rows

# $1 scenario, $2 variant (copy|import), $3 digest, $4 keys, rest: ferry's arguments.
ferry_run() {
  local scenario=$1 variant=$2 digest=$3 keys=$4
  shift 4
  local report=$work/$scenario.$variant.json timing=$work/$scenario.$variant.time status=0
  target_cli FLUSHALL SYNC >/dev/null
  lab_wait_quiet 30 >/dev/null || true
  timeout 900 /usr/bin/time -v -o "$timing" "$ferry" "$@" --target "rediss://localhost:$target_port" \
    --cacert "$certs/ca.crt" --report "$report" --progress never >"$work/$variant.log" 2>&1 ||
    status=$?
  local got_digest got_keys exact=yes
  got_digest=$(lab_digest "tls:$target_port:$certs")
  got_keys=$(target_cli DBSIZE)
  if ((status != 0)) || [[ $got_digest != "$digest" || $got_keys != "$keys" ]]; then
    exact=NO
    failures=$((failures + 1))
    echo "   $variant: exit $status, digest $got_digest ($got_keys keys), source $digest ($keys keys)" >&2
    tail -n 5 "$work/$variant.log" >&2 || true
  fi
  local duration cpu rss
  duration=$(jq -r .totals.duration_s "$report" 2>/dev/null || echo 0)
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$timing")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2 / 1024}' "$timing")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$variant" "$duration" "$cpu" "$rss" "$exact" >>"$rows"
  echo "   $variant: ${duration} s, ferry CPU ${cpu} s, peak RSS ${rss} MB, exact $exact"
}

# $1 scenario, $2 file, $3 digest, $4 keys: redis-server's own load of the file.
load_run() {
  local scenario=$1 file=$2 digest=$3 keys=$4 dir=$work/load port
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$file" "$dir/dump.rdb"
  port=$(lab_free_port)
  lab_wait_quiet 30 >/dev/null || true
  lab_start_plain "$dir" "$port" --dbfilename dump.rdb
  local seconds exact=yes got
  # Redis 7: "DB loaded from disk: 0.512 seconds".
  seconds=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$dir/redis.log" | tail -1)
  got=$(lab_digest "$port")
  if [[ $got != "$digest" || $(lab_cli "$port" DBSIZE) != "$keys" ]]; then
    exact=NO
    failures=$((failures + 1))
  fi
  lab_cli "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" load "${seconds:-nan}" nan nan "$exact" >>"$rows"
  echo "   load: ${seconds:-?} s, exact $exact"
}

for scenario in small mixed; do
  case $scenario in
    small) dataset=small-strings count=$small ;;
    mixed) dataset=mixed count=$mixed ;;
  esac
  lab_cli "$source_port" FLUSHALL SYNC >/dev/null
  echo "== $scenario: $dataset, $count keys =="
  echo "   fill: $("$lab_fill" --port "$source_port" --dataset "$dataset" --count "$count" --seed 7)"
  digest=$(lab_digest "$source_port")
  keys=$(lab_cli "$source_port" DBSIZE)
  # dbfilename is a protected config from Redis 7 on (CONFIG SET refuses it): the file is
  # saved under its default name and moved.
  lab_cli "$source_port" SAVE >/dev/null
  file=$work/source/$scenario.rdb
  mv "$work/source/dump.rdb" "$file"
  echo "   file: $(stat -c %s "$file") bytes"
  printf '%s\tkeys\t%s\t%s\n' "$scenario" "$keys" "$(stat -c %s "$file")" >>"$work/sizes"
  for run in $(seq 1 "$repeats"); do
    echo "   -- run $run"
    ferry_run "$scenario" copy "$digest" "$keys" copy --source "redis://127.0.0.1:$source_port"
    ferry_run "$scenario" import "$digest" "$keys" import "$file"
    load_run "$scenario" "$file" "$digest" "$keys"
  done
done

table=$work/table
{
  echo "| dataset | keys | file MB | ferry copy keys/s | ferry import keys/s | redis-server load keys/s (the limit) | import / copy | import / load | import: ferry CPU s, peak RSS MB | exact |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for scenario in small mixed; do
    keys=$(awk -v s="$scenario" '$1 == s {print $3}' "$work/sizes")
    bytes=$(awk -v s="$scenario" '$1 == s {print $4}' "$work/sizes")
    copy=$(awk -v s="$scenario" '$1 == s && $2 == "copy" {print $3}' "$rows" | median)
    import=$(awk -v s="$scenario" '$1 == s && $2 == "import" {print $3}' "$rows" | median)
    load=$(awk -v s="$scenario" '$1 == s && $2 == "load" {print $3}' "$rows" | median)
    cpu=$(awk -v s="$scenario" '$1 == s && $2 == "import" {print $4}' "$rows" | median)
    rss=$(awk -v s="$scenario" '$1 == s && $2 == "import" {print $5}' "$rows" | median)
    exact=$(awk -v s="$scenario" '$1 == s {n++; if ($6 == "yes") e++} END {printf "%d/%d", e, n}' "$rows")
    awk -v k="$keys" -v b="$bytes" -v c="$copy" -v i="$import" -v l="$load" -v cpu="$cpu" \
      -v rss="$rss" -v s="$scenario" -v e="$exact" 'BEGIN {
        printf "| %s | %d | %.1f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f, %.1f | %s |\n",
          s, k, b / 1e6, k / c, k / i, k / l, c / i, l / i, cpu, rss, e }'
  done
} >"$table"
cat "$table"

if [[ -n $results ]]; then
  header="<!-- import:begin (written by bench/lab/import_bench.sh; edit outside these markers) -->"
  footer="<!-- import:end -->"
  section=$work/section
  {
    echo "$header"
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); ferry commit $(git rev-parse --short HEAD);"
    echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(redis-server --version | cut -d' ' -f3)."
    echo
    echo "Command: \`$invocation\` (median of $repeats runs; source, target and ferry share the cores)"
    echo
    cat "$table"
    echo "$footer"
  } >"$section"
  if grep -qF "$header" "$results"; then
    awk -v s="$section" -v h="$header" -v f="$footer" '
      $0 == h { while ((getline line < s) > 0) print line; skip = 1; next }
      $0 == f { skip = 0; next }
      !skip' "$results" >"$work/results" && cp "$work/results" "$results"
  else
    { echo; echo "## Import throughput (bench/lab/import_bench.sh, issue 14)"; echo; cat "$section"; } >>"$results"
  fi
  echo "== written to $results =="
fi
((failures == 0)) || exit 1
