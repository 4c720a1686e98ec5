#!/usr/bin/env python3
# A scenario's app on the real kernel, as src/scenarios/engine/app-process.ts runs it: the timeline
# of blocking socket calls (--timeline, JSON: the file's steps, times in seconds) from time 0
# (--t0: an epoch time shared by every program, or "stdin": the lab sends it once every program is
# ready, see common.start_clock). One event loop: a blocking call (connect, a
# wait) keeps reading every other socket meanwhile, so each socket's reader sees data, EOF and
# errors as they come. Every call's result is a fact (errno names as Linux returns them).
import argparse
import json
import selectors
import signal
import socket
import sys
import time

from common import endpoint, errname, errno_name, log, start_clock

HOW = {"wr": socket.SHUT_WR, "rd": socket.SHUT_RD, "rdwr": socket.SHUT_RDWR}


class App:
    def __init__(self, clock):
        self.clock = clock
        self.sel = selectors.DefaultSelector()
        self.sockets = {}  # name -> {"s", "connected", "reading", "received"}

    # ------------------------------------------------------------ reading

    def pump(self, until=None, done=None):
        """Reads whatever arrives until scenario time `until` or until done() holds."""
        while True:
            if done is not None and done():
                return
            timeout = None if until is None else self.clock.until(until)
            if until is not None and timeout <= 0:
                return
            for key, mask in self.sel.select(timeout):
                kind, name = key.data
                if kind == "read":
                    self.readable(name)
                elif kind == "connect":
                    self.sockets[name]["writable"] = True

    def readable(self, name):
        st = self.sockets.get(name)
        if st is None or not st["reading"]:
            return
        try:
            d = st["s"].recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.stop_reading(st)
            log("recv-error", socket=name, error=errname(e), bytes=st["received"])
            return
        if d:
            st["received"] += len(d)
            return
        self.stop_reading(st)
        log("recv-eof", socket=name, bytes=st["received"])

    def stop_reading(self, st):
        st["reading"] = False
        try:
            self.sel.unregister(st["s"])
        except (KeyError, ValueError):
            pass

    # ------------------------------------------------------------ calls

    def new_socket(self, name):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        self.sockets[name] = {"s": s, "connected": False, "reading": False, "received": 0, "writable": False, "tried": False}
        return self.sockets[name]

    def bind(self, b):
        st = self.new_socket(b["socket"])
        s = st["s"]
        if b.get("reuseaddr"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((b.get("address") or "0.0.0.0", b["port"]))
            log("call", call="bind", socket=b["socket"], result="ok", local=endpoint(s.getsockname()))
        except OSError as e:
            log("call", call="bind", socket=b["socket"], result=errname(e))

    def connect(self, c):
        """connect() as the file's step: with "retry", a new socket every "every" s while bind()/connect() fail at once."""
        r = c.get("retry") or {"attempts": 1, "every": 0}
        for attempt in range(1, r["attempts"] + 1):
            if attempt > 1:
                self.pump(until=self.clock.now() + r["every"])
            err = self.connect_once(c, fresh=attempt > 1)
            if err not in ("EADDRNOTAVAIL", "EADDRINUSE") or attempt == r["attempts"]:
                # The last try's socket stays open under its name (a send on it is EPIPE, as in ctsim).
                return
            st = self.sockets.pop(c["socket"], None)
            if st is not None:
                st["s"].close()

    def connect_once(self, c, fresh):
        """One try; returns the errno name of a call that failed at once, else None."""
        name = c["socket"]
        st = self.sockets.get(name)
        # The socket bound under this name, if it has not connected yet; otherwise a new one.
        if fresh or st is None or st["tried"]:
            st = self.new_socket(name)
        st["tried"] = True
        s = st["s"]
        if c.get("reuseaddr"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        start = self.clock.now()
        # The call's report carries t = start + duration (when connect() returned), not the time
        # of the log line: a loaded machine may preempt us in between, and the SYNs are counted
        # from t - duration on.
        start_wall = time.time()
        if c.get("from_port") is not None and s.getsockname()[1] == 0:
            try:
                s.bind(("0.0.0.0", c["from_port"]))
            except OSError as e:
                log("call", call="connect", socket=name, result=errname(e), seconds=0)
                return errname(e)
        err = s.connect_ex((c["to"]["addr"], c["to"]["port"]))
        if err not in (0, 115):  # EINPROGRESS
            log("call", call="connect", socket=name, result=errno_name(err), seconds=0)
            return errno_name(err)
        local = endpoint(s.getsockname())
        if err == 115:
            st["writable"] = False
            self.sel.register(s, selectors.EVENT_WRITE, ("connect", name))
            self.pump(done=lambda: st["writable"])
            self.sel.unregister(s)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        seconds = self.clock.now() - start
        if err:
            log("call", call="connect", socket=name, result=errno_name(err), local=local, seconds=seconds, t=start_wall + seconds)
            return None
        log("call", call="connect", socket=name, result="ok", local=local, seconds=seconds, t=start_wall + seconds)
        st["connected"] = True
        st["reading"] = True
        self.sel.register(s, selectors.EVENT_READ, ("read", name))
        return None

    def send(self, x):
        name = x["socket"]
        st = self.sockets.get(name)
        if st is None:
            log("call", call="send", socket=name, result="EBADF", bytes=x["bytes"])
            return
        s = st["s"]
        try:
            # A blocking send, as the file's send() is (the kernel buffers what the other sockets receive meanwhile).
            s.setblocking(True)
            s.sendall(b"A" * x["bytes"])
            log("call", call="send", socket=name, result="ok", bytes=x["bytes"])
        except OSError as e:
            log("call", call="send", socket=name, result=errname(e), bytes=x["bytes"])
        finally:
            s.setblocking(False)

    def shutdown(self, x):
        name = x["socket"]
        st = self.sockets.get(name)
        if st is None:
            log("call", call="shutdown", socket=name, result="EBADF")
            return
        try:
            st["s"].shutdown(HOW[x["how"]])
            log("call", call="shutdown", socket=name, result="ok")
        except OSError as e:
            log("call", call="shutdown", socket=name, result=errname(e))

    def close(self, name):
        st = self.sockets.pop(name, None)
        if st is None:
            log("call", call="close", socket=name, result="EBADF")
            return
        if st["reading"]:
            # The reader stops with the fd: what it read so far is reported now.
            self.stop_reading(st)
            log("received", socket=name, bytes=st["received"])
        st["s"].close()
        log("call", call="close", socket=name, result="ok")

    # ------------------------------------------------------------ the timeline

    def run(self, steps):
        for st in steps:
            if "at" in st:
                self.pump(until=st["at"])
            elif "after" in st:
                self.pump(until=self.clock.now() + st["after"])
            if "bind" in st:
                self.bind(st["bind"])
            elif "connect" in st:
                self.connect(st["connect"])
            elif "send" in st:
                self.send(st["send"])
            elif "shutdown" in st:
                self.shutdown(st["shutdown"])
            elif "close" in st:
                self.close(st["close"])
            elif "sleep" in st:
                self.pump(until=self.clock.now() + st["sleep"])
            elif "repeat" in st:
                r = st["repeat"]
                start = self.clock.now()
                for i in range(r["times"]):
                    if r.get("every") is not None:
                        self.pump(until=start + i * r["every"])
                    self.run(r["steps"])
                if r.get("every") is not None:
                    self.pump(until=start + r["times"] * r["every"])

    def report(self):
        for name, st in self.sockets.items():
            if st["reading"]:
                st["reading"] = False
                log("received", socket=name, bytes=st["received"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeline", required=True, help="JSON list of steps (times in seconds)")
    ap.add_argument("--t0", required=True, help="epoch time of the scenario's time 0, or 'stdin' (read there after 'ready')")
    a = ap.parse_args()
    app = App(None)

    def end(*_):
        app.report()
        log("exit")
        sys.stdout.flush()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, end)
    app.clock = start_clock(a.t0)
    time.sleep(app.clock.until(0))
    app.run(json.loads(a.timeline))
    app.pump()  # keep reading until the run ends (SIGTERM)


if __name__ == "__main__":
    main()
