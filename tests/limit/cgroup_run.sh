#!/usr/bin/env bash
# cgroup_run.sh LIMIT_BYTES -- CMD [ARG...]
#
# Runs CMD in a new child memory cgroup (under this process's own cgroup,
# cgroup v1 or v2) whose hard limit is LIMIT_BYTES, and prints one line:
#   CGROUP version=V limit=B exit=S oom_kills=N peak=B wall_s=T
# exit is CMD's status (137 = killed by SIGKILL, the OOM killer's signal).
# The script's own status: 0 if CMD ran (whatever it returned), 77 if no
# memory cgroup can be created here (the caller skips), 2 on bad usage.
set -uo pipefail
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: $0 LIMIT_BYTES -- CMD [ARG...]" >&2; exit 2; }
limit=$1; shift 2

skip() { echo "SKIP: $*" >&2; exit 77; }

# Find the memory hierarchy and our place in it.
v1_rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
v2_rel=$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' /proc/self/cgroup)
v1_mnt=$(awk '$9 == "cgroup" && $0 ~ /[ ,]memory([ ,]|$)/ {print $5; exit}' /proc/self/mountinfo)
v1_root=$(awk '$9 == "cgroup" && $0 ~ /[ ,]memory([ ,]|$)/ {print $4; exit}' /proc/self/mountinfo)
v2_mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
rel_to() { local path=$1 root=$2; [ "$root" = "/" ] && { echo "$path"; return; }; echo "${path#"$root"}"; }

name="cgc-run-$$-$RANDOM"
if [ -n "$v1_rel" ] && [ -n "$v1_mnt" ]; then
  version=1
  parent="$v1_mnt$(rel_to "$v1_rel" "$v1_root")"
  dir="$parent/$name"
  mkdir "$dir" 2>/dev/null || skip "cannot create a memory cgroup under $parent (v1)"
  echo "$limit" > "$dir/memory.limit_in_bytes" || { rmdir "$dir"; skip "cannot set memory.limit_in_bytes"; }
  [ -w "$dir/memory.memsw.limit_in_bytes" ] && echo "$limit" > "$dir/memory.memsw.limit_in_bytes" 2>/dev/null
  procs="$dir/cgroup.procs"
elif [ -n "$v2_mnt" ] && grep -qw memory "$v2_mnt$v2_rel/cgroup.controllers" 2>/dev/null; then
  version=2
  parent="$v2_mnt$v2_rel"
  grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null ||
    echo "+memory" > "$parent/cgroup.subtree_control" 2>/dev/null ||
    skip "cannot enable the memory controller for children of $parent (v2; a process in a non-leaf cgroup?)"
  dir="$parent/$name"
  mkdir "$dir" 2>/dev/null || skip "cannot create a memory cgroup under $parent (v2)"
  echo "$limit" > "$dir/memory.max" || { rmdir "$dir"; skip "cannot set memory.max"; }
  [ -w "$dir/memory.swap.max" ] && echo 0 > "$dir/memory.swap.max" 2>/dev/null
  procs="$dir/cgroup.procs"
else
  skip "no writable memory cgroup controller (v1 or v2) on this machine"
fi

start=$(date +%s.%N)
# The child moves itself into the cgroup, then becomes CMD.
bash -c 'echo $$ > "$1" && shift && exec "$@"' cgroup_run "$procs" "$@"
status=$?
end=$(date +%s.%N)

if [ $version = 1 ]; then
  oom=$(awk '$1 == "oom_kill" {print $2}' "$dir/memory.oom_control")
  peak=$(cat "$dir/memory.max_usage_in_bytes")
else
  oom=$(awk '$1 == "oom_kill" {print $2}' "$dir/memory.events")
  peak=$(cat "$dir/memory.peak" 2>/dev/null || echo -1)
fi
rmdir "$dir" 2>/dev/null || { sleep 0.2; rmdir "$dir" 2>/dev/null; }
printf 'CGROUP version=%s limit=%s exit=%s oom_kills=%s peak=%s wall_s=%.2f\n' \
  "$version" "$limit" "$status" "${oom:-0}" "$peak" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
exit 0
