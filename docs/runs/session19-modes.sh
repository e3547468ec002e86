#!/bin/bash
# session19-modes.sh PROGRAM MODE N [VAR=value ...]: the ad-hoc runs behind docs/runs/session19.txt
# (Guile or Neko under cgc-run from build-rel, or on libgc), as they were run from /tmp.
# PROGRAM: guile | neko; MODE: libgc | stw | auto (the default) | conc (gcconcurrent=1).
# Prints per run: peak RSS KiB, wall s, CPU s, gctrace cycles (tests/compat/real/measure.py).
prog=$1; shift
case $prog in guile) exec bash "$(dirname "$0")/session19-guile.sh" "$@";; neko) exec bash "$(dirname "$0")/session19-neko.sh" "$@";; esac
echo "usage: $0 guile|neko libgc|stw|auto|conc N [VAR=value ...]" >&2; exit 2
