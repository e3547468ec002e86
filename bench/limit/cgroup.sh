#!/usr/bin/env bash
# bench/limit/cgroup.sh — run one command in a fresh memory cgroup with a
# hard limit, the way a container runtime would, and report what happened.
#
# As a program:
#   bench/limit/cgroup.sh [--report FILE] [--timeout SECS] [--quiet] LIMIT -- CMD [ARG...]
# Sourced from bash (the demo and the tests reuse it this way):
#   source bench/limit/cgroup.sh
#   run_in_cgroup [--report FILE] [--timeout SECS] [--quiet] LIMIT -- CMD [ARG...]
#   echo "$CG_STATUS $CG_OOM_KILLS $CG_PEAK_BYTES $CG_WALL_S"
#
# LIMIT: bytes, optionally with a binary suffix KiB, MiB, GiB (or Ki, Mi, Gi).
#
# What it does: creates a child memory cgroup under the process's own one
# (cgroup v1: the "memory" hierarchy, memory.limit_in_bytes, and
# memory.memsw.limit_in_bytes set equal so swap cannot hide an OOM; cgroup v2:
# memory.max, memory.swap.max = 0, enabling "+memory" in the parent's
# cgroup.subtree_control if needed), starts CMD inside it (CMD's stdout and
# stderr pass through), waits, reads the cgroup's OOM-kill count and peak
# memory, removes the cgroup, and prints one line on stderr:
#   cgroup: v1 limit=268435456 status=137 oom_kills=1 peak=268435456 wall_s=1.234 verdict=oom-killed
# verdict: completed (status 0), oom-killed (killed by the cgroup's OOM
# killer), timeout (--timeout passed; the cgroup's processes were killed),
# failed (any other status).
# Peak memory: v1 memory.max_usage_in_bytes; v2 memory.peak where the kernel
# has it (5.19+), else the largest memory.current sampled every 20 ms.
# --report FILE also writes the same values as shell assignments
# (CG_VERSION= CG_LIMIT= CG_STATUS= CG_OOM_KILLS= CG_PEAK_BYTES= CG_WALL_S=
# CG_VERDICT=) so a caller can `source` them.
#
# Exit status (program) / return value (function): CMD's status (128+N if a
# signal N killed it: 137 = SIGKILL, the OOM killer's signal); 124 on
# timeout; 77 when no memory cgroup can be created here (not root, no
# memory controller, v2 without delegation) — CMD is then not run and the
# reason is printed on stderr; 2 on bad usage.
#
# Nothing here needs more than bash, coreutils and awk.

# Prints the reason to skip and returns 77.
cg__skip() {
    echo "cgroup.sh: SKIP: $*" >&2
    return 77
}

# Converts LIMIT (bytes with an optional binary suffix) to bytes on stdout.
cg__bytes() {
    local v=$1 n unit
    [[ $v =~ ^([0-9]+)(KiB|MiB|GiB|Ki|Mi|Gi|B)?$ ]] || return 1
    n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
    case $unit in
    KiB | Ki) n=$((n << 10)) ;;
    MiB | Mi) n=$((n << 20)) ;;
    GiB | Gi) n=$((n << 30)) ;;
    esac
    echo "$n"
}

