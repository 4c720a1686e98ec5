#!/usr/bin/env python3
# The sidecar of ctsim's scenario lab, as src/proxy/tcp-proxy.ts models Envoy's tcp_proxy: it
# listens on 15001 (run as uid 1337, so Istio's ISTIO_OUTPUT rules leave its own connections
# alone), recovers each accepted connection's original destination with SO_ORIGINAL_DST, relays
# bytes, turns a read EOF on one side into shutdown(SHUT_WR) on the other (Envoy's half-close),
# and closes both sides only when both directions have ended, on an error, or when the idle
# timeout (reset by every byte) fires. The upstream connect is non-blocking with a connect timeout
# (Istio's cluster connect_timeout, 10 s); the downstream is read only once the upstream is
# connected, as Envoy's tcp_proxy does. One JSON line per event on stdout, times from time.time().
import argparse
import errno
import json
import selectors
import socket
import struct
import sys
import time

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h


def log(ev, **kw):
    sys.stdout.write(json.dumps({"t": time.time(), "ev": ev, **kw}) + "\n")
    sys.stdout.flush()


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else type(e).__name__


class Conn:
    def __init__(self, cid, down, up):
        self.id = cid
        self.down = down
        self.up = up
        self.down_eof = False
        self.up_eof = False
        self.closed = False
        self.deadline = 0.0
        self.connecting = True
        self.connect_deadline = 0.0


class Proxy:
    def __init__(self, port, idle, connect_timeout):
        self.idle = idle
        self.connect_timeout = connect_timeout
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("0.0.0.0", port))
        self.listener.listen(16)
        self.sel.register(self.listener, selectors.EVENT_READ, None)

    def touch(self, c):
        c.deadline = time.monotonic() + self.idle

    def accept(self):
        down, peer = self.listener.accept()
        cid = len(self.conns) + 1
        try:
            raw = down.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        except OSError as e:
            log("no-original-dst", c=cid, peer=f"{peer[0]}:{peer[1]}", error=errname(e))
            down.close()
            return
        port, addr = struct.unpack_from("!2xH4s", raw)
        orig = (socket.inet_ntoa(addr), port)
        log("accept", c=cid, peer=f"{peer[0]}:{peer[1]}", orig=f"{orig[0]}:{orig[1]}")
        up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c = Conn(cid, down, up)
        self.conns.append(c)
        self.touch(c)
        up.setblocking(False)
        down.setblocking(False)
        err = up.connect_ex(orig)
        if err not in (0, errno.EINPROGRESS):
            log("upstream-error", c=cid, error=errno.errorcode.get(err, str(err)))
            self.close_both(c, f"upstream {errno.errorcode.get(err, str(err))}")
            return
        c.connect_deadline = time.monotonic() + self.connect_timeout
        self.sel.register(up, selectors.EVENT_WRITE, (c, "connect"))

    def connected(self, c):
        err = c.up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.sel.unregister(c.up)
        if err:
            name = errno.errorcode.get(err, str(err))
            log("upstream-error", c=c.id, error=name)
            self.close_both(c, f"upstream {name}")
            return
        c.connecting = False
        log("upstream-connected", c=c.id, local=f"{c.up.getsockname()[0]}:{c.up.getsockname()[1]}")
        self.sel.register(c.down, selectors.EVENT_READ, (c, "down"))
        self.sel.register(c.up, selectors.EVENT_READ, (c, "up"))

    def readable(self, c, side):
        src, dst = (c.down, c.up) if side == "down" else (c.up, c.down)
        try:
            data = src.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            log(f"{side}-error", c=c.id, error=errname(e))
            self.close_both(c, f"{side}stream {errname(e)}")
            return
        if data:
            self.touch(c)
            peer_shut = c.down_eof if side == "down" else c.up_eof
            try:
                if not peer_shut:
                    dst.setblocking(True)
                    dst.sendall(data)
                    dst.setblocking(False)
            except OSError as e:
                log("send-error", c=c.id, side=side, error=errname(e))
                self.close_both(c, f"send {errname(e)}")
            return
        # Read EOF: Envoy forwards it as shutdown(SHUT_WR) on the other side.
        self.sel.unregister(src)
        if side == "down":
            c.down_eof = True
        else:
            c.up_eof = True
        log(f"{side}-eof", c=c.id)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError as e:
            log("shutdown-error", c=c.id, error=errname(e))
        if c.down_eof and c.up_eof:
            self.close_both(c, "both directions closed")

    def close_both(self, c, why):
        if c.closed:
            return
        c.closed = True
        for s in (c.down, c.up):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        log("close", c=c.id, reason=why)

    def run(self):
        log("ready", idle=self.idle)
        while True:
            now = time.monotonic()
            live = [c for c in self.conns if not c.closed]
            for c in live:
                if c.connecting and c.connect_deadline <= now:
                    log("upstream-error", c=c.id, error="connect timeout")
                    self.close_both(c, "upstream connect timeout")
                elif c.deadline <= now:
                    log("idle-timeout", c=c.id)
                    self.close_both(c, "idle timeout")
            live = [c for c in self.conns if not c.closed]
            deadlines = [min(c.deadline, c.connect_deadline) if c.connecting else c.deadline for c in live]
            timeout = max(0.0, min(deadlines) - now) if live else None
            for key, _ in self.sel.select(timeout):
                if key.data is None:
                    self.accept()
                else:
                    c, side = key.data
                    if c.closed:
                        continue
                    if side == "connect":
                        self.connected(c)
                    else:
                        self.readable(c, side)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=15001)
    ap.add_argument("--idle", type=float, required=True, help="tcp_proxy idle_timeout (s)")
    ap.add_argument("--connect-timeout", type=float, default=10.0, help="upstream connect timeout (s)")
    a = ap.parse_args()
    Proxy(a.port, a.idle, a.connect_timeout).run()


if __name__ == "__main__":
    main()
