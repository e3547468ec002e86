#!/usr/bin/env python3
"""hostile.py — malformed, oversized, wrong-method and slow requests to the
cgc_http endpoint: each gets a 4xx (or, for the oversized header, at worst a
closed connection; for a request line libmicrohttpd cannot parse at all, a
prompt close without an answer), never a crash; 50 clients at once are all served; a
slowloris client does not delay others; and at the end the server still
serves valid JSON and exits cleanly.
Usage: hostile.py <http_test_server>"""
import json
import socket
import subprocess
import sys
import threading
import time

from debugvars import get_vars, parse_vars, send_and_read, status_of

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def exchange(port, data, timeout=5.0, shut=True):
    """Sends data, reads until the server closes (or timeout); returns
    (status or None, headers+body bytes). A reset while sending is not an
    error here: the server may refuse before reading everything."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return status_of(out), out


def main(server):
    p = subprocess.Popen([server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        word, port = p.stdout.readline().split()
        port = int(port)
        assert word == "port"
        p.stdout.readline()  # the application's port, not used here
        run(port)
        check(p.poll() is None, "server process still running after the hostile clients")
        st, doc = get_vars(port)
        check(st == 200 and doc is not None and doc["memstats"]["NumGC"] > 0, "still serves valid /debug/vars")
        p.stdin.write("quit\n")
        p.stdin.flush()
        check(p.wait(timeout=10) == 0, "clean exit")
    finally:
        if p.poll() is None:
            p.kill()
    if failures:
        print(f"{len(failures)} failures")
        return 1
    return 0


def finish_vars(s, rest):
    """Sends the rest of a GET /debug/vars on open connection s and reads
    the answer to the end; True if it was 200 with a JSON body."""
    out, complete = send_and_read(s, rest)
    if not complete:
        return False
    doc = parse_vars(out)[1]
    return out.startswith(b"HTTP/1.1 200") and doc is not None and "memstats" in doc


def closed_unanswered(port, data):
    """Sends data without closing our side and waits for the server to end
    the connection; returns (what it sent back, seconds until it closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    out = b""
    try:
        s.sendall(data)
        while chunk := s.recv(65536):
            out += chunk
    except socket.timeout:
        out += b"<no close within 5 s>"
    except ConnectionResetError:
        pass
    finally:
        s.close()
    return out, time.monotonic() - t0


def run(port):
    # A request line that is not even "METHOD SP ...": one word, nothing
    # before the first space, or tabs for spaces. libmicrohttpd 0.9.75
    # (Debian 12) closes such a connection at once without an answer and
    # offers no option to answer 400 instead (its parser gives up before
    # any response exists; docs/observability.md). Asserted: closed
    # promptly (not by the 5 s timeout), nothing or a 400 sent, and a
    # client in the middle of its request meanwhile is served.
    other = socket.create_connection(("127.0.0.1", port), timeout=5)
    other.sendall(b"GET /debug/vars HTTP/1.1\r\nHost: t\r\n")
    for data in (b"GARBAGE\r\n\r\n", b"GARBAGE\n\n", b"GET\r\n\r\n", b" GET /debug/vars HTTP/1.1\r\nHost: t\r\n\r\n",
                 b"GET\t/debug/vars\tHTTP/1.1\r\nHost: t\r\n\r\n"):
        out, took = closed_unanswered(port, data)
        check((out == b"" or out.startswith(b"HTTP/1.1 400 ")) and took < 1.0,
              f"unparseable request line {data[:20]!r} -> closed after {took * 1000:.0f} ms, answer {out[:20]!r}")
    check(finish_vars(other, b"Connection: close\r\n\r\n"), "a client half-way through its request meanwhile is served")
    st, _ = get_vars(port)
    check(st == 200, f"new client served after them (got {st})")

    # A request line with a method and a target but broken otherwise gets
    # 400, a well-formed but unsupported HTTP version 505.
    for line in (b"GET /debug/vars", b"GET /debug/vars HTTP/1.1 extra", b"GET  /debug/vars  HTTP/1.1 x y",
                 b"GET /debug/vars HTTP/1.1x", b"GET /debug/vars FOO/1.1", b"GET /debug/vars HTTP/", b"GARBAGE x"):
        st, _ = exchange(port, line + b"\r\nHost: t\r\n\r\n")
        check(st == 400, f"malformed request line {line!r} -> 400 (got {st})")
    for version in (b"HTTP/7.0", b"HTTP/2.0", b"HTTP/0.9"):
        st, _ = exchange(port, b"GET /debug/vars " + version + b"\r\nHost: t\r\n\r\n")
        check(st == 505, f"unsupported HTTP version {version.decode()} -> 505 (got {st})")

    st, _ = exchange(port, b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nBroken header line\r\n\r\n")
    check(st is not None and 400 <= st < 500, f"header without colon -> 4xx (got {st})")

    big = b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    st, _ = exchange(port, big)
    check(st is None or 400 <= st < 500, f"1 MiB header -> 4xx or closed (got {st})")

    t0 = time.monotonic()
    st, out = exchange(port, b"POST /debug/vars HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n" + b"x" * 4096,
                       shut=False, timeout=5)
    check(st == 405 and time.monotonic() - t0 < 3, f"POST with 100 MB Content-Length -> 405 at once (got {st})")

    st, _ = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789")
    check(st == 413, f"GET with a body -> 413 (got {st})")

    st, _ = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    check(st == 413, f"GET with a chunked body -> 413 (got {st})")

    for method in (b"PUT", b"DELETE", b"OPTIONS", b"TRACE"):
        st, out = exchange(port, method + b" /debug/vars HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        check(st == 405 and b"\r\nAllow: GET, HEAD\r\n" in out, f"{method.decode()} -> 405 with Allow (got {st})")

    for path in (b"/debug/%zz%vars", b"/%", b"/debug/vars%00", b"/" + b"%41" * 2000):
        st, _ = exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        check(st is not None and 400 <= st < 500, f"GET {path[:30]!r} -> 4xx (got {st})")

    st, _ = exchange(port, b"GET /debug/vars HTTP/1.1\r\n\r\n")
    check(st == 400, f"HTTP/1.1 without Host -> 400 (got {st})")

    # 50 simultaneous clients: all connect first, then all send.
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(50)]
    results = [None] * 50

    def one(i):
        s = socks[i]
        try:
            s.sendall(b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            body = out.split(b"\r\n\r\n", 1)[1]
            results[i] = out.startswith(b"HTTP/1.1 200") and "memstats" in json.loads(body)
        except (OSError, ValueError, IndexError):
            results[i] = False
        finally:
            s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(all(results), f"50 simultaneous clients served ({sum(map(bool, results))}/50)")

    # Slowloris: one byte every 100 ms for 3 s, a request never finished;
    # meanwhile other clients must be served promptly.
    stop = threading.Event()

    def slow():
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        msg = b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 100
        try:
            for b in msg:
                if stop.is_set():
                    break
                s.sendall(bytes([b]))
                time.sleep(0.1)
        except OSError:
            pass
        finally:
            s.close()

    th = threading.Thread(target=slow)
    th.start()
    worst = 0.0
    end = time.monotonic() + 3.0
    served = True
    while time.monotonic() < end:
        t0 = time.monotonic()
        st, doc = get_vars(port, timeout=5)
        worst = max(worst, time.monotonic() - t0)
        served = served and st == 200 and doc is not None
        time.sleep(0.25)
    stop.set()
    th.join()
    check(served and worst < 1.0, f"served during slowloris (slowest {worst * 1000:.0f} ms)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
