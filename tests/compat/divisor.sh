#!/usr/bin/env bash
# divisor.sh PROG — the GC percent a libgc program gets on cgc: libgc's
# default free-space divisor (3) is GC percent 66, GC_FREE_SPACE_DIVISOR=D
# is 200 / D, and CGC_GC wins over both (read from gctrace's start-up line).
set -u
prog=$1
fail=0
check() {
  local want=$1; shift
  local got
  got=$(env "$@" CGC_DEBUG=gctrace=1 "$prog" 2>&1 >/dev/null | sed -n 's/.*GC percent \([0-9a-z]*\).*/\1/p' | head -1)
  [ "$got" = "$want" ] || { echo "FAIL: $* -> GC percent '$got', want $want"; fail=1; }
}
check 66 GC_UNUSED=1
check 100 GC_FREE_SPACE_DIVISOR=2
check 40 GC_FREE_SPACE_DIVISOR=5
check 80 CGC_GC=80
check 80 CGC_GC=80 GC_FREE_SPACE_DIVISOR=2
[ $fail = 0 ] && echo PASS || exit 1
