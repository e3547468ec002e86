#!/usr/bin/env bash
# bench/limit/run.sh — the soft-limit benchmark (issue 4), one command:
# the same churn workload (bench/limit/churn.c, churn.go) under the same
# memory cgroup limit L for cgc, Go and the Boehm collector.
#
# Usage: bench/limit/run.sh [--limit-mib 256] [--live-pct 60] [--alloc-gib 4]
#                           [--alloc-mib N] [--runs 3] [--impls "cgc go boehm boehm-noint malloc"]
#                           [--concurrent] [--timeout 120] [--touch "all ends"] [--note TEXT]
#                           [--build-dir DIR] [--no-build] [--out DIR] [--table-only]
# Default: about 4 minutes on a quiet 2-core machine; needs root (or a
# delegated cgroup). Results: bench/limit/results/ (--out).
#
# Builds (CMake into build-limit/, Go with `go build`), then runs each
# configuration --runs times, each in its own fresh memory cgroup of L
# (bench/limit/cgroup.sh), live heap --live-pct of L:
#   cgc    off       CGC_MEMLIMIT=off                  (Go's default: no limit)
#   cgc    soft90    CGC_MEMLIMIT=90% of L (bytes)
#   cgc    gcoff+L   CGC_GC=off CGC_MEMLIMIT=L
#   cgc    default   CGC_MEMLIMIT unset (container-aware: 90% of L)
#   cgc-conc (the same four, each with CGC_DEBUG=gcconcurrent=1 added:
#            every cycle concurrent, small heaps too, where cgc's default
#            mode marks a small heap stopped, docs/concurrent.md; in
#            --impls, or added by --concurrent, so that both run in the
#            same rounds and compare: issue 13 wants the soft-limit results
#            unchanged or better with concurrent marking; before
#            2026-12-05 the default mode was stop-the-world)
#   go     default   GOMEMLIMIT unset
#   go     soft90    GOMEMLIMIT=90% of L
#   go     gcoff+L   GOGC=off GOMEMLIMIT=L
#   boehm  default   no limit
#   boehm  maxheap   GC_MAXIMUM_HEAP_SIZE=L (a hard cap: allocation fails)
#   boehm-noint default  GC_set_all_interior_pointers(0): without the byte
#                    libgc's default adds to every object
#   malloc free      glibc malloc/free, no collector: the floor, what the
#                    mutator work (filling and verifying the blobs) costs
# once per --touch mode (churn.c): `all` fills and verifies every word of
# every blob (memory-bandwidth bound), `ends` only each blob's first and
# last word (allocation bound: what differs between the runs is the
# allocator and the collector). Every blob is zeroed at allocation in every
# implementation (Go's make does; the C programs memset), so the runs do the
# same work.
#
# Order: round 1 of every configuration (both modes), then round 2, ...;
# the order of the configurations rotates by one from round to round. Every
# run starts from an empty environment (env -i, PATH only) plus its
# configuration's variables. The 1-minute load average is recorded before
# each run.
#
# Writes to DIR (default bench/limit/results): latest-raw.csv (one line per
# run: mode, round, position, load, outcome, times, cgroup peak, gaps),
# latest.meta (command, commit, date, load, machine, versions, and the mark
# mode each cgc variant got: its first gctrace line), and, rendered
# from them by scripts/gen-docs.py, latest.csv (medians) and latest.md
# (tables and the target's verdicts; the same tables go into
# docs/memory-limit.md). --table-only re-renders without running anything.
#
# Exit status: 0 done (the target lines say what was met), 1 a build
# or workload failure, 77 no writable memory cgroup here.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
LIMIT_MIB=256 LIVE_PCT=60 ALLOC_GIB=4 ALLOC_MIB= RUNS=3 IMPLS="cgc go boehm boehm-noint malloc" TIMEOUT=120 TOUCH="all ends" NOTE=
CONCURRENT=0
BUILD=$ROOT/build-limit OUT=$HERE/results DO_BUILD=1 DO_RUN=1

while (($#)); do
    case $1 in
    --limit-mib) LIMIT_MIB=$2; shift ;;
    --live-pct) LIVE_PCT=$2; shift ;;
    --alloc-gib) ALLOC_GIB=$2; shift ;;
    --alloc-mib) ALLOC_MIB=$2; shift ;;   # (small trial runs)
    --runs) RUNS=$2; shift ;;
    --impls) IMPLS=$2; shift ;;
    --concurrent) CONCURRENT=1 ;;
    --timeout) TIMEOUT=$2; shift ;;
    --touch) TOUCH=$2; shift ;;
    --note) NOTE=$2; shift ;;
    --build-dir) BUILD=$(realpath -m "$2"); shift ;;   # absolute: GOCACHE must be
    --out) OUT=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --table-only) DO_BUILD=0 DO_RUN=0 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=cgroup.sh
