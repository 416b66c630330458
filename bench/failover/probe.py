#!/usr/bin/env python3
"""probe.py — fixed-rate TCP+HTTP prober for the VRRP failover harness.

Every --interval seconds it opens a NEW TCP connection to HOST:PORT, sends one
HTTP/1.0 GET and reads until the server closes. Probes overlap: a slow or lost
one never delays the next (non-blocking sockets + selectors), so the schedule
stays at 1/interval probes per second even while the VIP is unreachable.

One line per finished probe is written to --out (line buffered):
    <start_epoch> <end_epoch> <status> <node>
  status: ok | timeout | refused | reset | unreach | error
  node:   the last non-empty line of the HTTP body when ok, '-' otherwise.
Timestamps are CLOCK_REALTIME seconds (time.time()), the same clock as bash's
$EPOCHREALTIME, so the harness can place its own events on this time line.

Stops by itself after --max-seconds, or on SIGTERM/SIGINT (in-flight probes
are then recorded as 'aborted' and ignored by the analysis).
"""
import argparse
import errno
import selectors
import signal
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.0\r\nHost: vip\r\nUser-Agent: failover-probe\r\n\r\n"


def classify(err):
    if err in (errno.ECONNREFUSED,):
        return "refused"
    if err in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return "reset"
    if err in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return "unreach"
    if err in (errno.ETIMEDOUT,):
        return "timeout"
    return "error"


class Probe:
    __slots__ = ("sock", "start", "deadline", "state", "buf")

    def __init__(self, sock, start, deadline):
        self.sock, self.start, self.deadline = sock, start, deadline
        self.state, self.buf = "connect", bytearray()


def node_of(raw):
    head, sep, body = bytes(raw).partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/") or b" 200 " not in head.split(b"\r\n", 1)[0]:
        return None
    lines = [ln.strip() for ln in body.decode("ascii", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--interval", type=float, default=0.010)
    ap.add_argument("--timeout", type=float, default=0.050)
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    stop = False

    def on_signal(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    out = open(a.out, "w", buffering=1)
    sel = selectors.DefaultSelector()
    inflight = {}
    t_begin = time.time()
    next_send = t_begin

    def finish_fd(fd, status, node="-"):
        p = inflight.pop(fd)
        sel.unregister(p.sock)
        p.sock.close()
        out.write(f"{p.start:.6f} {time.time():.6f} {status} {node}\n")

    while not stop:
        now = time.time()
        if now - t_begin > a.max_seconds:
            break
        if now >= next_send:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            start = time.time()
            err = s.connect_ex((a.host, a.port))
            p = Probe(s, start, start + a.timeout)
            if err not in (0, errno.EINPROGRESS):
                s.close()
                out.write(f"{start:.6f} {time.time():.6f} {classify(err)} -\n")
            else:
                inflight[s.fileno()] = p
                sel.register(s, selectors.EVENT_WRITE, s.fileno())
            next_send += a.interval
            if next_send < now:  # fell behind (e.g. descheduled): keep cadence, skip the backlog
                next_send = now + a.interval
        now = time.time()
        for fd in [fd for fd, p in inflight.items() if p.deadline <= now]:
            finish_fd(fd, "timeout")
        wake = next_send
        if inflight:
            wake = min(wake, min(p.deadline for p in inflight.values()))
        for key, _mask in sel.select(max(0.0, wake - time.time())):
            fd = key.data
            p = inflight.get(fd)
            if p is None:
                continue
            if p.state == "connect":
                err = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    finish_fd(fd, classify(err))
                    continue
                try:
                    p.sock.send(REQUEST)
                except OSError as e:
                    finish_fd(fd, classify(e.errno))
                    continue
                p.state = "read"
                sel.modify(p.sock, selectors.EVENT_READ, fd)
            else:
                try:
                    chunk = p.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError as e:
                    finish_fd(fd, classify(e.errno))
                    continue
                if chunk:
                    p.buf += chunk
                    continue
                node = node_of(p.buf)
                finish_fd(fd, "ok" if node else "error", node or "-")
    for fd in list(inflight):
        finish_fd(fd, "aborted")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
