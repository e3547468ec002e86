#!/usr/bin/env bash
# bench/limit/cgroup.sh — run one command in a fresh memory cgroup with a
# hard limit, the way a container runtime would, and report what happened.
#
# As a program:
#   bench/limit/cgroup.sh [--report FILE] [--timeout SECS] [--dir-file FILE] [--quiet] LIMIT -- CMD [ARG...]
#   bench/limit/cgroup.sh --set-limit LIMIT [DIR]      (cg_set_limit, below)
# Sourced from bash (the demo and the tests reuse it this way):
#   source bench/limit/cgroup.sh
#   run_in_cgroup [--report FILE] [--timeout SECS] [--dir-file FILE] [--quiet] LIMIT -- CMD [ARG...]
#   echo "$CG_STATUS $CG_OOM_KILLS $CG_PEAK_BYTES $CG_WALL_S"
#
# LIMIT: bytes, optionally with a binary suffix KiB, MiB, GiB (or Ki, Mi, Gi).
#
# What it does: creates a child memory cgroup under the process's own one
# (cgroup v1: the "memory" hierarchy, memory.limit_in_bytes, and
# memory.memsw.limit_in_bytes set equal so swap cannot hide an OOM; cgroup v2:
# memory.max, memory.swap.max = 0), starts CMD inside it (CMD's stdout and
# stderr pass through), waits, reads the cgroup's OOM-kill count and peak
# memory, removes the cgroup, and prints one line on stderr:
#   cgroup: v1 limit=268435456 status=137 oom_kills=1 peak=268435456 wall_s=1.234 verdict=oom-killed
# verdict: completed (status 0), oom-killed (killed by the cgroup's OOM
# killer), timeout (--timeout passed; the cgroup's processes were killed),
# failed (any other status).
# cgroup v2 allows a controller for a cgroup's children only if the cgroup
# itself holds no process; the caller's own cgroup always holds one (the
# caller). So on v2 the processes of that cgroup are moved into a leaf,
# cgc-harness, and "+memory" is enabled in it, as container runtimes do
# (cg__v2_enable); run cgroups are created next to cgc-harness. This needs
# the memory controller delegated to the caller's cgroup (root in a
# container or VM; systemd: a unit with Delegate=yes, which a script gets
# by calling cg_reexec_in_scope "$0" "$@" first, as demo/run.sh and the
# limit_cgroup_* tests do).
# Peak memory: v1 memory.max_usage_in_bytes; v2 memory.peak where the kernel
# has it (5.19+), else the largest memory.current sampled every 20 ms.
# --report FILE also writes the same values as shell assignments
# (CG_VERSION= CG_LIMIT= CG_STATUS= CG_OOM_KILLS= CG_PEAK_BYTES= CG_WALL_S=
# CG_VERDICT=) so a caller can `source` them.
# While CMD runs, CG_RUN_DIR is the run's cgroup (in the function's shell
# and in CMD's environment); --dir-file FILE also writes it to FILE as soon
# as the cgroup exists, for another process. cg_set_limit BYTES [DIR]
# changes the limit of the run in progress (e.g. a test that shrinks a
# container under a running program).
#
# Exit status (program) / return value (function): CMD's status (128+N if a
# signal N killed it: 137 = SIGKILL, the OOM killer's signal); 124 on
# timeout; 77 when no memory cgroup can be created here (not root, no
# memory controller, v2 without delegation) — CMD is then not run and one
# line "cgroup.sh: SKIP: <reason>" is printed on stderr; 2 on bad usage.
#
# CG_ROOT (for tests): a directory prefixed to /proc/self/cgroup,
# /proc/self/mountinfo and the mount points, so that a tree of plain files
# stands for the machine (tests/limit/cgroup_sh.sh).
#
# Nothing here needs more than bash, coreutils and awk.

CG_ROOT=${CG_ROOT:-}
CG_RUN_DIR=${CG_RUN_DIR:-}