source "$HERE/cgroup.sh"
die() { echo "run.sh: $*" >&2; exit 1; }
has() { [[ " $IMPLS " == *" $1 "* ]]; }
((CONCURRENT)) && ! has cgc-conc && IMPLS="$IMPLS cgc-conc"
for i in $IMPLS; do
    [[ " cgc cgc-conc go boehm boehm-noint malloc " == *" $i "* ]] ||
        { echo "run.sh: unknown implementation $i (known: cgc cgc-conc go boehm boehm-noint malloc)" >&2; exit 2; }
done

L=$((LIMIT_MIB << 20))
L90=$((L * 9 / 10))
LIVE_MIB=$((LIMIT_MIB * LIVE_PCT / 100))
ALLOC_MIB=${ALLOC_MIB:-$((ALLOC_GIB << 10))}
BIN_CGC=$BUILD/tests/limit_churn_cgc
BIN_CGC_CONC=$BIN_CGC   # the same program, CGC_DEBUG=gcconcurrent=1
BIN_BOEHM=$BUILD/tests/limit_churn_boehm
BIN_MALLOC=$BUILD/tests/limit_churn_malloc
BIN_BOEHM_NOINT=$BUILD/tests/limit_churn_boehm_noint
BIN_GO=$BUILD/limit-bench/churn-go

# ---- build -----------------------------------------------------------------
if ((DO_BUILD && DO_RUN)); then
    echo "== building into $BUILD" >&2
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BUILD.cmake.log" 2>&1 ||
        die "cmake configure failed: see $BUILD.cmake.log"
    targets=(limit_churn_cgc)
    has boehm && targets+=(limit_churn_boehm)
    has boehm-noint && targets+=(limit_churn_boehm_noint)
    has malloc && targets+=(limit_churn_malloc)
    cmake --build "$BUILD" -j2 --target "${targets[@]}" >>"$BUILD.cmake.log" 2>&1 ||
        die "build failed: see $BUILD.cmake.log (Boehm needs libgc-dev)"
    if has go; then
        mkdir -p "$BUILD/limit-bench"
        (cd "$HERE" && GO111MODULE=off GOCACHE=$BUILD/limit-bench/gocache go build -o "$BIN_GO" churn.go) ||
            die "go build failed (needs golang-go)"
    fi
