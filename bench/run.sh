#!/usr/bin/env bash
# bench/run.sh — build and run the benchmark suite, one command.
#
# Every benchmark (binary-trees, gcbench, churn) runs for every
# implementation (cgc, boehm, malloc, go), interleaved: run 1 of each, then
# run 2 of each, ... so that slow drift of a shared machine hits all
# implementations alike. The tables report the median of the runs of each
# column, and wall time relative to the Boehm collector.
#
# Usage: bench/run.sh [--runs N] [--quick] [--build-dir DIR] [--out DIR] [--no-build]
#   --runs N       runs per benchmark (default 5; binary-trees, the long one,
#                  gets min(N, 3) unless --bt-runs is given)
#   --bt-runs N    runs of binary-trees
#   --quick        1 run at small sizes (a check that everything works);
#                  results go to <build-dir>/bench-results, not bench/results
#   --build-dir D  CMake build directory (default build-bench)
#   --out D        where latest.md / latest.csv go (default bench/results)
#   --no-build     use the binaries already built
#   --report-only  no build, no runs: tabulate the RESULT lines already in
#                  <build-dir>/bench-raw.txt (e.g. after an interrupted run)
#   --note TEXT    a sentence added under the heading of latest.md
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
builddir=$root/build-bench
runs=5
bt_runs=
quick=0
build=1
report_only=0
note=
out=

while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --bt-runs) bt_runs=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --build-dir) builddir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --report-only) build=0; report_only=1; shift ;;
    --note) note=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

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

# ---- build ------------------------------------------------------------
if [ $build = 1 ]; then
  cmake -S "$root" -B "$builddir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$builddir" -j2 --target \
    binary-trees-cgc binary-trees-malloc gcbench-cgc gcbench-malloc churn-cgc churn-malloc >/dev/null
  # The Boehm variants exist only when libgc-dev was found at configure time.
  for b in binary-trees gcbench churn; do
    cmake --build "$builddir" -j2 --target $b-boehm >/dev/null 2>&1 ||
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
impls="cgc boehm malloc go"
benches="binary-trees gcbench churn"
raw=$builddir/bench-raw.txt
mkdir -p "$out" "$builddir/bench-out"
status=0
[ $report_only = 1 ] || : > "$raw"

