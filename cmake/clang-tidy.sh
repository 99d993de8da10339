#!/usr/bin/env bash
# clang-tidy over ferry's own code (protocol/, engine/, cli/) with the checks in .clang-tidy.
# Usage: cmake/clang-tidy.sh [build-dir]   (a configured tree with compile_commands.json;
# default build/release). Prints every finding; exit code 1 when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[[ -f $build/compile_commands.json ]] || { echo "no $build/compile_commands.json: configure first"; exit 2; }
files=$(git ls-files 'protocol/*.cpp' 'engine/*.cpp' 'cli/*.cpp')
out=$(run-clang-tidy -quiet -p "$build" -j "$(nproc)" \
        -extra-arg=-Wno-unknown-warning-option $files 2>/dev/null |
      grep -E '^(/|[a-z]).*(warning|error):' | sort -u || true)
if [[ -n $out ]]; then
  echo "$out"
  echo "clang-tidy: $(echo "$out" | wc -l) finding(s)"
  exit 1
fi
echo "clang-tidy: no findings in $(echo "$files" | wc -w) files"
