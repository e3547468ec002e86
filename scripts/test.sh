#!/usr/bin/env bash
# Builds cgc twice — Release, and Debug with heap invariant checks after
# every collection (-DCGC_DEBUG=ON) — and runs the whole test suite on both.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
status=0
for cfg in release debug; do
  dir=build-ci-$cfg
  if [ $cfg = release ]; then opts=(-DCMAKE_BUILD_TYPE=Release); else opts=(-DCMAKE_BUILD_TYPE=Debug -DCGC_DEBUG=ON); fi
  echo "== $cfg build =="
  cmake -S . -B "$dir" "${opts[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $cfg tests =="
  ctest --test-dir "$dir" --output-on-failure -j1 || status=1
done
exit $status
