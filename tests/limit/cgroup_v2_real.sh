#!/usr/bin/env bash
# cgroup_v2_real.sh CGROUP_SH — bench/limit/cgroup.sh's v2 step on a real
# cgroup v2 hierarchy: a cgroup that holds processes cannot enable a
# controller for its children (the kernel answers EBUSY); cg__v2_enable
# moves its processes into a leaf and then can. This checks the kernel's
# rule that tests/limit/cgroup_sh.sh emulates, with whatever controller the
# v2 hierarchy has here (memory on a v2 host; on a hybrid v1 host such as
# this project's build machine, memory is bound to v1 and the v2 tree has
# only what v1 left, e.g. hugetlb: the rule is the same for every domain
# controller).
# Exit: 0 pass, 1 fail, 77 skip (not root, no v2 hierarchy, or no
# controller in it), with the reason on one line.
set -uo pipefail
cgroup_sh=$1
# shellcheck source=../../bench/limit/cgroup.sh
source "$cgroup_sh"
# Under systemd: in a delegated scope, not in a unit systemd manages.
cg_reexec_in_scope "$0" "$@"
skip() { echo "cgroup_v2_real: SKIP: $*" >&2; exit 77; }
fail=0
check() { if (($1)); then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi; }

[[ $(id -u) == 0 ]] || skip "not root"
IFS=$'\t' read -r root mnt < <(cg__mount cgroup2 '')
[[ -n ${mnt:-} ]] || skip "no cgroup v2 hierarchy is mounted"
rel=$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' /proc/self/cgroup)
[[ $root != / && $rel == "$root"* ]] && rel=${rel#"$root"}
own=$mnt${rel%/}
[[ ${own##*/} == "$CG_HARNESS_LEAF" ]] && own=${own%/*}
ctl=
for c in memory pids cpu io hugetlb; do
    grep -qw "$c" "$own/cgroup.controllers" 2>/dev/null && { ctl=$c; break; }
done
[[ -n $ctl ]] || skip "no controller in $own/cgroup.controllers"
echo "v2 hierarchy at $mnt, our cgroup $own, controller $ctl"
# The test cgroup's children need $ctl: the same step, on our own cgroup
# (at the hierarchy's root it is a plain write; in a container it moves
# the container's processes into cgc-harness, as the limit tests do).
cg__v2_enable "$own" "$ctl" || exit

T=$own/cgc-v2test.$$
mkdir "$T" || skip "cannot create $T"
sleep 300 &
sleeper=$!
cleanup() {
    kill "$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null
    rmdir "$T/run" "$T/$CG_HARNESS_LEAF" 2>/dev/null
    rmdir "$T" 2>/dev/null || echo "warning: could not remove $T" >&2
}
trap cleanup EXIT
echo "$sleeper" >"$T/cgroup.procs" || { echo "FAIL: cannot put a process into $T"; exit 1; }
check "$(grep -qw "$ctl" "$T/cgroup.controllers" && echo 1 || echo 0)" "$ctl is available in $T"

# The rule itself: refused while $T holds a process.
if (echo "+$ctl" >"$T/cgroup.subtree_control") 2>/dev/null; then
    check 0 "the kernel let a cgroup with a process enable +$ctl (no-internal-process rule not enforced?)"
    echo "-$ctl" >"$T/cgroup.subtree_control"
else
    check 1 "the kernel refuses +$ctl in a cgroup that holds a process"
fi

# cg__v2_enable moves the processes into the leaf and enables it.
out=$(cg__v2_enable "$T" "$ctl" 2>&1)
rc=$?
echo "$out"
check "rc == 0" "cg__v2_enable returned $rc"
check "$(grep -qw "$ctl" "$T/cgroup.subtree_control" && echo 1 || echo 0)" "+$ctl enabled in $T: $(cat "$T/cgroup.subtree_control")"
check "$(grep -qx "$sleeper" "$T/$CG_HARNESS_LEAF/cgroup.procs" && echo 1 || echo 0)" "the process moved into $CG_HARNESS_LEAF"
check "$([[ ! -s $T/cgroup.procs ]] && echo 1 || echo 0)" "$T holds no process"
mkdir "$T/run"
check "$(grep -qw "$ctl" "$T/run/cgroup.controllers" && echo 1 || echo 0)" "a new sibling cgroup gets $ctl"
# Again: nothing to do.
cg__v2_enable "$T" "$ctl"
check "$? == 0" "a second call finds it enabled"
exit $fail