# Prints the reason to skip and returns 77.
cg__skip() {
    echo "cgroup.sh: SKIP: $*" >&2
    return 77
}

# The only three operations that change the cgroup tree. The fixture test
# (tests/limit/cgroup_sh.sh) redefines them, after sourcing this file, to
# emulate the kernel's rules on a tree of plain files under CG_ROOT.
cg__write() { # cg__write FILE VALUE
    printf '%s\n' "$2" 2>/dev/null >"$1"
}
cg__mkdir() { mkdir "$1" 2>/dev/null; }
cg__rmdir() { rmdir "$1" 2>/dev/null; }

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

# Prints "ROOT MOUNTPOINT" of the first mount of file-system type $1 whose
# super options match the regex $2 (mountinfo's "\040" etc. decoded).
cg__mount() {
    awk -v fs="$1" -v opt="$2" '
        function unescape(s,   out, i) {
            out = ""
            while ((i = index(s, "\\")) > 0) {
                out = out substr(s, 1, i - 1) sprintf("%c", (substr(s, i + 1, 1) * 64) + (substr(s, i + 2, 1) * 8) + substr(s, i + 3, 1))
                s = substr(s, i + 4)
            }
            return out s
        }
        {for (i = 7; i <= NF; i++) if ($i == "-") break}
        $(i+1) == fs && $(i+3) ~ opt {print unescape($4) "\t" unescape($5); exit}' "$CG_ROOT/proc/self/mountinfo"
}

