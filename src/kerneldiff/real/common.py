# Shared by the scenario lab's programs: one JSON line per fact on stdout (the fields of
# src/scenarios/engine/program-events.ts), times from time.time() (the run's clock is CLOCK_REALTIME,
# like tcpdump's and conntrack -E's timestamps), errno names as Linux returns them.
import errno
import json
import socket
import sys
import time


def log(ev, **kw):
    sys.stdout.write(json.dumps({"t": time.time(), "ev": ev, **kw}) + "\n")
    sys.stdout.flush()


def errname(e):
    if isinstance(e, socket.timeout):
        return "ETIMEDOUT"
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def errno_name(n):
    return errno.errorcode.get(n, str(n))


def endpoint(addr):
    return f"{addr[0]}:{addr[1]}"


class Clock:
    """Scenario time: seconds since the run's time 0 (an epoch time shared by every program)."""

    def __init__(self, t0):
        # monotonic time at t0, so waits do not jump with the wall clock
        self.mono0 = time.monotonic() - (time.time() - t0)

    def now(self):
        return time.monotonic() - self.mono0

    def until(self, rel):
        return max(0.0, rel - self.now())


def start_clock(t0_arg):
    """The run's time 0: an epoch time given on the command line, or (t0_arg "stdin", the lab's
    start barrier) read from standard input once every program has said it is ready, so a program
    slow to start delays time 0 instead of running its timeline late."""
    log("ready")
    if t0_arg != "stdin":
        return Clock(float(t0_arg))
    line = sys.stdin.readline()
    if not line.strip():
        raise SystemExit("no time 0 on standard input")
    t0 = float(line)
    log("go", t0=t0)
    return Clock(t0)
