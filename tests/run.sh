#!/usr/bin/env bash
# ferry's whole test suite on a fresh Debian 12 machine: installs what is missing, builds, and runs
#   1. the unit tests and the integration tests (real redis-server processes) under ASan+UBSan
#      (Debug, build/asan: the `ferry` binary the integration tests start is instrumented too,
#      and a sanitizer report in its stderr fails the test that ran it);
#   2. the integration tests that measure ferry's time, rate or memory, and a short run of each
#      micro benchmark, against a Release build (build/release, warnings as errors): the
#      sanitizers make ferry several times slower and its RSS meaningless;
#   3. the fault-injection suite's default run (tests/faults, label `faults`: 14 seeded runs of
#      ferry against servers that are killed, restarted, paused, flushed; Release build);
#   4. a short run of every libFuzzer target (clang 16, build/fuzz), failing on any finding.
# It prints ctest's summaries and the time of each step. Exit code 0 only when everything passed.
#
# FERRY_FUZZ_SECONDS (default 15) is each fuzz target's run; 0 skips fuzzing. FERRY_TEST_SERVERS
# points the cross-version tests at builds of other Redis/Valkey versions (README, "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."

cmake/install-deps.sh fuzz
jobs=$(nproc)
fuzz_seconds=${FERRY_FUZZ_SECONDS:-15}

# Every integration test runs under the sanitizers except `release_only`, races that the
# instrumented Debug build (ferry and the test process) loses on a loaded 2-core machine: two
# signal ferry at fixed moments (SIGKILL at 1.2 s, SIGTERM at 1 s) and expect a checkpoint, or
# ferry's signal handler, by then (a fix would wait for the state file instead); one moves 500
# slots while a rate-limited ferry scans and expects every one of them to move before the scan
# ends (the copy stays exact; only the warning's slot list is shorter). `measures` are the tests
# that assert on ferry's peak RSS (meaningless under ASan, whose allocator keeps freed memory),
# its rate or its wall-clock time. Both sets run against the Release build.
release_only='^(long_job_test\.(sigkill_at_several_points|sigterm_drains)|reshard_test\.slots_moved_both_ways)'
measures='^(verify_scale\.|copy_limits_test\.|long_job_test\.max_keys_per_sec|import_struct_test\.big_values)'

# pgrep matches names of at most 15 characters: one call per server name, not one pattern.
server_pids() { { pgrep -x redis-server; pgrep -x valkey-server; } | sort || true; }
before=$(server_pids)
status=0
step_start=$SECONDS
step_done() { echo "-- $1: $((SECONDS - step_start)) s"; step_start=$SECONDS; }

echo "== unit and integration tests (Debug, ASan+UBSan) =="
# Unity builds (FERRY_UNITY_BUILD: each target's sources compiled in batches of 8) keep the three
# trees within the suite's 30 minutes on 2 cores.
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON -DFERRY_WERROR=ON \
  -DFERRY_BUILD_BENCH=OFF -DFERRY_UNITY_BUILD=ON >/dev/null
cmake --build build/asan -j "$jobs"
step_done "sanitizer build"
# Leaks and undefined behaviour are failures, not warnings (UBSan also aborts by its
# -fno-sanitize-recover build flag).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs" || status=1
step_done "unit tests"
ctest --test-dir build/asan -L integration -LE packaging -E "$release_only" --output-on-failure \
  -j "$jobs" --timeout 900 || status=1
step_done "integration tests under the sanitizers"
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== measuring integration tests and micro benchmarks (Release) =="
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON -DFERRY_UNITY_BUILD=ON \
  >/dev/null
# ferry and its libraries, the benchmarks and lab tools, and the test programs of the tests run
# here (the other test programs were built and run in the sanitizer tree): a third build of
# everything would not fit the suite's 30 minutes on 2 cores.
mapfile -t bench_targets < <(cmake --build build/release --target help |
  sed -n 's/^\.\.\. \(bench_[a-z0-9_]*\|lab_[a-z0-9_]*\)$/\1/p')
cmake --build build/release -j "$jobs" --target ferry integration_verify_scale_test \
  integration_copy_limits_test integration_long_job_test integration_reshard_test \
  integration_import_struct_test \
  integration_packaging_deb_test integration_deploy_container_test faults_test \
  "${bench_targets[@]}"
step_done "release build"
ctest --test-dir build/release -L integration -R "$release_only|$measures" --output-on-failure \
  -j "$jobs" --timeout 900 || status=1
# The .deb is built from and installs the Release binary, as users get it.
ctest --test-dir build/release -L packaging --output-on-failure -j "$jobs" --timeout 900 ||
  status=1
ctest --test-dir build/release -L bench --output-on-failure -j "$jobs" || status=1
step_done "release tests"

echo "== fault-injection suite (default run: FERRY_FAULT_RUNS=14 from seed 1) =="
ctest --test-dir build/release -L faults --output-on-failure --timeout 1800 || status=1
step_done "fault suite"

if ((fuzz_seconds > 0)); then
  echo "== fuzzing (libFuzzer, ASan+UBSan, ${fuzz_seconds} s per target) =="
  cmake -S . -B build/fuzz -DFERRY_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-16 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_BUILD_BENCH=OFF >/dev/null
  cmake --build build/fuzz --target ferry_fuzzers -j "$jobs"
  step_done "fuzz build"
  tests/fuzz/run.sh build/fuzz --time "$fuzz_seconds" || status=1
  step_done "fuzzing"
fi

leaked=$(comm -13 <(echo "$before") <(server_pids) | tr '\n' ' ')
if [[ -n "${leaked// /}" ]]; then
  echo "FAIL: server processes outlived the tests: $leaked"
  status=1
fi
echo "-- total: ${SECONDS} s"
if ((status == 0)); then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