fi
bin_of() { local b=${1^^}; b=BIN_${b//-/_}; echo "${!b}"; }
for i in cgc cgc-conc go boehm boehm-noint malloc; do
    has $i && ((DO_RUN)) || continue
    b=BIN_${i^^}; b=${b//-/_}
    [[ -x ${!b} ]] || die "missing ${!b} (build it, or leave $i out with --impls)"
done

# ---- the configurations -----------------------------------------------------
# impl|config|environment (space-separated assignments)
CONFIGS=()
has cgc && CONFIGS+=("cgc|off|CGC_MEMLIMIT=off" "cgc|soft90|CGC_MEMLIMIT=$L90"
    "cgc|gcoff+L|CGC_GC=off CGC_MEMLIMIT=$L" "cgc|default|")
CONC=CGC_DEBUG=gcconcurrent=1
has cgc-conc && CONFIGS+=("cgc-conc|off|CGC_MEMLIMIT=off $CONC" "cgc-conc|soft90|CGC_MEMLIMIT=$L90 $CONC"
    "cgc-conc|gcoff+L|CGC_GC=off CGC_MEMLIMIT=$L $CONC" "cgc-conc|default|$CONC")
has go && CONFIGS+=("go|default|" "go|soft90|GOMEMLIMIT=$L90" "go|gcoff+L|GOGC=off GOMEMLIMIT=$L")
has boehm && CONFIGS+=("boehm|default|" "boehm|maxheap|GC_MAXIMUM_HEAP_SIZE=$L")
has boehm-noint && CONFIGS+=("boehm-noint|default|")
has malloc && CONFIGS+=("malloc|free|")

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# The mark mode a cgc variant gets here (its first gctrace line, after
# "mark: "): a concurrent mark needs a dirty-page tracker.
mark_mode() {
    local debug=gctrace=1
    [[ $1 == cgc-conc ]] && debug=gcconcurrent=1,$debug
    env -i PATH=/usr/bin:/bin CGC_MEMLIMIT=off CGC_DEBUG=$debug "$BIN_CGC" --live-mib 1 --alloc-mib 2 2>&1 >/dev/null |
        sed -n 's/^cgc: .*; mark: //p' | head -1
}
gen() { python3 "$ROOT/scripts/gen-docs.py" "$@"; }

mkdir -p "$OUT"
for mode in $TOUCH; do
    [[ $mode == all || $mode == ends ]] || die "--touch takes all and/or ends, not $mode"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RAW=$OUT/latest-raw.csv
META=$OUT/latest.meta
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
DATE0=$(date -u '+%Y-%m-%d %H:%M UTC')

# Runs configuration $1 (impl|config|env) once with blobs touched as $2,
# as run $3 at position $4 of its round; appends one line to $TMPRAW.
run_one() {
    local c=$1 mode=$2 r=$3 pos=$4 impl config envs res outcome wall cpu gc rss ret gmax g1 g10 load
    IFS='|' read -r impl config envs <<<"$c"
    load=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086
    run_in_cgroup --quiet --timeout "$TIMEOUT" --report "$work/report" "$L" -- \
        env -i PATH=/usr/bin:/bin $envs \
        "$(bin_of "$impl")" --live-mib "$LIVE_MIB" --alloc-mib "$ALLOC_MIB" --touch "$mode" >"$work/out" 2>"$work/err"
    if (($? == 77)); then
        cat "$work/err" >&2
        exit 77
    fi
    # shellcheck disable=SC1091
    source "$work/report"
    res=$(grep '^RESULT ' "$work/out" | tail -1)
    outcome=$CG_VERDICT
    [[ $CG_STATUS == 4 && $res == *alloc-failed* ]] && outcome=alloc-failed
    [[ $outcome == failed ]] && { echo "-- $impl $config run $r failed (status $CG_STATUS):" >&2; tail -3 "$work/err" >&2; }
    wall=$CG_WALL_S cpu= gc= rss= ret= gmax= g1= g10=
    if [[ $outcome == completed ]]; then
        wall=$(field wall_s "$res") cpu=$(field cpu_s "$res") gc=$(field collections "$res")
        rss=$(field maxrss_mib "$res") ret=$(field retained_max_mib "$res")
        gmax=$(field gap_max_ms "$res") g1=$(field gaps_1ms "$res") g10=$(field gaps_10ms "$res")
    fi
    echo "$mode,$r,$pos,$load,$impl,$config,\"$envs\",$outcome,$CG_STATUS,$CG_OOM_KILLS,$wall,$cpu,$CG_PEAK_BYTES,$L,$gc,$rss,$ret,$gmax,$g1,$g10" >>"$TMPRAW"
    printf '   [%d.%-2d load %-5s] %-5s %-11s %-8s %-12s wall %6ss  peak %4d MiB  %s\n' "$r" "$pos" "$load" "$mode" "$impl" "$config" \
        "$outcome" "$wall" $((CG_PEAK_BYTES >> 20)) "${gmax:+worst gap ${gmax} ms}" >&2
}

if ((DO_RUN)); then
    TMPRAW=$work/raw.csv
    echo "touch,round,pos,load1,impl,config,env,outcome,status,oom_kills,wall_s,cpu_s,peak_bytes,limit_bytes,collections,maxrss_mib,retained_max_mib,gap_max_ms,gaps_1ms,gaps_10ms" >"$TMPRAW"
    echo "== cgroup limit $LIMIT_MIB MiB, live heap $LIVE_MIB MiB ($LIVE_PCT%), $ALLOC_MIB MiB allocated, touch: $TOUCH; $RUNS round(s)" >&2
    # Every (mode, configuration) pair once per round, the order rotated.
    JOBS=()
    for mode in $TOUCH; do
        for c in "${CONFIGS[@]}"; do JOBS+=("$mode|$c"); done
    done
    n=${#JOBS[@]}
    for ((r = 1; r <= RUNS; r++)); do
        for ((p = 0; p < n; p++)); do
            job=${JOBS[$(((p + r - 1) % n))]}
            run_one "${job#*|}" "${job%%|*}" "$r" $((p + 1))
        done
    done
    mv "$TMPRAW" "$RAW"
    commit=$(bench_commit "$ROOT" " in src/, include/ or bench/" src include bench ':!bench/results' ':!bench/limit/results')
    loads=$(tail -n +2 "$RAW" | cut -d, -f4 | bench_load_range)
    modes=
    for i in cgc cgc-conc; do has $i && modes="$modes${modes:+; }$i: $(mark_mode $i)"; done
    {
        bench_meta_run "bench/limit/run.sh --limit-mib $LIMIT_MIB --live-pct $LIVE_PCT --alloc-mib $ALLOC_MIB --runs $RUNS --impls \"$IMPLS\" --touch \"$TOUCH\"" \
            "$commit" "$DATE0" "$LOAD0" "$loads"
        bench_meta_machine "cgroup v${CG_VERSION:-?}"
        echo "go: $(go version 2>/dev/null | awk '{print $3}')"
        echo "libgc: $(pkg-config --modversion bdw-gc 2>/dev/null || echo none)"
        echo "cc: $(cc --version | head -1)"
        echo "environment: env -i PATH=/usr/bin:/bin plus each configuration's variables; configurations (both modes) rotated by one each round"
        echo "workload: live heap $LIVE_MIB MiB ($LIVE_PCT% of the $LIMIT_MIB MiB cgroup limit), $ALLOC_MIB MiB allocated in objects of 16 B .. 64 KiB, every object verified"
        [[ -z $modes ]] || echo "cgc_mark: $modes"
        [[ -z $NOTE ]] || echo "note: $NOTE"
    } >"$META"
fi
[[ -r $RAW ]] || die "no $RAW to tabulate"

gen --report limit --results "$OUT" || die "scripts/gen-docs.py --report failed: $OUT/latest.md and latest.csv not written"
echo >&2
if ((DO_RUN)); then
    echo "wrote $RAW, $META, $OUT/latest.csv and $OUT/latest.md" >&2
else
    echo "rendered $OUT/latest.csv and $OUT/latest.md from $RAW" >&2
fi
