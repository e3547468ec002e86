#!/usr/bin/env bash
# bench/limit/run.sh — the soft-limit benchmark (issue 4), one command:
# the same churn workload (bench/limit/churn.c, churn.go) under the same
# memory cgroup limit L for cgc, Go and the Boehm collector.
#
#   bench/limit/run.sh [--limit-mib 256] [--live-pct 60] [--alloc-gib 4]
#                      [--runs 3] [--impls "cgc go boehm malloc"] [--timeout 120]
#                      [--touch "all ends"]
#                      [--build-dir DIR] [--no-build] [--out DIR] [--table-only]
#
# Builds (CMake into build-limit/, Go with `go build`), then runs each
# configuration --runs times, each in its own fresh memory cgroup of L
# (bench/limit/cgroup.sh), live heap --live-pct of L:
#   cgc    off       CGC_MEMLIMIT=off                  (Go's default: no limit)
#   cgc    soft90    CGC_MEMLIMIT=90% of L (bytes)
#   cgc    gcoff+L   CGC_GC=off CGC_MEMLIMIT=L
#   cgc    default   CGC_MEMLIMIT unset (container-aware: 90% of L)
#   go     default   GOMEMLIMIT unset
#   go     soft90    GOMEMLIMIT=90% of L
#   go     gcoff+L   GOGC=off GOMEMLIMIT=L
#   boehm  default   no limit
#   boehm  maxheap   GC_MAXIMUM_HEAP_SIZE=L (a hard cap: allocation fails)
#   malloc free      glibc malloc/free, no collector: the floor, what the
#                    mutator work (filling and verifying the blobs) costs
# once per --touch mode (churn.c): `all` fills and verifies every word of
# every blob (memory-bandwidth bound: the malloc floor alone is 0.56-0.69x
# of Go's wall time), `ends` only each blob's first and last word (the
# allocation-bound shape of binary-trees and GCBench: what differs between
# the runs is the allocator and the collector). For each mode it prints one
# table: outcome (completed / OOM-killed / alloc-failed /
# timeout, with counts), median wall time and CPU of completed runs, median
# cgroup peak memory (and as % of L), collections; then checks the target
# (cgc survives every configuration that sets a limit, peak < L, in at most
# half of Go's wall time with the same limit). Writes DIR/latest.md and
# DIR/latest.csv (default DIR: bench/limit/results). --table-only rebuilds
# the table from DIR/latest-MODE.csv (same options) without running anything.
# DIR/latest.md holds both modes' tables.
#
# Exit status: 0 done (the target line says whether it was met), 1 a build
# or workload failure, 77 no writable memory cgroup here.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIMIT_MIB=256 LIVE_PCT=60 ALLOC_GIB=4 RUNS=3 IMPLS="cgc go boehm malloc" TIMEOUT=120 TOUCH="all ends"
BUILD=$ROOT/build-limit OUT=$HERE/results DO_BUILD=1 DO_RUN=1

while (($#)); do
    case $1 in
    --limit-mib) LIMIT_MIB=$2; shift ;;
    --live-pct) LIVE_PCT=$2; shift ;;
    --alloc-gib) ALLOC_GIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --impls) IMPLS=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --touch) TOUCH=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --table-only) DO_BUILD=0 DO_RUN=0 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=cgroup.sh
source "$HERE/cgroup.sh"
die() { echo "run.sh: $*" >&2; exit 1; }
has() { [[ " $IMPLS " == *" $1 "* ]]; }

L=$((LIMIT_MIB << 20))
L90=$((L * 9 / 10))
LIVE_MIB=$((LIMIT_MIB * LIVE_PCT / 100))
ALLOC_MIB=$((ALLOC_GIB << 10))
BIN_CGC=$BUILD/tests/limit_churn_cgc
BIN_BOEHM=$BUILD/tests/limit_churn_boehm
BIN_MALLOC=$BUILD/tests/limit_churn_malloc
BIN_GO=$BUILD/limit-bench/churn-go

# ---- build -----------------------------------------------------------------
if ((DO_BUILD && DO_RUN)); then
    echo "== building into $BUILD" >&2
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BUILD.cmake.log" 2>&1 ||
        die "cmake configure failed: see $BUILD.cmake.log"
    targets=(limit_churn_cgc)
    has boehm && targets+=(limit_churn_boehm)
    has malloc && targets+=(limit_churn_malloc)
    cmake --build "$BUILD" -j2 --target "${targets[@]}" >>"$BUILD.cmake.log" 2>&1 ||
        die "build failed: see $BUILD.cmake.log (Boehm needs libgc-dev)"
    if has go; then
        mkdir -p "$BUILD/limit-bench"
        (cd "$HERE" && GO111MODULE=off GOCACHE=$BUILD/limit-bench/gocache go build -o "$BIN_GO" churn.go) ||
            die "go build failed (needs golang-go)"
    fi
