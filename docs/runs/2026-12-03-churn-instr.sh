#!/usr/bin/env bash
# The instrumented experiments behind docs/concurrent.md "Where churn's wall time goes".
# Build: git checkout 228188f && git apply docs/runs/2026-12-03-churn-instr.patch; cmake Release; make churn-cgc
# Each line: knobs, then the RESULT fields, then per-cycle means over cycles 5.. (steady state).
b=${1:-./bench/churn-cgc}   # the instrumented build's
one() {
  env -i PATH=$PATH "$@" CGC_DBGE=1 CGC_MEMLIMIT=off CGC_DEBUG=gcconcurrent=1 /usr/bin/time -f "minflt=%R" $b 19 10000000 >/tmp/e.$$ 2>&1
  printf '%-28s ' "${*:-default}"
  grep RESULT /tmp/e.$$ | grep -o " wall_s=[0-9.]*\| gcs=[0-9]*\| pause_p99_ms=[0-9.]*\| gap_max_ms=[0-9.]*\|assist_ms=[0-9.]*" | tr '\n' ' '
  grep -o "minflt=[0-9]*" /tmp/e.$$ | tr '\n' ' '
  awk '/^eff/ {n++; if (n<5) next; m++; mb+=$6; mc+=$9; ab+=$15; ac+=$18} /^assist wait/ {w++; if (w<5) next; wt+=$3; dr+=$10}
       END {printf "| per cycle: marker %.1f MB in %.1f ms (%.2f GB/s), assists %.1f MB in %.1f ms (%.2f GB/s; drain %.1f ms, waits %.1f ms)\n", mb/m, mc/m, mb/mc, ab/m, ac/m, ab/ac, dr/m, wt/m}' /tmp/e.$$
  rm -f /tmp/e.$$
}
for r in 1 2 3; do
  one
  one X_EXT=15
  one X_EXT=30
  one X_EXT=50
  one X_ANS=300000 X_AMIN=262144
  one X_ANS=1000000 X_AMIN=1048576
done
