#!/usr/bin/env bash
# documents.sh — /debug/vars and /metrics as users read them:
#   /debug/vars is JSON of Go's expvar shape, with sane types and relations,
#   and equals the program's own cgc_read_memstats taken around the request;
#   /metrics passes `promtool check metrics` and a strict line parser;
#   HEAD works, other paths are 404, and Content-Types are right.
# Usage: documents.sh <http_test_server> <tests/http dir>
set -u
server=$1 dir=$2
for tool in curl jq promtool python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed (Debian: curl, jq, prometheus, python3)"
        exit 77
    fi
done
fail() { echo "FAIL: $*"; exit 1; }

coproc SRV { exec "$server"; }
srv_pid=$SRV_PID
trap "kill $srv_pid 2>/dev/null" EXIT
read -r -t 20 word port <&"${SRV[0]}" || fail "server did not start"
[ "$word" = port ] && [ "$port" -gt 0 ] || fail "server said '$word $port'"
read -r -t 20 word appport <&"${SRV[0]}" || fail "no application port"
[ "$word" = appport ] || fail "server said '$word $appport'"
base=http://127.0.0.1:$port
tmp=$(mktemp -d)
trap 'kill $srv_pid 2>/dev/null; rm -rf "$tmp"' EXIT

# ---- /debug/vars while the program allocates -----------------------------
curl -sS --max-time 5 -D "$tmp/vh" -o "$tmp/vars.json" "$base/debug/vars" || fail "GET /debug/vars"
grep -qi '^content-type: application/json' "$tmp/vh" || fail "/debug/vars content type: $(cat "$tmp/vh")"
jq -e '
  (.cmdline | type == "array" and length >= 1 and all(.[]; type == "string")) and
  (.cmdline[0] | endswith("http_test_server")) and
  (.memstats | type == "object") and
  (.memstats as $m |
     ["Alloc","TotalAlloc","Sys","Lookups","Mallocs","Frees","HeapAlloc","HeapSys","HeapIdle",
      "HeapInuse","HeapReleased","HeapObjects","StackInuse","StackSys","MSpanInuse","MSpanSys",
      "MCacheInuse","MCacheSys","BuckHashSys","GCSys","OtherSys","NextGC","LastGC","PauseTotalNs",
      "NumGC","NumForcedGC","MemLimit","GCPercent","GCLimiterCycles",
      "ContainerLimit","GuardLimit","GuardOutside","OutsideProcess","EffectiveLimit",
      "FinalizersQueued","FinalizersRun","CleanupsQueued","CleanupsRun"]
     | all(. as $k | $m[$k] | type == "number" and . == floor)) and
  (.memstats.GCCPUFraction | type == "number" and . >= 0 and . <= 1) and
  (.memstats.EnableGC == true) and (.memstats.DebugGC | type == "boolean") and
  (.memstats.PauseNs | type == "array" and length == 256 and all(.[]; type == "number" and . >= 0)) and
  (.memstats.PauseEnd | type == "array" and length == 256) and
  (.memstats.NumGC > 0) and (.memstats.NumForcedGC >= 1) and
  (.memstats.HeapAlloc <= .memstats.HeapSys) and
  (.memstats.HeapInuse + .memstats.HeapIdle == .memstats.HeapSys) and
  (.memstats.HeapReleased <= .memstats.HeapIdle) and
  (.memstats.Mallocs >= .memstats.Frees) and
  (.memstats.PauseTotalNs >= (.memstats.PauseNs | max)) and
  (.memstats.LastGC > 1500000000000000000) and
  (.memstats.GCPercent == 100) and
  (.memstats.EffectiveLimit == ([.memstats.MemLimit, .memstats.GuardLimit] | min))
' "$tmp/vars.json" >/dev/null || { head -c 3000 "$tmp/vars.json"; fail "/debug/vars shape or values"; }

# ---- /metrics: promtool and the strict parser -----------------------------
curl -sS --max-time 5 -D "$tmp/mh" -o "$tmp/metrics.txt" "$base/metrics" || fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/mh" || fail "/metrics content type: $(cat "$tmp/mh")"
promtool check metrics < "$tmp/metrics.txt" > "$tmp/promtool.out" 2>&1 ||
    { cat "$tmp/promtool.out"; fail "promtool check metrics"; }
