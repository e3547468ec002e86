#!/usr/bin/env python3
"""lockout.py — slow clients cannot take the endpoint away for good.

libmicrohttpd's connection timeout counts inactivity only, and at its
connection limit (128) it stops accepting. So 140 clients that each send a
byte of an unfinished request every half second would, without cgc_http's
whole-request deadline (5 s, http/deadline.c), hold every connection for
ever and no one else would be served. Here they trickle for up to 9 s while
a normal client keeps asking for /debug/vars: it must be served within the
deadline plus the reaper's second plus slack (8 s from the start), and the
tricklers' connections must have been closed by the server.
Usage: lockout.py <http_test_server>"""
import socket
import subprocess
import sys
import threading
import time

from debugvars import get_vars

TRICKLERS = 140        # more than the connection limit
DEADLINE = 5.0         # CGC__HTTP_REQUEST_DEADLINE
SERVED_BY = DEADLINE + 3.0


def answered(port, timeout):
    """One GET /debug/vars; True if it got 200 and the document."""
    status, doc = get_vars(port, timeout)
    return status == 200 and isinstance(doc, dict) and "memstats" in doc


def main(server):
    p = subprocess.Popen([server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    socks = []
    try:
        port = int(p.stdout.readline().split()[1])
        for _ in range(TRICKLERS):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.setblocking(False)
            s.send(b"G")
            socks.append(s)
        msg = b"ET /debug/vars HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 1000
        start = time.monotonic()
        served = []

        # The normal client asks in its own thread, so that the tricklers
        # keep their half-second cadence whatever its requests wait for, and
        # it waits up to 2 s for an answer: on a loaded machine a request
        # the server has accepted can take longer than the 0.5 s this used
        # to allow, and then counted as not served (failed 2 runs in 3 with
        # three busy loops on the machine).
        def client():
            while not served and time.monotonic() - start < SERVED_BY + 1:
                if answered(port, timeout=2.0):
                    served.append(time.monotonic() - start)
                else:
                    time.sleep(0.2)

        asker = threading.Thread(target=client, daemon=True)
        asker.start()
        i = 0
        while time.monotonic() - start < SERVED_BY + 1:
            for s in socks:
                try:
                    s.send(msg[i:i + 1])
                except OSError:
                    pass
            i += 1
            if served and time.monotonic() - start > DEADLINE + 1.5:
                break
            time.sleep(0.5)
        asker.join(timeout=3)
        served_at = served[0] if served else None
        # Every trickler that was accepted before the others has been shut
        # down by now: reading gives end of file or a reset.
        closed = 0
        for s in socks:
            try:
                closed += s.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        ok = served_at is not None and served_at <= SERVED_BY and closed >= 100
        print(f"{'ok' if ok else 'FAIL'}: with {TRICKLERS} trickling clients a normal client was served after "
              f"{'never' if served_at is None else f'{served_at:.1f} s'} (want <= {SERVED_BY:.0f} s); "
              f"{closed} tricklers closed by the server")
        p.stdin.write("quit\n")
        p.stdin.flush()
        code = p.wait(timeout=10)
        if code != 0:
            print(f"FAIL: server exit status {code}")
            ok = False
        return 0 if ok else 1
    finally:
        for s in socks:
            s.close()
        if p.poll() is None:
            p.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
