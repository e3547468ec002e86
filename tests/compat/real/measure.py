#!/usr/bin/env python3
"""measure.py RESULT STDOUT STDERR CMD... — runs CMD with its output in
STDOUT and STDERR and writes one line to RESULT: peak RSS in KiB (the
child's ru_maxrss from wait4, which counts the processes it waited for),
wall seconds, user and system CPU seconds, exit code."""
import os
import subprocess
import sys
import time

res, out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t0 = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
with open(res, "w") as f:
    f.write(f"{ru.ru_maxrss} {wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f} {os.waitstatus_to_exitcode(status)}\n")