python3 "$dir/promparse.py" "$tmp/metrics.txt" || fail "strict parser"
for name in cgc_memstats_alloc_bytes cgc_memstats_sys_bytes cgc_memstats_heap_alloc_bytes \
    cgc_memstats_heap_sys_bytes cgc_memstats_heap_idle_bytes cgc_memstats_heap_inuse_bytes \
    cgc_memstats_heap_released_bytes cgc_memstats_heap_objects cgc_memstats_mallocs_total \
    cgc_memstats_frees_total cgc_memstats_next_gc_bytes cgc_memstats_last_gc_time_seconds \
    cgc_gc_duration_seconds_count cgc_gc_memory_limit_bytes cgc_gc_gogc_percent cgc_gc_cycles_total \
    cgc_gc_limiter_cycles_total cgc_gc_cpu_seconds_total cgc_gc_cpu_fraction cgc_gc_heap_goal_bytes \
    cgc_gc_pauses_seconds_count cgc_gc_finalizers_queued_finalizers_total \
    cgc_gc_finalizers_executed_finalizers_total cgc_gc_cleanups_queued_cleanups_total \
    cgc_gc_cleanups_executed_cleanups_total; do
    grep -q "^$name " "$tmp/metrics.txt" || fail "/metrics lacks $name"
done
grep -q '^cgc_gc_duration_seconds{quantile="0.5"} ' "$tmp/metrics.txt" || fail "no median pause"
grep -q '^cgc_gc_pauses_seconds_bucket{le="+Inf"} ' "$tmp/metrics.txt" || fail "no +Inf bucket"

# ---- HEAD, 404, 405 ------------------------------------------------------
code=$(curl -sS --max-time 5 -I -o "$tmp/head" -w '%{http_code}' "$base/metrics")
[ "$code" = 200 ] || fail "HEAD /metrics: $code"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$base/debug/pprof")
[ "$code" = 404 ] || fail "GET /debug/pprof: $code"
code=$(curl -sS --max-time 5 -X POST -D "$tmp/ph" -o /dev/null -w '%{http_code}' "$base/debug/vars")
[ "$code" = 405 ] || fail "POST /debug/vars: $code"
grep -qi '^allow: GET, HEAD' "$tmp/ph" || fail "405 without Allow"

# ---- the same documents through the application's own MHD daemon ----------
app=http://127.0.0.1:$appport
curl -sS --max-time 5 "$app/debug/vars" | jq -e '.memstats.NumGC > 0 and (.memstats.PauseNs | length == 256)' >/dev/null ||
    fail "cgc_http_respond /debug/vars"
curl -sS --max-time 5 -o "$tmp/appmetrics.txt" "$app/metrics" || fail "cgc_http_respond /metrics"
python3 "$dir/promparse.py" "$tmp/appmetrics.txt" >/dev/null || fail "cgc_http_respond /metrics: strict parser"
[ "$(curl -sS --max-time 5 "$app/other")" = "app 404" ] || fail "cgc_http_respond took a path not its own"
code=$(curl -sS --max-time 5 -X DELETE -o /dev/null -w '%{http_code}' "$app/metrics")
[ "$code" = 405 ] || fail "cgc_http_respond DELETE: $code"

# ---- /debug/vars equals cgc_read_memstats at the same moment -------------
# Quiesced (nothing allocates), the program reads its memstats, the test
# fetches /debug/vars, the program reads again: each value from the
# endpoint must lie between the two direct reads (counters exactly; sizes
# within 1% more, for background sweeping and scavenging).
echo quiesce >&"${SRV[1]}"
read -r -t 10 word <&"${SRV[0]}" && [ "$word" = quiet ] || fail "quiesce"
echo stats >&"${SRV[1]}"; read -r -t 10 -a s1 <&"${SRV[0]}" || fail "stats 1"
curl -sS --max-time 5 -o "$tmp/vars2.json" "$base/debug/vars" || fail "GET /debug/vars (quiet)"
curl -sS --max-time 5 -o "$tmp/metrics2.txt" "$base/metrics" || fail "GET /metrics (quiet)"
echo stats >&"${SRV[1]}"; read -r -t 10 -a s2 <&"${SRV[0]}" || fail "stats 2"
python3 "$dir/promparse.py" "$tmp/metrics2.txt" >/dev/null || fail "strict parser (quiet /metrics)"
# Python reads the JSON integers exactly (jq would round 2^63-1 to a double).
# The same for /metrics: every family that shows one of these quantities,
# the Go-client set and the mechanical names (seconds are compared in ns,
# within the precision of the printed double).
python3 - "$tmp/vars2.json" "${s1[*]}" "${s2[*]}" "$tmp/metrics2.txt" <<'PY' || fail "/debug/vars or /metrics differs from cgc_read_memstats"
import json, sys
m = json.load(open(sys.argv[1]))["memstats"]
s1, s2 = [list(map(int, a.split()[1:])) for a in sys.argv[2:4]]
samples = {}
for line in open(sys.argv[4]):
    if not line.startswith("#") and "{" not in line:
        name, value = line.split()
        samples[name] = float(value)
