#!/bin/sh
# py.sh — runs a python3 test script, or skips (exit 77, CTest SKIP_RETURN_CODE)
# with a clear message where python3 is not installed.
# Usage: py.sh <script.py> [args...]
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 not installed (Debian: python3)"
    exit 77
fi
exec python3 "$@"
