#!/usr/bin/env python3
# The upstream server of ctsim's scenario lab, as ServerApp in src/scenarios/apps.ts: for each
# connection, answer the request with 200 bytes, half-close (shutdown(SHUT_WR)) 10 ms later, and
# close once the peer has closed too. One JSON line per event on stdout.
import argparse
import json
import socket
import sys
import threading
import time

lock = threading.Lock()


def log(ev, **kw):
    with lock:
        sys.stdout.write(json.dumps({"t": time.time(), "ev": ev, **kw}) + "\n")
        sys.stdout.flush()


def serve(c, peer, response, close_after):
    who = f"{peer[0]}:{peer[1]}"
    try:
        while True:
            data = c.recv(65536)
            if not data:
                log("eof", peer=who)
                break
            log("request", peer=who, bytes=len(data))
            c.sendall(response)
            time.sleep(close_after)
            c.shutdown(socket.SHUT_WR)
            log("shutdown", peer=who)
    except OSError as e:
        log("error", peer=who, error=str(e))
    c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--close-after", type=float, default=0.010)
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(16)
    log("ready")
    response = b"B" * 200
    while True:
        c, peer = ls.accept()
        log("accept", peer=f"{peer[0]}:{peer[1]}")
        threading.Thread(target=serve, args=(c, peer, response, a.close_after), daemon=True).start()


if __name__ == "__main__":
    main()
