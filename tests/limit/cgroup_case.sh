#!/usr/bin/env bash
# cgroup_case.sh CASE CHURN CGROUP_SH — one real-cgroup test of the soft
# limit (issue 4): the churn workload (bench/limit/churn.c on cgc) with a
# live heap of 60% of a 128 MiB memory cgroup, 768 MiB allocated.
#
#   oom_off  CGC_MEMLIMIT=off (Go's default): the heap grows to twice the live
#            heap, past the cgroup limit: OOM-killed (status 137, the
#            cgroup's oom_kill counter > 0).
#   soft90   CGC_MEMLIMIT = 90% of the cgroup limit, in bytes: completes,
#            no OOM kill, the cgroup's peak under its limit.
#   gcoff    CGC_GC=off CGC_MEMLIMIT = the cgroup limit: collects only when
#            the limit requires it; completes, no OOM kill.
#   default  CGC_MEMLIMIT unset: the container-aware default (90% of the
#            cgroup limit) is chosen, reported in mem_limit; completes, no
#            OOM kill.
# Exit status: 0 pass, 1 fail, 77 skip (no writable memory cgroup here).
set -uo pipefail
case_=$1 churn=$2 cgroup_sh=$3
# shellcheck source=../../bench/limit/cgroup.sh
source "$cgroup_sh"
# On a cgroup v2 host run by systemd: again, in a delegated scope.
cg_reexec_in_scope "$0" "$@"

LIMIT=$((128 << 20))
LIVE_MIB=$((128 * 60 / 100))
ALLOC_MIB=768
fail=0
check() { # check COND_STATUS MESSAGE
    if (($1)); then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
env_=(env -u CGC_MEMLIMIT -u CGC_GC -u CGC_DEBUG -u GOGC -u GOMEMLIMIT)
case $case_ in
oom_off) env_+=(CGC_MEMLIMIT=off) ;;
soft90) env_+=(CGC_MEMLIMIT=$((LIMIT * 9 / 10))) ;;
gcoff) env_+=(CGC_GC=off CGC_MEMLIMIT=$LIMIT) ;;
default) ;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac

run_in_cgroup --timeout 60 "$LIMIT" -- "${env_[@]}" "$churn" --live-mib "$LIVE_MIB" --alloc-mib "$ALLOC_MIB" >"$out"
rc=$?
((rc == 77)) && exit 77
cat "$out"
result=$(grep '^RESULT ' "$out")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
echo "case $case_: limit $((LIMIT >> 20)) MiB, live $LIVE_MIB MiB: status $CG_STATUS, verdict $CG_VERDICT," \
     "OOM kills $CG_OOM_KILLS, cgroup peak $((CG_PEAK_BYTES >> 20)) MiB, $CG_WALL_S s"

if [[ $case_ == oom_off ]]; then
    check "CG_STATUS == 137" "killed by SIGKILL (status $CG_STATUS)"
    # Kernels before 4.13 have no oom_kill counter (v1 memory.oom_control,
    # v2 memory.events): there the status alone tells.
    counter=1
    [[ $CG_VERSION == 1 ]] && ! grep -q '^oom_kill ' "$CG__OWN/memory.oom_control" 2>/dev/null && counter=0
    [[ $CG_VERSION == 2 ]] && ! grep -q '^oom_kill ' "$CG__OWN/memory.events" 2>/dev/null && counter=0
    ((counter)) && check "CG_OOM_KILLS > 0" "the cgroup's oom_kill counter is $CG_OOM_KILLS"
    check "${#result} == 0" "no RESULT line: it did not complete"
else
    check "CG_STATUS == 0" "completed (status $CG_STATUS, $CG_VERDICT)"
    check "CG_OOM_KILLS == 0" "no OOM kill (oom_kill $CG_OOM_KILLS)"
    check "CG_PEAK_BYTES < LIMIT" "cgroup peak $CG_PEAK_BYTES < limit $LIMIT"
    check "${#result} > 0" "printed its RESULT line"
    if [[ -n $result ]]; then
        check "$(field checks) > 0" "verified $(field checks) items"
        want=$LIMIT
        [[ $case_ == soft90 || $case_ == default ]] && want=$((LIMIT * 9 / 10))
        got=$(field mem_limit)
        # The default is computed from the cgroup's limit: allow a page of rounding.
        check "${got:-0} >= want - 4096 && ${got:-0} <= want + 4096" "mem_limit $got is $want"
    fi
fi
exit $fail
