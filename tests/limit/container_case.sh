#!/usr/bin/env bash
# container_case.sh CASE PROG CGROUP_SH — the container's bounds in a real
# memory cgroup of 160 MiB (tests/limit/test_limit_container.c says what
# each case checks):
#   smallstack    CGC_MEMLIMIT unset (90% of the cgroup), threads with 64 KiB stacks
#   resize90      CGC_GC=off CGC_MEMLIMIT=90%: resized 160 -> 320 -> 160 MiB
#   resizebytes   CGC_GC=off CGC_MEMLIMIT=1GiB (above the cgroup): the same
#   off           CGC_MEMLIMIT=off: no soft limit, no hard-limit guard
# Exit status: 0 pass, 1 fail, 77 skip (no writable memory cgroup here).
set -uo pipefail
case_=$1 prog=$2 cgroup_sh=$3
# shellcheck source=../../bench/limit/cgroup.sh
source "$cgroup_sh"

env_=(env -u CGC_MEMLIMIT -u CGC_GC -u CGC_DEBUG)
mode=$case_
case $case_ in
smallstack) ;;
resize90) env_+=(CGC_GC=off CGC_MEMLIMIT=90% CGC_DEBUG=gctrace=1) mode=resize ;;
resizebytes) env_+=(CGC_GC=off CGC_MEMLIMIT=1GiB CGC_DEBUG=gctrace=1) mode=resize ;;
off) env_+=(CGC_MEMLIMIT=off) ;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run_in_cgroup --timeout 100 160MiB -- "${env_[@]}" "$prog" "$mode" >"$out" 2> >(grep -v '^gc ' >&2)
rc=$?
((rc == 77)) && exit 77
cat "$out"
echo "case $case_: status $CG_STATUS, verdict $CG_VERDICT, OOM kills $CG_OOM_KILLS, cgroup peak $((CG_PEAK_BYTES >> 20)) MiB"
((CG_STATUS == 0 && CG_OOM_KILLS == 0)) && grep -q '^[0-9]* passed, 0 failed$' "$out"
