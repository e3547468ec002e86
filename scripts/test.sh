#!/usr/bin/env bash
# Builds cgc three times and runs the tests: the whole suite on the Release
# build; on the Debug build, with heap invariant checks after every
# collection (-DCGC_DEBUG=ON), the unit, stress, simulation and
# configuration tests (`test_*`: the end-to-end demo, HTTP, benchmark and
# cgroup tests measure time and memory, which an -O0 build with invariant
# checks distorts); and the same `test_*` on that Debug build with
# AddressSanitizer and UBSan (-DCGC_SANITIZE=address,undefined; a finding
# fails the test; the runtime options come from CTest, docs/DEVELOPING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
status=0
for cfg in release debug sanitize; do
  dir=build-ci-$cfg
  case $cfg in
    release) opts=(-DCMAKE_BUILD_TYPE=Release) ;;
    debug) opts=(-DCMAKE_BUILD_TYPE=Debug -DCGC_DEBUG=ON) ;;
    sanitize) opts=(-DCMAKE_BUILD_TYPE=Debug -DCGC_DEBUG=ON -DCGC_SANITIZE=address,undefined) ;;
  esac
  echo "== $cfg build =="
  cmake -S . -B "$dir" "${opts[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $cfg tests =="
  if [ $cfg = release ]; then
    # Everything, including demo_quick (the demo's headline under a real
    # cgroup) and limit_death_spiral.
    ctest --test-dir "$dir" --output-on-failure -j1 || status=1
  else
    ctest --test-dir "$dir" --output-on-failure -j1 -R '^test_' || status=1
  fi
done
exit $status
