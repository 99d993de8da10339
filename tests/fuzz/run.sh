#!/usr/bin/env bash
# Runs ferry's libFuzzer targets (built by a FERRY_FUZZ=ON tree, see cmake/FerryFuzz.cmake) one
# after another and fails on the first finding.
#
#   tests/fuzz/run.sh BUILD_DIR --time SECONDS [NAME...]   each target for SECONDS (the suite: 45)
#   tests/fuzz/run.sh BUILD_DIR --runs COUNT [NAME...]     each target for COUNT executions
#                                                          (the long run: 10000000)
#
# NAME is a target's name without "fuzz_" (resp_reader, endpoint, ...); default: all. Each run
# starts from the committed seeds (tests/fuzz/corpus/NAME) plus what earlier runs found
# (BUILD_DIR/fuzz-corpus/NAME, where new inputs go); a crashing input is written to
# BUILD_DIR/fuzz-findings/NAME/ and the script exits 1. Runs under `nice -n 19`: the machine is
# shared. Prints one line per target: executions, exec/s, corpus size.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if (($# < 3)); then
  sed -n '2,13p' "$0" >&2
  exit 64
fi
build=$1
mode=$2
amount=$3
shift 3
case "$mode" in
  --time) limit=(-max_total_time="$amount") ;;
  --runs) limit=(-runs="$amount") ;;
  *) echo "fuzz/run.sh: expected --time SECONDS or --runs COUNT, got '$mode'" >&2; exit 64 ;;
esac

names=("$@")
if ((${#names[@]} == 0)); then
  for exe in "$build"/tests/fuzz_*; do
    [[ -x "$exe" ]] && names+=("$(basename "$exe" | sed 's/^fuzz_//')")
  done
fi
if ((${#names[@]} == 0)); then
  echo "fuzz/run.sh: no fuzz_* executables under $build/tests (build the ferry_fuzzers target)" >&2
  exit 1
fi

# A finding must stop the run: ASan and UBSan abort, leaks count.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for name in "${names[@]}"; do
  exe="$build/tests/fuzz_$name"
  seeds="$here/corpus/$name"
  corpus="$build/fuzz-corpus/$name"
  findings="$build/fuzz-findings/$name"
  log="$build/fuzz-logs/$name${mode/--/.}-$amount.log"  # apart per mode: runs may overlap
  mkdir -p "$corpus" "$findings" "$build/fuzz-logs"
  # -timeout: generous, since a process at nice 19 on a busy machine can wait seconds for a core.
  args=("${limit[@]}" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$findings/")
  [[ -f "$here/$name.dict" ]] && args+=(-dict="$here/$name.dict")
  [[ -d "$seeds" ]] || seeds=()
  start=$(date +%s)
  if nice -n 19 "$exe" "${args[@]}" "$corpus" ${seeds:+"$seeds"} >"$log" 2>&1; then
    result=ok
  else
    result="FINDING (log $log; inputs in $findings)"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf 'fuzz %-14s %s: %s executions in %ss, %s exec/s, corpus %s files\n' "$name" "$result" \
    "${runs:-?}" "$(($(date +%s) - start))" "${rate:-?}" "$(ls "$corpus" | wc -l)"
  if [[ $result != ok ]]; then
    grep -m1 -E "ERROR: |runtime error:|_fuzz: " "$log" || tail -5 "$log"
  fi
done
exit "$status"
