# shellcheck shell=bash
# bench/lib.sh — the provenance the benchmark scripts write into their .meta
# files (bench/run.sh, bench/compat/run.sh, bench/limit/run.sh,
# bench/callgrind.sh). Sourced, not run. scripts/gen-docs.py reads these
# `key: value` lines back, so every script must spell them the same way:
# that is why they are written in one place.

# bench_commit ROOT WHAT PATHSPEC...: the short HEAD of ROOT, marked
# "(with uncommitted changes WHAT)" when PATHSPEC differs from HEAD, since
# then the numbers were not measured at that commit.
bench_commit() {
  local root=$1 what=$2 commit
  shift 2
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$root" diff --quiet HEAD -- "$@" 2>/dev/null || commit="$commit (with uncommitted changes$what)"
  echo "$commit"
}

# bench_load_range: the 1-minute load averages the runs started at, one a
# line on stdin, as "min A, median B, max C over N runs" (nothing for none).
bench_load_range() {
  sort -n | awk '{a[NR] = $1} END {if (NR) printf "min %s, median %s, max %s over %d runs", a[1], a[int((NR + 1) / 2)], a[NR], NR}'
}

# bench_meta_run COMMAND COMMIT DATE_START LOAD_BEFORE LOAD1_RUNS: the lines
# that say which run this was and how loaded the machine was around it.
bench_meta_run() {
  echo "command: $1"
  echo "commit: $2"
  echo "date_start_utc: $3"
  echo "date_utc: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load_before: $4"
  echo "load_after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "load1_runs: $5"
}

# bench_meta_machine [KERNEL_NOTE]: the lines that say what machine it was;
# KERNEL_NOTE (e.g. the cgroup version) follows the kernel after a comma.
bench_meta_machine() {
  echo "kernel: $(uname -sr)${1:+, $1}"
  echo "cpus: $(nproc)"
  echo "cpu_model: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
}