# Finds this process's cgroup and where run cgroups go: sets CG__VERSION
# and CG__OWN (the cgroup run cgroups are created under), or returns 77
# with a reason. v1 is preferred when its memory hierarchy is mounted
# (hybrid hosts mount a v2 tree without the memory controller next to it).
# CG_ROOT (default empty) is prefixed to /proc/self/cgroup,
# /proc/self/mountinfo and every mount point: a fixture tree stands for
# the machine.
cg__locate() {
    local rel root mnt
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' "$CG_ROOT/proc/self/cgroup" 2>/dev/null)
    IFS=$'\t' read -r root mnt < <(cg__mount cgroup '(^|,)memory(,|$)')
    if [[ -n $rel && -n ${mnt:-} ]]; then
        # The mount may show only a subtree (field 4): make the path relative to it.
        [[ $root != / && $rel == "$root"* ]] && rel=${rel#"$root"}
        CG__VERSION=1 CG__OWN=$CG_ROOT$mnt${rel%/}
        return 0
    fi
    rel=$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' "$CG_ROOT/proc/self/cgroup" 2>/dev/null)
    IFS=$'\t' read -r root mnt < <(cg__mount cgroup2 '')
    [[ -n $rel && -n ${mnt:-} ]] || { cg__skip "no memory cgroup (neither a v1 memory hierarchy nor cgroup v2) is mounted"; return; }
    [[ $root != / && $rel == "$root"* ]] && rel=${rel#"$root"}
    CG__VERSION=2 CG__OWN=$CG_ROOT$mnt${rel%/}
    # A process started after an earlier run moved the harness into its
    # leaf (cg__v2_enable) finds itself there: run cgroups go next to it.
    [[ ${CG__OWN##*/} == "$CG_HARNESS_LEAF" ]] && CG__OWN=${CG__OWN%/*}
    cg__v2_enable "$CG__OWN" memory
}

# Name of the leaf cgroup v2 needs for the harness (below).
CG_HARNESS_LEAF=cgc-harness

# cg__v2_enable DIR CONTROLLER: makes CONTROLLER available to new children
# of the v2 cgroup DIR, or returns 77 with the reason.
# v2's rule "no internal processes": a cgroup (other than the root) that
# holds processes cannot enable a controller for its children. A container
# runtime meets it by moving its processes into a leaf; so does this: every
# process in DIR (this harness, and whatever started it there: the shell,
# ctest) moves into DIR/cgc-harness, then DIR enables CONTROLLER. The
# processes stay in the leaf afterwards (moving them back would need the
# controller off again); a later run finds DIR ready.
# CONTROLLER must be in DIR's cgroup.controllers: whoever owns the parent
# must have delegated it (systemd: a unit with Delegate=yes).
cg__v2_enable() {
    local dir=$1 ctl=$2 leaf=$1/$CG_HARNESS_LEAF pid
    grep -qw "$ctl" "$dir/cgroup.controllers" 2>/dev/null ||
        { cg__skip "cgroup v2: the $ctl controller is not delegated to $dir (its cgroup.controllers: '$(cat "$dir/cgroup.controllers" 2>/dev/null)'); run as root in a container, or under systemd-run --scope -p Delegate=yes"; return; }
    grep -qw "$ctl" "$dir/cgroup.subtree_control" 2>/dev/null && return 0
    cg__write "$dir/cgroup.subtree_control" "+$ctl" && return 0
    if [[ ! -d $leaf ]]; then
        cg__mkdir "$leaf" || { cg__skip "cgroup v2: cannot create $leaf for the harness (not root?)"; return; }
    fi
    for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do
        cg__write "$leaf/cgroup.procs" "$pid" || echo "cgroup.sh: note: could not move process $pid into $leaf" >&2
    done
    cg__write "$dir/cgroup.subtree_control" "+$ctl" ||
        { cg__skip "cgroup v2: cannot enable +$ctl in $dir/cgroup.subtree_control even with its processes moved into $leaf (processes left: $(cat "$dir/cgroup.procs" 2>/dev/null | tr '\n' ' '))"; return; }
    echo "cgroup.sh: cgroup v2: moved the processes of $dir into $CG_HARNESS_LEAF and enabled +$ctl there" >&2
    return 0
}

# cg_reexec_in_scope SCRIPT [ARG...]: on a cgroup v2 host whose init is
# systemd, re-runs `bash SCRIPT ARG...` in a transient scope with
# Delegate=yes (systemd-run --scope), once (CGC_IN_SCOPE marks the second
# run), and does not return. A unit without Delegate=yes is systemd's to
# manage: moving its processes into a leaf of our own (cg__v2_enable) would
# work but goes behind systemd's back; in a delegated scope the same steps
# are the documented way. Returns 0 (the caller goes on where it is) when
# any of that does not apply: v1, no systemd, systemd-run missing or
# refusing (checked first with `true`).
cg_reexec_in_scope() {
    [[ -z ${CGC_IN_SCOPE:-} && -d $CG_ROOT/run/systemd/system ]] || return 0
    # v2 only: a v1 memory hierarchy needs none of this.
    grep -qE '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "$CG_ROOT/proc/self/cgroup" 2>/dev/null && return 0
    grep -q '^0::' "$CG_ROOT/proc/self/cgroup" 2>/dev/null || return 0
    command -v systemd-run >/dev/null || return 0
    systemd-run --quiet --scope -p Delegate=yes true >/dev/null 2>&1 || return 0
    echo "cgroup.sh: cgroup v2 under systemd: running again in a transient scope with Delegate=yes" >&2
    CGC_IN_SCOPE=1 exec systemd-run --quiet --scope -p Delegate=yes -- bash "$@"
}

# cg_prepare: finds and readies the cgroup under which run cgroups are made
# (CG__VERSION, CG__OWN), or returns 77 with one line saying why. For
# callers that manage their own cgroups (demo/run.sh).
cg_prepare() { cg__locate; }

# cg_set_limit BYTES [DIR]: sets the hard limit of cgroup DIR (default:
# CG_RUN_DIR, the cgroup of the run in progress; CMD inherits CG_RUN_DIR
# in its environment, and --dir-file FILE tells it to another process) and
# keeps swap out: v1 memory.limit_in_bytes with memory.memsw.limit_in_bytes
# equal (memsw may never be below the memory limit, so the order of the two
# writes depends on the direction), v2 memory.max with memory.swap.max 0.
# BYTES takes the suffixes of LIMIT. Returns 0, or 1 with a message.
# Lowering a limit below a running process's usage makes the kernel reclaim
# and, if that is not enough, OOM-kill.
cg_set_limit() {
    local bytes dir=${2:-${CG_RUN_DIR:-}} old
    bytes=$(cg__bytes "$1") || { echo "cg_set_limit: bad size '$1'" >&2; return 1; }
    [[ -n $dir && -d $dir ]] || { echo "cg_set_limit: no cgroup ('$dir')" >&2; return 1; }
    if [[ -e $dir/memory.limit_in_bytes ]]; then
        if [[ -e $dir/memory.memsw.limit_in_bytes ]]; then
            old=$(cat "$dir/memory.limit_in_bytes")
            if ((bytes > old)); then
                cg__write "$dir/memory.memsw.limit_in_bytes" "$bytes" &&
                    cg__write "$dir/memory.limit_in_bytes" "$bytes"
            else
                cg__write "$dir/memory.limit_in_bytes" "$bytes" &&
                    cg__write "$dir/memory.memsw.limit_in_bytes" "$bytes"
            fi
        else
            cg__write "$dir/memory.limit_in_bytes" "$bytes"
        fi
    else
        cg__write "$dir/memory.max" "$bytes" &&
            { [[ ! -e $dir/memory.swap.max ]] || cg__write "$dir/memory.swap.max" 0; }
    fi || { echo "cg_set_limit: cannot set the limit of $dir to $bytes" >&2; return 1; }
}

# Kills every process left in cgroup $1 and removes it (retrying: the
# kernel may still be tearing the last task down).
cg__remove() {
    local cg=$1 i pid
    [[ -d $cg ]] || return 0
    for i in 1 2 3 4 5 6 7 8 9 10; do
        for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        cg__rmdir "$cg" && return 0
        sleep 0.1
    done
    echo "cgroup.sh: warning: could not remove $cg" >&2
}

# The function: see the header.
run_in_cgroup() {
    local report= timeout= quiet=0 dirfile= flag= limit cg status verdict oom peak t0 t1 pid watchdog= sampler= samples=
    while (($#)); do
        case $1 in
        --report) report=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --dir-file) dirfile=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        *) break ;;
        esac
    done
    if (($# < 3)) || [[ $2 != -- ]] || ! limit=$(cg__bytes "$1"); then
        echo "usage: run_in_cgroup [--report FILE] [--timeout SECS] [--dir-file FILE] [--quiet] LIMIT_BYTES -- CMD [ARG...]" >&2
        return 2
    fi
    shift 2
    cg__locate || return
    cg=$CG__OWN/cgc-limit.$$.$RANDOM
    cg__mkdir "$cg" || { cg__skip "cannot create a child cgroup under $CG__OWN (not root, or read-only)"; return; }
    # (v1: memsw, memory + swap, set equal so swap cannot hide an OOM.)
    if ! cg_set_limit "$limit" "$cg" 2>/dev/null; then
        cg__rmdir "$cg"; cg__skip "cannot set a memory limit in $cg"; return
    fi
    if ((CG__VERSION == 2)) && [[ ! -e $cg/memory.peak ]]; then
        # No peak file (Linux < 5.19): sample memory.current from outside the cgroup.
        samples=$(mktemp)
        (while [[ -d $cg ]]; do cat "$cg/memory.current" 2>/dev/null; sleep 0.02; done >"$samples") &
        sampler=$!
    fi
    CG_RUN_DIR=$cg
    [[ -n $dirfile ]] && echo "$cg" >"$dirfile"

    t0=$EPOCHREALTIME
    # The child joins the cgroup before it becomes CMD, so everything CMD
    # allocates is charged to it.
    (cg__write "$cg/cgroup.procs" "$BASHPID" || exit 126; export CG_RUN_DIR; exec "$@") &
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
    CG_RUN_DIR=
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
    if [[ ${1:-} == --set-limit ]]; then
        shift
        cg_set_limit "$@"
    else
        run_in_cgroup "$@"
    fi
    exit $?
fi
