#!/usr/bin/env bash
# bench/compat/run.sh — an unchanged Debian program on cgc's libgc.so.1
# (under cgc-run) and on Debian's libgc, in the same run.
#
# Usage: bench/compat/run.sh [--runs N] [--build-dir DIR] [--out DIR]
#                            [--no-build] [--report-only] [--note TEXT]
#   --runs N       rounds (default 7)
#   --build-dir D  CMake build directory (default build-bench)
#   --out D        where the results go (default bench/compat/results)
#   --no-build     use the library already built
#   --report-only  no build, no runs: re-tabulate <out>/latest-raw.csv
#   --note TEXT    a sentence recorded in latest.meta and shown in the table
#
# The program is Debian 12's Guile 3.0 (guile-3.0, fetched with apt-get
# download and unpacked, tests/compat/real/fetch.sh) running
# tests/compat/real/guile-work.scm: four threads allocating at once,
# guardians, weak hash tables, a long-lived list (the workload CTest's
# compat_real_guile checks). Each round runs it once on each library, the
# order alternating from round to round; every run starts from env -i
# (PATH and Guile's paths only), cgc with CGC_MEMLIMIT=off. Measured per
# run (tests/compat/real/measure.py): wall and CPU seconds, peak RSS
# (wait4's ru_maxrss); collections from cgc's gctrace (CGC_DEBUG=gctrace=1)
# and libgc's GC_PRINT_STATS ("Initiating full world-stop collection"
# lines), both counting explicit collections; whether stdout is identical
# to the first libgc run's.
#
# Writes to <out>: latest-raw.csv (one row per run), latest.meta (command,
# commit, date, load, machine), latest.csv (medians) and latest.md, both
# rendered by scripts/gen-docs.py, which also puts the table into
# docs/boehm-compat.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$root/bench/lib.sh"
builddir=$root/build-bench
runs=7
build=1
report_only=0
note=
out=$root/bench/compat/results
args=()

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; args+=("$1 $2"); shift 2 ;;
    --build-dir) builddir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --report-only) build=0; report_only=1; shift ;;
    --note) note=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
real=$root/tests/compat/real
mkdir -p "$out"
raw=$out/latest-raw.csv
meta=$out/latest.meta

if [ $report_only = 0 ]; then
  if [ $build = 1 ]; then
    cmake -S "$root" -B "$builddir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$builddir" -j2 --target cgc_compat >/dev/null
  fi
  libdir=$builddir/compat/lib
  cgc_run=$builddir/compat/cgc-run
  [ -e "$libdir/libgc.so.1" ] || { echo "run.sh: no $libdir/libgc.so.1 (build cgc_compat)" >&2; exit 1; }
  pkgs=$builddir/compat-real/pkgs
  bash "$real/fetch.sh" "$pkgs" guile-3.0 guile-3.0-libs ||
    { echo "run.sh: Guile could not be fetched" >&2; exit 1; }
  r=$(cd "$pkgs/root" && pwd)
  lib=$r/usr/lib/x86_64-linux-gnu
  work=$builddir/bench-compat
  rm -rf "$work"; mkdir -p "$work"
  envs=(HOME="$work" LD_LIBRARY_PATH="$lib" GUILE_SYSTEM_PATH="$r/usr/share/guile/3.0"
        GUILE_SYSTEM_COMPILED_PATH="$lib/guile/3.0/ccache" GUILE_SYSTEM_EXTENSIONS_PATH="$lib/guile/3.0/extensions")
  cmd=("$r/usr/bin/guile-3.0" --no-auto-compile "$real/guile-work.scm")
  # Before anything is written under $out (which is inside the pathspec).
  commit=$(bench_commit "$root" "" src include compat bench/compat tests/compat/real)
  tmpraw=$work/raw.csv
  echo "program,impl,round,pos,load1,wall_s,cpu_s,maxrss_kb,gcs,rc,same_output" > "$tmpraw"
  date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  status=0
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2)); then order=(libgc cgc); else order=(cgc libgc); fi
    for p in 0 1; do
      impl=${order[$p]}
      base=$work/$impl.$i
      l=$(cut -d' ' -f1 /proc/loadavg)
      if [ $impl = cgc ]; then
        env -i PATH=/usr/bin:/bin "${envs[@]}" CGC_MEMLIMIT=off CGC_DEBUG=gctrace=1 CGC_COMPAT_LIBDIR="$libdir" \
          python3 "$real/measure.py" "$base.m" "$base.out" "$base.err" sh "$cgc_run" "${cmd[@]}"
        gcs=$(grep -c '^gc [0-9]' "$base.err" || true)
      else
        env -i PATH=/usr/bin:/bin "${envs[@]}" GC_PRINT_STATS=1 \
          python3 "$real/measure.py" "$base.m" "$base.out" "$base.err" "${cmd[@]}"
        gcs=$(grep -c 'Initiating full world-stop collection' "$base.err" || true)
      fi
      read -r rss wall user sys rc < "$base.m"
      same=1
      cmp -s "$work/libgc.1.out" "$base.out" 2>/dev/null || same=0
      [ "$impl.$i" != libgc.1 ] || same=1
      [ "$rc" = 0 ] || { echo "run.sh: $impl round $i exited with $rc" >&2; status=1; }
      [ $same = 1 ] || { echo "run.sh: $impl round $i: output differs from libgc's" >&2; status=1; }
      cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.3f", u + s}')
      echo "guile,$impl,$i,$((p + 1)),$l,$wall,$cpu,$rss,$gcs,$rc,$same" >> "$tmpraw"
      echo "[$i.$((p + 1)) load $l] guile $impl: wall $wall s, cpu $cpu s, rss $rss KiB, $gcs collections" >&2
    done
  done
  # libgc 1's output is the reference: compared only once it exists.
  mv "$tmpraw" "$raw"
  loads=$(tail -n +2 "$raw" | cut -d, -f5 | bench_load_range)
  cmdline="bench/compat/run.sh"
  [ ${#args[@]} = 0 ] || cmdline="$cmdline ${args[*]}"
  {
    bench_meta_run "$cmdline" "$commit" "$date_start" "$load_start" "$loads"
    bench_meta_machine
    echo "go: not used"
    echo "libgc: $(dpkg-query -W -f '${Version}' libgc1 2>/dev/null || echo '?')"
    echo "cc: $(cc --version | head -1)"
    echo "program: Debian 12 guile-3.0 $(dpkg-deb -f "$pkgs"/debs/guile-3.0_*.deb Version 2>/dev/null), tests/compat/real/guile-work.scm"
    echo "environment: env -i PATH=/usr/bin:/bin plus Guile's paths; cgc under cgc-run with CGC_MEMLIMIT=off and CGC_DEBUG=gctrace=1, libgc with GC_PRINT_STATS=1; both at their defaults otherwise (libgc's free-space divisor 3, which cgc's layer maps to GC percent 66); order alternating each round"
    [ -z "$note" ] || echo "note: $note"
  } > "$meta"
else
  status=0
fi
[ -r "$raw" ] || { echo "run.sh: no $raw to tabulate" >&2; exit 1; }
python3 "$root/scripts/gen-docs.py" --report compat --results "$out" ||
  { echo "run.sh: scripts/gen-docs.py --report failed" >&2; exit 1; }
echo "run.sh: wrote $out/latest.{md,csv}; scripts/gen-docs.py puts the table into docs/boehm-compat.md" >&2
exit $status