args_of() {
  case $1 in
    binary-trees) echo "$bt_args" ;;
    gcbench) echo "$gcb_args" ;;
    churn) echo "$churn_args" ;;
  esac
}
runs_of() { if [ "$1" = binary-trees ]; then echo "$bt_runs"; else echo "$runs"; fi; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
maxruns=$(( runs > bt_runs ? runs : bt_runs ))
[ $report_only = 0 ] || maxruns=0
for i in $(seq 1 "$maxruns"); do
  for b in $benches; do
    [ "$i" -le "$(runs_of $b)" ] || continue
    ref=
    for impl in $impls; do
      exe=$bin/$b-$impl
      [ -x "$exe" ] || continue
      o=$builddir/bench-out/$b-$impl.txt
      # shellcheck disable=SC2046
      # stderr (gcbench's per-depth times, warnings) is kept beside stdout.
      if ! "$exe" $(args_of $b) > "$o" 2> "${o%.txt}.err"; then
        echo "run.sh: $b-$impl failed (run $i):" >&2; tail -5 "${o%.txt}.err" >&2
        status=1; continue
      fi
      if grep -q '^warning' "${o%.txt}.err"; then cat "${o%.txt}.err" >&2; fi
      r=$(grep '^RESULT ' "$o" || true)
      if [ -z "$r" ]; then echo "run.sh: $b-$impl printed no RESULT" >&2; status=1; continue; fi
      echo "$r" >> "$raw"
      echo "[$i] $r" >&2
      # Every implementation must print the same text before RESULT.
      if [ -z "$ref" ]; then ref=$o
      elif ! diff -q <(grep -v '^RESULT ' "$ref") <(grep -v '^RESULT ' "$o") >/dev/null; then
        echo "run.sh: $b-$impl output differs from $(basename "$ref")" >&2; status=1
      fi
    done
  done
done

# ---- medians, tables --------------------------------------------------
# awk (mawk-compatible): collect each column's values per bench/impl, sort
# them, take the middle one (mean of the middle two for an even count).
summary=$(awk -v impls="$impls" -v benches="$benches" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    for (f = 2; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
    key = v["bench"] SUBSEP v["impl"]; cnt[key]++
    for (k in v) if (k != "bench" && k != "impl") vals[key, k] = vals[key, k] " " v[k]
  }
  END {
    nf = split("wall_s cpu_s maxrss_kb gcs pause_p50_ms pause_p99_ms pause_max_ms", F, " ")
    ni = split(impls, I, " "); nb = split(benches, B, " ")
    for (b = 1; b <= nb; b++) for (i = 1; i <= ni; i++) {
      key = B[b] SUBSEP I[i]; if (!(key in cnt)) continue
      line = B[b] "," I[i] "," cnt[key]
      for (f = 1; f <= nf; f++) line = line "," median(vals[key, F[f]])
      print line
    }
  }' "$raw")

csv=$out/latest.csv
{
  echo "bench,impl,runs,wall_s,cpu_s,maxrss_kb,gcs,pause_p50_ms,pause_p99_ms,pause_max_ms,wall_vs_boehm"
  echo "$summary" | awk -F, '
    { row[NR] = $0; b[NR] = $1; w[NR] = $4; if ($2 == "boehm") bw[$1] = $4 }
    END {
      for (r = 1; r <= NR; r++) {
        ratio = (b[r] in bw && bw[b[r]] > 0) ? sprintf("%.2f", w[r] / bw[b[r]]) : ""
        print row[r] "," ratio
      }
    }'
} > "$csv"

md=$out/latest.md
cmdline="bench/run.sh"; [ $quick = 1 ] && cmdline="$cmdline --quick"
{
  echo "# Benchmark results"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Command: \`$cmdline --runs $runs --bt-runs $bt_runs\`."
  echo "Machine: $(nproc) CPUs, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')."
  if [ $report_only = 1 ]; then
    echo "Tabulated with --report-only from the RESULT lines of an earlier run; load average now: $(cut -d' ' -f1-3 /proc/loadavg)."
  else
    echo "Load average at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: expect noise)."
  fi
  echo "Medians over the runs of each column separately; wall × Boehm = median wall / Boehm's median wall."
  echo "Sizes: binary-trees $bt_args, gcbench $gcb_args, churn $churn_args (slots_log2 allocations)."
  [ -z "$note" ] || { echo; echo "Note: $note"; }
  for b in $benches; do
    echo
    echo "## $b"
    echo
    echo "| impl | runs | wall s | wall × Boehm | cpu s | max RSS MiB | GCs | pause p50 ms | pause p99 ms | pause max ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F, -v b="$b" 'NR > 1 && $1 == b {
      printf "| %s | %s | %.2f | %s | %.2f | %.1f | %d | %.2f | %.2f | %.2f |\n",
        $2, $3, $4, ($11 == "" ? "–" : $11), $5, $6 / 1024, $7, $8, $9, $10 }' "$csv"
  done
  echo
  echo "## Targets"
  echo
  echo "The core's targets. On a shared machine the load drifts between rounds, so"
  echo "each ratio is also taken *within* each round (cgc's run against the other"
  echo "implementation's run of the same round, which ran just before or after it)"
  echo "and the verdict uses the median of those paired ratios; the range over the"
  echo "rounds and the ratio of the medians above are given alongside."
  echo
  [ $quick = 0 ] || { echo "(--quick: small sizes and one round. The targets are defined at the default sizes; this table only shows that the check works.)"; echo; }
  echo "| target | paired median (range) | ratio of medians | verdict |"
  echo "|---|---|---|---|"
  # The k-th RESULT line of a bench/impl in the raw file is from round k.
  # field[b, impl, k, name] = value. A target with a missing side is
  # reported as not measured, never as met.
  awk '
    {
      delete f
      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      b = f["bench"]; im = f["impl"]; k = ++n[b, im]
      for (key in f) val[b, im, k, key] = f[key]
    }
    function median(a, m,   i, j, t) {
      for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    # target(name, bench, other, field, limit, strict): cgc field / other
    # field per round; met when the paired median is <= limit (< if strict).
    function target(name, b, other, key, limit, strict,   k, m, r, lo, hi, x, y, med, xs, ys, nn) {
      m = 0; nn = (n[b, "cgc"] < n[b, other]) ? n[b, "cgc"] : n[b, other]
      for (k = 1; k <= nn; k++) {
        y = val[b, other, k, key] + 0
        if (y <= 0) continue
        r[++m] = (val[b, "cgc", k, key] + 0) / y
        xs[m] = val[b, "cgc", k, key] + 0; ys[m] = y
      }
      if (m == 0) { printf "| %s | – | – | not measured (no %s or cgc runs) |\n", name, other; return }
      lo = hi = r[1]; for (k = 2; k <= m; k++) { if (r[k] < lo) lo = r[k]; if (r[k] > hi) hi = r[k] }
      med = median(r, m)
      printf "| %s | %.2f × (%.2f–%.2f, %d rounds) | %.2f × | %s |\n", name, med, lo, hi, m,
        median(xs, m) / median(ys, m),
        limit < 0 ? "(no target)" : (strict ? med < limit : med <= limit) ? "met" : "**not met**"
    }
    END {
      target("binary-trees wall ≤ 0.6 × Boehm", "binary-trees", "boehm", "wall_s", 0.6, 0)
      target("binary-trees CPU time vs Boehm (steadier than wall)", "binary-trees", "boehm", "cpu_s", -1, 0)
      target("binary-trees peak RSS ≤ Boehm", "binary-trees", "boehm", "maxrss_kb", 1, 0)
      target("binary-trees wall < malloc/free", "binary-trees", "malloc", "wall_s", 1, 1)
      target("churn pause p99 ≤ 0.5 × Boehm", "churn", "boehm", "pause_p99_ms", 0.5, 0)
    }' "$raw"
} > "$md"

cat "$md"
echo
echo "run.sh: wrote $md and $csv" >&2
exit $status
