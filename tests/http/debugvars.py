"""debugvars.py — one GET /debug/vars, shared by the HTTP test scripts
(hostile.py, lockout.py, fork.py), which import it from their own folder."""
import json
import socket

REQUEST = b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def status_of(out):
    """The status code of a raw HTTP/1.x answer, or None."""
    if out.startswith(b"HTTP/1."):
        try:
            return int(out.split(b" ", 2)[1])
        except (IndexError, ValueError):
            pass
    return None


def send_and_read(s, data):
    """Sends data on connected socket s, reads until the server closes, and
    closes s. Returns (answer, complete): complete is False if a reset or a
    timeout ended it part-way (answer is then what came)."""
    out = b""
    try:
        s.sendall(data)
        while chunk := s.recv(65536):
            out += chunk
    except OSError:
        return out, False
    finally:
        s.close()
    return out, True


def parse_vars(out):
    """(status, document) of a raw answer to GET /debug/vars: status None
    without a status line, document None unless the body is complete JSON."""
    try:
        doc = json.loads(out.split(b"\r\n\r\n", 1)[1])
    except (IndexError, ValueError):
        doc = None
    return status_of(out), doc


def get_vars(port, timeout=5.0):
    """Asks 127.0.0.1:port for /debug/vars and reads until the server closes.
    Returns (status, document): status None if nothing answered (refused,
    reset, timed out before a status line), document None unless the body
    is complete JSON. A reset or timeout part-way ends the read: what came
    is judged as it is."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None, None
    out, _ = send_and_read(s, REQUEST)
    return parse_vars(out)