# Finds the directory of this process's memory cgroup and the cgroup
# version: sets CG__VERSION and CG__OWN, or returns 77 with a reason.
# v1 is preferred when its memory hierarchy is mounted (hybrid hosts mount
# a v2 tree without the memory controller next to it).
cg__locate() {
    local rel root mnt
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
    read -r root mnt < <(awk '{for (i = 7; i <= NF; i++) if ($i == "-") break}
        $(i+1) == "cgroup" && $(i+3) ~ /(^|,)memory(,|$)/ {print $4, $5; exit}' /proc/self/mountinfo)
    if [[ -n $rel && -n ${mnt:-} ]]; then
        # The mount may show only a subtree (field 4): make the path relative to it.
        [[ $root != / && $rel == "$root"* ]] && rel=${rel#"$root"}
        CG__VERSION=1 CG__OWN=$mnt${rel%/}
        return 0
    fi
    rel=$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' /proc/self/cgroup)
    read -r root mnt < <(awk '{for (i = 7; i <= NF; i++) if ($i == "-") break}
        $(i+1) == "cgroup2" {print $4, $5; exit}' /proc/self/mountinfo)
    [[ -n $rel && -n ${mnt:-} ]] || { cg__skip "no memory cgroup (neither a v1 memory hierarchy nor cgroup v2) is mounted"; return; }
    [[ $root != / && $rel == "$root"* ]] && rel=${rel#"$root"}
    CG__VERSION=2 CG__OWN=$mnt${rel%/}
    grep -qw memory "$CG__OWN/cgroup.controllers" 2>/dev/null ||
        { cg__skip "cgroup v2: the memory controller is not available in $CG__OWN (not delegated to us)"; return; }
    if ! grep -qw memory "$CG__OWN/cgroup.subtree_control" 2>/dev/null; then
        echo +memory >"$CG__OWN/cgroup.subtree_control" 2>/dev/null ||
            { cg__skip "cgroup v2: cannot enable +memory in $CG__OWN/cgroup.subtree_control (a v2 cgroup with processes cannot have controlled children; run under a delegated scope, e.g. systemd-run --scope -p Delegate=yes)"; return; }
    fi
    return 0
}

# Kills every process left in cgroup $1 and removes it (retrying: the
# kernel may still be tearing the last task down).
cg__remove() {
    local cg=$1 i pid
    [[ -d $cg ]] || return 0
    for i in 1 2 3 4 5 6 7 8 9 10; do
        for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        rmdir "$cg" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "cgroup.sh: warning: could not remove $cg" >&2
}

# The function: see the header.
run_in_cgroup() {
    local report= timeout= quiet=0 limit cg flag status verdict oom peak t0 t1 pid watchdog= sampler= samples=
    while (($#)); do
        case $1 in
        --report) report=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        *) break ;;
        esac
    done
    if (($# < 3)) || [[ $2 != -- ]] || ! limit=$(cg__bytes "$1"); then
        echo "usage: run_in_cgroup [--report FILE] [--timeout SECS] [--quiet] LIMIT_BYTES -- CMD [ARG...]" >&2
        return 2
    fi
    shift 2
    [[ $(id -u) == 0 || -w /sys/fs/cgroup ]] || { cg__skip "not root: cannot create memory cgroups"; return; }
    cg__locate || return
    cg=$CG__OWN/cgc-limit.$$.$RANDOM
    mkdir "$cg" 2>/dev/null || { cg__skip "cannot create a child cgroup under $CG__OWN (read-only or not permitted)"; return; }
    if ((CG__VERSION == 1)); then
        # memsw (memory + swap) must be >= the memory limit, so set the
        # memory limit first.
        if ! echo "$limit" >"$cg/memory.limit_in_bytes" 2>/dev/null; then
            rmdir "$cg"; cg__skip "cannot write $cg/memory.limit_in_bytes"; return
        fi
        [[ -e $cg/memory.memsw.limit_in_bytes ]] && echo "$limit" >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null
    else
        if ! echo "$limit" >"$cg/memory.max" 2>/dev/null; then
            rmdir "$cg"; cg__skip "cannot write $cg/memory.max"; return
        fi
        [[ -e $cg/memory.swap.max ]] && echo 0 >"$cg/memory.swap.max" 2>/dev/null
        if [[ ! -e $cg/memory.peak ]]; then
            # No peak file: sample memory.current from outside the cgroup.
            samples=$(mktemp)
            (while [[ -d $cg ]]; do cat "$cg/memory.current" 2>/dev/null; sleep 0.02; done >"$samples") &
            sampler=$!
        fi
    fi

    t0=$EPOCHREALTIME
    # The child joins the cgroup before it becomes CMD, so everything CMD
    # allocates is charged to it.
    (echo "$BASHPID" >"$cg/cgroup.procs" || exit 126; exec "$@") &
    pid=$!
    if [[ -n $timeout ]]; then
        flag=$(mktemp -u "${TMPDIR:-/tmp}/cgroup-timeout.XXXXXX")
        (trap 'kill "$sp" 2>/dev/null; exit 0' TERM
         sleep "$timeout" & sp=$!
         wait "$sp" || exit 0
         touch "$flag"
         for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done) &
        watchdog=$!
    fi
    # (braces: keep bash's "Killed" job notice off the caller's stderr)
    { wait "$pid"; } 2>/dev/null
    status=$?
    t1=$EPOCHREALTIME
    [[ -n $watchdog ]] && { kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null; }

    if ((CG__VERSION == 1)); then
        oom=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.oom_control" 2>/dev/null)
        peak=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null)
    else
        oom=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events" 2>/dev/null)
        peak=$(cat "$cg/memory.peak" 2>/dev/null)
    fi
    verdict=failed
    ((status == 0)) && verdict=completed
    ((${oom:-0} > 0 && status == 137)) && verdict=oom-killed
    if [[ -n $flag && -e $flag ]]; then
        verdict=timeout status=124
        rm -f "$flag"
    fi
    cg__remove "$cg"
    if [[ -n $sampler ]]; then
        wait "$sampler" 2>/dev/null
        peak=$(sort -n "$samples" | tail -1)
        rm -f "$samples"
    fi

    CG_VERSION=$CG__VERSION CG_LIMIT=$limit CG_STATUS=$status CG_OOM_KILLS=${oom:-0}
    CG_PEAK_BYTES=${peak:-0} CG_VERDICT=$verdict
    CG_WALL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    ((quiet)) || printf 'cgroup: v%s limit=%s status=%s oom_kills=%s peak=%s wall_s=%s verdict=%s\n' \
        "$CG_VERSION" "$CG_LIMIT" "$CG_STATUS" "$CG_OOM_KILLS" "$CG_PEAK_BYTES" "$CG_WALL_S" "$CG_VERDICT" >&2
    if [[ -n $report ]]; then
        printf 'CG_VERSION=%s\nCG_LIMIT=%s\nCG_STATUS=%s\nCG_OOM_KILLS=%s\nCG_PEAK_BYTES=%s\nCG_WALL_S=%s\nCG_VERDICT=%s\n' \
            "$CG_VERSION" "$CG_LIMIT" "$CG_STATUS" "$CG_OOM_KILLS" "$CG_PEAK_BYTES" "$CG_WALL_S" "$CG_VERDICT" >"$report"
    fi
    return "$status"
}

# Run as a program (not sourced): one command.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    run_in_cgroup "$@"
    exit $?
fi
