#!/usr/bin/env bash
# bench/run.sh — build and run the benchmark suite, one command.
#
# Usage: bench/run.sh [--runs N] [--bt-runs N] [--quick] [--build-dir DIR]
#                     [--out DIR] [--no-build] [--report-only] [--note TEXT]
#   --runs N       rounds of gcbench and churn (default 5)
#   --bt-runs N    rounds of binary-trees, the long one (default min(N, 3))
#   --quick        1 round at small sizes (a check that everything works);
#                  results go to <build-dir>/bench-results, not bench/results
#   --build-dir D  CMake build directory (default build-bench)
#   --out D        where the results go (default bench/results)
#   --no-build     use the binaries already built
#   --report-only  no build, no runs: re-tabulate <out>/latest-raw.txt
#   --note TEXT    a sentence recorded in latest.meta and shown in the tables
# Default: about 5 minutes on a quiet 2-core machine.
#
# Every benchmark (binary-trees, gcbench, churn) runs for every
# implementation (cgc, boehm, boehm-noint, malloc, go) in rounds: round 1 of
# each, then round 2 of each, ..., and the order of the implementations
# rotates by one from round to round, so that neither drift of a shared
# machine nor running first favours one of them. Every run starts from an
# empty environment (env -i, PATH only): no CGC_*, GOGC, GOMEMLIMIT or GC_*
# from the caller. cgc runs with CGC_MEMLIMIT=off, so that inside a
# memory-limited container it does not take the automatic limit Go and
# Boehm do not have. The 1-minute load average is recorded before each run.
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
args=()   # the command line for latest.meta (the note is recorded on its own)

usage() { sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; args+=("$1 $2"); shift 2 ;;
    --bt-runs) bt_runs=$2; args+=("$1 $2"); shift 2 ;;
    --quick) quick=1; args+=("$1"); shift ;;
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

# Sizes: binary-trees depth, gcbench max depth, churn "slots_log2 allocations".
if [ $quick = 1 ]; then
  runs=1; bt_runs=1
  bt_args=14; gcb_args=12; churn_args="16 500000"
  : "${out:=$builddir/bench-results}"
else
  [ -n "$bt_runs" ] || bt_runs=$(( runs < 3 ? runs : 3 ))
  bt_args=21; gcb_args=16; churn_args="19 10000000"
  : "${out:=$root/bench/results}"
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
impls=(cgc boehm boehm-noint malloc go)
benches="binary-trees gcbench churn"
mkdir -p "$out" "$builddir/bench-out"
raw=$out/latest-raw.txt
meta=$out/latest.meta
status=0

args_of() {
  case $1 in
    binary-trees) echo "$bt_args" ;;
    gcbench) echo "$gcb_args" ;;
    churn) echo "$churn_args" ;;
  esac
}
runs_of() { if [ "$1" = binary-trees ]; then echo "$bt_runs"; else echo "$runs"; fi; }
# The environment of one run, beyond PATH.
env_of() { if [ "$1" = cgc ]; then echo CGC_MEMLIMIT=off; fi; }
load1() { cut -d' ' -f1 /proc/loadavg; }

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
        exe=$bin/$b-$impl
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
  [ ${#args[@]} = 0 ] || cmdline="$cmdline ${args[*]}"
  commit=$(bench_commit "$root" " in src/, include/ or bench/" src include bench ':!bench/results' ':!bench/limit/results')
  loads=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^load1=/) { split($i, kv, "="); print kv[2] }}' "$raw" | bench_load_range)
  {
    bench_meta_run "$cmdline" "$commit" "$date_start" "$load_start" "$loads"
    bench_meta_machine
    echo "go: $(go version 2>/dev/null | awk '{print $3}')"
    echo "libgc: $(pkg-config --modversion bdw-gc 2>/dev/null || echo none)"
    echo "cc: $(cc --version | head -1)"
    echo "environment: env -i PATH=/usr/bin:/bin for every run; cgc with CGC_MEMLIMIT=off; collectors otherwise at their defaults (GOGC=100 for cgc and Go, Boehm's free-space divisor 3, every collector marking on every core)"
    echo "sizes: binary-trees $bt_args, gcbench $gcb_args, churn $churn_args (slots_log2 allocations)"
    echo "rounds: binary-trees $bt_runs, gcbench $runs, churn $runs; implementation order rotated by one each round"
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
