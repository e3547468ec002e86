#!/usr/bin/env bash
# bench/run.sh — build and run the benchmark suite, one command.
#
# Usage: bench/run.sh [--runs N] [--bt-runs N] [--quick] [--only B,B..]
#                     [--impl I,I..] [--build-dir DIR] [--out DIR]
#                     [--no-build] [--report-only] [--note TEXT]
#   --runs N       rounds of gcbench and churn (default 5)
#   --bt-runs N    rounds of the long ones, binary-trees and churn512
#                  (default min(N, 3))
#   --quick        1 round at small sizes (a check that everything works);
#                  results go to <build-dir>/bench-results, not bench/results
#   --only B,..    these benchmarks only (binary-trees gcbench churn churn512)
#   --impl I,..    these implementations only (cgc-stw cgc-conc boehm
#                  boehm-noint malloc go; cgc: both cgc modes); a partial
#                  run (--only or --impl) goes to <build-dir>/bench-results
#                  unless --out says
#   --build-dir D  CMake build directory (default build-bench)
#   --out D        where the results go (default bench/results)
#   --no-build     use the binaries already built
#   --report-only  no build, no runs: re-tabulate <out>/latest-raw.txt
#   --note TEXT    a sentence recorded in latest.meta and shown in the tables
# Default: about 15 minutes on a quiet 2-core machine.
#
# Every benchmark (binary-trees, gcbench, churn with 64 MiB live, churn512:
# the same program with 512 MiB live) runs for every implementation
# (cgc-stw, cgc-conc, boehm, boehm-noint, malloc, go) in rounds: round 1 of
# each, then round 2 of each, ..., and the order of the implementations
# rotates by one from round to round, so that neither drift of a shared
# machine nor running first favours one of them. Every run starts from an
# empty environment (env -i, PATH only): no CGC_*, GOGC, GOMEMLIMIT or GC_*
# from the caller. cgc runs with CGC_MEMLIMIT=off, so that inside a
# memory-limited container it does not take the automatic limit Go and
# Boehm do not have. cgc-stw and cgc-conc are the same binary: cgc-stw with
# CGC_DEBUG=gcstoptheworld=1 (the whole mark with the world stopped),
# cgc-conc in cgc's default mode (mostly-concurrent marking where the
# kernel offers a tracker, a small heap's mark stopped, docs/concurrent.md;
# results before 2026-12-05 ran it with CGC_DEBUG=gcconcurrent=1, then
# needed); the mark mode each one reported is recorded in
# latest.meta, and cgc's RESULT line counts the cycles that really marked
# concurrently (conc_gcs). The 1-minute load average is recorded before
# each run.
#
# Writes to <out>: latest-raw.txt (every RESULT line with its round,
# position in the round and load), latest.meta (command, commit, date,
# load, machine, versions), latest.csv (medians) and latest.md (tables and
# targets, rendered by scripts/gen-docs.py, which also renders them into
# docs/benchmarks.md). Stdout/stderr of each program's last run stay in
# <build-dir>/bench-out/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
builddir=$root/build-bench
runs=5
bt_runs=
quick=0
build=1
report_only=0
note=
out=
only=
impl_sel=
args=()   # the command line for latest.meta (the note is recorded on its own)

usage() { sed -n '4,23p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; args+=("$1 $2"); shift 2 ;;
    --bt-runs) bt_runs=$2; args+=("$1 $2"); shift 2 ;;
    --quick) quick=1; args+=("$1"); shift ;;
    --only) only=$2; args+=("$1 $2"); shift 2 ;;
    --impl) impl_sel=$2; args+=("$1 $2"); shift 2 ;;
    --build-dir) builddir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --report-only) build=0; report_only=1; shift ;;
    --note) note=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || { echo "run.sh: python3 is needed for the tables" >&2; exit 1; }

