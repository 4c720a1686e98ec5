#!/usr/bin/env python3
# A scenario's listener on the real kernel, as src/scenarios/engine/listener-process.ts: listen on
# --port, answer every chunk of request bytes with --respond bytes, then (--then shutdown-wr|close)
# half-close or close that connection --after seconds later, and close once the peer has closed.
import argparse
import heapq
import selectors
import socket
import time

from common import endpoint, errname, log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--respond", type=int, default=0)
    ap.add_argument("--then", choices=["shutdown-wr", "close"])
    ap.add_argument("--after", type=float, default=0.0)
    a = ap.parse_args()
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(128)
    sel.register(ls, selectors.EVENT_READ, None)
    response = b"B" * a.respond
    conns = {}  # conn -> {"s", "closed", "shut"}
    timers = []  # (monotonic deadline, seq, conn)
    seq = 0
    log("ready")

    def close(n):
        c = conns[n]
        if c["closed"]:
            return
        c["closed"] = True
        try:
            sel.unregister(c["s"])
        except (KeyError, ValueError):
            pass
        c["s"].close()

    while True:
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            _, _, n = heapq.heappop(timers)
            c = conns[n]
            if c["closed"] or (a.then == "shutdown-wr" and c["shut"]):
                continue
            if a.then == "close":
                log("close", conn=n)
                close(n)
            else:
                log("shutdown", conn=n)
                c["shut"] = True
                try:
                    c["s"].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        timeout = max(0.0, timers[0][0] - time.monotonic()) if timers else None
        for key, _ in sel.select(timeout):
            if key.data is None:
                s, peer = ls.accept()
                n = len(conns) + 1
                conns[n] = {"s": s, "closed": False, "shut": False}
                log("accept", conn=n, peer=endpoint(peer))
                sel.register(s, selectors.EVENT_READ, n)
                continue
            n = key.data
            c = conns[n]
            try:
                data = c["s"].recv(65536)
            except OSError as e:
                log("error", conn=n, error=errname(e))
                close(n)
                continue
            if not data:
                log("eof", conn=n)
                log("close", conn=n)
                close(n)
                continue
            log("request", conn=n, bytes=len(data))
            if response:
                try:
                    c["s"].sendall(response)
                except OSError as e:
                    log("error", conn=n, error=errname(e))
            if a.then:
                seq += 1
                heapq.heappush(timers, (time.monotonic() + a.after, seq, n))


if __name__ == "__main__":
    main()
