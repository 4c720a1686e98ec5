#!/usr/bin/env python3
# A scenario's Envoy-like proxy on the real kernel, as src/proxy/tcp-proxy.ts models Envoy's
# tcp_proxy: listen on --port (run as the proxy's uid, 1337 for Istio, so the capture rules leave
# its own connections alone), find each accepted connection's upstream (SO_ORIGINAL_DST, or
# --upstream), connect to it (from --source when given), relay bytes; a read EOF on one side
# becomes shutdown(SHUT_WR) on the other (Envoy's half-close; --half-close close: close both);
# close both sides when both directions have ended, on an error, or when the idle timeout (reset
# by every byte) fires. The upstream connect is non-blocking with a connect timeout (Istio's
# cluster connect_timeout, 10 s); the downstream is read only once the upstream is connected, as
# Envoy's tcp_proxy does.
import argparse
import selectors
import socket
import struct
import time

from common import endpoint, errname, errno_name, log

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h


class Conn:
    def __init__(self, cid, down):
        self.id = cid
        self.down = down
        self.up = None
        self.connected = False
        self.down_eof = False
        self.up_eof = False
        self.closed = False
        self.deadline = 0.0
        self.connect_deadline = None


class Proxy:
    def __init__(self, a):
        self.a = a
        self.idle = a.idle
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("0.0.0.0", a.port))
        self.listener.listen(128)
        self.sel.register(self.listener, selectors.EVENT_READ, None)

    def touch(self, c):
        c.deadline = time.monotonic() + self.idle

    def accept(self):
        down, peer = self.listener.accept()
        cid = len(self.conns) + 1
        c = Conn(cid, down)
        self.conns.append(c)
        if self.a.upstream:
            host, port = self.a.upstream.rsplit(":", 1)
            orig = (host, int(port))
        else:
            try:
                raw = down.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            except OSError:
                log("no-original-dst", conn=cid, peer=endpoint(peer))
                self.close_both(c, "no original destination")
                return
            port, addr = struct.unpack_from("!2xH4s", raw)
            orig = (socket.inet_ntoa(addr), port)
        log("proxy-accept", conn=cid, peer=endpoint(peer), orig=endpoint(orig))
        self.touch(c)
        up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.up = up
        up.setblocking(False)
        try:
            if self.a.source:
                up.bind((self.a.source, 0))
            err = up.connect_ex(orig)
        except OSError as e:
            log("upstream-error", conn=cid, error=errname(e))
            self.close_both(c, f"upstream {errname(e)}")
            return
        if err not in (0, 115):  # EINPROGRESS
            log("upstream-error", conn=cid, error=errno_name(err))
            self.close_both(c, f"upstream {errno_name(err)}")
            return
        if self.a.connect_timeout > 0:
            c.connect_deadline = time.monotonic() + self.a.connect_timeout
        self.sel.register(up, selectors.EVENT_WRITE, (c, "connect"))

    def upstream_ready(self, c):
        self.sel.unregister(c.up)
        err = c.up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            log("upstream-error", conn=c.id, error=errno_name(err))
            self.close_both(c, f"upstream {errno_name(err)}")
            return
        c.connected = True
        log("upstream-connected", conn=c.id, local=endpoint(c.up.getsockname()))
        c.down.setblocking(False)
        self.sel.register(c.down, selectors.EVENT_READ, (c, "down"))
        self.sel.register(c.up, selectors.EVENT_READ, (c, "up"))

    def readable(self, c, side):
        src, dst = (c.down, c.up) if side == "down" else (c.up, c.down)
        try:
            data = src.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            log(f"{side}-error", conn=c.id, error=errname(e))
            self.close_both(c, f"{side}stream {errname(e)}")
            return
        if data:
            self.touch(c)
            peer_shut = c.down_eof if side == "down" else c.up_eof
            if not peer_shut:
                try:
                    dst.setblocking(True)
                    dst.sendall(data)
                    dst.setblocking(False)
                except OSError as e:
                    other = "up" if side == "down" else "down"
                    log(f"{other}-error", conn=c.id, error=errname(e))
                    self.close_both(c, f"{other}stream {errname(e)}")
            return
        # Read EOF.
        self.sel.unregister(src)
        if side == "down":
            c.down_eof = True
        else:
            c.up_eof = True
        log(f"{side}-eof", conn=c.id)
        if self.a.half_close == "close":
            self.close_both(c, f"{side}stream closed")
            return
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if c.down_eof and c.up_eof:
            self.close_both(c, "both directions closed")

    def close_both(self, c, why):
        if c.closed:
            return
        c.closed = True
        log("close", conn=c.id, reason=why)
        for s in (c.down, c.up):
            if s is None:
                continue
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def run(self):
        log("ready", idle=self.idle)
        while True:
            now = time.monotonic()
            for c in self.conns:
                if not c.closed and not c.connected and c.connect_deadline is not None and c.connect_deadline <= now:
                    # The cluster's connect_timeout: Envoy gives up on the upstream and closes both.
                    self.close_both(c, "upstream connect timeout")
                elif not c.closed and self.idle > 0 and c.deadline <= now:
                    log("idle-timeout", conn=c.id)
                    self.close_both(c, "idle timeout")
            deadlines = [c.deadline for c in self.conns if not c.closed and self.idle > 0]
            deadlines += [c.connect_deadline for c in self.conns if not c.closed and not c.connected and c.connect_deadline is not None]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            for key, _ in self.sel.select(timeout):
                if key.data is None:
                    self.accept()
                    continue
                c, what = key.data
                if c.closed:
                    continue
                if what == "connect":
                    self.upstream_ready(c)
                else:
                    self.readable(c, what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idle", type=float, required=True, help="tcp_proxy idle_timeout (s); 0 disables")
    ap.add_argument("--upstream", help="fixed upstream a.b.c.d:port (default: SO_ORIGINAL_DST)")
    ap.add_argument("--half-close", dest="half_close", choices=["shutdown-wr", "close"], default="shutdown-wr")
    ap.add_argument("--source", help="local address of upstream connections")
    ap.add_argument("--connect-timeout", dest="connect_timeout", type=float, default=10.0, help="upstream connect timeout (s; Istio's cluster default 10); 0 disables")
    Proxy(ap.parse_args()).run()


if __name__ == "__main__":
    main()