all_impls="cgc-stw cgc-conc boehm boehm-noint malloc go"
all_benches="binary-trees gcbench churn churn512"
# pick LIST ALLOWED WHAT: the comma-separated LIST checked against
# ALLOWED, in ALLOWED's order (which is the tables' order too).
pick() {
  local x out=
  for x in ${1//,/ }; do
    [[ " $2 " == *" $x "* ]] || { echo "run.sh: unknown $3 '$x' (known: $2)" >&2; exit 2; }
  done
  for x in $2; do [[ ",$1," == *",$x,"* ]] && out="$out $x"; done
  echo "${out# }"
}
read -r -a impls <<< "$all_impls"
benches=$all_benches
# "cgc" alone: both of its modes.
impl_sel=$(sed -E 's/(^|,)cgc(,|$)/\1cgc-stw,cgc-conc\2/g' <<< "$impl_sel")
if [ -n "$impl_sel" ]; then sel=$(pick "$impl_sel" "$all_impls" implementation); read -r -a impls <<< "$sel"; fi
if [ -n "$only" ]; then benches=$(pick "$only" "$all_benches" benchmark); fi
if [ ${#impls[@]} = 0 ] || [ -z "$benches" ]; then echo "run.sh: nothing selected" >&2; exit 2; fi
partial=0
[ -z "$only$impl_sel" ] || partial=1

# Sizes: binary-trees depth, gcbench max depth, churn "slots_log2 allocations"
# (2^19 slots: about 64 MiB live; 2^22: about 512 MiB, bench/churn.c).
if [ $quick = 1 ]; then
  runs=1; bt_runs=1
  bt_args=14; gcb_args=12; churn_args="16 500000"; churn512_args="18 500000"
  : "${out:=$builddir/bench-results}"
else
  [ -n "$bt_runs" ] || bt_runs=$(( runs < 3 ? runs : 3 ))
  bt_args=21; gcb_args=16; churn_args="19 10000000"; churn512_args="22 6000000"
  # A partial run must not replace the committed full one.
  if [ $partial = 1 ]; then : "${out:=$builddir/bench-results}"; else : "${out:=$root/bench/results}"; fi
fi
bin=$builddir/bench
gen="python3 $root/scripts/gen-docs.py"

# ---- build ------------------------------------------------------------
if [ $build = 1 ]; then
  cmake -S "$root" -B "$builddir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$builddir" -j2 --target \
    binary-trees-cgc binary-trees-malloc gcbench-cgc gcbench-malloc churn-cgc churn-malloc >/dev/null
  # The Boehm variants exist only when libgc-dev was found at configure time.
  for b in binary-trees gcbench churn; do
    cmake --build "$builddir" -j2 --target $b-boehm $b-boehm-noint >/dev/null 2>&1 ||
      echo "run.sh: $b-boehm not built (libgc-dev missing?): skipped" >&2
  done
  if command -v go >/dev/null; then
    # GOPATH mode and a private cache: works offline, as root, no module proxy.
    for p in binary_trees gcbench churn; do
      (cd "$root/bench/go" &&
       GOCACHE=$builddir/gocache GOPATH=$builddir/gopath GO111MODULE=off GOFLAGS= \
         go build -o "$bin/${p//_/-}-go" result.go $p.go)
    done
  else
    echo "run.sh: go not found (golang-go): Go variants skipped" >&2
  fi
fi

# ---- run --------------------------------------------------------------
mkdir -p "$out" "$builddir/bench-out"
raw=$out/latest-raw.txt
meta=$out/latest.meta
status=0

args_of() {
  case $1 in
    binary-trees) echo "$bt_args" ;;
    gcbench) echo "$gcb_args" ;;
    churn) echo "$churn_args" ;;
    churn512) echo "$churn512_args" ;;
  esac
}
runs_of() { case $1 in binary-trees|churn512) echo "$bt_runs" ;; *) echo "$runs" ;; esac; }
# The program of a benchmark and implementation: churn512 is churn, and
# cgc-stw and cgc-conc are both the cgc build.
exe_of() { local b=${1/churn512/churn} i=${2%-stw}; echo "$bin/$b-${i%-conc}"; }
# The environment of one run, beyond PATH.
env_of() {
  case $1 in
    cgc-stw) echo CGC_MEMLIMIT=off CGC_DEBUG=gcstoptheworld=1 ;;
    cgc-conc) echo CGC_MEMLIMIT=off ;;
  esac
}
load1() { cut -d' ' -f1 /proc/loadavg; }
# The first gctrace line of a cgc variant: which mark mode it ran in, and
# why (a concurrent mark needs a dirty-page tracker, docs/concurrent.md).
mark_mode() {
  # shellcheck disable=SC2046
  env -i PATH=/usr/bin:/bin $(env_of "$1") CGC_DEBUG="$(env_of "$1" | sed -n 's/.*CGC_DEBUG=\([^ ]*\).*/\1/p'),gctrace=1" \
    "$bin/churn-cgc" 8 1000 2>&1 >/dev/null | sed -n 's/^cgc: .*; mark: //p' | head -1 || true
}

