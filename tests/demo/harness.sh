#!/usr/bin/env bash
# harness.sh — demo/run.sh's comparison logic without services or cgroups
# (issue 14, finding 2): the configurations are the same for C and Go, each
# runtime's minimal limit is searched both with its soft limit at 90% of
# the cgroup limit and with none, and the matrix runs at both minima (for
# the C service in cgc's concurrent mode too, c-conc: --concurrent). The
# runs themselves are replaced by a model: a run survives when its limit is
# at least a threshold per service and configuration.
set -uo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
set -- --build-dir "$T/build" --out "$T/out"
# shellcheck source=../../demo/run.sh
source "$(dirname "$0")/../../demo/run.sh"
trap 'rm -rf "$T"' EXIT   # (run.sh set its own)
fail=0
check() { if (($1)); then echo "ok: $2"; else echo "FAIL: $2"; fail=1; fi; }
is() { [[ $1 == "$2" ]] && echo 1 || echo 0; }

echo "== configurations: the same three meanings for both runtimes"
L=$((40 * MiB))
check "$(is "$(config_env c off $L)" CGC_MEMLIMIT=off)" "C off: CGC_MEMLIMIT=off"
check "$(is "$(config_env go off $L)" "")" "Go off: nothing set (Go has no soft limit by default)"
check "$(is "$(config_env c soft90 $L)" "")" "C soft90: nothing set (cgc's default is 90% of the cgroup limit)"
check "$(is "$(config_env go soft90 $L)" "GOMEMLIMIT=$((L * 9 / 10))")" "Go soft90: GOMEMLIMIT=90% of the limit: $(config_env go soft90 $L)"
check "$(is "$(config_env go soft90 0)" "")" "Go soft90 with no cgroup limit: no GOMEMLIMIT (as cgc without one)"
check "$(is "$(config_env c limit $L)" "CGC_GC=off CGC_MEMLIMIT=$L")" "C limit: pacing off, soft limit = L"
check "$(is "$(config_env go limit $L)" "GOGC=off GOMEMLIMIT=$L")" "Go limit: pacing off, soft limit = L"
check "$(is "$(is_default c soft90)$(is_default c off)$(is_default go off)$(is_default go soft90)" 1010)" \
    "the defaults: C soft90, Go off"
check "$(is "$(config_env c-conc off $L)|$(config_env c-conc soft90 $L)|$(config_env c-conc limit $L)" \
    "CGC_MEMLIMIT=off CGC_DEBUG=gcconcurrent=1|CGC_DEBUG=gcconcurrent=1|CGC_GC=off CGC_MEMLIMIT=$L CGC_DEBUG=gcconcurrent=1")" \
    "c-conc (--concurrent): C's three configurations, each with CGC_DEBUG=gcconcurrent=1"
check "$(is "$(is_default c-conc soft90)$(is_default c-conc off)" 10)" "c-conc's default: soft90, as C's"

echo "== the full experiment, with modelled runs"
# Survives at or above these limits (MiB); the no-limit peak is 50.
declare -A NEED=([c:soft90]=34 [c:off]=49 [c:limit]=34 [go:soft90]=40 [go:off]=57 [go:limit]=40
    [c-conc:soft90]=36 [c-conc:off]=49 [c-conc:limit]=36)
run_one() { # SVC CONF LIMIT PHASE: one modelled line of runs.csv
    local svc=$1 conf=$2 mib=$(($3 / MiB)) phase=$4 kills=0 failed=0
    if ((mib > 0 && mib < ${NEED[$svc:$conf]})); then kills=1 failed=100; fi
    echo "$phase,$svc,$mib,$conf,\"\",$kills,$kills,1140,$((1140 - failed)),$failed,300,10,100,50.0,48.0,30,3.0,run,49.0,,x,$(is_default "$svc" "$conf")" >>"$WORK/runs.csv"
}
MODE=full WORK=$T/work BISECT_STEPS=4 BISECT_TRIALS=2 GO_VERSION=go1.19.8 COMMIT=abc
mkdir -p "$WORK"
echo "service,runtime,config,is_default,min_limit_mib,no_limit_peak_mib" >"$WORK/minimal.csv"
for svc in c c-conc go; do experiment "$svc"; done
cat "$WORK/minimal.csv"
min() { awk -F, -v s="$1" -v c="$2" '$1 == s && $3 == c {print $5}' "$WORK/minimal.csv"; }
for key in c:soft90 c:off c-conc:soft90 c-conc:off go:soft90 go:off; do
    m=$(min "${key%:*}" "${key#*:}")
    need=${NEED[$key]}
    # Within the bisection's tolerance (4%, then 10% steps up) above the need.
    check "$([[ -n $m ]] && ((m >= need && m <= need * 112 / 100 + 1)) && echo 1 || echo 0)" \
        "$key: minimal limit searched: $m MiB (survives from $need)"
done
for svc in c c-conc go; do
    for conf in soft90 off; do
        m=$(min $svc $conf)
        n=$(awk -F, -v s=$svc -v l="$m" '$1 == "matrix" && $2 == s && $3 == l' "$WORK/runs.csv" | cut -d, -f4 | sort | tr '\n' ' ')
        check "$(is "$n" "limit off soft90 ")" "$svc: the matrix runs all three configurations at the $conf minimum ($m MiB): $n"
    done
done
table=$(SERVICES="c c-conc go" print_table "$WORK/runs.csv")
check "$(grep -c 'Go 1.19.8' <<<"$table")" "the table names the Go version"
check "$(grep -qE '^C/cgc +35\* +50 +50$' <<<"$table" && grep -qE '^Go 1.19.8 +40 +57\* +50$' <<<"$table" && echo 1 || echo 0)" \
    "the minimal-limit table: both minima of both runtimes, each default starred"
check "$(grep -qE '^C/cgc-conc +3[6-9]\* +5[0-9] +50$' <<<"$table" && echo 1 || echo 0)" \
    "the minimal-limit table: the concurrent mode's row (c-conc) of its own"
echo "$table" | sed -n '/minimal limit/,$p'
exit $fail
