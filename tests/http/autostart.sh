#!/usr/bin/env bash
# autostart.sh — CGC_DEBUG_ADDR in a program that links cgc_http but never
# calls it: a valid address serves /debug/vars and /metrics; an invalid one
# is fatal at start-up with one line naming the variable and the value, and
# exit status 2 (SPEC §6).
# Usage: autostart.sh <http_test_plain or http_test_plain_shared>
set -u
prog=$1
for tool in curl jq python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed (Debian: curl, jq, python3)"
        exit 77
    fi
done
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for bad in bogus 127.0.0.1: 127.0.0.1:99999 127.0.0.1:0 :8080 '[::1]8080' 'a b:80' 127.0.0.1:80x ''; do
    CGC_DEBUG_ADDR=$bad "$prog" < /dev/null > /dev/null 2> "$tmp/err"
    status=$?
    [ "$status" = 2 ] || fail "CGC_DEBUG_ADDR='$bad': exit status $status, want 2"
    [ "$(wc -l < "$tmp/err")" = 1 ] || fail "CGC_DEBUG_ADDR='$bad': stderr is not one line: $(cat "$tmp/err")"
    grep -qF "CGC_DEBUG_ADDR" "$tmp/err" && grep -qF "\"$bad\"" "$tmp/err" ||
        fail "CGC_DEBUG_ADDR='$bad': the line does not name the variable and value: $(cat "$tmp/err")"
done

# A free port: bind 0, read it, close (a race with another binder is
# possible but would show as a clear failure below, not a false pass).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
coproc P { CGC_DEBUG_ADDR=127.0.0.1:$port exec "$prog" 2>&1; }
pid=$P_PID
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
read -r -t 20 word <&"${P[0]}" && [ "$word" = ready ] || fail "program did not start: '$word'"
curl -sS --max-time 5 -o "$tmp/vars.json" "http://127.0.0.1:$port/debug/vars" || fail "GET /debug/vars"
jq -e --arg name "$(basename "$prog")" '.memstats.NumGC >= 1 and (.cmdline[0] | endswith($name))' "$tmp/vars.json" >/dev/null ||
    fail "/debug/vars from the autostarted endpoint: $(head -c 500 "$tmp/vars.json")"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
[ "$code" = 200 ] || fail "GET /metrics: $code"
exec {P[1]}>&-
wait "$pid" || fail "program exit status $?"
echo "OK: CGC_DEBUG_ADDR starts the endpoint; invalid values exit 2"
