#!/usr/bin/env bash
# cgroup_case.sh CASE CHURN — one real-cgroup soft-limit test (issue 4).
#
# A churn workload whose live heap is 60% of a 128 MiB memory cgroup runs
# under one configuration and must end as the case says:
#   off      CGC_MEMLIMIT=off (Go's default):          OOM-killed
#   soft90   CGC_MEMLIMIT = 90% of the cgroup limit:   completes, no OOM, peak < limit
#   gcoff    CGC_GC=off, CGC_MEMLIMIT = cgroup limit:  completes, no OOM, peak <= limit
#   default  CGC_MEMLIMIT unset (container-aware):     completes, no OOM, peak < limit
# Exit 0 pass, 1 fail, 77 skip (no writable memory cgroup here).
set -uo pipefail
case_=$1 churn=$2
here=$(cd "$(dirname "$0")" && pwd)
limit=$((128 << 20))
live_mib=77            # 60% of 128 MiB
alloc_mib=1500
case $case_ in
  off)     envs=(CGC_MEMLIMIT=off) ;;
  soft90)  envs=(CGC_MEMLIMIT=$((limit / 10 * 9))) ;;
  gcoff)   envs=(CGC_GC=off CGC_MEMLIMIT=$limit) ;;
  default) envs=() ;;
  *) echo "unknown case $case_" >&2; exit 2 ;;
esac
out=$("$here/cgroup_run.sh" "$limit" -- env -u CGC_MEMLIMIT -u CGC_GC "${envs[@]}" "$churn" "$live_mib" "$alloc_mib" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 77 ] && exit 77
[ $rc -ne 0 ] && { echo "FAIL: cgroup_run failed ($rc)"; exit 1; }
line=$(grep '^CGROUP ' <<<"$out")
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
exit_=$(get exit) oom=$(get oom_kills) peak=$(get peak)
if [ "$case_" = off ]; then
  if [ "$exit_" = 137 ] || [ "${oom:-0}" -gt 0 ]; then
    echo "PASS: without a soft limit the workload was OOM-killed (exit $exit_, oom_kills $oom)"; exit 0
  fi
  echo "FAIL: expected an OOM kill without a soft limit (exit $exit_, oom_kills $oom)"; exit 1
fi
grep -q '^RESULT .*corrupt=0' <<<"$out" || { echo "FAIL: the workload did not complete cleanly (exit $exit_)"; exit 1; }
[ "$exit_" = 0 ] && [ "${oom:-0}" = 0 ] || { echo "FAIL: exit $exit_, oom_kills $oom"; exit 1; }
[ "$peak" -le "$limit" ] || { echo "FAIL: peak $peak over the limit $limit"; exit 1; }
echo "PASS: completed with no OOM kill, peak $((peak >> 20)) MiB of $((limit >> 20)) MiB"
