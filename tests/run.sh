#!/usr/bin/env bash
# ferry's whole test suite on a fresh Debian 12 machine: installs what is missing, builds, runs
# the unit tests under ASan+UBSan and the integration tests (real redis-server processes) against
# a Release build, and prints ctest's summaries. Exit code 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake/install-deps.sh
jobs=$(nproc)

redis_pids() { pgrep -x redis-server | sort || true; }
before=$(redis_pids)

echo "== unit tests (Debug, ASan+UBSan) =="
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON -DFERRY_WERROR=ON \
  -DFERRY_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan --target ferry_unit_tests -j "$jobs"
status=0
ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs" || status=1

echo "== integration tests and micro benchmarks (Release) =="
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release -LE unit --output-on-failure -j "$jobs" --timeout 900 || status=1

leaked=$(comm -13 <(echo "$before") <(redis_pids) | tr '\n' ' ')
if [[ -n "${leaked// /}" ]]; then
  echo "FAIL: redis-server processes outlived the tests: $leaked"
  status=1
fi
if ((status == 0)); then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