fi
for i in cgc go boehm malloc; do
    has $i && ((DO_RUN)) || continue
    b=BIN_${i^^}
    [[ -x ${!b} ]] || die "missing ${!b} (build it, or leave $i out with --impls)"
done

# ---- the configurations -----------------------------------------------------
# impl|config|environment (space-separated assignments)
CONFIGS=()
has cgc && CONFIGS+=("cgc|off|CGC_MEMLIMIT=off" "cgc|soft90|CGC_MEMLIMIT=$L90"
    "cgc|gcoff+L|CGC_GC=off CGC_MEMLIMIT=$L" "cgc|default|")
has go && CONFIGS+=("go|default|" "go|soft90|GOMEMLIMIT=$L90" "go|gcoff+L|GOGC=off GOMEMLIMIT=$L")
has boehm && CONFIGS+=("boehm|default|" "boehm|maxheap|GC_MAXIMUM_HEAP_SIZE=$L")
has malloc && CONFIGS+=("malloc|free|")

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

mkdir -p "$OUT"
MD=$OUT/latest.md
for mode in $TOUCH; do
    [[ $mode == all || $mode == ends ]] || die "--touch takes all and/or ends, not $mode"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
META=$OUT/latest.meta   # when and where the CSVs were measured (kept for --table-only)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# Runs every configuration --runs times with blobs touched as $1; appends
# to $CSV.
run_mode() {
    local mode=$1 c impl config envs b r rc res outcome wall cpu gc rss ret
    echo "impl,config,env,run,outcome,status,oom_kills,wall_s,cpu_s,peak_bytes,limit_bytes,collections,maxrss_mib,retained_max_mib" >"$CSV"
    echo "== touch $mode: cgroup limit $LIMIT_MIB MiB, live heap $LIVE_MIB MiB ($LIVE_PCT%), $ALLOC_MIB MiB allocated, $RUNS run(s) each" >&2
    for c in "${CONFIGS[@]}"; do
        IFS='|' read -r impl config envs <<<"$c"
        b=BIN_${impl^^}
        for ((r = 1; r <= RUNS; r++)); do
            # shellcheck disable=SC2086
            run_in_cgroup --quiet --timeout "$TIMEOUT" --report "$work/report" "$L" -- \
                env -u CGC_MEMLIMIT -u CGC_GC -u CGC_DEBUG -u GOGC -u GOMEMLIMIT -u GC_MAXIMUM_HEAP_SIZE $envs \
                "${!b}" --live-mib "$LIVE_MIB" --alloc-mib "$ALLOC_MIB" --touch "$mode" >"$work/out" 2>"$work/err"
            rc=$?
            if ((rc == 77)); then
                cat "$work/err" >&2
                exit 77
            fi
            # shellcheck disable=SC1091
            source "$work/report"
            res=$(grep '^RESULT ' "$work/out" | tail -1)
            outcome=$CG_VERDICT
            [[ $CG_STATUS == 4 && $res == *alloc-failed* ]] && outcome=alloc-failed
            [[ $outcome == failed ]] && { echo "-- $impl $config run $r failed (status $CG_STATUS):" >&2; tail -3 "$work/err" >&2; }
            wall=$CG_WALL_S cpu= gc= rss= ret=
            if [[ $outcome == completed ]]; then
                wall=$(field wall_s "$res") cpu=$(field cpu_s "$res") gc=$(field collections "$res")
                rss=$(field maxrss_mib "$res") ret=$(field retained_max_mib "$res")
            fi
            echo "$impl,$config,\"$envs\",$r,$outcome,$CG_STATUS,$CG_OOM_KILLS,$wall,$cpu,$CG_PEAK_BYTES,$L,$gc,$rss,$ret" >>"$CSV"
            printf '   %-6s %-8s run %d: %-12s wall %6ss  peak %4d MiB  %s\n' "$impl" "$config" "$r" "$outcome" \
                "$wall" $((CG_PEAK_BYTES >> 20)) "${gc:+$gc collections}" >&2
        done
    done
}

if ((DO_RUN)); then
    for mode in $TOUCH; do
        CSV=$OUT/latest-$mode.csv
        run_mode "$mode"
    done
    {
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes in src/)')"
        echo "- command: \`bench/limit/run.sh --limit-mib $LIMIT_MIB --live-pct $LIVE_PCT --alloc-gib $ALLOC_GIB --runs $RUNS --touch \"$TOUCH\"\`"
        echo "- machine: $(nproc) CPUs, Linux $(uname -r), cgroup v${CG_VERSION:-?}; load average (1, 5, 15 min) at the start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$META"
fi
[[ -r $META ]] || echo "- (no $META: measured by an older run.sh)" >"$META"

