#!/usr/bin/env bash
# bench/callgrind.sh — instruction counts of the C benchmarks under
# valgrind's callgrind, for a machine too noisy for wall times.
#
# Runs binary-trees, gcbench and churn at small sizes for cgc, Boehm and
# malloc/free under `valgrind --tool=callgrind` and reports the instructions
# executed (Ir, all threads together), the ratio to Boehm and to malloc,
# and the top functions of each profile. Instruction counts do not move with
# the machine's load, so they are the number to compare between commits
# when the wall clock cannot be trusted; they are not a time (cache misses,
# which dominate marking, cost nothing here).
#
# Both collectors run with a single marker (CGC_MARKERS=1, GC_MARKERS=1):
# valgrind runs one thread at a time, so extra markers would only add the
# instructions they spend waiting for work, which depend on scheduling.
#
# Usage: bench/callgrind.sh [--build-dir DIR] [--out DIR] [--no-build]
#                           [--bt-depth N] [--gcb-depth N] [--churn "LOG2 N"]
#   defaults: build-bench, bench/results, binary-trees 16, gcbench 12,
#   churn "15 300000". Writes <out>/callgrind.md, callgrind-raw.txt (per
#   program: bench impl Ir collections, then its RESULT line) and
#   callgrind.meta (command, commit, date, load, machine, versions); the
#   profiles stay in <build-dir>/callgrind/ (callgrind_annotate FILE).
#   Every program runs under env -i (PATH only) plus CGC_MARKERS=1 or
#   GC_MARKERS=1 (and CGC_MEMLIMIT=off for cgc).
#   --report-only  no build, no runs: tabulate the profiles already there.
# Needs: valgrind (Debian package valgrind), cmake, gcc, libgc-dev.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
builddir=$root/build-bench
out=$root/bench/results
build=1
report_only=0
bt_args=16
gcb_args=12
churn_args="15 300000"

while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) builddir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --report-only) build=0; report_only=1; shift ;;
    --bt-depth) bt_args=$2; shift 2 ;;
    --gcb-depth) gcb_args=$2; shift 2 ;;
    --churn) churn_args=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "callgrind.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed (apt-get install valgrind)" >&2; exit 1; }

impls="cgc boehm boehm-noint malloc"
benches="binary-trees gcbench churn"
bin=$builddir/bench
cgdir=$builddir/callgrind

if [ $build = 1 ]; then
  cmake -S "$root" -B "$builddir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  for b in $benches; do
    for impl in $impls; do
      cmake --build "$builddir" -j2 --target "$b-$impl" >/dev/null 2>&1 ||
        echo "callgrind.sh: $b-$impl not built (libgc-dev missing?): skipped" >&2
    done
  done
fi
mkdir -p "$cgdir" "$out"

args_of() {
  case $1 in
    binary-trees) echo "$bt_args" ;;
    gcbench) echo "$gcb_args" ;;
    churn) echo "$churn_args" ;;
  esac
}

status=0
# The commit the profiles were made at, for the report (--report-only later).
if [ $report_only = 0 ]; then
  bench_commit "$root" " in src/, include/ or bench/" src include bench ':!bench/results' ':!bench/limit/results' > "$cgdir/commit.txt"
  cut -d' ' -f1-3 /proc/loadavg > "$cgdir/load-before.txt"
fi
for b in $benches; do
  [ $report_only = 0 ] || break
  ref=
  for impl in $impls; do
    exe=$bin/$b-$impl
    [ -x "$exe" ] || continue
    prof=$cgdir/$b-$impl.out
    txt=$cgdir/$b-$impl.txt
    # shellcheck disable=SC2046
    if ! env -i PATH=/usr/bin:/bin CGC_MARKERS=1 CGC_MEMLIMIT=off GC_MARKERS=1 \
         valgrind --tool=callgrind --callgrind-out-file="$prof" \
         "$exe" $(args_of "$b") > "$txt" 2> "$cgdir/$b-$impl.valgrind.txt"; then
      echo "callgrind.sh: $b-$impl failed (see $cgdir/$b-$impl.valgrind.txt)" >&2
      status=1; continue
    fi
    echo "callgrind.sh: $b-$impl $(args_of "$b"): $(awk '/^totals:/ { print $2 }' "$prof") instructions" >&2
    # The variants must print the same text before RESULT.
    if [ -z "$ref" ]; then ref=$txt
    elif ! diff -q <(grep -v '^RESULT ' "$ref") <(grep -v '^RESULT ' "$txt") >/dev/null; then
      echo "callgrind.sh: $b-$impl output differs from $(basename "$ref")" >&2; status=1
    fi
  done
done

