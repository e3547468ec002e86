#!/usr/bin/env bash
# cgroup_sh.sh CGROUP_SH — the decisions of bench/limit/cgroup.sh on
# fixture trees (issue 14, finding 1): which cgroup version it picks, which
# directories it creates, which files it writes with which values and in
# which order, what it reports, and the one line it prints when it cannot
# run. Each tree is a temporary directory of plain files standing for
# /proc/self/{cgroup,mountinfo} and the cgroup mounts (CG_ROOT); the three
# operations that change a cgroup tree (cg__mkdir, cg__rmdir, cg__write)
# are replaced by an emulation of the kernel's rules that matter here:
#   - a new cgroup gets the interface files of its version (v2: the memory
#     files only if its parent enabled +memory in cgroup.subtree_control);
#   - a file that does not exist cannot be written (cgroupfs creates none);
#   - v2 "no internal processes": outside the hierarchy's root, a cgroup
#     that holds processes cannot enable a controller for its children, and
#     a cgroup that enabled one cannot take processes (EBUSY);
#   - a controller can be enabled only if it is in cgroup.controllers;
#   - v1 memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes;
#   - rmdir fails while a live process is in the cgroup or it has children.
# Every operation is logged; each case compares the log with the expected
# one. Also: when cg_reexec_in_scope runs the script again under
# systemd-run --scope -p Delegate=yes (a stand-in systemd-run on PATH).
# No real cgroup is touched; runs anywhere bash runs.
set -uo pipefail
cgroup_sh=$1
# shellcheck source=../../bench/limit/cgroup.sh
source "$cgroup_sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TRACE=$T/trace
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() { if (($1)); then ok "$2"; else bad "$2"; fi; }