table() {
    local cfg impl config envs
    echo "| impl | config | environment | outcome (runs) | wall s (median) | CPU s | cgroup peak MiB | peak / limit | collections |"
    echo "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for cfg in "${CONFIGS[@]}"; do
        IFS='|' read -r impl config envs <<<"$cfg"
        awk -F, -v i="$impl" -v c="$config" -v L="$L" -v envs="${envs:-(none)}" '
            function med(a, n,   t, j, k) {   # median of a[1..n]
                if (!n) return "-"
                for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            $1 == i && $2 == c {
                runs++; out[$5]++
                np++; p[np] = $10
                if ($5 == "completed") { nw++; w[nw] = $8; cp[nw] = $9; g[nw] = $12 }
            }
            END {
                s = ""
                for (o in out) s = s (s == "" ? "" : ", ") o " " out[o] "/" runs
                mp = med(p, np)
                printf "| %s | %s | `%s` | %s | %s | %s | %.0f | %.0f%% | %s |\n", i, c, envs, s,
                    med(w, nw), med(cp, nw), mp / 1048576, 100 * mp / L, med(g, nw)
            }' "$CSV"
    done
}
# The target (issue 4): every cgc configuration that sets a limit completes
# every run with peak < L, in at most half of Go's median wall time with
# the same limit (cgc's default sets 90% of L, as go soft90 does).
target() {
    local ok=1 line c g
    for pair in "soft90 soft90" "gcoff+L gcoff+L" "default soft90"; do
        read -r c g <<<"$pair"
        line=$(awk -F, -v c="$c" -v g="$g" -v L="$L" '
            $1 == "cgc" && $2 == c { n++; if ($5 == "completed" && $10 < L) { ok++; w[ok] = $8; cc[ok] = $9 } }
            $1 == "go" && $2 == g { gt++ }
            $1 == "go" && $2 == g && $5 == "completed" { gn++; gw[gn] = $8; gc[gn] = $9 }
            function med(a, n,   t, j, k) {
                if (!n) return -1
                for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            END {
                cw = (ok == n && n) ? med(w, ok) : -1; goW = med(gw, gn)
                verdict = (ok == n && n && goW > 0 && cw <= goW / 2) ? "MET" : "NOT MET"
                if (n && ok == n && goW < 0) verdict = "MET (go did not complete)"
                if (!gt) verdict = "NOT COMPARED (no go runs)"
                cC = med(cc, ok); goC = med(gc, gn)
                printf "cgc %s vs go %s: cgc completed %d/%d under the limit, wall %s s vs go %s s (ratio %s; CPU %s s vs %s s, ratio %s): %s\n",
                    c, g, ok, n, cw < 0 ? "-" : cw, goW < 0 ? "-" : goW, (cw > 0 && goW > 0) ? sprintf("%.2f", cw / goW) : "-",
                    cC < 0 ? "-" : cC, goC < 0 ? "-" : goC, (cC > 0 && goC > 0) ? sprintf("%.2f", cC / goC) : "-", verdict
            }' "$CSV")
        echo "- $line"
        [[ $line == *": MET"* ]] || ok=0
    done
    ((ok)) && echo "- **target met**" || echo "- **target not met**"
    # The collectors' own cost: wall time above the malloc floor (the same
    # mutator work with no collector).
    awk -F, '
        function med(a, n,   t, j, k) {
            if (!n) return -1
            for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $5 == "completed" { k = $1 "/" $2; n[k]++; w[k, n[k]] = $8; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
        END {
            if (!n["malloc/free"]) exit
            for (j = 1; j <= n["malloc/free"]; j++) f[j] = w["malloc/free", j]
            floor = med(f, n["malloc/free"])
            s = ""
            for (i = 1; i <= no; i++) {
                k = order[i]; if (k == "malloc/free") continue
                for (j = 1; j <= n[k]; j++) a[j] = w[k, j]
                s = s sprintf("%s%s %+.2f s", s == "" ? "" : ", ", k, med(a, n[k]) - floor)
            }
            printf "- wall time above the malloc floor (%.2f s, no collector): %s\n", floor, s
        }' "$CSV"
}

{
    echo "# Soft-limit benchmark: churn under a memory cgroup"
    echo
    cat "$META"
    echo "- workload: live heap $LIVE_MIB MiB ($LIVE_PCT% of the $LIMIT_MIB MiB cgroup limit), $ALLOC_MIB MiB allocated in objects of 16 B .. 64 KiB, every object verified"
    echo "- wall, CPU and collections are medians over completed runs; peak is the cgroup's own high-water mark (memory.max_usage_in_bytes / memory.peak), median over all runs"
    for mode in $TOUCH; do
        CSV=$OUT/latest-$mode.csv
        [[ -r $CSV ]] || continue
        echo
        case $mode in
        all) echo "## --touch all: every word of every blob written and verified (memory-bandwidth bound)" ;;
        ends) echo "## --touch ends: each blob's first and last word written and verified (allocation bound)" ;;
        esac
        echo
        table
        echo
        echo "Target (issue 4), --touch $mode:"
        echo
        target
    done
} >"$MD"
cat "$MD"
echo >&2
echo "wrote $MD and $OUT/latest-{$(tr ' ' , <<<"$TOUCH")}.csv" >&2