# --report-only with no profiles (a fresh build directory) would write
# empty tables over the committed ones.
if [ $report_only = 1 ] && ! ls "$cgdir"/*.out >/dev/null 2>&1; then
  echo "callgrind.sh: --report-only: no profiles in $cgdir (run without --report-only first); nothing written" >&2
  exit 1
fi

# "bench impl Ir gcs" per line: Ir from the profile's "totals:" line (every
# thread's instructions), the collection count from the RESULT line.
counts=$cgdir/counts.txt
: > "$counts"
for b in $benches; do
  for impl in $impls; do
    prof=$cgdir/$b-$impl.out
    [ -f "$prof" ] || continue
    ir=$(awk '/^totals:/ { print $2 }' "$prof")
    gcs=$(sed -n 's/^RESULT .* gcs=\([0-9]*\).*/\1/p' "$cgdir/$b-$impl.txt")
    echo "$b $impl $ir ${gcs:-?}" >> "$counts"
  done
done

# Raw output and provenance beside the report.
for b in $benches; do
  for impl in $impls; do
    [ -f "$cgdir/$b-$impl.out" ] || continue
    grep "^$b $impl " "$counts"
    grep '^RESULT ' "$cgdir/$b-$impl.txt" || true
  done
done > "$out/callgrind-raw.txt"
{
  echo "command: bench/callgrind.sh --bt-depth $bt_args --gcb-depth $gcb_args --churn \"$churn_args\""
  echo "commit: $(cat "$cgdir/commit.txt" 2>/dev/null || echo unknown)"
  echo "date_utc: $(date -u -r "$counts" '+%Y-%m-%d %H:%M UTC')"
  echo "load_before: $(cat "$cgdir/load-before.txt" 2>/dev/null || echo '?')"
  echo "load_after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "load1_runs: not recorded (instruction counts do not depend on the load)"
  bench_meta_machine
  echo "go: not used"
  echo "libgc: $(pkg-config --modversion bdw-gc 2>/dev/null || echo none)"
  echo "cc: $(cc --version | head -1); $(valgrind --version)"
  echo "environment: env -i PATH=/usr/bin:/bin CGC_MARKERS=1 CGC_MEMLIMIT=off GC_MARKERS=1 (one marker each)"
} > "$out/callgrind.meta"

md=$out/callgrind.md
{
  echo "# Instruction counts (callgrind)"
  echo
  echo "Date: $(date -u -r "$cgdir/counts.txt" '+%Y-%m-%d %H:%M UTC'). Profiles made at commit $(cat "$cgdir/commit.txt" 2>/dev/null || echo unknown)."
  echo "Command: \`bench/callgrind.sh --bt-depth $bt_args --gcb-depth $gcb_args --churn \"$churn_args\"\`."
  echo "One marker each (CGC_MARKERS=1, GC_MARKERS=1); Ir = instructions executed by all threads."
  echo
  echo "GCs differ from a native run: under valgrind the conservative roots differ (docs/benchmarks.md)."
  echo
  echo "| bench | impl | Ir (millions) | Ir × Boehm | Ir × malloc | GCs |"
  echo "|---|---|---:|---:|---:|---:|"
  awk '
    { b[NR] = $1; i[NR] = $2; ir[NR] = $3; g[NR] = $4
      if ($2 == "boehm") bo[$1] = $3
      if ($2 == "malloc") ma[$1] = $3 }
    END {
      for (r = 1; r <= NR; r++)
        printf "| %s | %s | %.1f | %s | %s | %s |\n", b[r], i[r], ir[r] / 1e6,
          (b[r] in bo) ? sprintf("%.2f", ir[r] / bo[b[r]]) : "–",
          (b[r] in ma) ? sprintf("%.2f", ir[r] / ma[b[r]]) : "–", g[r]
    }' "$counts"
  echo
  echo "## Where the instructions go (top functions, exclusive Ir)"
  for b in $benches; do
    for impl in $impls; do
      prof=$cgdir/$b-$impl.out
      [ -f "$prof" ] || continue
      echo
      echo "### $b, $impl"
      echo
      echo '```'
      # The function table follows the second "Ir  file:function" header.
      callgrind_annotate "$prof" 2>/dev/null |
        awk '/file:function/ { on = 1; getline; next } on && NF { print; if (++n == 8) exit }' |
        sed -E 's/ \[[^]]*\]$//; s/\?\?\?://'
      echo '```'
    done
  done
} > "$md"

sed -n '1,/^## Where/p' "$md" | sed '$d'
echo "callgrind.sh: wrote $md, $out/callgrind-raw.txt and $out/callgrind.meta (profiles in $cgdir)" >&2
exit $status