# ---- the emulated kernel -----------------------------------------------------
# EMU_V1 / EMU_V2: the mount directories (under CG_ROOT) of the v1 memory
# hierarchy and the v2 hierarchy; EMU_V2_ROOT_EXEMPT=1 when the v2 mount is
# the real root (exempt from the no-internal-process rule), 0 when it is a
# container's namespace root (not exempt); EMU_NO_MEMSW=1: no swap
# accounting; EMU_REFUSE=NAME: writes to files named NAME fail (EINVAL).
EMU_V1= EMU_V2= EMU_V2_ROOT_EXEMPT=1 EMU_NO_MEMSW=0 EMU_REFUSE=
emu_log() { echo "$*" >>"$TRACE"; }
emu_rel() { echo "${1#"$CG_ROOT"}"; }
emu_v1() { [[ -n $EMU_V1 && $1/ == "$EMU_V1"/* ]]; }
emu_v1_files() {
    local d=$1
    echo 9223372036854771712 >"$d/memory.limit_in_bytes"
    ((EMU_NO_MEMSW)) || echo 9223372036854771712 >"$d/memory.memsw.limit_in_bytes"
    printf 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n' >"$d/memory.oom_control"
    echo 0 >"$d/memory.max_usage_in_bytes"
    echo 0 >"$d/memory.usage_in_bytes"
    : >"$d/cgroup.procs"
}
emu_v2_memory_files() {
    local d=$1
    echo max >"$d/memory.max"
    echo max >"$d/memory.swap.max"
    echo 0 >"$d/memory.current"
    echo 0 >"$d/memory.peak"
    printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' >"$d/memory.events"
}
cg__mkdir() {
    local d=$1 p=${1%/*}
    mkdir "$d" 2>/dev/null || { emu_log "mkdir $(emu_rel "$d") EEXIST"; return 1; }
    emu_log "mkdir $(emu_rel "$d")"
    if emu_v1 "$d"; then
        emu_v1_files "$d"
    else
        : >"$d/cgroup.procs"
        : >"$d/cgroup.subtree_control"
        cp "$p/cgroup.subtree_control" "$d/cgroup.controllers"
        grep -qw memory "$d/cgroup.controllers" && emu_v2_memory_files "$d"
    fi
    return 0
}
emu_live() { # live processes listed in cgroup.procs of $1
    local pid
    for pid in $(cat "$1/cgroup.procs"); do kill -0 "$pid" 2>/dev/null && echo "$pid"; done
}
cg__rmdir() {
    local d=$1
    if [[ -n $(emu_live "$d") ]] || [[ -n $(find "$d" -mindepth 1 -type d) ]]; then
        emu_log "rmdir $(emu_rel "$d") EBUSY"; return 1
    fi
    rm -f "$d"/*; rmdir "$d"
    emu_log "rmdir $(emu_rel "$d")"
}
cg__write() {
    local f=$1 v=$2 d=${1%/*} r=ok mnt
    if [[ ! -e $f ]]; then
        r=ENOENT
    elif [[ ${f##*/} == "$EMU_REFUSE" ]]; then
        r=EINVAL
    elif emu_v1 "$d"; then
        case ${f##*/} in
        memory.limit_in_bytes)
            [[ -e $d/memory.memsw.limit_in_bytes ]] && (($(<"$d/memory.memsw.limit_in_bytes") < v)) && r=EINVAL ;;
        memory.memsw.limit_in_bytes)
            (($(<"$d/memory.limit_in_bytes") > v)) && r=EINVAL ;;
        esac
        [[ ${f##*/} == cgroup.procs && $r == ok ]] && { emu_move "$EMU_V1" "$d" "$v"; r=moved; }
    else
        mnt=$EMU_V2
        case ${f##*/} in
        cgroup.procs)
            [[ ($d != "$mnt" || $EMU_V2_ROOT_EXEMPT == 0) && -s $d/cgroup.subtree_control ]] && r=EBUSY
            [[ $r == ok ]] && { emu_move "$mnt" "$d" "$v"; r=moved; } ;;
        cgroup.subtree_control)
            if ! grep -qw "${v#+}" "$d/cgroup.controllers"; then r=ENOENT
            elif [[ ($d != "$mnt" || $EMU_V2_ROOT_EXEMPT == 0) && -s $d/cgroup.procs ]]; then r=EBUSY
            else
                echo "${v#+}" >>"$d/cgroup.subtree_control"
                local c
                for c in "$d"/*/; do
                    [[ -d $c ]] || continue
                    echo "${v#+}" >>"$c/cgroup.controllers"
                    [[ $v == +memory ]] && emu_v2_memory_files "${c%/}"
                done
                r=done
            fi ;;
        esac
    fi
    [[ $r == ok ]] && printf '%s\n' "$v" >"$f"
    [[ $r == moved || $r == done ]] && r=ok
    # The run's child writes its own pid: log it as CHILD, ours as SELF.
    local shown=$v
    [[ ${f##*/} == cgroup.procs && $v == "$$" ]] && shown=SELF
    [[ ${f##*/} == cgroup.procs && $v == "${BASHPID:-}" && $v != "$$" ]] && shown=CHILD
    emu_log "write $(emu_rel "$f") $shown $r"
    [[ $r == ok ]]
}
# Moves process $3 into cgroup $2 of the hierarchy mounted at $1; when it
# is this test, /proc/self/cgroup follows.
emu_move() {
    local mnt=$1 d=$2 pid=$3 f
    while IFS= read -r f; do
        grep -vx "$pid" "$f" >"$f.new"; mv "$f.new" "$f"
    done < <(find "$mnt" -name cgroup.procs)
    echo "$pid" >>"$d/cgroup.procs"
    if [[ $pid == "$$" ]]; then
        if [[ $mnt == "$EMU_V2" ]]; then
            local rel=${d#"$mnt"}
            sed -i "s|^0::.*|0::${rel:-/}|" "$CG_ROOT/proc/self/cgroup"
        fi
    fi
}

# ---- fixture trees ---------------------------------------------------------------
new_root() {
    CG_ROOT=$T/root.$1
    mkdir -p "$CG_ROOT/proc/self"
    : >"$TRACE"
    EMU_V1= EMU_V2= EMU_V2_ROOT_EXEMPT=1 EMU_NO_MEMSW=0 EMU_REFUSE=
    CG__VERSION= CG__OWN= CG_VERSION= CG_STATUS= CG_VERDICT= CG_OOM_KILLS= CG_PEAK_BYTES=
}
# A v1 host with a hybrid layout (this project's build machine): memory at
# "/sys/fs/cg root/memory" (a space, "\040" in mountinfo), the process in
# /process_api/abc, a v2 tree mounted without the memory controller.
tree_v1_hybrid() {
    new_root v1
    printf '4:memory:/process_api/abc\n1:cpu:/\n0::/\n' >"$CG_ROOT/proc/self/cgroup"
    cat >"$CG_ROOT/proc/self/mountinfo" <<'EOF'
31 23 0:28 / /sys/fs/cg\040root rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cg\040root/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cg\040root/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cg\040root/unified rw,relatime - cgroup2 cgroup2 rw
EOF
    EMU_V1="$CG_ROOT/sys/fs/cg root/memory" EMU_V2="$CG_ROOT/sys/fs/cg root/unified"
    mkdir -p "$EMU_V1/process_api/abc" "$EMU_V2"
    emu_v1_files "$EMU_V1/process_api/abc"
    echo $$ >"$EMU_V1/process_api/abc/cgroup.procs"
    echo hugetlb >"$EMU_V2/cgroup.controllers"
    : >"$EMU_V2/cgroup.subtree_control"
    echo $$ >"$EMU_V2/cgroup.procs"
}
# A container on a v2 host (Docker, Debian 12's default): a private cgroup
# namespace shows the container's cgroup as "/", which holds the
# container's processes (pid 1 and this test) and is not the real root.
tree_v2_container() {
    new_root v2c
    printf '0::/\n' >"$CG_ROOT/proc/self/cgroup"
    echo '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate' \
        >"$CG_ROOT/proc/self/mountinfo"
    EMU_V2=$CG_ROOT/sys/fs/cgroup EMU_V2_ROOT_EXEMPT=0
    mkdir -p "$EMU_V2"
    echo 'cpuset cpu io memory pids' >"$EMU_V2/cgroup.controllers"
    : >"$EMU_V2/cgroup.subtree_control"
    printf '1\n%s\n' $$ >"$EMU_V2/cgroup.procs"
}
# A systemd host on v2: a login session's scope, the memory controller
# enabled down to it (so in its cgroup.controllers), processes in it.
tree_v2_session() {
    new_root v2s
    printf '0::/user.slice/user-0.slice/session-1.scope\n' >"$CG_ROOT/proc/self/cgroup"
    echo '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot' \
        >"$CG_ROOT/proc/self/mountinfo"
    EMU_V2=$CG_ROOT/sys/fs/cgroup
    local s=$EMU_V2/user.slice/user-0.slice/session-1.scope
    mkdir -p "$s"
    echo 'cpu memory pids' >"$EMU_V2/cgroup.controllers"
    echo 'cpu memory pids' >"$EMU_V2/cgroup.subtree_control"
    echo 'cpu memory pids' >"$EMU_V2/user.slice/cgroup.controllers"
    echo 'memory pids' >"$EMU_V2/user.slice/cgroup.subtree_control"
    echo 'memory pids' >"$EMU_V2/user.slice/user-0.slice/cgroup.controllers"
    echo 'memory pids' >"$EMU_V2/user.slice/user-0.slice/cgroup.subtree_control"
    echo 'memory pids' >"$s/cgroup.controllers"
    : >"$s/cgroup.subtree_control"
    printf '%s\n4242\n' $$ >"$s/cgroup.procs"
    : >"$EMU_V2/cgroup.procs" >"$EMU_V2/user.slice/cgroup.procs" >"$EMU_V2/user.slice/user-0.slice/cgroup.procs"
}

# Normalises the trace: the run cgroup's random name.
trace() { sed -E 's/cgc-limit\.[0-9]+\.[0-9]+/cgc-limit.N/g' "$TRACE"; }
expect_trace() { # expect_trace WHAT <<< expected
    local want got
    want=$(cat)
    got=$(trace)
    if [[ $got == "$want" ]]; then ok "$1"; else
        bad "$1"; diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
    fi
}

# ---- cases ---------------------------------------------------------------------------
echo "== v1 (hybrid host): a child of our own memory cgroup, limit and memsw, then removed"
tree_v1_hybrid
run_in_cgroup --quiet 64MiB -- true
rc=$?
check "rc == 0 && CG_STATUS == 0" "completed: status $rc"
check "CG_VERSION == 1" "picked v1 (the memory controller is bound there, not to the v2 mount): CG_VERSION=$CG_VERSION"
check "$([[ $CG_VERDICT == completed ]] && echo 1 || echo 0)" "verdict $CG_VERDICT"
expect_trace "v1: mkdir, memory.limit_in_bytes then memsw (lowering from unlimited), the child, rmdir" <<'EOF'
mkdir /sys/fs/cg root/memory/process_api/abc/cgc-limit.N
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.limit_in_bytes 67108864 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.memsw.limit_in_bytes 67108864 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/cgroup.procs CHILD ok
rmdir /sys/fs/cg root/memory/process_api/abc/cgc-limit.N
EOF

echo "== v1: an OOM kill is reported as such (the counter and status 137)"
tree_v1_hybrid
run_in_cgroup --quiet 64MiB -- bash -c 'echo 5000000 >"$CG_RUN_DIR/memory.max_usage_in_bytes"
    printf "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n" >"$CG_RUN_DIR/memory.oom_control"; kill -9 $$'
rc=$?
check "rc == 137 && CG_STATUS == 137 && CG_OOM_KILLS == 1" "status $rc, oom_kills $CG_OOM_KILLS"
check "$([[ $CG_VERDICT == oom-killed ]] && echo 1 || echo 0)" "verdict $CG_VERDICT"
check "CG_PEAK_BYTES == 5000000" "peak from memory.max_usage_in_bytes: $CG_PEAK_BYTES"
run_in_cgroup --quiet 64MiB -- bash -c 'exit 3'
check "$? == 3" "another status is passed through (verdict $CG_VERDICT)"
[[ $CG_VERDICT == failed ]] || bad "verdict of status 3 is $CG_VERDICT, not failed"

echo "== v1: cg_set_limit keeps memsw >= memory whichever way the limit moves"
tree_v1_hybrid
: >"$TRACE"
run_in_cgroup --quiet 64MiB -- bash -c "source '$cgroup_sh'; $(declare -f cg__write emu_v1 emu_log emu_rel emu_move);
    EMU_V1='$EMU_V1' TRACE='$TRACE' CG_ROOT='$CG_ROOT'; cg_set_limit 128MiB && cg_set_limit 32MiB"
check "$? == 0" "raised to 128 MiB and lowered to 32 MiB during the run"
expect_trace "v1 resize: raise memsw first, lower memory first" <<'EOF'
mkdir /sys/fs/cg root/memory/process_api/abc/cgc-limit.N
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.limit_in_bytes 67108864 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.memsw.limit_in_bytes 67108864 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/cgroup.procs CHILD ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.memsw.limit_in_bytes 134217728 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.limit_in_bytes 134217728 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.limit_in_bytes 33554432 ok
write /sys/fs/cg root/memory/process_api/abc/cgc-limit.N/memory.memsw.limit_in_bytes 33554432 ok
rmdir /sys/fs/cg root/memory/process_api/abc/cgc-limit.N
EOF

echo "== v1 without swap accounting: only memory.limit_in_bytes"
tree_v1_hybrid
EMU_NO_MEMSW=1
rm "$EMU_V1/process_api/abc/memory.memsw.limit_in_bytes"
run_in_cgroup --quiet 64MiB -- true
check "$? == 0" "completed"
trace | grep -q memsw && bad "wrote a memsw file that does not exist" || ok "no memsw write"

echo "== v2 container (namespace root holds processes): harness moved to a leaf, +memory, sibling run cgroup"
tree_v2_container
run_in_cgroup --quiet 64MiB -- bash -c 'echo 3000000 >"$CG_RUN_DIR/memory.peak"'
rc=$?
check "rc == 0 && CG_VERSION == 2" "completed on v2: status $rc, CG_VERSION=$CG_VERSION"
check "CG_PEAK_BYTES == 3000000" "peak from memory.peak: $CG_PEAK_BYTES"
expect_trace "v2: +memory refused (EBUSY), leaf made, every process moved, +memory, run cgroup with memory.max and swap 0" <<'EOF'
write /sys/fs/cgroup/cgroup.subtree_control +memory EBUSY
mkdir /sys/fs/cgroup/cgc-harness
write /sys/fs/cgroup/cgc-harness/cgroup.procs 1 ok
write /sys/fs/cgroup/cgc-harness/cgroup.procs SELF ok
write /sys/fs/cgroup/cgroup.subtree_control +memory ok
mkdir /sys/fs/cgroup/cgc-limit.N
write /sys/fs/cgroup/cgc-limit.N/memory.max 67108864 ok
write /sys/fs/cgroup/cgc-limit.N/memory.swap.max 0 ok
write /sys/fs/cgroup/cgc-limit.N/cgroup.procs CHILD ok
rmdir /sys/fs/cgroup/cgc-limit.N
EOF
check "$([[ $(cat "$CG_ROOT/proc/self/cgroup") == 0::/cgc-harness ]] && echo 1 || echo 0)" "this process is now in /cgc-harness"

echo "== v2 container, second run (a new process of the harness): no second leaf, runs next to it"
: >"$TRACE"
unset CG__OWN CG__VERSION
run_in_cgroup --quiet 32MiB -- bash -c 'printf "oom 1\noom_kill 2\n" >"$CG_RUN_DIR/memory.events"; kill -9 $$'
rc=$?
check "rc == 137 && CG_OOM_KILLS == 2" "OOM kill from memory.events: status $rc, oom_kills $CG_OOM_KILLS, verdict $CG_VERDICT"
expect_trace "v2 again: straight to the run cgroup" <<'EOF'
mkdir /sys/fs/cgroup/cgc-limit.N
write /sys/fs/cgroup/cgc-limit.N/memory.max 33554432 ok
write /sys/fs/cgroup/cgc-limit.N/memory.swap.max 0 ok
write /sys/fs/cgroup/cgc-limit.N/cgroup.procs CHILD ok
rmdir /sys/fs/cgroup/cgc-limit.N
EOF

echo "== the run's cgroup is told to CMD (CG_RUN_DIR) and to others (--dir-file) while it runs"
out=$(run_in_cgroup --quiet --dir-file "$T/dir" 32MiB -- bash -c 'echo "$CG_RUN_DIR"; cat "$1"; [[ -d $CG_RUN_DIR ]] && echo exists' _ "$T/dir")
check "$([[ $(sed -n 1p <<<"$out") == "$EMU_V2"/cgc-limit.* && $(sed -n 2p <<<"$out") == $(sed -n 1p <<<"$out") && $(sed -n 3p <<<"$out") == exists ]] && echo 1 || echo 0)" \
    "CG_RUN_DIR and the --dir-file name the live run cgroup: $(tr '\n' ' ' <<<"$out")"
check "$([[ -z $CG_RUN_DIR ]] && echo 1 || echo 0)" "CG_RUN_DIR is empty after the run"

echo "== v2 systemd session scope (memory delegated down to it)"
tree_v2_session
run_in_cgroup --quiet 1GiB -- true
check "$? == 0" "completed"
expect_trace "v2 session: the scope's processes into its leaf, +memory in the scope" <<'EOF'
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgroup.subtree_control +memory EBUSY
mkdir /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-harness
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-harness/cgroup.procs SELF ok
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-harness/cgroup.procs 4242 ok
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgroup.subtree_control +memory ok
mkdir /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-limit.N
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-limit.N/memory.max 1073741824 ok
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-limit.N/memory.swap.max 0 ok
write /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-limit.N/cgroup.procs CHILD ok
rmdir /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgc-limit.N
EOF

echo "== v2 without the memory controller delegated: one SKIP line, nothing created, CMD not run"
tree_v2_session
echo 'pids' >"$EMU_V2/user.slice/user-0.slice/session-1.scope/cgroup.controllers"
err=$(run_in_cgroup --quiet 64MiB -- touch "$T/ran" 2>&1)
rc=$?
check "rc == 77" "returns 77: $rc"
check "$([[ ! -e $T/ran ]] && echo 1 || echo 0)" "CMD not run"
check "$([[ $(wc -l <<<"$err") == 1 && $err == "cgroup.sh: SKIP: cgroup v2: the memory controller is not delegated to "*session-1.scope* ]] && echo 1 || echo 0)" \
    "one line naming what and where: $err"
check "$([[ ! -s $TRACE ]] && echo 1 || echo 0)" "nothing created or written"

echo "== no cgroup mounted at all: one SKIP line"
new_root none
printf '0::/\n' >"$CG_ROOT/proc/self/cgroup"
echo '24 1 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw' >"$CG_ROOT/proc/self/mountinfo"
err=$(run_in_cgroup --quiet 64MiB -- touch "$T/ran" 2>&1)
rc=$?
check "rc == 77 && $([[ ! -e $T/ran ]] && echo 1 || echo 0)" "returns 77, CMD not run"
check "$([[ $err == "cgroup.sh: SKIP: no memory cgroup"* ]] && echo 1 || echo 0)" "says so: $err"

echo "== a limit the kernel refuses: SKIP, the run cgroup removed"
tree_v2_container
EMU_REFUSE=memory.max
err=$(run_in_cgroup --quiet 64MiB -- touch "$T/ran" 2>&1)
rc=$?
check "rc == 77 && $([[ ! -e $T/ran ]] && echo 1 || echo 0)" "returns 77, CMD not run"
check "$([[ $err == *"cgroup.sh: SKIP: cannot set a memory limit in "*cgc-limit.* ]] && echo 1 || echo 0)" "says so: $(tail -1 <<<"$err")"
trace | grep -q '^rmdir /sys/fs/cgroup/cgc-limit.N$' && ok "the run cgroup was removed" || bad "the run cgroup was left: $(trace)"

echo "== systemd on v2: the script runs again in a scope with Delegate=yes, once"
# A stand-in for systemd-run: logs its arguments; "true" succeeds unless
# FAKE_SYSTEMD_REFUSES is set; otherwise runs what follows "--".
mkdir -p "$T/bin"
cat >"$T/bin/systemd-run" <<'EOF'
#!/usr/bin/env bash
echo "systemd-run $*" >>"$TRACE"
[[ ${*: -1} == true ]] && { [[ -n ${FAKE_SYSTEMD_REFUSES:-} ]] && exit 1; exit 0; }
while [[ $1 != -- ]]; do shift; done; shift
exec "$@"
EOF
chmod +x "$T/bin/systemd-run"
printf 'echo "script ran: CGC_IN_SCOPE=$CGC_IN_SCOPE args: $*"\n' >"$T/script.sh"
reexec() { (export TRACE PATH="$T/bin:$PATH"; cg_reexec_in_scope "$T/script.sh" a "b c"; echo "returned") 2>/dev/null; }
tree_v2_session
mkdir -p "$CG_ROOT/run/systemd/system"
out=$(reexec)
check "$([[ $out == "script ran: CGC_IN_SCOPE=1 args: a b c" ]] && echo 1 || echo 0)" "ran again in the scope, did not return: $out"
expect_trace "checked with true first, then bash SCRIPT ARGS in the scope" <<EOF
systemd-run --quiet --scope -p Delegate=yes true
systemd-run --quiet --scope -p Delegate=yes -- bash $T/script.sh a b c
EOF
: >"$TRACE"
out=$(CGC_IN_SCOPE=1 reexec)
check "$([[ $out == returned && ! -s $TRACE ]] && echo 1 || echo 0)" "already in the scope: returns, systemd-run not called"
out=$(FAKE_SYSTEMD_REFUSES=1 reexec)
check "$([[ $out == returned ]] && echo 1 || echo 0)" "systemd-run refusing: returns (the leaf move is tried where it is)"
rm -r "$CG_ROOT/run/systemd/system"
: >"$TRACE"
out=$(reexec)
check "$([[ $out == returned && ! -s $TRACE ]] && echo 1 || echo 0)" "no systemd: returns, systemd-run not called"
tree_v1_hybrid
mkdir -p "$CG_ROOT/run/systemd/system"
out=$(reexec)
check "$([[ $out == returned && ! -s $TRACE ]] && echo 1 || echo 0)" "v1 under systemd: returns, systemd-run not called"

echo "== usage errors"
run_in_cgroup 64XB -- true 2>/dev/null
check "$? == 2" "a bad size is a usage error"
run_in_cgroup 64MiB true 2>/dev/null
check "$? == 2" "no -- is a usage error"

exit $fail