if [ $report_only = 0 ]; then
  tmpraw=$builddir/bench-raw.txt    # moved to $raw when the run completes
  : > "$tmpraw"
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
  maxruns=$(( runs > bt_runs ? runs : bt_runs ))
  n=${#impls[@]}
  for i in $(seq 1 "$maxruns"); do
    for b in $benches; do
      [ "$i" -le "$(runs_of $b)" ] || continue
      ref=
      for ((p = 0; p < n; p++)); do
        impl=${impls[$(( (p + i - 1) % n ))]}
        exe=$(exe_of "$b" "$impl")
        [ -x "$exe" ] || continue
        o=$builddir/bench-out/$b-$impl.txt
        l=$(load1)
        # shellcheck disable=SC2046
        if ! env -i PATH=/usr/bin:/bin $(env_of "$impl") "$exe" $(args_of $b) > "$o" 2> "${o%.txt}.err"; then
          echo "run.sh: $b-$impl failed (round $i):" >&2; tail -5 "${o%.txt}.err" >&2
          status=1; continue
        fi
        if grep -q '^warning' "${o%.txt}.err"; then cat "${o%.txt}.err" >&2; fi
        r=$(grep '^RESULT ' "$o" || true)
        if [ -z "$r" ]; then echo "run.sh: $b-$impl printed no RESULT" >&2; status=1; continue; fi
        # The program names itself (churn, cgc); the row is this run's.
        r=$(sed "s/ bench=[^ ]*/ bench=$b/; s/ impl=[^ ]*/ impl=$impl/" <<< "$r")
        echo "$r round=$i pos=$((p + 1)) load1=$l" >> "$tmpraw"
        echo "[$i.$((p + 1)) load $l] $r" >&2
        # Every implementation must print the same text before RESULT.
        if [ -z "$ref" ]; then ref=$o
        elif ! diff -q <(grep -v '^RESULT ' "$ref") <(grep -v '^RESULT ' "$o") >/dev/null; then
          echo "run.sh: $b-$impl output differs from $(basename "$ref")" >&2; status=1
        fi
      done
    done
  done
  mv "$tmpraw" "$raw"

  cmdline="bench/run.sh"
  modes=
  for impl in "${impls[@]}"; do
    case $impl in cgc-*) modes="$modes${modes:+; }$impl: $(mark_mode "$impl")" ;; esac
  done
  [ ${#args[@]} = 0 ] || cmdline="$cmdline ${args[*]}"
  commit=$(bench_commit "$root" " in src/, include/ or bench/" src include bench ':!bench/results' ':!bench/limit/results')
  loads=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^load1=/) { split($i, kv, "="); print kv[2] }}' "$raw" | bench_load_range)
  {
    bench_meta_run "$cmdline" "$commit" "$date_start" "$load_start" "$loads"
    bench_meta_machine
    echo "go: $(go version 2>/dev/null | awk '{print $3}')"
    echo "libgc: $(pkg-config --modversion bdw-gc 2>/dev/null || echo none)"
    echo "cc: $(cc --version | head -1)"
    echo "environment: env -i PATH=/usr/bin:/bin for every run; cgc with CGC_MEMLIMIT=off, cgc-stw with CGC_DEBUG=gcstoptheworld=1, cgc-conc in cgc's default mode (concurrent); collectors otherwise at their defaults (GOGC=100 for cgc and Go, Boehm's free-space divisor 3, every collector marking on every core)"
    echo "sizes: binary-trees $bt_args, gcbench $gcb_args, churn $churn_args, churn512 $churn512_args (slots_log2 allocations)"
    echo "rounds: binary-trees $bt_runs, gcbench $runs, churn $runs, churn512 $bt_runs; implementation order rotated by one each round"
    echo "benches: $benches"
    echo "impls: ${impls[*]}"
    [ -z "$modes" ] || echo "cgc_mark: $modes"
    [ -z "$note" ] || echo "note: $note"
  } > "$meta"
fi
[ -r "$raw" ] || { echo "run.sh: no $raw to tabulate" >&2; exit 1; }

# ---- medians, tables --------------------------------------------------
$gen --report bench --results "$out" ||
  { echo "run.sh: scripts/gen-docs.py --report failed: $out/latest.md and latest.csv not written" >&2; exit 1; }
echo
if [ $report_only = 0 ]; then
  echo "run.sh: wrote $raw, $meta, $out/latest.csv and $out/latest.md" >&2
else
  echo "run.sh: rendered $out/latest.csv and $out/latest.md from $raw" >&2
fi
[ "$out" != "$root/bench/results" ] || echo "run.sh: scripts/gen-docs.py puts them into docs/benchmarks.md" >&2
exit $status
