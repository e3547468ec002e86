#!/usr/bin/env python3
"""fork.py — cgc_http through fork (tests/http/fork.c).

1. CGC_DEBUG_ADDR, fork, parent exits: while the parent lives it keeps
   serving its address; once it has exited the child serves the same address
   within 3 s (it retries at most every second).
2. The same with a daemon's double fork (the intermediate child exits at
   once): the grandchild takes the address over.
3. cgc_http_start by hand, fork: the child has no endpoint (port -1) and
   does not take the parent's over; cgc_http_restart in the child serves a
   new port ("127.0.0.1:0" again) while the parent still serves its own,
   and after the parent exits nobody serves the parent's port.
Which process answered is told by /debug/vars "cmdline" (the program
rewrites its argv in each child).
Usage: fork.py <http_test_fork>"""
import os
import signal
import socket
import subprocess
import sys
import time

from debugvars import get_vars

failures = []
strays = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def role_at(port):
    """The role of the process serving /debug/vars on port, or None if
    nothing answers (refused) or the answer is not a valid document."""
    status, doc = get_vars(port)
    if status != 200 or not isinstance(doc, dict):
        return None
    if "NumGC" not in doc.get("memstats", {}) or len(doc.get("cmdline", [])) < 2:
        return None
    return doc["cmdline"][1]


def gone(pid, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of ours would stay: reap if it is our child
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.02)
    return False


def terminate(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    return gone(pid)


def start(prog, args, env_addr=None):
    env = dict(os.environ)
    env.pop("CGC_DEBUG_ADDR", None)
    if env_addr:
        env["CGC_DEBUG_ADDR"] = env_addr
    return subprocess.Popen([prog, "role=parent"] + args, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def send(p, cmd):
    p.stdin.write(cmd + "\n")
    p.stdin.flush()


def takeover(prog, command, want_role, answer_word):
    who = answer_word
    port = free_port()
    p = start(prog, [], f"127.0.0.1:{port}")
    try:
        check(p.stdout.readline().strip() == "ready", f"{command}: program started")
        check(role_at(port) == "role=parent", f"{command}: CGC_DEBUG_ADDR endpoint serves the parent")
        send(p, command)
        word, pid = p.stdout.readline().split()
        pid = int(pid)
        strays.append(pid)
        check(word == answer_word and pid > 0, f"{command}: forked ({word} {pid})")
        # The child's takeover thread retries meanwhile; the parent keeps serving.
        roles = []
        for _ in range(10):
            roles.append(role_at(port))
            time.sleep(0.1)
        check(all(r == "role=parent" for r in roles), f"{command}: parent keeps serving while it lives ({roles.count('role=parent')}/10)")
        send(p, "exit")
        check(p.wait(timeout=10) == 0, f"{command}: parent exits cleanly")
        t0 = time.monotonic()
        role = None
        while time.monotonic() - t0 < 5.0:
            role = role_at(port)
            if role == want_role:
                break
            time.sleep(0.05)
        took = time.monotonic() - t0
        check(role == want_role and took < 3.0,
              f"{command}: after the parent exits the {who} serves the address "
              f"(after {took * 1000:.0f} ms, answered by {role})")
        check(role_at(port) == want_role, f"{command}: and keeps serving it")
        check(terminate(pid), f"{command}: {who} ends on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def manual(prog):
    p = start(prog, ["manual"])
    try:
        word, port = p.stdout.readline().split()
        port = int(port)
        check(word == "port" and role_at(port) == "role=parent", "manual: cgc_http_start serves the parent")
        send(p, "fork")
        got = {}
        for _ in range(3):
            parts = p.stdout.readline().split()
            got[parts[0]] = parts[1:]
        pid = int(got["child"][0])
        strays.append(pid)
        check(got.get("childport") == ["-1"], f"manual: no endpoint in the child after fork (cgc_http_port {got.get('childport')})")
        r, newport = (int(x) for x in got["restarted"])
        check(r == 0 and newport > 0 and newport != port, f"manual: cgc_http_restart in the child: {r}, port {newport}")
        check(role_at(newport) == "role=child_", "manual: the child serves its new port")
        check(role_at(port) == "role=parent", "manual: the parent still serves its own (the child closed only its copies)")
        send(p, "exit")
        check(p.wait(timeout=10) == 0, "manual: parent exits cleanly")
        time.sleep(1.5)  # longer than a takeover would take
        check(role_at(port) is None, "manual: nobody takes the parent's port over (not CGC_DEBUG_ADDR)")
        check(role_at(newport) == "role=child_", "manual: the child still serves")
        check(terminate(pid), "manual: child ends on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main(prog):
    try:
        takeover(prog, "fork", "role=child_", "child")
        takeover(prog, "daemonize", "role=grand_", "grandchild")
        manual(prog)
    finally:
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if failures:
        print(f"{len(failures)} failures")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
