#!/bin/bash
# Usage: N=<runs> BIN=<test binary> bash session15-loop.sh (run in a scratch directory)
# Loops a test (concurrent mode) until a hang: a run still going after
# 10 s is left running, for gdb -p, and its pid printed.
for i in $(seq 1 ${N:-3000}); do
  CGC_DEBUG=gcconcurrent=1 "${BIN:?BIN: the test binary, e.g. build-ci-debug/tests/test_thread_exit}" > out.$$ 2>&1 &
  tp=$!
  for s in $(seq 1 100); do kill -0 $tp 2>/dev/null || break; sleep 0.1; done
  if kill -0 $tp 2>/dev/null; then echo "run $i hung pid $tp"; cp out.$$ hung.out; exit 0; fi
  wait $tp; rc=$?
  if [ $rc -ne 0 ]; then echo "run $i rc=$rc"; cp out.$$ fail.out; fi
done
echo "none in $i"