from_metrics = {  # /metrics name -> (memstats field, scale to the field's unit)
    "cgc_memstats_alloc_bytes": ("HeapAlloc", 1), "cgc_memstats_heap_alloc_bytes": ("HeapAlloc", 1),
    "cgc_memory_classes_heap_objects_bytes": ("HeapAlloc", 1),
    "cgc_memstats_heap_sys_bytes": ("HeapSys", 1),
    "cgc_memstats_sys_bytes": ("Sys", 1), "cgc_memory_classes_total_bytes": ("Sys", 1),
    "cgc_memstats_alloc_bytes_total": ("TotalAlloc", 1), "cgc_gc_heap_allocs_bytes_total": ("TotalAlloc", 1),
    "cgc_memstats_mallocs_total": ("Mallocs", 1), "cgc_gc_heap_allocs_objects_total": ("Mallocs", 1),
    "cgc_memstats_next_gc_bytes": ("NextGC", 1), "cgc_gc_heap_goal_bytes": ("NextGC", 1),
    "cgc_gc_cycles_total": ("NumGC", 1), "cgc_gc_cycles_total_gc_cycles_total": ("NumGC", 1),
    "cgc_gc_duration_seconds_count": ("NumGC", 1),
    "cgc_gc_duration_seconds_sum": ("PauseTotalNs", 1e9),
    "cgc_gc_memory_limit_bytes": ("MemLimit", 1), "cgc_gc_gomemlimit_bytes": ("MemLimit", 1),
    "cgc_gc_gogc_percent": ("GCPercent", 1),
    "cgc_memstats_heap_objects": ("HeapObjects", 1), "cgc_gc_heap_objects_objects": ("HeapObjects", 1),
    "cgc_memstats_last_gc_time_seconds": ("LastGC", 1e9),
}
names = ["HeapAlloc", "HeapSys", "Sys", "TotalAlloc", "Mallocs", "NextGC", "NumGC", "PauseTotalNs",
         "MemLimit", "GCPercent", "HeapObjects", "LastGC"]
exact = {"TotalAlloc", "Mallocs", "NumGC", "PauseTotalNs", "MemLimit", "GCPercent", "LastGC"}
bad = 0
for i, name in enumerate(names):
    a, b, x = s1[i], s2[i], m[name]
    lo, hi = min(a, b), max(a, b)
    slack = 0 if name in exact else hi // 100
    if not (lo - slack <= x <= hi + slack):
        print(f"{name}: endpoint {x}, direct reads {a} and {b}")
        bad = 1
    for metric, (field, scale) in from_metrics.items():
        if field != name:
            continue
        if metric not in samples:
            print(f"/metrics lacks {metric}")
            bad = 1
            continue
        x = samples[metric] * scale
        # A double carries 53 bits: allow its rounding (2^-52 relative) once
        # the value is large, and a nanosecond's printing slack for seconds.
        tol = slack + abs(x) * 2.0 ** -50 + (1 if scale != 1 else 0)
        if not (lo - tol <= x <= hi + tol):
            print(f"{metric}: /metrics {samples[metric]!r} (= {x:.0f} {field}), direct reads {a} and {b}")
            bad = 1
sys.exit(bad)
PY

# ---- and the endpoint still answers after all that; clean stop ------------
echo quit >&"${SRV[1]}"
wait "$srv_pid" || fail "server exit status $?"
echo "OK: /debug/vars and /metrics on port $port"
