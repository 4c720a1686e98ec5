#!/usr/bin/env python3
# The application of ctsim's scenario lab, as the incident script in src/scenarios/incidents.ts
# drives ClientApp: connect to the upstream from a fixed port (SO_REUSEADDR + bind), send a
# 100-byte request, read the answer until EOF (the socket then sits in CLOSE_WAIT), close() at
# --close-at; with --reconnect-at, bind the same port again and connect (the port collision),
# retrying with a new socket every --retry-interval s, up to --attempts tries, while bind() or
# connect() fail at once (EADDRINUSE, EADDRNOTAVAIL: the old socket still owns the 4-tuple).
# Times are relative to the first connect(); one JSON line per event on stdout.
import argparse
import errno
import json
import socket
import sys
import time

T0 = time.monotonic()  # reset just before the first connect(): the run's time 0


def log(ev, **kw):
    sys.stdout.write(json.dumps({"t": time.time(), "rel": time.monotonic() - T0, "ev": ev, **kw}) + "\n")
    sys.stdout.flush()


def sleep_until(rel):
    d = T0 + rel - time.monotonic()
    if d > 0:
        time.sleep(d)


def open_from(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    return s


def read_to_eof(s, label, timeout):
    s.settimeout(timeout)
    got = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                log("eof", conn=label, bytes=got)
                return
            got += len(d)
    except OSError as e:
        log("recv-error", conn=label, bytes=got, error=errno.errorcode.get(e.errno or 0, type(e).__name__))


def main():
    global T0
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True, help="upstream address:port")
    ap.add_argument("--port", type=int, required=True, help="local port")
    ap.add_argument("--close-at", type=float, required=True)
    ap.add_argument("--reconnect-at", type=float)
    ap.add_argument("--attempts", type=int, default=1, help="reconnect tries while bind/connect fail at once")
    ap.add_argument("--retry-interval", type=float, default=1.0)
    ap.add_argument("--hold", type=float, default=0, help="seconds to keep the sockets after the last step")
    a = ap.parse_args()
    host, port = a.dst.rsplit(":", 1)
    dst = (host, int(port))
    request = b"A" * 100

    s = open_from(a.port)
    T0 = time.monotonic()
    log("connect", conn=1)
    s.connect(dst)
    log("connected", conn=1, local=s.getsockname()[1])
    s.sendall(request)
    read_to_eof(s, 1, a.close_at)
    sleep_until(a.close_at)
    s.close()
    log("close", conn=1)

    keep = []
    if a.reconnect_at is not None:
        sleep_until(a.reconnect_at)
        for attempt in range(1, a.attempts + 1):
            s2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            start = time.monotonic()
            log("connect", conn=2, attempt=attempt)
            try:
                s2.bind(("0.0.0.0", a.port))
                s2.connect(dst)
            except OSError as e:
                name = errno.errorcode.get(e.errno or 0, type(e).__name__)
                log("connect-error", conn=2, attempt=attempt, error=name, seconds=time.monotonic() - start)
                s2.close()
                if e.errno in (errno.EADDRNOTAVAIL, errno.EADDRINUSE) and attempt < a.attempts:
                    time.sleep(a.retry_interval)
                    continue
                break
            log("connected", conn=2, attempt=attempt, local=s2.getsockname()[1], seconds=time.monotonic() - start)
            s2.sendall(request)
            s2.settimeout(a.hold)
            read_to_eof(s2, 2, a.hold)
            keep.append(s2)
            break
    time.sleep(a.hold)
    log("exit")


if __name__ == "__main__":
    main()
